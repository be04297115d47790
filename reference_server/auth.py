"""Bearer tokens and the principals they stand for (/req/core/authentication).

A token maps to a principal: a name, a role of the ``role`` codelist, the communities it serves
(12-digit division codes, or ``"*"`` for every community), and, where the role needs them, the
department's organisation and the resident a resident or proxy is. Tokens are read once at start
from a JSON file::

    {"tokens": {"<token>": {"name": "刘芳", "role": "community-staff",
                            "communities": ["110105001001"], "userId": "cs-0102",
                            "organisation": {"id": "rc-xingfuli", "name": "…", "type": "…"}}}}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcommunity import load_spec
from smartcommunity.specification import DEFAULT_VERSION

__all__ = ["ALL", "Principal", "TokenRegistry", "load_tokens"]

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
        """Stable identity for idempotency keys and the audit log."""
        return f"{self.role}:{self.user_id or self.resident or self.name}"

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


class TokenRegistry:
    """Token → principal.

    Tokens are looked up by their SHA-256 digest, so the time a lookup takes says nothing about
    how much of a guessed token was right.
    """

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._principals = dict(principals)
        self._by_digest = {_digest(t): p for t, p in principals.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> Principal | None:
        return self._by_digest.get(_digest(token))

    def items(self) -> list[tuple[str, Principal]]:
        return list(self._principals.items())


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def principal_from(fields: Mapping[str, Any], version: str = DEFAULT_VERSION) -> Principal:
    """A principal from its JSON description; raises ValueError on a bad one."""
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
                     label=str(fields.get("label", "")))


def load_tokens(source: Path | Mapping[str, Any], version: str = DEFAULT_VERSION,
                ) -> dict[str, Principal]:
    """Token → principal from a tokens file (or its parsed content)."""
    data: Any = (json.loads(source.read_text(encoding="utf-8")) if isinstance(source, Path)
                 else source)
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
        out[token] = principal_from(fields, version)
    return out
