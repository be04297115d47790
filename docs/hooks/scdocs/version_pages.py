"""The versions page: every installed version of the standard, which one the site shows."""

from __future__ import annotations

from . import links
from .source import Spec, available_versions, classes, read_spec, requirements_of
from .text import code, esc, generated_note, localized, w


def version_anchor(version: str) -> str:
    """``1.0`` → ``v1-0``."""
    return "v" + version.replace(".", "-")


def render_versions(shown: Spec, lang: str) -> str:
    """One section per installed version: its resource types and conformance classes.

    ``shown`` is the version the other reference pages are generated for (the default).
    """
    here = links.VERSIONS
    zh = lang == "zh"
    versions = available_versions()
    lines = [
        "# 版本" if zh else "# Versions",
        "",
        generated_note(lang, ", ".join(code(f"spec/{v}/") for v in versions)),
        (
            f"已安装的标准版本：{'、'.join(versions)}。本网站的其他参考页按默认版本 "
            f"{shown.version} 生成；文档的 `specVersion` 说明它遵循哪个版本。"
            if zh
            else f"Installed versions of the standard: {', '.join(versions)}. The other "
            f"reference pages of this site are generated for the default version "
            f"{shown.version}; a document's `specVersion` says which version it follows."
        ),
        "",
    ]
    for version in versions:
        spec = shown if version == shown.version else read_spec(version)
        mark = (" （默认）" if zh else " (default)") if spec is shown else ""
        types = ", ".join(f"`{rt}` (`/{spec.collection(rt)}`)" for rt in spec.resource_types)
        lines += [
            f"## {version}{mark} {{#{version_anchor(version)}}}",
            "",
            f"- {'资源类型' if zh else 'Resource types'}: {types}",
        ]
        if spec is shown:
            lines.append(
                f"- {'参考页' if zh else 'Reference pages'}: "
                f"[{'参考' if zh else 'Reference'}]({links.rel(here, links.REFERENCE_INDEX)})"
            )
        lines += [
            "",
            f"| {w(lang, 'class')} | {'必选' if zh else 'Mandatory'} | "
            f"{'需求数' if zh else 'Requirements'} |",
            "|---|---|---|",
        ]
        for c in classes(spec):
            title = esc(localized(c.title, lang))
            named = f"[{title}]({links.requirements(here, c.id)})" if spec is shown else title
            lines.append(
                f"| {named}<br>`{c.id}` | {w(lang, 'yes') if c.mandatory else '—'} | "
                f"{len(requirements_of(spec, c))} |"
            )
        lines.append("")
    return "\n".join(lines)
