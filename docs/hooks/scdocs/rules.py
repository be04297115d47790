"""Plain-language descriptions of a schema's conditional rules (if/then/else, oneOf …).

The common shapes of the standard's schemas are described in words; anything else is
shown as its JSON, so no rule is ever silently left out.
"""

from __future__ import annotations

import json
from typing import Any

from .text import code


def _names(names: list[str]) -> str:
    return ", ".join(code(n) for n in names)


def _value(v: Any) -> str:
    return code(
        json.dumps(v, ensure_ascii=False).strip('"')
        if isinstance(v, str)
        else json.dumps(v, ensure_ascii=False)
    )


def condition(node: Any, lang: str, prefix: str = "") -> str | None:
    """``status ∈ {resolved, closed}`` for an ``if`` that tests member values."""
    if not isinstance(node, dict):
        return None
    parts: list[str] = []
    for name, sub in node.get("properties", {}).items():
        if not isinstance(sub, dict):
            return None
        path = f"{prefix}{name}"
        if "const" in sub:
            parts.append(f"{code(path)} = {_value(sub['const'])}")
        elif "enum" in sub:
            parts.append(f"{code(path)} ∈ {{{', '.join(_value(v) for v in sub['enum'])}}}")
        elif "properties" in sub:
            inner = condition(sub, lang, prefix=f"{path}.")
            if inner is None:
                return None
            parts.append(inner)
        else:
            return None
    extra = set(node) - {"properties", "required", "title", "description"}
    if extra:
        return None
    if not parts and node.get("required"):
        present = _names([prefix + n for n in node["required"]])
        parts.append(f"给出 {present}" if lang == "zh" else f"{present} is present")
    if not parts:
        return None
    return (" 且 " if lang == "zh" else " and ").join(parts)


_META = {"title", "description"}


def consequence(node: Any, lang: str, prefix: str = "") -> str | None:
    """``resolution is required`` and similar for a ``then``/``else`` branch."""
    if not isinstance(node, dict):
        return None
    zh = lang == "zh"
    parts: list[str] = []

    def names(values: list[str]) -> str:
        return _names([prefix + v for v in values])

    for key, value in node.items():
        if key in _META:
            continue
        if key == "required":
            parts.append(f"{names(value)} {'必填' if zh else 'required'}")
        elif key == "not" and isinstance(value, dict):
            if set(value) == {"required"}:
                parts.append(f"{names(value['required'])} {'不得出现' if zh else 'must be absent'}")
            elif set(value) == {"anyOf"} and all(set(v) == {"required"} for v in value["anyOf"]):
                found = [n for v in value["anyOf"] for n in v["required"]]
                parts.append(f"{names(found)} {'都不得出现' if zh else 'must all be absent'}")
            else:
                return None
        elif key in ("anyOf", "oneOf") and all(
            isinstance(v, dict) and set(v) == {"required"} for v in value
        ):
            options = [" + ".join(code(prefix + n) for n in v["required"]) for v in value]
            if key == "anyOf":
                parts.append(
                    ("至少给出其中之一：" if zh else "at least one of ") + ", ".join(options)
                )
            else:
                parts.append(
                    ("恰好给出其中之一：" if zh else "exactly one of ") + ", ".join(options)
                )
        elif key == "allOf" and isinstance(value, list):
            for sub in value:
                text = consequence(sub, lang, prefix)
                if text is None:
                    return None
                parts.append(text)
        elif key == "propertyNames" and isinstance(value, dict) and "enum" in value:
            parts.append(
                ("只能有这些成员：" if zh else "only these members: ") + _names(value["enum"])
            )
        elif key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                if not isinstance(sub, dict):
                    return None
                path = prefix + name
                keys = {k for k in sub if k not in _META and not k.startswith("x-")}
                if keys == {"$ref"}:
                    parts.append(
                        f"{code(path)} {'必须符合' if zh else 'must be valid against'} "
                        f"{code(sub['$ref'])}"
                    )
                elif keys == {"const"}:
                    parts.append(
                        f"{code(path)} {'必须为' if zh else 'must be'} {_value(sub['const'])}"
                    )
                elif keys == {"contains"}:
                    cond = condition(sub["contains"], lang)
                    if cond is None:
                        return None
                    parts.append(
                        f"{code(path)} 中至少有一项满足 {cond}"
                        if zh
                        else f"{code(path)} has an item with {cond}"
                    )
                elif keys == {"items"}:
                    text = consequence(sub["items"], lang, prefix=f"{path}[].")
                    if text is None:
                        return None
                    parts.append(text)
                else:
                    return None
        else:
            return None
    return ("；" if zh else "; ").join(parts) if parts else None


def _if_then(item: dict[str, Any], lang: str, pointer: str) -> str:
    zh = lang == "zh"
    cond = condition(item.get("if"), lang)
    then = consequence(item.get("then"), lang) if "then" in item else None
    other = consequence(item.get("else"), lang) if "else" in item else None
    if cond is None or ("then" in item and then is None) or ("else" in item and other is None):
        return _raw(item, lang, pointer)
    if then and other:
        text = (
            f"若 {cond}，则 {then}；否则 {other}"
            if zh
            else f"if {cond}, then {then}; otherwise {other}"
        )
    elif then:
        text = f"若 {cond}，则 {then}" if zh else f"if {cond}, then {then}"
    else:
        text = f"若 {cond} 不成立，则 {other}" if zh else f"if not {cond}, then {other}"
    return text + ("。" if zh else ".")


def _raw(node: Any, lang: str, pointer: str) -> str:
    """A rule with no plain-language form: short ones as JSON, long ones by location."""
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= 160:
        return code(text)
    if lang == "zh":
        return f"规则较复杂，见下方模式源文件中的 {code('#' + pointer)}。"
    return (
        f"a rule too intricate to restate here: see {code('#' + pointer)} "
        "in the schema source below."
    )


def describe_object_rules(
    node: dict[str, Any], lang: str, *, array: bool = False, pointer: str = ""
) -> list[str]:
    """Descriptions of the rules attached to one object (or, with ``array``, one array)."""
    zh = lang == "zh"
    out: list[str] = []
    if array:
        if "contains" in node:
            cond = condition(node["contains"], lang)
            low, high = node.get("minContains", 1), node.get("maxContains")
            what = cond or _raw(node["contains"], lang, pointer + "/contains")
            if zh:
                out.append(
                    f"满足 {what} 的元素个数为 {low}"
                    + (f" 至 {high}" if high is not None else " 个以上")
                    + "。"
                )
            else:
                out.append(
                    f"items with {what}: {low}"
                    + (f" to {high}" if high is not None else " or more")
                    + "."
                )
        return out
    if "if" in node:
        out.append(_if_then(node, lang, pointer))
    for index, item in enumerate(node.get("allOf", ())):
        where = f"{pointer}/allOf/{index}"
        if isinstance(item, dict) and "if" in item:
            out.append(_if_then(item, lang, where))
        elif isinstance(item, dict) and set(item) == {"$ref"}:
            out.append(
                (f"符合 {code(item['$ref'])}。") if zh else f"valid against {code(item['$ref'])}."
            )
        elif isinstance(item, dict):
            text = consequence(item, lang)
            out.append((text + ("。" if zh else ".")) if text else _raw(item, lang, where))
    for key in ("oneOf", "anyOf"):
        if key in node:
            text = consequence({key: node[key]}, lang)
            out.append(
                (text + ("。" if zh else "."))
                if text
                else _raw({key: node[key]}, lang, f"{pointer}/{key}")
            )
    if isinstance(node.get("not"), dict):
        text = consequence({"not": node["not"]}, lang)
        out.append(
            (text + ("。" if zh else "."))
            if text
            else _raw({"not": node["not"]}, lang, f"{pointer}/not")
        )
    return out
