"""An offline wheelhouse: the distributions installed in this environment, packed back into wheels.

A profile of the distribution (``smartcommunity[server]`` …) is installed into a fresh virtual
environment from the built wheel plus these repacked wheels only, with every index switched off.
Only what the profile's metadata asks for (recursively, markers and extras evaluated) is packed,
so a dependency missing from the metadata is missing from the new environment too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: dist-info files an installer writes: not part of a wheel
_INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})


def _distribution(name: str) -> metadata.Distribution:
    return metadata.distribution(name)


def closure(requirements: Iterable[Requirement], skip: frozenset[str] = frozenset()) -> dict[
        str, metadata.Distribution]:
    """Every installed distribution the requirements need, by canonical name.

    Markers are evaluated for this interpreter, with ``extra`` set to each extra asked of the
    requiring distribution. ``skip`` names distributions supplied otherwise (the built wheel).
    """
    found: dict[str, metadata.Distribution] = {}
    wanted: dict[str, set[str]] = {}
    queue = list(requirements)
    while queue:
        req = queue.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in wanted and extras <= wanted[name]:
            continue
        wanted.setdefault(name, set()).update(extras)
        dist = _distribution(req.name)
        if name not in skip:
            found[name] = dist
        for raw in dist.requires or ():
            sub = Requirement(raw)
            if sub.marker is None or any(
                sub.marker.evaluate({"extra": extra}) for extra in ("", *wanted[name])
            ):
                queue.append(sub)
    return found


def profile_requirements(wheel: Path, extras: Iterable[str]) -> list[Requirement]:
    """The requirements a built wheel declares for the given extras (``Requires-Dist``)."""
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = (n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(zf.read(meta).decode())
    extras = set(extras)
    out = []
    for raw in headers.get_all("Requires-Dist") or []:
        req = Requirement(raw)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
            out.append(req)
    return out


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def repack(dist: metadata.Distribution, into: Path) -> Path:
    """Write one installed distribution back as a wheel: the files its RECORD lists under
    site-packages and its dist-info, with the tags of its WHEEL file."""
    files = dist.files or []
    dist_info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    wheel_meta = HeaderParser().parsestr(dist.read_text("WHEEL") or "")
    tags = wheel_meta.get_all("Tag") or ["py3-none-any"]
    py, abi, plat = (sorted({t.split("-")[i] for t in tags}) for i in range(3))
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    version = dist.version
    target = into / f"{name}-{version}-{'.'.join(py)}-{'.'.join(abi)}-{'.'.join(plat)}.whl"
    if target.exists():  # packed before, by this process or another
        return target
    partial = into / f".{target.name}.{os.getpid()}"
    record: list[str] = []
    # Stored, not deflated: the wheel is unpacked right away.
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:
        for f in files:
            parts = f.parts
            # Scripts and data outside site-packages (``../../bin``) are regenerated or not
            # needed; bytecode is compiled anew.
            if ".." in parts or "__pycache__" in parts or f.suffix == ".pyc":
                continue
            if parts[0] == dist_info and f.name in _INSTALLER_FILES:
                continue
            path = Path(str(f.locate()))
            if not path.is_file():
                continue
            data = path.read_bytes()
            arcname = f.as_posix()
            zf.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        record.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    partial.replace(target)  # whole or not at all, for processes packing the same at once
    return target


def offline_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables under which pip can reach nothing but the given wheelhouse."""
    env = {k: v for k, v in (base or os.environ).items()
           if not k.upper().startswith("PIP_") and k.upper() not in {"PYTHONPATH"}}
    env.update({
        "PIP_CONFIG_FILE": os.devnull,  # the machine's pip.conf names indexes and find-links
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "", "NO_PROXY": "",
    })
    return env


def install_profile(wheel: Path, extras: Iterable[str], venv: Path, house: Path) -> Path:
    """A fresh virtual environment holding the wheel with the extras, installed offline;
    returns its ``bin`` folder.

    ``house`` may be shared between profiles: pip takes from it only what the built wheel's
    metadata requires, so a wheel packed for another profile cannot hide a missing dependency.
    """
    extras = sorted(extras)
    house.mkdir(parents=True, exist_ok=True)
    ours = canonicalize_name(wheel.name.split("-")[0])
    for dist in closure(profile_requirements(wheel, extras), skip=frozenset({ours})).values():
        repack(dist, house)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    spec = f"{wheel.name.split('-')[0]}{'[' + ','.join(extras) + ']' if extras else ''}"
    version = wheel.name.split("-")[1]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
         "--no-compile", "--find-links", str(house), "--find-links", str(wheel.parent),
         "--only-binary", ":all:", "-q", f"{spec}=={version}"],
        env=offline_environment(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"pip could not install {spec} offline:\n{result.stderr}")
    return venv / "bin"
