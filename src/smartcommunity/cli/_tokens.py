"""``smartcommunity tokens``: add, list and revoke the tokens of a reference server's tokens
file (``schemas/meta/tokens-file.json``).

``add`` makes a random token, prints it once and stores only its SHA-256 digest; the file is
created with mode 0600 and replaced whole (a server watching it never reads half a file). A
file others may read is refused: its tokens may already be known. Needs the ``server`` extra,
whose code reads the file the same way the server does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..specification import load_spec
from ._common import EXIT_INVALID, EXIT_OK, UsageError, subcommand
from ._serve import _server_importable

#: bytes of randomness in a new token (``secrets.token_urlsafe``: 43 characters, 256 bits)
TOKEN_BYTES = 32
#: the shortest digest prefix ``revoke`` takes, so a typo does not hit another token
SHORTEST_ID = 8


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--organisation is not JSON: {exc}") from exc


def _as_given(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Optional:
    """An option of ``add`` that sets one member of the token's entry when given."""

    flag: str
    member: str  # of the entry (schemas/meta/tokens-file.json)
    help: str
    metavar: str | None = None
    repeat: bool = False
    read: Callable[[Any], Any] = _as_given


_OPTIONAL = (
    _Optional("--user-id", "userId", "the user id written as the actor's userId"),
    _Optional("--organisation", "organisation",
              "the organisation it acts for, as a JSON object (departments need one)", "JSON",
              read=_json),
    _Optional("--resident", "resident", "the resident record of a resident or proxy principal",
              "ID"),
    _Optional("--grid", "grids", "a grid of a grid worker (repeat)", "CODE", repeat=True),
    _Optional("--label", "label", "what the token is for (shown by list)"),
    _Optional("--expires", "expires", "RFC 3339 time with offset after which the token gets 401",
              "TIME", read=lambda text: _future(text)),  # defined below
)


def _tokens_file(parser: Any, help: str = "the tokens file") -> None:
    parser.add_argument("file", metavar="FILE", help=help)


def add_tokens(sub: Any) -> None:
    p = subcommand(
        sub, "tokens", None, help="manage a reference server's tokens file / 管理令牌文件",
        description="Add, list and revoke the bearer tokens of a tokens file "
                    "(schemas/meta/tokens-file.json) for smartcommunity serve --tokens. The "
                    "file keeps only SHA-256 digests; a running server reads it again when "
                    "it changes.",
    )
    actions = p.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)
    a = subcommand(actions, "add", add, help="make a token, print it once, store its digest",
                   description="Make a random token for one principal, print it once on "
                               "standard output and store only its digest.")
    _tokens_file(a, "the tokens file (created 0600 if missing)")
    a.add_argument("--name", required=True, help="the principal's name, written as the actor")
    a.add_argument("--role", required=True, choices=list(load_spec().codelist("role")),
                   help="the principal's role")
    a.add_argument("--community", action="append", default=[], metavar="CODE",
                   help='a 12-digit division code it serves (repeat), or "*" for every one')
    for option in _OPTIONAL:
        a.add_argument(option.flag, metavar=option.metavar, help=option.help,
                       **({"action": "append", "default": []} if option.repeat else {}))
    ls = subcommand(actions, "list", list_tokens, help="the tokens of a file, without the tokens")
    _tokens_file(ls)
    r = subcommand(actions, "revoke", revoke, help="remove a token by its id",
                   description="Remove the token whose id (the digest, or at least "
                               f"{SHORTEST_ID} of its first hex digits) is given.")
    _tokens_file(r)
    r.add_argument("id", metavar="ID", help="sha256:<hex> or a prefix of it, as list shows")


def add(args: argparse.Namespace) -> int:
    auth = _auth()
    path = Path(args.file)
    data = _read(path, must_exist=False)
    fields: dict[str, Any] = {"name": args.name, "role": args.role,
                              "communities": _communities(args.community)}
    for option in _OPTIONAL:
        given = getattr(args, option.flag[2:].replace("-", "_"))
        if given:
            fields[option.member] = option.read(given)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    key = auth.token_key(token)
    data["tokens"][key] = fields
    try:
        auth.check_tokens_document(data, path.name)
        auth.principal_from(fields)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    _write(path, data)
    print(token)  # the only time it is shown: standard output alone, for $(…)
    print(f"added {_short(key)} for {args.name} ({args.role}) to {path}; the token above is "
          f"shown only now / 令牌仅显示这一次", file=sys.stderr)
    return EXIT_OK


def list_tokens(args: argparse.Namespace) -> int:
    auth = _auth()
    data = _read(Path(args.file), must_exist=True)
    now = datetime.now(UTC)
    for key, fields in data["tokens"].items():
        expires = fields.get("expires")
        state = ("past its expiry" if expires and datetime.fromisoformat(expires) <= now
                 else "usable")
        communities = fields["communities"]
        print("\t".join([
            _short(_key_of(auth, key)), fields["role"], fields["name"],
            communities if isinstance(communities, str) else " ".join(communities),
            f"expires {expires}" if expires else "no expiry", state,
            fields.get("label", "")]).rstrip())
    return EXIT_OK


def revoke(args: argparse.Namespace) -> int:
    auth = _auth()
    path = Path(args.file)
    data = _read(path, must_exist=True)
    wanted = args.id.removeprefix("sha256:").lower().rstrip("…")
    if len(wanted) < SHORTEST_ID or any(c not in "0123456789abcdef" for c in wanted):
        raise UsageError(f"an id is sha256: and at least {SHORTEST_ID} hex digits of the "
                         f"digest, as list shows / 标识至少需要 {SHORTEST_ID} 位十六进制")
    matches = [k for k in data["tokens"] if _key_of(auth, k)[7:].startswith(wanted)]
    if len(matches) != 1:
        print(f"smartcommunity: {len(matches)} tokens of {path} match {args.id}; nothing "
              f"revoked / 匹配的令牌数为 {len(matches)}，未撤销", file=sys.stderr)
        return EXIT_INVALID
    fields = data["tokens"].pop(matches[0])
    _write(path, data)
    print(f"revoked {_short(_key_of(auth, matches[0]))} of {fields['name']} ({fields['role']})",
          file=sys.stderr)
    return EXIT_OK


def _auth() -> Any:
    _server_importable()
    from reference_server import auth

    return auth


def _communities(given: list[str]) -> str | list[str]:
    if not given:
        raise UsageError('give --community CODE (repeat) or --community "*"')
    if "*" in given:
        if len(given) > 1:
            raise UsageError('"*" already means every community; give it alone')
        return "*"
    return list(dict.fromkeys(given))


def _future(text: str) -> str:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--expires {text!r} is not an RFC 3339 time") from exc
    if when.tzinfo is None:
        raise UsageError(f"--expires {text!r} needs an offset (+08:00, Z)")
    if when <= datetime.now(UTC):
        raise UsageError(f"--expires {text!r} is already past")
    return text


def _key_of(auth: Any, key: str) -> str:
    """The digest key of an entry: itself, or that of a token written in clear."""
    return key if key.startswith("sha256:") else str(auth.token_key(key))


def _short(key: str) -> str:
    return key[:7 + 16]


def _read(path: Path, *, must_exist: bool) -> dict[str, Any]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if must_exist:
            raise UsageError(f"no such tokens file: {path}") from None
        return {"tokens": {}}
    if mode & 0o077:
        raise UsageError(
            f"{path} 可被其他用户访问（权限 {mode:o}），其中的令牌可能已泄露：请执行 chmod 600 "
            f"并考虑更换令牌 / {path} is open to other users (mode {mode:o}) and its tokens "
            f"may be known: run chmod 600 {path}, and consider replacing them")
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    try:
        _auth().check_tokens_document(data, path.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return dict(data)


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` by a new 0600 file holding ``data``: written beside it, flushed to disk,
    then renamed over it, so a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
