"""Holding a recorded exchange to the OpenAPI (``/req/core/openapi-responses``).

Each exchange is matched to its operation by method and path template (a literal path before a
templated one, as OpenAPI 3.1 says), then its response is held to what the operation declares:
the status, the headers marked required, the meaning of ``Location`` and ``ETag``, the media
type, and for JSON the body against the response schema. A resource document of a later minor
version in a body is read under the forward-compatibility rule, as the library reads it
(``/req/core/forward-compatible``), not rejected for what 1.0 does not know.

Nothing is fetched: the judge reads only what the kit's client recorded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import jsonschema_rs
import orjson

from ..pointers import escape_token
from ..specification import Spec
from ..validation import resolve_version, validate
from ._client import Exchange

__all__ = ["ApiOperation", "OpenApiJudge", "Violation"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_TEMPLATE = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class ApiOperation:
    """One operation of the OpenAPI: its path template, method and declaration."""

    path: str
    method: str
    pattern: re.Pattern[str]
    declaration: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.declaration.get("operationId") or f"{self.method.upper()} {self.path}")


@dataclass(frozen=True)
class Violation:
    """One way a response breaks its operation's declaration, in both languages."""

    exchange: Exchange
    operation: ApiOperation
    #: what is wrong, stable across exchanges so like violations can be grouped
    zh: str
    en: str

    def request_line(self, base_url: str) -> str:
        return f"{self.exchange.method} {_relative(self.exchange.url, base_url)}"


class OpenApiJudge:
    """The OpenAPI of one spec version, ready to judge recorded exchanges."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.api = spec.openapi
        self._uri = f"{spec.base_uri.removesuffix('schemas/')}openapi.yaml"
        self._registry = jsonschema_rs.Registry(
            [(schema["$id"], schema) for schema in spec.schemas.values()]
            + [(self._uri, self.api)])
        found = []
        for path, item in self.api.get("paths", {}).items():
            regex = "".join(
                "([^/]+)" if i % 2 else re.escape(part)
                for i, part in enumerate(_TEMPLATE.split(path)))
            for method in _METHODS:
                if method in item:
                    found.append(ApiOperation(path, method, re.compile(regex + "$"),
                                              item[method]))
        #: (operation, status, schema, body text) → what is wrong with such a body
        self._judged: dict[tuple[str, str, str, str], tuple[tuple[str, str], ...]] = {}
        # A literal path wins over a templated one that also matches (OpenAPI 3.1, Paths);
        # among templated ones, the more literal (``/figures/{month}.json`` over
        # ``/figures/{month}``).
        self.operations = sorted(found, key=lambda op: (
            op.path.count("{"), -len(_TEMPLATE.sub("", op.path)), op.path))

    # -- matching ---------------------------------------------------------------------
    def match(self, method: str, path: str) -> ApiOperation | None:
        """The operation a request names, or None when the OpenAPI declares no such one."""
        wanted = method.lower()
        for op in self.operations:
            if op.method == wanted and op.pattern.match(path):
                return op
        return None

    def judge(self, exchange: Exchange, base_url: str) -> list[Violation]:
        """Every way the response of ``exchange`` breaks the OpenAPI; none for a request
        outside it (an unknown path or method, which other requirements cover)."""
        if exchange.status is None:
            return []
        path = urlsplit(_relative(exchange.url, base_url)).path
        op = self.match(exchange.method, path)
        if op is None:
            return []
        return [Violation(exchange, op, zh, en)
                for zh, en in self._problems(exchange, op, base_url)]

    # -- what a response must be --------------------------------------------------------
    def _problems(self, ex: Exchange, op: ApiOperation, base_url: str
                  ) -> Iterator[tuple[str, str]]:
        responses: Mapping[str, Any] = op.declaration.get("responses", {})
        status = str(ex.status)
        key = next((k for k in (status, f"{status[0]}XX", "default") if k in responses), None)
        if key is None:
            declared = ", ".join(sorted(responses))
            yield (f"状态 {status} 未在 OpenAPI 中为 {op.name} 声明（声明的是 {declared}）",
                   f"status {status} is not declared for {op.name} (the OpenAPI declares "
                   f"{declared})")
            return
        where = "/".join(("#/paths", escape_token(op.path), op.method, "responses",
                          escape_token(key)))
        response, where = self._deref(responses[key], where)
        headers = {k.lower(): v for k, v in ex.response_headers.items()}
        body: Any = None
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        content: Mapping[str, Any] = response.get("content") or {}
        if content:
            declared_media = _media_match(media, content)
            if declared_media is None:
                listed = ", ".join(content)
                shown = media or "没有 Content-Type"
                yield (f"{status} 应答的媒体类型为 {shown}，OpenAPI 为 {op.name} 声明的是 {listed}",
                       f"the {status} response is {media or 'without a Content-Type'}; the "
                       f"OpenAPI declares {listed} for {op.name}")
            elif _is_json(declared_media):
                schema = content[declared_media].get("schema")
                pointer = ("/".join((where, "content", escape_token(declared_media), "schema"))
                           if schema is not None else "")
                # Many responses repeat word for word (a document read again): judged once.
                memo = (op.name, status, pointer, ex.response_text)
                found = self._judged.get(memo)
                if found is None:
                    found = tuple(self._json(status, op, declared_media, pointer,
                                             ex.response_text))
                    self._judged[memo] = found
                yield from found
        declared_headers: Mapping[str, Any] = response.get("headers") or {}
        if declared_headers and _is_json(media):
            try:
                body = orjson.loads(ex.response_text)
            except orjson.JSONDecodeError:
                body = None
        for name, header in declared_headers.items():
            declaration, at = self._deref(header, f"{where}/headers/{escape_token(name)}")
            yield from self._header(ex, status, op, name, declaration, at, headers, body,
                                    base_url)

    def _json(self, status: str, op: ApiOperation, media: str, pointer: str, text: str
              ) -> Iterator[tuple[str, str]]:
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            yield (f"{status} 应答声明为 {media}，但正文不是 JSON",
                   f"the {status} response is declared {media} but its body is not JSON")
            return
        if pointer:
            yield from self._body(status, op, pointer, body)

    def _header(self, ex: Exchange, status: str, op: ApiOperation, name: str,
                header: Mapping[str, Any], where: str, headers: Mapping[str, str], body: Any,
                base_url: str) -> Iterator[tuple[str, str]]:
        value = headers.get(name.lower())
        if value is None:
            if header.get("required"):
                yield (f"{status} 应答缺少 OpenAPI 为 {op.name} 规定必有的 {name} 头",
                       f"the {status} response lacks the {name} header the OpenAPI requires "
                       f"for {op.name}")
            return
        if "schema" in header and not self._validator(f"{where}/schema").is_valid(value):
            yield (f"{status} 应答的 {name} 头 {value} 不符合 OpenAPI 对它的规定",
                   f"the {name} header {value} of the {status} response breaks the schema "
                   f"the OpenAPI gives it for {op.name}")
            return
        document = body if isinstance(body, dict) else {}
        if name.lower() == "location" and isinstance(document.get("id"), str):
            own = self._own_url(document, base_url)
            if own is not None and urljoin(ex.url, value) != own:
                yield (f"{status} 应答的 Location 头 {value} 没有指向所创建资源自己的地址"
                       f"（应为 {_relative(own, base_url)}）",
                       f"the Location header {value} of the {status} response does not name "
                       f"the created resource's own URL ({_relative(own, base_url)})")
        if name.lower() == "etag":
            version = (document.get("meta") or {}).get("versionId")
            if isinstance(version, str | int) and value != f'"{version}"':
                yield (f"{status} 应答的 ETag 头 {value} 与正文的 meta.versionId（{version}）不符",
                       f"the ETag header {value} of the {status} response does not match the "
                       f"body's meta.versionId ({version})")

    def _own_url(self, document: Mapping[str, Any], base_url: str) -> str | None:
        """The URL of the resource ``document`` is, from its type's collection."""
        collection = self.spec.collections.get(str(document.get("resourceType")))
        if collection is None:
            return None
        return f"{base_url.rstrip('/')}/{collection}/{document['id']}"

    def _body(self, status: str, op: ApiOperation, pointer: str, body: Any
              ) -> Iterator[tuple[str, str]]:
        validator = self._validator(pointer)
        if validator.is_valid(body):
            return
        later: dict[tuple[str | int, ...], bool] = {}
        for error in validator.iter_errors(body):
            where = tuple(error.instance_path)
            newer = _newer_document(body, where, self.spec)
            if newer is not None:
                # Read as the library reads a later minor: only its errors count.
                if newer not in later:
                    later[newer] = _forward_valid(_at(body, newer))
                if later[newer]:
                    continue
            shown = "/" + "/".join(escape_token(str(p)) for p in where)
            yield (f"{status} 应答的正文在 {shown} 不符合 OpenAPI 为 {op.name} 给出的模式："
                   f"{error.message}",
                   f"the body of the {status} response breaks the schema the OpenAPI gives "
                   f"for {op.name} at {shown}: {error.message}")
            return

    @functools.cache  # noqa: B019 - bounded by the operations × statuses × media types
    def _validator(self, pointer: str) -> Any:
        # A JSON Pointer into the OpenAPI as a URI fragment: braces of path templates escaped.
        fragment = quote(pointer, safe="#/~!$&'()*+,;=:@")
        return jsonschema_rs.validator_for({"$ref": f"{self._uri}{fragment}"},
                                           registry=self._registry, validate_formats=True,
                                           ignore_unknown_formats=False)

    def _deref(self, node: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], str]:
        """A response or header object and where it is, following local ``$ref``s."""
        for _ in range(8):
            ref = node.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            target: Any = self.api
            for token in ref[2:].split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node, where = target, ref
        return node, where


def _relative(url: str, base_url: str) -> str:
    base = base_url.rstrip("/")
    return url[len(base):] or "/" if url.startswith(base) else url


def _media_match(media: str, content: Mapping[str, Any]) -> str | None:
    """The declared media type ``media`` falls under (exact, ``type/*`` or ``*/*``)."""
    if media in content:
        return media
    kind = media.split("/")[0]
    return next((m for m in (f"{kind}/*", "*/*") if m in content), None)


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _at(body: Any, where: tuple[str | int, ...]) -> Any:
    for step in where:
        body = body[step]
    return body


def _newer_document(body: Any, where: tuple[str | int, ...], spec: Spec
                    ) -> tuple[str | int, ...] | None:
    """The path of the innermost resource document around ``where`` stating a later minor
    version of this major (read forward), or None."""
    found = None
    node = body
    for depth in range(len(where) + 1):
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str):
            resolved = resolve_version(node.get("specVersion"), [spec.version])
            if resolved is not None and resolved.newer:
                found = where[:depth]
        if depth == len(where):
            break
        try:
            node = node[where[depth]]
        except (KeyError, IndexError, TypeError):
            break
    return found


def _forward_valid(document: Any) -> bool:
    """Whether the library, reading ``document`` forward, finds no error in it."""
    return not validate(document).errors
