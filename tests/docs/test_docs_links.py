"""(d) Every internal link of the built site resolves: the file exists and so does the anchor."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from .conftest import Build
from .sitehtml import parse

#: the 404 page is served for any missing path, so its links are site-absolute by design
SKIP = {"404.html"}


def _target(site: Path, page: Path, url: str) -> tuple[Path, str] | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
        return None
    if not parts.path:
        return page, unquote(parts.fragment)
    assert not parts.path.startswith("/"), f"{page.relative_to(site)}: site-absolute link {url}"
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir() or parts.path.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def test_every_internal_link_resolves(built: Build) -> None:
    site = built.site.resolve()
    problems: list[str] = []
    checked = 0
    for page in sorted(site.rglob("*.html")):
        if page.relative_to(site).as_posix() in SKIP:
            continue
        for tag, attr, url in parse(page).links:
            found = _target(site, page, url)
            if found is None:
                continue
            target, fragment = found
            checked += 1
            where = f"{page.relative_to(site)}: <{tag} {attr}={url!r}>"
            if not str(target).startswith(str(site)):
                problems.append(f"{where} leaves the site")
            elif not target.is_file():
                problems.append(f"{where} → missing {target.relative_to(site)}")
            elif fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                problems.append(f"{where} → no anchor #{fragment}")
    assert checked > 10_000, f"only {checked} links checked: is the site complete?"
    assert not problems, f"{len(problems)} broken links:\n" + "\n".join(problems[:50])
