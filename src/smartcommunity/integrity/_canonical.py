"""The canonical JSON both chains hash: RFC 8785 (JCS)."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

#: how a digest is written: the algorithm, a colon, the lowercase hex of the hash
PREFIX = "sha256:"


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value`` (UTF-8 bytes)."""
    return rfc8785.dumps(value)


def digest(value: Any) -> str:
    """``sha256:`` and the SHA-256 of the canonical JSON of ``value``, in lowercase hex."""
    return hash_text(canonical(value))


def hash_text(data: bytes) -> str:
    """``sha256:`` and the SHA-256 of ``data``, in lowercase hex."""
    return PREFIX + hashlib.sha256(data).hexdigest()
