"""Pages rendering city profiles: departments, service catalogue, deadlines, calendar, grids.

Every profile in ``spec/<version>/profiles/`` gets a page, and so does every file that
``SMARTCOMMUNITY_DOCS_PROFILES`` names (paths separated as in ``PATH``), so a city previews its
own profile with ``mkdocs build`` before publishing it. A profile with errors stops the build
with its findings, as ``smartcommunity validate --profile`` would list them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartcommunity.profiles import Profile, TimeLimit, load_profile

from .source import Spec, code_label, code_title
from .text import cell, code, either, esc, generated_note, localized, table_head

__all__ = ["FOLDER", "PROFILES_ENV", "profile_files", "profile_page", "render_index",
           "render_profile"]

#: where the profile pages live, under the docs root
FOLDER = "reference/profiles"
#: more profile files to render, separated by os.pathsep
PROFILES_ENV = "SMARTCOMMUNITY_DOCS_PROFILES"
_KINDS = ("response", "resolution", "followUp")
_UNITS = {"hours": ("小时", "hours"), "days": ("天", "days"),
          "working-days": ("个工作日", "working days")}


def profile_files(spec: Spec) -> list[Path]:
    """The example profiles of ``spec``, then those the environment names."""
    found = sorted((Path(spec.folder) / "profiles").glob("*.json"))
    extra = os.environ.get(PROFILES_ENV, "")
    found += [Path(p) for p in extra.split(os.pathsep) if p]
    return found


def profile_page(path: Path) -> str:
    return f"{FOLDER}/{path.stem}.md"


def _limit(limit: TimeLimit | None, lang: str) -> str:
    if limit is None:
        return "—"
    unit = _UNITS.get(limit.unit, (limit.unit, limit.unit))
    return f"{limit.amount} {either(lang, *unit)}".replace(" 小", "小").replace(" 天", "天") \
        .replace(" 个", "个")


def _name(value: Any, lang: str) -> str:
    return esc(localized(value, lang)) if isinstance(value, Mapping) else esc(str(value or ""))


def _org(profile: Profile, code_value: str, lang: str) -> str:
    org = profile.organisation(code_value)
    name = org.get("name") if org else None
    return f"{code(code_value)} {esc(str(name))}" if name else code(code_value)


def render_index(spec: Spec, lang: str) -> str:
    lines = [f"# {either(lang, '城市配置', 'City profiles')}", "",
             generated_note(lang, code(f"spec/{spec.version}/profiles/")),
             either(lang, "城市配置把国家标准落到一个城市的部门、服务目录、时限和网格上（见"
                          "[城市配置指南](../../guides/profiles.md)）。下列每个配置各有一页；"
                          "文件格式见[城市配置](../files/profile.md)。",
                    "A city profile fits the national standard to one city's departments, "
                    "catalogue, deadlines and grids (see the [profiles guide]"
                    "(../../guides/profiles.md)). Each profile below has a page of its own; "
                    "the file format is on the [city profile](../files/profile.md) page."),
             "", *table_head(either(lang, "配置", "Profile"), either(lang, "版本", "Version"),
                             either(lang, "城市", "City"))]
    for path in profile_files(spec):
        profile = load_profile(path)
        lines.append(f"| [{_name(profile.title, lang)}]({path.stem}.md) | "
                     f"{code(profile.version)} | {code(profile.city)} |")
    return "\n".join(lines) + "\n"


def render_profile(spec: Spec, path: Path, lang: str) -> str:
    profile = load_profile(path)
    head = profile.data["profile"]
    out = [f"# {_name(profile.title, lang)}", "",
           generated_note(lang, code(path.name)),
           *table_head(either(lang, "项目", "Item"), either(lang, "值", "Value")),
           f"| URI | {code(profile.id)} |",
           f"| {either(lang, '版本', 'Version')} | {code(profile.version)} |",
           f"| {either(lang, '所基于的规范版本', 'Standard version')} | "
           f"{code(profile.spec_version)} |",
           f"| {either(lang, '发布者', 'Publisher')} | {_name(head.get('publisher'), lang)} |",
           f"| {either(lang, '命名空间', 'Namespace')} | {code(profile.namespace)} |",
           f"| {either(lang, '代码前缀', 'Code prefix')} | {code(profile.code_prefix)} |",
           f"| {either(lang, '管辖区划', 'Divisions')} | "
           f"{', '.join(code(d) for d in profile.divisions)} |", ""]
    out += _departments(spec, profile, lang) + _catalogue(spec, profile, lang)
    out += _deadlines(spec, profile, lang) + _calendar(profile, lang) + _grids(profile, lang)
    out += _systems(profile, lang)
    return "\n".join(out) + "\n"


#: each section of a profile page holding one table, in both languages: its heading, an optional
#: paragraph before the table, and the table's column heads (text kept as data, beside this file)
_SECTIONS: dict[str, dict[str, Any]] = json.loads(
    Path(__file__).with_name("profile_sections.json").read_text(encoding="utf-8"))


def _section(lang: str, name: str) -> list[str]:
    """The start of a section of ``_SECTIONS``: heading, paragraph if any, and table head."""
    section = _SECTIONS[name]
    out = [f"## {either(lang, *section['title'])}", ""]
    if section["intro"]:
        out += [either(lang, *section["intro"]), ""]
    return [*out, *table_head(*(either(lang, *c) for c in section["columns"]))]


def _departments(spec: Spec, profile: Profile, lang: str) -> list[str]:
    out = _section(lang, "departments")
    for code_value, org in profile.organisations.items():
        parent = (org.get("parent") or {}).get("id")
        out.append(f"| {code(code_value)} | {cell(esc(str(org.get('name', ''))))} | "
                   f"{code_label(spec, 'organisation-type', str(org.get('type', '')), lang)} | "
                   f"{code(parent) if parent else '—'} |")
    return [*out, ""]


def _catalogue(spec: Spec, profile: Profile, lang: str) -> list[str]:
    out = _section(lang, "catalogue")
    for category, service in profile.services.items():
        title = localized(service.name, lang) if service.name else \
            code_title(spec, "issue-category", category, lang)
        attributes = ", ".join(code(a.get("code", "")) for a in service.attributes) or "—"
        assisting = "<br>".join(_org(profile, a, lang) for a in service.assisting) or "—"
        out.append(f"| {code(category)} {cell(esc(title))} | {_org(profile, service.lead, lang)} "
                   f"| {assisting} | {attributes} |")
    return [*out, ""]


def _deadlines(spec: Spec, profile: Profile, lang: str) -> list[str]:
    out = _section(lang, "deadlines")
    rows: list[tuple[str, str]] = [("", u) for u in profile.default_deadlines]
    rows += [(c, u) for c, s in profile.services.items() for u in s.deadlines]
    for category, urgency in rows:
        label = code(category) if category else either(lang, "（默认）", "(default)")
        limits = [_limit(profile.time_limit(category or "\0", urgency, k), lang) for k in _KINDS]
        out.append(f"| {label} | {code_label(spec, 'urgency', urgency, lang)} | "
                   + " | ".join(limits) + " |")
    notice = profile.notice_days
    if notice:
        out += ["", f"### {either(lang, '协商公告期', 'Consultation notice')}", "",
                *table_head(either(lang, '协商形式', 'Form'), either(lang, '最短公告天数',
                                                                    'Minimum days of notice'))]
        out += [f"| {code_label(spec, 'consultation-form', form, lang)} | {days} |"
                for form, days in notice.items()]
    return [*out, ""]


def _calendar(profile: Profile, lang: str) -> list[str]:
    cal = profile.calendar
    weekend = ", ".join(str(d) for d in sorted(cal.weekend))
    return [f"## {either(lang, '工作日历', 'Working-day calendar')}", "",
            either(lang, f"周末（ISO 星期）：{weekend}；节假日 {len(cal.holidays)} 天，"
                         f"调休工作日 {len(cal.working_days)} 天。",
                   f"Weekend (ISO weekdays): {weekend}; {len(cal.holidays)} holidays and "
                   f"{len(cal.working_days)} make-up working days."),
            "", either(lang, "调休工作日：", "Make-up working days: ")
            + (", ".join(code(d.isoformat()) for d in sorted(cal.working_days)) or "—"), ""]


def _grids(profile: Profile, lang: str) -> list[str]:
    out = _section(lang, "grids")
    for code_value, grid in profile.grids.items():
        geometry = grid.get("geometry")
        shape = code(geometry.get("type")) if isinstance(geometry, Mapping) else "—"
        out.append(f"| {code(code_value)} | {_name(grid.get('name'), lang)} | "
                   f"{code(grid.get('divisionCode', ''))} | {shape} |")
    return [*out, ""]


def _systems(profile: Profile, lang: str) -> list[str]:
    if not profile.external_systems:
        return []
    out = _section(lang, "systems")
    for system, entry in profile.external_systems.items():
        owner = entry.get("organisation")
        out.append(f"| {code(system)} | {_name(entry.get('title') or entry.get('name'), lang)} "
                   f"| {_org(profile, owner, lang) if owner else '—'} |")
    return [*out, ""]
