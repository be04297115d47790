"""The landing page (``GET /``, /req/core/landing-page) and the API documentation page.

Both are built from the spec: the data links name every collection of the OpenAPI, so a
resource type the spec adds appears without a change here. The documentation page loads
Swagger UI from the package's own files, never from a CDN: a community service centre's
intranet often has no outside network.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Any

from smartcommunity.specification import Spec

__all__ = [
    "API_DESCRIPTION",
    "API_DOCUMENTATION",
    "DOCUMENTATION_ASSETS",
    "landing_html",
    "landing_page",
    "swagger_assets",
]

#: where the server serves its OpenAPI document, its documentation page and that page's files
API_DESCRIPTION = "/openapi.json"
API_DOCUMENTATION = "/docs"
DOCUMENTATION_ASSETS = "/docs/assets"


def _bilingual(zh: str, en: str) -> str:
    return zh if zh == en else f"{zh} / {en}"


def landing_page(spec: Spec, versions: list[str], base_url: str) -> dict[str, Any]:
    """The landing page document (landing-page.json) of a server implementing ``versions``,
    with absolute links under ``base_url`` (the API's root as the client reached it, so the
    links hold behind a proxy that serves the API under a path)."""
    base = base_url.rstrip("/")
    info = spec.openapi["info"]
    types = spec.codelist("resource-type")
    links: list[dict[str, Any]] = [
        {"href": f"{base}/", "rel": "self", "type": "application/json",
         "title": "首页 / This page"},
        {"href": base + API_DESCRIPTION, "rel": "service-desc", "type": "application/json",
         "title": "API 描述（OpenAPI 3.1） / API description (OpenAPI 3.1)"},
        {"href": base + API_DOCUMENTATION, "rel": "service-doc", "type": "text/html",
         "title": "API 文档 / API documentation"},
        {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
         "title": "一致性声明 / Conformance declaration"},
    ]
    for rtype, collection in spec.collections.items():
        links.append({"href": f"{base}/{collection}", "rel": "data", "type": "application/json",
                      "resourceType": rtype,
                      "title": _bilingual(types.title(rtype), types.title(rtype, "en"))})
    page: dict[str, Any] = {"title": str(info["title"]), "specVersions": list(versions),
                            "links": links}
    if info.get("description"):
        page["description"] = " ".join(str(info["description"]).split())
    return page


def landing_html(page: dict[str, Any]) -> str:
    """The same landing page for a browser: every link, in both languages, no script."""
    items = "\n".join(
        f'<li><a rel="{html.escape(link["rel"])}" href="{html.escape(link["href"])}">'
        f'{html.escape(link.get("title", link["href"]))}</a> <code>{html.escape(link["href"])}'
        f"</code></li>" for link in page["links"] if link["rel"] != "self")
    about = (f'<p>{html.escape(page["description"])}</p>' if page.get("description") else "")
    versions = ", ".join(html.escape(v) for v in page["specVersions"])
    return f"""<!DOCTYPE html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page["title"])}</title>
<style>
body {{ font-family: system-ui, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei",
       "WenQuanYi Micro Hei", sans-serif; max-width: 48rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.6; }}
code {{ color: #555; }}
</style>
</head>
<body>
<h1>{html.escape(page["title"])}</h1>
{about}
<p>标准版本 / Standard versions: {versions}</p>
<ul>
{items}
</ul>
</body>
</html>
"""


def swagger_assets() -> Path:
    """The folder of Swagger UI's script, style sheet and icon, installed with the server."""
    return Path(str(resources.files("fastapi_offline") / "static"))
