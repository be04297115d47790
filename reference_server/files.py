"""Files holding secrets or personal data: created private, read as bytes, checked for access.

Key, token and database files the server creates are 0600; a file it is given that others may
read draws a warning at start (not a refusal: a container's volume may not keep modes).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["create_private", "read_key_file", "shared_file_warnings", "sqlite_path",
           "write_private"]


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite gives its -wal and -shm
    files the mode of the database file); missing parent folders are made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (a new file), replacing what was there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def shared_file_warnings(*paths: Path | None) -> list[str]:
    """A warning for each existing file that users other than its owner may read or write."""
    out = []
    for path in paths:
        if path is None:
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue
        if stat.S_IMODE(mode) & 0o077:
            out.append(f"{path} 可被其他用户访问（权限 {stat.S_IMODE(mode):o}），请执行 "
                       f"chmod 600 / {path} is open to other users (mode "
                       f"{stat.S_IMODE(mode):o}); run chmod 600 {path}")
    return out


def read_key_file(path: Path) -> bytes:
    """The key in ``path`` as bytes. A text key loses its surrounding whitespace (the newline
    an editor adds); a binary key is taken byte for byte."""
    raw = path.read_bytes()
    try:
        raw.decode("ascii")
    except UnicodeDecodeError:
        return raw
    return raw.strip()
