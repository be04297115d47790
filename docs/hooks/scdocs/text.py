"""Small text helpers shared by the page generators: languages, escaping, anchors."""

from __future__ import annotations

import html
import json
import re
from typing import Any

LANGS = ("zh", "en")
#: the other language of each page language
OTHER = {"zh": "en", "en": "zh"}
#: keys of the spec's ``localizedText`` objects
LOCALE_KEY = {"zh": "zh-Hans", "en": "en"}


def split(text: str | None) -> tuple[str, str]:
    """``"中文 / English"`` → ``("中文", "English")``; text without the separator is both."""
    if not text:
        return "", ""
    zh, sep, en = text.partition(" / ")
    if not sep:
        return text.strip(), text.strip()
    return zh.strip(), en.strip()


def pick(text: str | None, lang: str) -> str:
    """The part of a bilingual ``"中文 / English"`` string in ``lang``."""
    zh, en = split(text)
    return zh if lang == "zh" else en


def other(text: str | None, lang: str) -> str:
    """The part of a bilingual string in the language that is *not* ``lang``."""
    return pick(text, OTHER[lang])


def localized(value: Any, lang: str) -> str:
    """A ``{"zh-Hans": …, "en": …}`` object (or a plain string) in ``lang``."""
    if isinstance(value, dict):
        return str(value.get(LOCALE_KEY[lang]) or value.get("en") or "")
    return str(value or "")


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell: no newlines, pipes escaped."""
    return text.replace("\r", " ").replace("\n", " ").replace("|", "\\|").strip()


def code(text: Any) -> str:
    """An inline code span holding ``text`` (backticks in ``text`` are allowed)."""
    value = str(text)
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def code_cell(text: Any) -> str:
    """An inline code span for a table cell, safe whatever the text holds.

    Python-Markdown's table parser would split a row on a pipe inside a code span, and text
    inside raw ``<code>`` is still read as Markdown; a value with such characters is written
    as ``<code>`` with every Markdown character escaped.
    """
    value = str(text)
    if not any(c in value for c in "|`\n[]*_{}\\<>&"):
        return f"`{value}`"
    return "<code>" + esc(value).replace("\n", " ") + "</code>"


_MARKDOWN_SPECIAL = {ord(c): f"&#{ord(c)};" for c in "*_`[]{}\\|"}


def esc(text: str) -> str:
    """Text made literal for Markdown and HTML: tags, entities and Markdown syntax escaped.

    Spec text such as ``"*" for all`` must not turn into emphasis, links or attribute lists.
    """
    return html.escape(text, quote=True).translate(_MARKDOWN_SPECIAL)


def short_json(value: Any, limit: int = 60) -> str:
    """Compact JSON of a value, shortened with an ellipsis past ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NON_ANCHOR = re.compile(r"[^A-Za-z0-9._-]+")


def requirement_anchor(req_id: str) -> str:
    """HTML anchor of a requirement id: ``/req/issues/if-match`` → ``req-issues-if-match``.

    The leading slash is dropped and every other slash becomes a hyphen. This rule is
    documented on the requirements page so other tools (the conformance kit) can link to
    ``requirements/#<anchor>``.
    """
    return req_id.strip("/").replace("/", "-")


def class_anchor(class_id: str) -> str:
    """``/conf/issues`` → ``conf-issues`` (same rule as requirements)."""
    return class_id.strip("/").replace("/", "-")


def codelist_anchor(name: str) -> str:
    return f"cl-{name}"


def code_anchor(codelist: str, code_value: str) -> str:
    return f"cl-{codelist}--{_NON_ANCHOR.sub('-', code_value)}"


def error_anchor(code_value: str) -> str:
    return "err-" + _NON_ANCHOR.sub("-", code_value)


def field_anchor(path: tuple[str, ...]) -> str:
    """Anchor of a field row from its path steps (``[]`` steps are left out)."""
    parts = [p for p in path if p != "[]"]
    return "f-" + "-".join(_NON_ANCHOR.sub("_", p) for p in parts) if parts else "f-root"


def json_path(path: tuple[str, ...]) -> str:
    """Readable path: ``("identityDocuments", "[]", "number")`` → ``identityDocuments[].number``."""
    out = ""
    for step in path:
        if step == "[]":
            out += "[]"
        elif step == "*":
            out += ".*" if out else "*"
        else:
            out += ("." if out else "") + step
    return out or "(root)"


#: Words of the generated pages, per language.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "field": "字段",
        "type": "类型",
        "required": "必填",
        "description": "说明",
        "pipl": "个人信息",
        "codelist": "代码表",
        "example": "示例",
        "yes": "是",
        "conditional": "条件",
        "open_list": "开放",
        "closed_list": "封闭",
        "mask": "脱敏",
        "inherited": "随上级",
        "object": "对象",
        "array": "数组",
        "of": "，元素为",
        "any": "任意 JSON",
        "oneof": "之一",
        "code": "代码",
        "title": "名称",
        "deprecated": "弃用",
        "replaced_by": "替代代码",
        "since": "自版本",
        "from": "起始状态",
        "to": "目标状态",
        "roles": "角色",
        "details": "动作数据",
        "action": "动作",
        "creation": "（创建）",
        "stays": "（不变）",
        "sets": "写入字段",
        "requirement": "需求",
        "level": "级别",
        "enforcement": "执行方式",
        "codes": "错误代码",
        "statement": "要求",
        "mandatory": "必选",
        "optional": "可选",
        "depends": "依赖",
        "parameters": "参数",
        "param_name": "名称",
        "in": "位置",
        "schema_file": "模式",
        "request_body": "请求体",
        "responses": "响应",
        "status": "状态码",
        "media": "媒体类型",
        "headers": "响应头",
        "no_auth": "无需认证",
        "auth": "需要 Bearer 令牌",
        "used_by": "被引用于",
        "source": "模式源文件",
        "examples": "示例文档",
        "rules": "条件规则",
        "fields": "字段",
        "types": "类型定义",
        "resource": "资源",
        "shared": "共享类型",
        "data_format": "数据文件格式",
        "requires": "须含",
        "event_requires": "历史事件须含",
        "data_files": "数据文件格式",
        "notes": "说明",
        "message": "消息模板",
        "cited_by": "相关需求",
        "audience": "受众",
        "class": "类别",
        "role": "角色",
        "visible": "可见范围",
        "keep": "保留",
        "remove": "删除",
        "path": "路径",
        "count": "数量",
        "values": "取值",
        "constraints": "约束",
        "written": "写法",
        "default": "默认值",
        "on_page": "本页",
        "deprecated_field": "已弃用",
    },
    "en": {
        "field": "Field",
        "type": "Type",
        "required": "Req.",
        "description": "Description",
        "pipl": "PIPL",
        "codelist": "Codelist",
        "example": "Example",
        "yes": "yes",
        "conditional": "conditional",
        "open_list": "Open",
        "closed_list": "Closed",
        "mask": "mask",
        "inherited": "via parent",
        "object": "object",
        "array": "array",
        "of": " of ",
        "any": "any JSON",
        "oneof": "one of",
        "code": "Code",
        "title": "Title",
        "deprecated": "Deprecated",
        "replaced_by": "Replaced by",
        "since": "since",
        "from": "From",
        "to": "To",
        "roles": "Roles",
        "details": "Details",
        "action": "Action",
        "creation": "(creation)",
        "stays": "(stays)",
        "sets": "Sets",
        "requirement": "Requirement",
        "level": "Level",
        "enforcement": "Enforcement",
        "codes": "Error codes",
        "statement": "Statement",
        "mandatory": "mandatory",
        "optional": "optional",
        "depends": "Depends on",
        "parameters": "Parameters",
        "param_name": "Name",
        "in": "In",
        "schema_file": "Schema",
        "request_body": "Request body",
        "responses": "Responses",
        "status": "Status",
        "media": "Media type",
        "headers": "Headers",
        "no_auth": "no token needed",
        "auth": "bearer token required",
        "used_by": "Used by",
        "source": "Schema source",
        "examples": "Example documents",
        "rules": "Conditional rules",
        "fields": "Fields",
        "types": "Type definitions",
        "resource": "Resource",
        "shared": "Shared type",
        "data_format": "Data file format",
        "requires": "requires",
        "event_requires": "the history event requires",
        "data_files": "Data file formats",
        "notes": "Notes",
        "message": "Message template",
        "cited_by": "Requirements",
        "audience": "Audience",
        "class": "Class",
        "role": "Role",
        "visible": "Visibility",
        "keep": "keep",
        "remove": "remove",
        "path": "Path",
        "count": "Count",
        "values": "Values",
        "constraints": "Constraints",
        "written": "Written as",
        "default": "default",
        "on_page": "this page",
        "deprecated_field": "deprecated",
    },
}


def w(lang: str, key: str) -> str:
    return WORDS[lang][key]


def either(lang: str, zh: str, en: str) -> str:
    """The text of the page language out of a Chinese and an English one."""
    return zh if lang == "zh" else en


def table_head(*cells: str) -> list[str]:
    """The header row and delimiter row of a Markdown table."""
    return ["| " + " | ".join(cells) + " |", "|" + "---|" * len(cells)]


def page_start(
    lang: str, title: tuple[str, str], sources: str, intro: tuple[str, str]
) -> list[str]:
    """The first lines of a generated page: its ``(zh, en)`` title, the note saying what it is
    generated from, and its ``(zh, en)`` introduction."""
    return [
        f"# {either(lang, *title)}",
        "",
        generated_note(lang, sources),
        either(lang, *intro),
        "",
    ]


def section(
    lang: str, heading: tuple[str, str], anchor: str, intro: tuple[str, str], body: str
) -> list[str]:
    """A ``##`` section: ``(zh, en)`` heading with its anchor, introduction, then ``body``."""
    return [f"## {either(lang, *heading)} {{#{anchor}}}", "", either(lang, *intro), "", body, ""]


def titled_alt(node: dict[str, Any], lang: str) -> str:
    """A schema node's title and description in the other language, as a muted paragraph."""
    alt = OTHER[lang]
    return (
        f'<p class="sc-alt" lang="{alt}">{esc(pick(node.get("title"), alt))} — '
        f"{esc(pick(node.get('description'), alt))}</p>"
    )


def generated_note(lang: str, sources: str) -> str:
    """A comment naming the spec files a page is generated from.

    It is for whoever edits the site, so it stays out of what readers see: an HTML comment,
    written once in English whatever the page language.
    """
    plain = sources.replace("`", "").replace("--", "-")
    return f"<!-- Generated from {plain} when the site is built. -->\n"


_CJK = re.compile(r"[\u2014\u2026\u201c\u201d\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d+\.\s|[|#>:<]|!!!|\?\?\?|```|~~~|$)")


def join_cjk_lines(markdown: str) -> str:
    """Join the lines of a paragraph where both sides of the break are Chinese.

    Markdown turns a line break inside a paragraph into a space, which is right between
    English words but shows as a stray gap between Chinese characters. Code blocks, tables,
    list items and other block starts are left alone.
    """
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
            continue
        previous = out[-1] if out else ""
        if (
            not fenced
            and previous.strip()
            and not previous.endswith("  ")
            and not previous.lstrip().startswith(("|", "#", "```", "~~~"))
            and stripped
            and not _BLOCK_START.match(line)
            and _CJK.match(previous.rstrip()[-1])
            and _CJK.match(stripped[0])
        ):
            out[-1] = previous.rstrip() + stripped
            continue
        out.append(line)
    return "\n".join(out)


# -- one language out of the bilingual normative text ----------------------------------------

_IDEOGRAPH = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")
#: what is the same in both languages: code spans, requirement ids, link targets
_NEUTRAL = re.compile(r"`+[^`]*`+|\[/(?:req|conf)/[^\]]*\]|\]\([^)]*\)")
_ITEM = re.compile(r"^(\s*(?:>\s*)?)([-*+]|\d+\.)(\s+)")
_PREFIX = re.compile(r"^(\s*(?:>\s*)?(?:(?:[-*+]|\d+\.)\s+)?)")
#: a Chinese sentence ends; the next may be in English
_SENTENCE_END = re.compile(r"(?<=[。！？])")
_LABEL = re.compile(r"^(.*?\S)\s+·\s+(.+)$")
#: a list item led by the requirement it states (``**[/req/…]**：``), in both languages
_REQ_LABEL = re.compile(r"^\*\*\[/(?:req|conf)/[^\]]+\]\*\*[：:]\s*")


def language_of(text: str) -> str:
    """``"zh"``, ``"en"`` or ``""`` (nothing to tell) for a piece of Markdown text."""
    plain = _NEUTRAL.sub(" ", text)
    cjk, latin = len(_IDEOGRAPH.findall(plain)), len(_LATIN.findall(plain))
    if cjk and cjk * 5 >= latin:
        return "zh"
    return "en" if latin else ""


def _label_part(text: str, lang: str) -> str | None:
    """``中文 · English`` labels and headings: the part in ``lang`` (None if not one)."""
    m = _LABEL.match(text)
    if not m or language_of(m.group(1)) != "zh" or language_of(m.group(2)) != "en":
        return None
    left, right = m.group(1), m.group(2)
    # "2 服务 · Services": a section number before the Chinese title belongs to both.
    lead = re.match(r"^(?:#+\s+)?(?:[0-9.]+\s+)?", left)
    number = lead.group(0) if lead else ""
    if lang == "zh":
        # A code in parentheses after the English title ("Issues (`/conf/issues`)") too.
        tail = re.search(r"\s*\((`[^`]+`)\)(:?)\s*$", right)
        end = f"（{tail.group(1)}）" if tail else ""
        colon = "：" if right.rstrip().endswith(":") else ""
        return left + end + colon
    return number + right


def _pieces(line: str) -> tuple[str, list[tuple[str, str]]]:
    """A line's Markdown prefix (quote, list marker, indent) and its text cut into
    ``(language, text)`` pieces at the ends of Chinese sentences."""
    found = _PREFIX.match(line)
    prefix = found.group(1) if found else ""
    body = line[len(prefix) :]
    lead = _REQ_LABEL.match(body)
    pieces = [("", lead.group(0))] if lead else []
    body = body[lead.end() :] if lead else body
    return prefix, pieces + [(language_of(p), p) for p in _SENTENCE_END.split(body) if p]


def _one_block(block: list[str], lang: str) -> list[str]:
    """One paragraph or list item in ``lang`` when it is written in both languages."""
    cut = [_pieces(line) for line in block]
    found = {piece_lang for _, pieces in cut for piece_lang, _ in pieces} - {""}
    if len(found) < 2:
        # A block in one language (some sections give the Chinese paragraphs and list,
        # then the English ones): the other language's page leaves it out.
        return [] if found and lang not in found else block
    out: list[str] = []
    # Text before the first piece in either language (a requirement label) belongs to both;
    # later neutral text to the language before it.
    current = ""
    marker = _ITEM.match(block[0])
    for prefix, pieces in cut:
        kept = ""
        for piece_lang, text in pieces:
            current = piece_lang or current
            if current == lang:
                kept += text
            elif not current:
                kept += text.replace("：", ": ") if lang == "en" else text
        kept = kept.strip()
        if not kept:
            continue
        if not out and marker and not _ITEM.match(prefix):
            # The line holding the list marker was the other language's.
            prefix = marker.group(0)
        out.append(prefix + kept)
    return out


def monolingual(markdown: str, lang: str) -> str:
    """The text in ``lang`` only, out of Markdown written paragraph by paragraph in Chinese
    then English (the normative text): bilingual paragraphs, list items and ``中文 · English``
    headings keep their ``lang`` part, blocks in the other language only are left out, and
    code and tables stay whole."""
    out: list[str] = []
    block: list[str] = []
    fenced = False

    def flush() -> None:
        if block:
            out.extend(_one_block(block, lang))
            block.clear()

    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            flush()
            fenced = not fenced
            out.append(line)
            continue
        if fenced:
            out.append(line)
            continue
        if not stripped or stripped.startswith(("|", "<", "!!!", "???")):
            flush()
            out.append(line)
            continue
        label = _label_part(line, lang)
        if stripped.startswith("#") or label is not None:
            flush()
            out.append(label if label is not None else line)
            continue
        if _ITEM.match(line):
            flush()
        block.append(line)
    flush()
    return "\n".join(out)
