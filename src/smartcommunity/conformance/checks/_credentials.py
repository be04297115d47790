"""Credentials the checks make themselves with the preset's test issuer (``jwt``): principals
the preset does not hold, such as two people of different organisations with one user id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped
from ._shared import ISSUE

#: signs claims with the test issuer's key (or another key given) and returns the token
Signer = Callable[..., str]


def issuer_signer(ctx: KitContext) -> tuple[Any, Signer]:
    """The test issuer's private key, and a function signing the preset's claims with
    ``changes`` applied (by that key, or the ``signer`` given), valid for ten minutes.
    Skipped without an issuer, PyJWT[crypto] or a readable key."""
    issuer = ctx.preset.jwt
    if issuer is None:
        raise Skipped("预设没有 JWT 测试签发方", "the preset has no JWT test issuer")
    try:
        import jwt
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise Skipped("未安装 PyJWT[crypto]", "PyJWT[crypto] is not installed") from None
    try:
        with open(issuer["privateKeyFile"], "rb") as fh:
            key: Any = serialization.load_pem_private_key(fh.read(), password=None)
    except (OSError, ValueError) as exc:
        raise Skipped(f"无法读取测试签发方的私钥：{exc}",
                      f"cannot read the test issuer's private key: {exc}") from None
    algorithm = str(issuer.get("algorithm", "ES256"))
    headers = {"kid": issuer["keyId"]} if issuer.get("keyId") else None
    now = int(datetime.now(UTC).timestamp())

    def sign(signer: Any = None, **changes: Any) -> str:
        claims = {**issuer["claims"], "iss": issuer["issuer"], "aud": issuer["audience"],
                  "iat": now, "exp": now + 600, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return str(jwt.encode(claims, key if signer is None else signer, algorithm=algorithm,
                              headers=headers))

    return key, sign


def minted(ctx: KitContext, label: str, **claims: Any) -> Principal:
    """A principal, called ``label`` in the report, of a token the test issuer signs: the
    preset's claims with ``claims`` applied (a claim given as None is left out). Skipped when
    the server does not take it: a server may accept only some roles from its identity
    provider."""
    _, sign = issuer_signer(ctx)
    token = sign(**claims)
    fields = {**(ctx.preset.jwt or {}).get("claims", {}), **claims}
    communities = fields.get("communities") or [ctx.preset.community]
    organisation = fields.get("organisation")
    who = Principal(
        name=label, token=token, role=str(fields.get("role")),
        communities=("*",) if communities == "*" else tuple(communities),
        organisation=str(organisation.get("id")) if isinstance(organisation, dict) else None,
        resident=fields.get("resident"))
    resp = ctx.call("GET", ctx.collection_path(ISSUE), who, params={"limit": "1"})
    if resp.status == 401:
        raise Skipped(f"服务器不接受测试签发方为 {label} 签发的令牌（401）",
                      f"the server does not take the test issuer's token for {label} (401)")
    return who
