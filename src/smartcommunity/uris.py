"""URIs compared as RFC 3986 lets any receiver compare them without knowing the resource:
syntax-based normalisation (section 6.2.2) and, for a URI with an authority, the default
port and empty path of section 6.2.3. The one comparison of the systems that ``meta.source``
and ``externalRefs`` name, so that one system is not taken for another by its spelling.

>>> normalise_uri("HTTPS://Platform.Example.ORG:443/%7exingfuli/./a%2f")
'https://platform.example.org/~xingfuli/a%2F'
>>> same_uri("urn:uuid:0f8e54c4-4b7e-4a3b-9e64-0a2c4d6e8f10",
...          "URN:uuid:0f8e54c4-4b7e-4a3b-9e64-0a2c4d6e8f10")
True
>>> same_uri("https://example.org/a", "https://example.org/a/")
False
"""

from __future__ import annotations

import re

__all__ = ["normalise_uri", "same_uri"]

#: the parts of any URI reference (RFC 3986 appendix B)
_PARTS = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$",
                    re.DOTALL)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
#: characters that mean the same percent-encoded or not (RFC 3986 section 2.3)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: the port a scheme's URIs mean when they give none (RFC 3986 section 6.2.3)
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _percent(text: str) -> str:
    """``text`` with unreserved characters decoded and every other octet in upper-case hex."""
    def one(found: re.Match[str]) -> str:
        char = chr(int(found.group(1), 16))
        return char if char in _UNRESERVED else f"%{found.group(1).upper()}"

    return _PERCENT.sub(one, text) if "%" in text else text


def _without_dot_segments(path: str) -> str:
    """``path`` with its "." and ".." segments resolved (RFC 3986 section 5.2.4)."""
    if "." not in path:
        return path
    out: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith(("./", "/./")):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:]
            if out:
                out.pop()
        elif path in (".", ".."):
            path = ""
        else:
            cut = path.find("/", 1)
            segment, path = (path, "") if cut < 0 else (path[:cut], path[cut:])
            out.append(segment)
    return "".join(out)


def _authority(authority: str, scheme: str) -> str:
    user, at, hostport = authority.rpartition("@")
    host, port = hostport, ""
    # the last colon is the port's unless it is inside an IP literal ("[::1]")
    colon = hostport.rfind(":")
    if colon > hostport.rfind("]"):
        host, port = hostport[:colon], hostport[colon + 1:]
    host = _percent(_percent(host).lower())  # lower-cased, its percent-encoding upper again
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{_percent(user)}{at}{host}{':' + port if port else ''}"


def normalise_uri(uri: str) -> str:
    """``uri`` in the form that RFC 3986 syntax-based normalisation gives it: the scheme and
    host in lower case; unreserved characters not percent-encoded and other percent-encoding
    in upper-case hex; no "." or ".." path segments; and, with an authority, no empty or
    default port (http, https, ws, wss) and "/" for an empty path. Two URIs with the same
    normal form name the same resource; other differences (a trailing "/", letter case in
    the path) may name another one, and are kept."""
    found = _PARTS.match(uri)
    assert found is not None  # every part is optional: the pattern matches any text
    scheme, authority, path, query, fragment = found.groups()
    scheme = scheme.lower() if scheme is not None else None
    out = f"{scheme}:" if scheme is not None else ""
    path = _without_dot_segments(_percent(path))
    if authority is not None:
        out += "//" + _authority(authority, scheme or "")
        path = path or "/"
    elif path.startswith("//"):
        # Without an authority, removing dot segments ("/.//x") must not make the path read
        # as one: "/." keeps it a path, and normalising again gives the same (RFC 3986 5.2.4
        # leaves this open; the WHATWG URL standard writes it so).
        path = "/." + path
    out += path
    if query is not None:
        out += "?" + _percent(query)
    if fragment is not None:
        out += "#" + _percent(fragment)
    return out


def same_uri(one: str, other: str) -> bool:
    """Whether ``one`` and ``other`` are the same URI once normalised (:func:`normalise_uri`)."""
    return one == other or normalise_uri(one) == normalise_uri(other)
