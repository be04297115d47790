"""MkDocs hook: build the reference pages from ``spec/`` at every build.

Nothing generated is ever written into ``docs/`` or committed. On ``on_config`` the hook
copies ``docs/`` (without this ``hooks/`` folder) into a temporary staging folder, writes
the generated pages next to the hand-written ones there — in both languages — and points
MkDocs at that folder, so the i18n plugin, the navigation and link validation treat the
generated pages like any other. ``on_page_markdown`` fills the ``<!-- sc:… -->`` markers
of hand-written guides with generated tables.

The specification is read through the library (:mod:`smartcommunity.specification`): the
installed spec, or the spec root that ``SMARTCOMMUNITY_SPEC_ROOT`` names (a folder holding
``1.0/``…), which lets an editor preview a draft version and lets the tests prove that a
change in the spec changes the built site. The reference pages show the default version;
the versions page lists every installed one.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scdocs
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.pages import Page
from scdocs.text import join_cjk_lines

log = get_plugin_logger("spec_pages")

_STAGE_PREFIX = "smartcommunity-docs-"

# Kept on the scdocs package, which outlives this module: MkDocs re-imports hooks each
# time it loads the configuration (every rebuild under ``mkdocs serve``).
_state: dict[str, Any] = scdocs.__dict__.setdefault("_hook_state", {"stages": {}})


def _cleanup() -> None:
    for stage in list(_state["stages"]):
        shutil.rmtree(stage, ignore_errors=True)
        _state["stages"].pop(stage, None)


if not _state.get("atexit"):
    atexit.register(_cleanup)
    _state["atexit"] = True


_PID_FILE = ".builder-pid"


def _remove_orphans() -> None:
    """Remove staging folders left by builds that were killed before they could clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_STAGE_PREFIX}*"):
        try:
            pid = int((folder / _PID_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # another user's live build


@event_priority(100)  # before the i18n plugin reads docs_dir
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    docs_dir = str(Path(config.docs_dir).resolve())
    if docs_dir in _state["stages"]:
        # The i18n plugin builds each further language with the same, already staged config.
        return config
    spec_root = scdocs.spec_root()
    spec = scdocs.read_spec(scdocs.DEFAULT_VERSION)
    _remove_orphans()
    stage = tempfile.mkdtemp(prefix=_STAGE_PREFIX)
    (Path(stage) / _PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
    shutil.copytree(
        docs_dir,
        stage,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("hooks", "__pycache__", ".*"),
    )
    generated = scdocs.pages(spec)
    for rel, text in generated.items():
        target = Path(stage) / rel
        if target.exists():
            raise FileExistsError(f"docs/{rel} would hide a generated page; rename it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _state["stages"][stage] = {"spec": spec, "docs_dir": docs_dir, "spec_root": spec_root}
    log.info(f"generated {len(generated)} pages from {spec.folder}")
    config.docs_dir = stage
    config.nav = scdocs.expand_nav(config.nav, spec)
    return config


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Any) -> str:
    staged = _state["stages"].get(str(Path(config.docs_dir).resolve()))
    if staged is None:
        return markdown
    if "<!-- sc:" in markdown:
        markdown = scdocs.replace_markers(markdown, staged["spec"], page.file.src_uri)
    return join_cjk_lines(markdown)


# The i18n plugin gives each page ``<link rel="alternate" hreflang>`` tags pointing at the
# same page in each language. Material's script fetches ``sitemap.xml`` beside every such
# link (a 404 for each page) and then takes over clicks on the language menu, sending the
# reader to the other language's home page whenever its sitemap lookup misses (as it does
# for any host other than site_url). The tags are removed: the language menu's own links
# already lead to the same page in the other language, and the sitemap lists every page's
# alternates for search engines.
_HEAD_ALTERNATE = re.compile(r'<link rel="alternate" href="[^"]*" hreflang="([^"]+)">')
_SITE_ABSOLUTE = re.compile(r'(<a href=")(/[^"]*)(" hreflang="[^"]+")')


def _i18n(config: MkDocsConfig) -> Any:
    return config.plugins.get("i18n")


def _languages(config: MkDocsConfig) -> tuple[str, list[str]]:
    """``(default language, other languages)`` of the i18n plugin's configuration."""
    default, others = str(config.theme.get("language") or "en"), []
    for language in getattr(getattr(_i18n(config), "config", None), "languages", None) or []:
        if getattr(language, "default", False):
            default = str(language.locale)
        else:
            others.append(str(language.locale))
    return default, others


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    root = "../" * page.url.count("/") or "./"
    _, others = _languages(config)
    output = _HEAD_ALTERNATE.sub("", output)
    # The home pages' language links are site-absolute ("/smartcommunity/en/"); relative
    # ones work wherever the site is served, including by ``mkdocs serve``.
    mount = urlsplit(config.site_url or "/").path or "/"

    def menu(m: re.Match[str]) -> str:
        path = m.group(2)
        rest = path[len(mount) :] if path.startswith(mount) else path.lstrip("/")
        return f"{m.group(1)}{root}{rest}{m.group(3)}"

    output = _SITE_ABSOLUTE.sub(menu, output)
    if 'class="mermaid"' not in output:
        # The vendored Mermaid bundle is large: only pages with a diagram load it.
        output = _MERMAID_SCRIPT.sub("", output)
    # Each language has its own search index under its own root (see on_post_build); the
    # theme finds the index through the page's base, so a page's base is its language root.
    lang = next((o for o in others if page.url.startswith(f"{o}/")), None)
    if lang:
        output = _CONFIG_BASE.sub(f'"base": "{root}{lang}/"', output, count=1)
    return output


_CONFIG_BASE = re.compile(r'"base": "[^"]*"')
_MERMAID_SCRIPT = re.compile(r'<script src="[^"]*assets/javascripts/mermaid\.min\.js"></script>')


@event_priority(-200)  # after the i18n plugin has built every language
def on_post_build(config: MkDocsConfig) -> None:
    site = Path(config.site_dir)
    staged = _state["stages"].get(str(Path(config.docs_dir).resolve()))
    index = site / "search" / "search_index.json"
    i18n = _i18n(config)
    if staged is None or not index.is_file():
        return
    if getattr(i18n, "building", False):
        # A further language was just built: keep its own index before the merge.
        staged.setdefault("search", {})[str(i18n.current_language)] = json.loads(
            index.read_text(encoding="utf-8")
        )
        return
    default, others = _languages(config)
    merged = json.loads(index.read_text(encoding="utf-8"))
    prefixes = tuple(f"{lang}/" for lang in others)
    merged["docs"] = [d for d in merged["docs"] if not d["location"].startswith(prefixes)]
    index.write_text(
        json.dumps(merged, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    for lang, data in staged.get("search", {}).items():
        if lang == default:
            continue
        prefix = f"{lang}/"
        data["docs"] = [
            {**d, "location": d["location"][len(prefix) :]}
            for d in data["docs"]
            if d["location"].startswith(prefix)
        ]
        target = site / lang / "search" / "search_index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    # MkDocs watches docs_dir, which is now a staging copy: watch the real sources instead.
    staged = _state["stages"].get(str(Path(config.docs_dir).resolve()))
    if staged is not None:
        server.watch(staged["docs_dir"])
        server.watch(str(staged["spec_root"]))
    return server


def on_shutdown() -> None:
    _cleanup()
