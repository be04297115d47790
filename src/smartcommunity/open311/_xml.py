"""GeoReport v2's XML: writing the documents a server answers, reading exports safely.

Writing uses the standard library (it only ever escapes); reading untrusted XML goes through
defusedxml (extra ``open311``), which refuses entity expansion and external entities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

__all__ = ["from_xml", "to_xml"]

#: root element → element of each item, for the list documents of GeoReport v2
ROOTS = {"services": "service", "service_requests": "request", "errors": "error"}
#: members whose value is a list of elements named like the singular
_LISTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
          "formats": "format"}


#: characters XML 1.0 cannot hold at all, even escaped (an echoed input may carry them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(parent: Element, data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        child = SubElement(parent, key)
        if isinstance(value, Mapping):
            _fill(child, value)
        elif isinstance(value, list):
            item_name = _LISTS.get(key, "item")
            for item in value:
                node = SubElement(child, item_name)
                if isinstance(item, Mapping):
                    _fill(node, item)
                else:
                    node.text = _scalar(item)
        else:
            child.text = _scalar(value)


def to_xml(root: str, body: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> bytes:
    """The XML document ``root`` of ``body``: a list under ``services``,
    ``service_requests`` or ``errors``; one object under any other root
    (``service_definition``, ``discovery``)."""
    top = Element(root)
    if root in ROOTS:
        for item in body:
            _fill(SubElement(top, ROOTS[root]), item)  # type: ignore[arg-type]
    else:
        _fill(top, body)  # type: ignore[arg-type]
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode()


def _value(node: Element) -> Any:
    children = list(node)
    if not children:
        return node.text.strip() if node.text and node.text.strip() else None
    if node.tag in _LISTS:
        return [_value(c) for c in children]
    out: dict[str, Any] = {}
    for c in children:
        value = _value(c)
        if c.tag in out:  # a repeated element (attribute[...][] values) becomes a list
            prior = out[c.tag]
            out[c.tag] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            out[c.tag] = value
    return out


def from_xml(data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """The root element's name and its items (one item for a single-object document).

    Raises ValueError for XML that is malformed or uses entity tricks (defusedxml)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        top = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(str(exc)) from None
    if top.tag in ROOTS:
        return top.tag, [v if isinstance(v := _value(c), dict) else {} for c in top]
    value = _value(top)
    return top.tag, [value if isinstance(value, dict) else {}]
