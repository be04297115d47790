"""Bearer tokens and the principals they stand for (/req/core/authentication).

A token maps to a principal: a name, a role of the ``role`` codelist, the communities it serves
(12-digit division codes, or ``"*"`` for every community), and, where the role needs them, the
organisation, grid and the resident a resident or proxy is. Tokens come from three places:

- a tokens file (``schemas/meta/tokens-file.json``), for development and small deployments,
  keyed by the token's SHA-256 digest (``sha256:<hex>``) or by the token itself, each with an
  optional expiry; the file is read again when it changes, and weak clear tokens are refused::

    {"tokens": {"sha256:9f86…": {"name": "刘芳", "role": "community-staff",
                                 "communities": ["110105001001"], "userId": "cs-0102",
                                 "expires": "2026-06-30T00:00:00+08:00",
                                 "organisation": {"id": "rc-xingfuli", "name": "…", "type": "…"}}}}

- JSON Web Tokens signed by the city's identity provider and verified against its JWKS, a
  file or URL read again when it changes, so a key removed from it revokes every token it
  signed (/req/core/bearer-jwt; the claims are ``schemas/meta/token-claims.json``);
- tokens given to ``create_app`` directly (tests, embedding programs, the demo's tokens).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from jsonschema import Draft202012Validator

from smartcommunity import load_spec
from smartcommunity.specification import DEFAULT_VERSION

__all__ = ["ALL", "Credential", "JwtVerifier", "KeysUnreachable", "Principal", "TokenFile",
           "TokenRegistry", "WeakToken", "check_tokens_document", "load_tokens",
           "read_tokens_file", "token_bits", "token_key"]

log = logging.getLogger("reference_server.auth")

#: a clear token in a tokens file needs this many bits by :func:`token_bits` (a random
#: 22-character ``secrets.token_urlsafe(16)`` has about 90; ``aaaaaaaaaaaaaaaa`` has none)
MINIMUM_TOKEN_BITS = 80
#: how often (seconds) a tokens file or JWKS file is looked at for changes
CHECK_EVERY = 1.0

ALL = "*"
_DIVISION = re.compile(r"^[1-9][0-9]{11}$")
_GRID = re.compile(r"^[1-9][0-9]{11}-[0-9A-Z]{1,8}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the role decides the audience, the communities the scope."""

    name: str
    role: str
    communities: frozenset[str] | str  # a set of division codes, or ALL
    organisation: Mapping[str, Any] | None = None
    resident: str | None = None  # the resident record of a resident or proxy
    user_id: str | None = None
    label: str = ""
    #: the grids a grid worker is responsible for (/req/privacy/grid-scope)
    grids: frozenset[str] = frozenset()
    #: who the principal is when it names neither a user id nor a resident record: derived
    #: from its credential, never from its display name
    credential: str | None = None

    @property
    def organisation_id(self) -> str | None:
        return None if self.organisation is None else str(self.organisation.get("id"))

    @property
    def every_community(self) -> bool:
        return self.communities == ALL

    def serves(self, community: str | None) -> bool:
        return self.communities == ALL or (community is not None and community in self.communities)

    def serves_any(self, communities: Iterable[str]) -> bool:
        return self.communities == ALL or any(c in self.communities for c in communities)

    @property
    def key(self) -> str:
        """Stable identity for idempotency keys and the audit log (/req/core/idempotency-scope):
        the user id within its organisation, else the resident record, else the credential;
        never the display name, which two principals may share. A user id is unique only
        within its organisation: two residents' committees may both number staff from 0001."""
        if self.user_id:
            if self.organisation is None:
                return f"{self.role}:user:{self.user_id}"
            # Quoted, so that no organisation id can run into the user id after it.
            organisation = quote(str(self.organisation.get("id")), safe="")
            return f"{self.role}:org:{organisation}:user:{self.user_id}"
        if self.resident:
            return f"{self.role}:resident:{self.resident}"
        return f"{self.role}:credential:{self.credential or '-'}"

    def is_actor(self, actor: Mapping[str, Any]) -> bool:
        """Whether the ``actor.json`` object ``actor`` names this principal by user id: the
        same role, organisation (by id; none on both sides is the same) and user id, the
        members :meth:`actor` records (/req/residents/proxy-scope)."""
        if not self.user_id or actor.get("userId") != self.user_id:
            return False
        organisation = actor.get("organisation")
        named = organisation.get("id") if isinstance(organisation, Mapping) else None
        own = None if self.organisation is None else self.organisation.get("id")
        return actor.get("role") == self.role and named == own

    def actor(self, person_type: str) -> dict[str, Any]:
        """The principal as an ``actor.json`` object for history events (``person_type``: the
        resource type of the resident record it may name)."""
        out: dict[str, Any] = {"role": self.role, "name": self.name}
        if self.user_id:
            out["userId"] = self.user_id
        if self.resident:
            out["resident"] = {"resourceType": person_type, "id": self.resident}
        if self.organisation:
            out["organisation"] = dict(self.organisation)
        return out


class KeysUnreachable(Exception):
    """The JWKS URL of the identity provider did not answer with a key set: no token it signed
    can be checked until it does (the server's fault to report, not the caller's)."""


class WeakToken(ValueError):
    """A clear token in a tokens file that is too short or too repetitive to be secret."""


@dataclass(frozen=True, slots=True)
class Credential:
    """What a token stands for, and until when."""

    principal: Principal
    expires: datetime | None = None

    def valid(self, now: datetime) -> bool:
        return self.expires is None or now < self.expires


def token_bits(token: str) -> float:
    """A cautious estimate of a token's entropy: its length times log2 of the number of
    distinct characters in it (``aaaaaaaa`` has 0 bits, 32 random hex digits 128)."""
    distinct = len(set(token))
    return len(token) * math.log2(distinct) if distinct > 1 else 0.0


class _Watched:
    """A file read again (by ``load``) when its size, inode or modification time changes,
    looked at no more often than every ``check_every`` seconds. A file that breaks while
    the server runs keeps the last good content and logs why."""

    def __init__(self, path: Path, load: Callable[[Path], Any], check_every: float) -> None:
        self.path = path
        self._load = load
        self._check_every = check_every
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self.value = load(path)  # errors at start stop the server
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Any:
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return self.value
        with self._lock:
            self._checked = now
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                try:
                    self.value = self._load(self.path)
                    self._stamp = stamp
                    log.info("reloaded %s", self.path)
                except (OSError, ValueError) as exc:
                    log.error("kept the previous %s: %s", self.path.name, exc)
        return self.value


def _validator(schema: str, version: str) -> Draft202012Validator:
    spec = load_spec(version)
    return Draft202012Validator(spec.schema(schema), registry=spec.registry)


def read_tokens_file(path: Path, version: str = DEFAULT_VERSION) -> dict[bytes, Credential]:
    """Token digest → credential from a tokens file (``schemas/meta/tokens-file.json``).

    Raises ValueError when the file breaks its schema and :class:`WeakToken` for a clear
    token with fewer than :data:`MINIMUM_TOKEN_BITS` bits."""
    data = json.loads(path.read_text(encoding="utf-8"))
    check_tokens_document(data, path.name, version)
    out: dict[bytes, Credential] = {}
    for key, fields in data["tokens"].items():
        if key.startswith("sha256:"):
            digest = bytes.fromhex(key[7:])
        else:
            if token_bits(key) < MINIMUM_TOKEN_BITS:
                raise WeakToken(
                    f"令牌 {key[:4]}… 太弱（{token_bits(key):.0f} 位，至少需要 "
                    f"{MINIMUM_TOKEN_BITS} 位），请用 python -c \"import secrets; "
                    f"print(secrets.token_urlsafe(32))\" 生成 / the token {key[:4]}… is too weak "
                    f"({token_bits(key):.0f} bits, at least {MINIMUM_TOKEN_BITS} needed); "
                    f"make one with python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
            digest = _digest(key)
        expires = fields.get("expires")
        out[digest] = Credential(
            principal_from(fields, version, digest),
            datetime.fromisoformat(expires) if isinstance(expires, str) else None)
    return out


def check_tokens_document(data: Any, name: str, version: str = DEFAULT_VERSION) -> None:
    """Raise ValueError, naming the place but never a whole token, when ``data`` (the content
    of the tokens file ``name``) breaks ``schemas/meta/tokens-file.json``."""
    errors = sorted(_validator("meta/tokens-file.json", version).iter_errors(data),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path)
        if where.startswith("tokens/"):
            where = "tokens/" + where[7:11] + "…"  # never print a whole token
        raise ValueError(f"{name} breaks tokens-file.json at /{where}: {errors[0].message}")


def token_key(token: str) -> str:
    """The key a tokens file gives ``token``: ``sha256:`` and the hex digest the server looks
    the token up by."""
    return "sha256:" + _digest(token).hex()


class TokenFile:
    """A tokens file, read again when it changes (no restart needed)."""

    def __init__(self, path: Path, version: str = DEFAULT_VERSION,
                 check_every: float = CHECK_EVERY) -> None:
        self.path = path
        self._file = _Watched(path, lambda p: read_tokens_file(p, version), check_every)

    def __len__(self) -> int:
        return len(self._file.value)

    def lookup(self, digest: bytes) -> Credential | None:
        found: Credential | None = self._file.current().get(digest)
        return found


class JwtVerifier:
    """Bearer JWTs signed by the city's identity provider (/req/core/bearer-jwt).

    ``jwks`` is a JWKS file (read again when it changes) or an ``https://`` URL (fetched again
    after ``check_every`` × 300 seconds, and when a token names a key it has not seen, at most
    once every ``check_every`` × 30 seconds); a key removed from the set no longer verifies
    anything. A URL that does not answer raises :class:`KeysUnreachable`. Signature, issuer,
    audience and expiry are checked by PyJWT with the algorithms and leeway of the
    requirement's parameters; the claims, read with a city profile's role mapping when the
    server runs one (``map_claims``), must then match ``schemas/meta/token-claims.json``."""

    def __init__(self, jwks: str, issuer: str, audience: str, version: str = DEFAULT_VERSION,
                 check_every: float = CHECK_EVERY,
                 map_claims: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
                 ) -> None:
        spec = load_spec(version)
        #: a city profile's role mapping (/req/profiles/roles), applied before the claims are
        #: read: the identity provider's own claims give the standard role
        self.map_claims = map_claims
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.version = version
        self.algorithms = list(spec.parameter("/req/core/bearer-jwt", "algorithms"))
        self.leeway = float(spec.parameter("/req/core/bearer-jwt", "leewaySeconds"))
        self._claims = _validator("meta/token-claims.json", version)
        self._client: jwt.PyJWKClient | None = None
        self._file: _Watched | None = None
        if jwks.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(jwks, cache_jwk_set=True,
                                           lifespan=max(1, int(check_every * 300)), timeout=5,
                                           cooldown_duration=check_every * 30)
        else:
            self._file = _Watched(Path(jwks), _read_jwks, check_every)

    def _key(self, token: str) -> Any:
        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                log.error("cannot fetch the JWKS %s: %s", self.jwks, exc)
                raise KeysUnreachable(self.jwks) from exc
        assert self._file is not None
        keys: jwt.PyJWKSet = self._file.current()
        kid = jwt.get_unverified_header(token).get("kid")
        usable = [k for k in keys.keys if kid is None or k.key_id == kid]
        if len(usable) != 1:
            raise jwt.InvalidKeyError("no single key of the JWKS matches the token's kid")
        return usable[0].key

    def check_keys(self) -> None:
        """Fetch a JWKS URL now (a file was read at start); raises :class:`KeysUnreachable`."""
        if self._client is not None:
            try:
                self._client.get_jwk_set(refresh=True)
            except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
                raise KeysUnreachable(f"{self.jwks}: {exc}") from exc

    def principal(self, token: str) -> Principal | None:
        """The principal of a valid token; None for any token that is not. Raises
        :class:`KeysUnreachable` when the JWKS URL does not answer."""
        try:
            claims = jwt.decode(token, self._key(token), algorithms=self.algorithms,
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            log.info("refused a JWT: %s", exc)
            return None
        if self.map_claims is not None and isinstance(claims, dict):
            claims = self.map_claims(claims)
        if next(iter(self._claims.iter_errors(claims)), None) is not None:
            log.info("refused a JWT whose claims break token-claims.json")
            return None
        try:
            return principal_from({**claims, "userId": claims["sub"]}, self.version)
        except ValueError as exc:
            log.info("refused a JWT: %s", exc)
            return None


def _read_jwks(path: Path) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8"))
    except jwt.PyJWKSetError as exc:
        raise ValueError(f"{path}: not a usable JWKS: {exc}") from exc


class TokenRegistry:
    """Token → principal, from the given tokens, a tokens file and a JWT issuer.

    Tokens are looked up by their SHA-256 digest, so the time a lookup takes says nothing about
    how much of a guessed token was right, and a tokens file need only hold digests.
    """

    def __init__(self, principals: Mapping[str, Principal] | None = None, *,
                 file: TokenFile | None = None, issuer: JwtVerifier | None = None,
                 demo: bool = False) -> None:
        self._principals = dict(principals or {})
        self._by_digest = {_digest(t): p for t, p in self._principals.items()}
        self.file = file
        self.issuer = issuer
        #: whether the tokens are the demo's published ones (shown at start)
        self.demo = demo

    def __len__(self) -> int:
        return len(self._by_digest) + (len(self.file) if self.file is not None else 0)

    def lookup(self, token: str) -> Principal | None:
        if self.issuer is not None and token.count(".") == 2:
            return self.issuer.principal(token)
        digest = _digest(token)
        found = self._by_digest.get(digest)
        if found is None and self.file is not None:
            credential = self.file.lookup(digest)
            if credential is not None and credential.valid(datetime.now(UTC)):
                found = credential.principal
        return found

    def items(self) -> list[tuple[str, Principal]]:
        """The clear tokens given directly (never those of a file, which may hold digests)."""
        return list(self._principals.items())


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def principal_from(fields: Mapping[str, Any], version: str = DEFAULT_VERSION,
                   digest: bytes | None = None) -> Principal:
    """A principal from its JSON description (and the digest of the token that stands for
    it); raises ValueError on a bad one."""
    roles = load_spec(version).codelist("role")
    role = fields.get("role")
    if role not in roles:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(roles)}")
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a principal needs a name")
    raw = fields.get("communities", [])
    if raw == ALL:
        communities: frozenset[str] | str = ALL
    else:
        if not isinstance(raw, list) or not all(isinstance(c, str) and _DIVISION.match(c)
                                                for c in raw):
            raise ValueError(f"communities of {name} must be 12-digit division codes or \"*\"")
        communities = frozenset(raw)
    organisation = fields.get("organisation")
    if organisation is not None and not isinstance(organisation, Mapping):
        raise ValueError(f"organisation of {name} must be an organisation object")
    resident = fields.get("resident")
    own_record_roles = load_spec(version).privacy["recordAccess"]["ownRecordRoles"]
    if role in own_record_roles and not isinstance(resident, str):
        raise ValueError(f"{role} principal {name} needs the id of their resident record")
    user_id = fields.get("userId")
    grids = fields.get("grids", [])
    if not isinstance(grids, list) or not all(isinstance(g, str) and _GRID.match(g)
                                              for g in grids):
        raise ValueError(f"grids of {name} must be grid codes")
    return Principal(grids=frozenset(grids), name=name, role=str(role), communities=communities,
                     organisation=dict(organisation) if organisation else None,
                     resident=resident if isinstance(resident, str) else None,
                     user_id=user_id if isinstance(user_id, str) else None,
                     label=str(fields.get("label", "")),
                     credential=None if digest is None else digest.hex()[:32])


def load_tokens(source: Mapping[str, Any], version: str = DEFAULT_VERSION,
                ) -> dict[str, Principal]:
    """Token → principal from clear tokens given directly (``{"tokens": {...}}`` or the
    mapping itself); a tokens file is read by :func:`read_tokens_file`."""
    data: Any = source
    if isinstance(data, Mapping) and isinstance(data.get("tokens"), Mapping):
        data = data["tokens"]
    if not isinstance(data, Mapping):
        raise ValueError("a tokens file maps tokens to principals")
    out: dict[str, Principal] = {}
    for token, fields in data.items():
        if not isinstance(token, str) or len(token) < 8 or not token.isascii():
            raise ValueError("every token must be ASCII and at least 8 characters long")
        if not isinstance(fields, Mapping):
            raise ValueError(f"the principal of token {token[:4]}… must be an object")
        out[token] = principal_from(fields, version, _digest(token))
    return out
