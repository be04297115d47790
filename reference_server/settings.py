"""Settings of the reference server: where the data lives and the limits it enforces.

Page sizes are not settings: the default and the maximum are those of the OpenAPI's ``limit``
parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartcommunity import CHINA_STANDARD_TIME
from smartcommunity.specification import DEFAULT_VERSION

#: China Standard Time, the library's; timestamps the server writes carry this offset.
CST = CHINA_STANDARD_TIME


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``create_app`` needs; the defaults suit a local demo."""

    #: SQLAlchemy URL: ``sqlite:///path`` (default) or ``postgresql+psycopg://...``
    database_url: str = "sqlite:///./smartcommunity.sqlite3"
    #: tokens file (``schemas/meta/tokens-file.json``), read again when it changes
    tokens_file: Path | None = None
    #: tokens given directly (token → principal fields), used by tests and embedding programs;
    #: without these, a tokens file or a JWKS the server accepts the demo's published tokens
    tokens: dict[str, dict[str, Any]] | None = None
    #: JWKS of the city's identity provider (a file path or an https URL): bearer JWTs signed
    #: by its keys are accepted (/req/core/bearer-jwt); needs ``jwt_issuer`` and ``jwt_audience``
    jwks: str | None = None
    #: the ``iss`` claim the JWTs must carry
    jwt_issuer: str | None = None
    #: the ``aud`` claim the JWTs must include (this server)
    jwt_audience: str | None = None
    #: seconds between looks at the tokens file and the JWKS for changes
    reload_every: float = 1.0
    #: retention periods shorter than the spec's maxima (``GET /conformance`` ``retention``
    #: members; /req/privacy/retention); None applies the maxima
    retention: dict[str, Any] | None = None
    #: largest request body accepted, in bytes (/req/core/request-limits)
    max_body_bytes: int = 1024 * 1024
    #: deepest JSON nesting accepted (/req/core/request-limits)
    max_json_depth: int = 64
    #: bytes of redacted records each process keeps to serve again while their stored JSON
    #: and what decides them stay the same (0: every read redacts afresh)
    remembered_bytes: int = 64 * 1024 * 1024
    #: shared city key for citizen ID pseudonyms; None: redaction leaves no pseudonym behind.
    #: During a rotation it is the newest key, the one every new pseudonym is made with.
    pseudonym_key: bytes | None = None
    #: the id the city gives ``pseudonym_key``; None: the key has no name (pseudonyms
    #: ``hmac-sha256:<hex>``), else they read ``hmac-sha256:<id>:<hex>``
    #: (/req/privacy/pseudonym-key-id)
    pseudonym_key_id: str | None = None
    #: the other keys still held during a rotation, by id ("" for the unnamed one): the
    #: pseudonyms they made are still checked, never made
    older_pseudonym_keys: dict[str, bytes] = field(default_factory=dict)
    #: URI written to meta.source and to the change feed's ``source``; None: a stable
    #: ``urn:uuid:`` created with the database
    source_uri: str | None = None
    #: seed the demo community on first start (an existing database is reused as it is)
    demo: bool = False
    #: version of the standard served (its OpenAPI, lifecycles and privacy policy); documents
    #: of the other installed versions of the same major version are taken too
    spec_version: str = DEFAULT_VERSION
    #: extra keyword arguments for SQLAlchemy's create_engine (pool sizes and the like)
    engine_options: dict[str, Any] = field(default_factory=dict)
    #: the city profile the server runs (/conf/profiles): declared at /conformance, served at
    #: /profile and /services, and applied to every write; None runs the national rules alone
    profile: Path | None = None
