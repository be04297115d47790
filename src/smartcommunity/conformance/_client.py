"""HTTP access to the server under test, recording every exchange so a failure shows it."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

EXCERPT = 1200


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

    def curl(self) -> str:
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.body is not None:
            parts += ["--data-binary", self.body.decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(p) for p in parts)

    def excerpt(self) -> str:
        text = self.response_text
        return text if len(text) <= EXCERPT else text[:EXCERPT] + " …"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "curl": self.curl(),
                "status": self.status, "response": self.excerpt()}


class Response:
    """What a test sees of a response: status, headers, parsed JSON when there is any."""

    def __init__(self, exchange: Exchange, raw: httpx.Response | None) -> None:
        self.exchange = exchange
        self.status = exchange.status
        self.headers: Mapping[str, str] = raw.headers if raw is not None else {}
        self.text = exchange.response_text
        self.media_type = self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class Client:
    """A thin recorder around httpx; tests never talk to the network any other way."""

    def __init__(self, base_url: str, *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
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
        exchange = Exchange(method, url, sent, content)
        self.log.append(exchange)
        start = time.perf_counter()
        raw = self._http.request(method, url, content=content, headers=sent)
        exchange.elapsed_ms = (time.perf_counter() - start) * 1000
        exchange.status = raw.status_code
        exchange.response_headers = dict(raw.headers)
        exchange.response_text = raw.text
        return Response(exchange, raw)
