"""HTTP access to the server under test, recording every exchange so a failure shows it."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

EXCERPT = 1200
#: request bodies longer than this leave the curl command for a file beside the report
INLINE_BODY = 2048
#: the folder, inside the report folder, that holds those bodies
BODIES = "request-bodies"


def token_variables(tokens: Mapping[str, str]) -> dict[str, str]:
    """Each principal's token (``tokens``: name → token) → the shell variable a report names
    it by, ``SC_TOKEN_`` and the principal's name in capitals (``SC_TOKEN_STAFF_LIU_FANG``):
    a report is kept and mailed, and a token in it would let anyone act as that principal."""
    out: dict[str, str] = {}
    for name, token in tokens.items():
        variable = "SC_TOKEN_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        while variable in out.values():
            variable += "_"
        if token:
            out[token] = variable
    return out


@dataclass
class Exchange:
    """One request and its response, kept for the report."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str = ""
    elapsed_ms: float = 0.0
    #: secrets sent (the principals' tokens) → the shell variables the report shows instead
    secrets: Mapping[str, str] = field(default_factory=dict)

    def _hidden(self, text: str) -> str:
        """``text`` with each secret written as its variable, ``${SC_TOKEN_…}``."""
        for secret in sorted(self.secrets, key=len, reverse=True):  # a longer one first
            if secret in text:
                text = text.replace(secret, "${" + self.secrets[secret] + "}")
        return text

    def body_file(self) -> str | None:
        """Where a body too long for a command line is kept, named by its digest."""
        if self.body is None or len(self.body) <= INLINE_BODY:
            return None
        return f"{BODIES}/{hashlib.sha256(self.body).hexdigest()[:16]}.json"

    def curl(self, evidence: bool = True) -> str:
        """The command that repeats the request; a long body is read from its file, which the
        report keeps for evidence only (a passed test's long body is named, not kept)."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        long = self.body_file()
        if self.body is not None:
            parts += ["--data-binary",
                      self.body.decode("utf-8", "replace") if long is None
                      else f"@{long}" if evidence else f"<{len(self.body)} bytes, not kept>"]
        parts.append(self.url)
        command = " ".join(shlex.quote(self._hidden(p)) for p in parts)
        # ``$`` makes shlex quote a part whole in single quotes, where the shell would not
        # expand the variable: it is let out of them, in double quotes.
        for variable in set(self.secrets.values()):
            command = command.replace("${" + variable + "}", "'\"${" + variable + "}\"'")
        return re.sub(r"(?<=\s)''(?=\")|(?<=\")''(?=\s|$)", "", command)  # no empty ''

    def excerpt(self) -> str:
        text = self._hidden(self.response_text)
        return text if len(text) <= EXCERPT else text[:EXCERPT] + " …"

    def to_dict(self, evidence: bool = True) -> dict[str, Any]:
        """The exchange for the report. With ``evidence`` (a failure, an error, a warning) the
        response excerpt and a long body (to be written beside the report) come along; a passed
        test keeps the request line, the command and the status only, which keeps a full run's
        report small."""
        out: dict[str, Any] = {"method": self.method, "url": self._hidden(self.url),
                               "curl": self.curl(evidence),
                               "status": self.status}
        if evidence:
            out["response"] = self.excerpt()
            if self.body_file() and self.body is not None:
                out["requestBodyFile"] = self.body_file()
                out["requestBody"] = self._hidden(self.body.decode("utf-8", "replace"))
        return out


class Response:
    """What a test sees of a response: status, headers, parsed JSON when there is any."""

    def __init__(self, exchange: Exchange, raw: httpx.Response | None) -> None:
        self.exchange = exchange
        self.status = exchange.status
        self.headers: Mapping[str, str] = raw.headers if raw is not None else {}
        self.text = exchange.response_text
        #: the body as sent (a PDF is not text)
        self.content: bytes = raw.content if raw is not None else b""
        self.media_type = self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class Client:
    """A thin recorder around httpx; tests never talk to the network any other way."""

    def __init__(self, base_url: str, *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None,
                 secrets: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        #: see :attr:`Exchange.secrets`
        self.secrets = dict(secrets or {})
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  follow_redirects=False)
        self.log: list[Exchange] = []

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        sent: dict[str, str] = {"Accept": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = str(self._http.build_request(method, path, params=params).url)
        exchange = Exchange(method, url, sent, content, secrets=self.secrets)
        self.log.append(exchange)
        start = time.perf_counter()
        raw = self._http.request(method, url, content=content, headers=sent)
        exchange.elapsed_ms = (time.perf_counter() - start) * 1000
        exchange.status = raw.status_code
        exchange.response_headers = dict(raw.headers)
        exchange.response_text = raw.text
        return Response(exchange, raw)
