"""Conversion both ways between Open311 service requests and issue documents.

:func:`issue_to_request` gives the GeoReport v2 service request of an issue (already redacted
for its reader: the conversion adds nothing the issue does not hold) and the members it could
not carry; :func:`request_to_issue` gives a new, submitted issue for an Open311 request (a POST
form or a record of an export) and the fields it could not take. What each direction loses is
the spec's mapping (``mappings/open311.json``), never decided here.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._moments import moment
from ..exceptions import Open311Error
from ..validation import message
from ._crs import to_wgs84
from ._mapping import mapping
from ._services import Catalogue

__all__ = ["Conversion", "issue_to_request", "request_to_issue"]

UNKNOWN_SERVICE = "open311.unknown-service"
MISSING_FIELD = "open311.missing-field"
INVALID_FIELD = "open311.invalid-field"

#: the order of a service request's fields in GeoReport v2
REQUEST_FIELDS = (
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
    "media_url")
_TITLE_MAX = 200
_TEXT_MAX = 4000
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: what text may neither begin nor end with (datatypes.json ``text``)
_BLANK = "".join(map(chr, [*range(0x21), *range(0x7F, 0xA1), 0x1680, *range(0x2000, 0x200B),
                           0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF]))


@dataclass(slots=True)
class Conversion:
    """A converted value and what the conversion left behind, each with why."""

    value: dict[str, Any]
    #: issue member pointers (to Open311) or Open311 field names (to an issue) not carried
    lost: dict[str, Mapping[str, str]] = field(default_factory=dict)


def _titled(catalogue: Catalogue, code: str) -> str:
    """The title of an issue made from an Open311 request for service ``code``: the service's
    name in the mapping's title language, cut to a short text; never the request's own words
    (/req/open311/mapping)."""
    name = catalogue.name(code, mapping(catalogue.version).title_language) if (
        code in catalogue) else None
    line = _text(" ".join((name or code or "Open311").split()))
    title = line or "Open311"
    return title if len(title) <= _TITLE_MAX else title[:_TITLE_MAX - 1].rstrip(_BLANK) + "…"


# ----------------------------------------------------------------- issue → Open311
def _lead(issue: Mapping[str, Any], former: list[str]) -> str | None:
    for a in reversed(issue.get("assignments") or []):
        if a.get("role") == "lead" and a.get("status") not in former:
            dept = a.get("department") or {}
            return str(dept.get("name") or dept.get("id") or "") or None
    return None


def issue_to_request(issue: Mapping[str, Any], catalogue: Catalogue, *,
                     lang: str = "zh-Hans") -> Conversion:
    """The Open311 service request of ``issue`` (as its reader may see it) and the members of
    ``issue`` the request does not carry (/req/open311/mapping)."""
    table = mapping(catalogue.version)
    location = issue.get("location") or {}
    point = location.get("point") or {}
    wgs84 = point.get("crs") == table.crs
    converted = None
    if not wgs84 and isinstance(point.get("latitude"), (int, float)) and isinstance(
            point.get("longitude"), (int, float)):
        converted = to_wgs84(float(point["latitude"]), float(point["longitude"]),
                             table.crs_method(point.get("crs")))
    address = (location.get("address") or {}).get("text") or location.get("description")
    attachments = [a for a in issue.get("attachments") or [] if a.get("url")]
    title = issue.get("title")
    # The description goes as it is, so a filed request reads back as filed; the title only
    # stands in for a description the reader does not see (a public read, say).
    text = issue.get("description") or title or None
    deadlines = issue.get("deadlines") or {}
    notice = None
    if deadlines.get("responseDue"):
        notice = (f"响应时限 {deadlines['responseDue']}" if lang.startswith("zh")
                  else f"response due {deadlines['responseDue']}")
    status = issue.get("status")
    request: dict[str, Any] = {
        "service_request_id": issue.get("id"),
        "status": table.open_or_closed(status) if isinstance(status, str) else None,
        "status_notes": issue.get("reply"),
        "service_name": catalogue.name(str(issue.get("category", "")), lang) or None,
        "service_code": issue.get("category"),
        "description": text,
        "agency_responsible": _lead(issue, table.raw["formerAssignmentStatuses"]),
        "service_notice": notice,
        "requested_datetime": issue.get("submittedAt"),
        "updated_datetime": (issue.get("meta") or {}).get("lastUpdated"),
        "expected_datetime": deadlines.get("resolutionDue"),
        "address": address,
        "address_id": None,
        "zipcode": (location.get("address") or {}).get("postalCode"),
        # A WGS-84 point goes as it is (so it comes back equal); others are converted.
        "lat": point["latitude"] if wgs84 else converted[0] if converted else None,
        "long": point["longitude"] if wgs84 else converted[1] if converted else None,
        "media_url": attachments[0]["url"] if attachments else None,
    }
    lost = {pointer: why for name, pointer, why in table.lost_members if name in issue}
    category = issue.get("category")
    if isinstance(category, str) and category in catalogue and title == _titled(catalogue,
                                                                              category):
        lost.pop("/title", None)  # a service's name as title comes back as it was
    if status == table.imported_status:  # a status that reads as itself on import
        lost.pop("/status", None)
    if "/location" in lost and not location.get("address") and (
            not point or (wgs84 and set(point) <= {"latitude", "longitude", "crs"})):
        lost.pop("/location")  # a place description and a bare WGS-84 point go both ways
    return Conversion(request, lost)


# ----------------------------------------------------------------- Open311 → issue
#: why a field is invalid, in Chinese and in English
Reason = tuple[str, str]

_NOT_A_MOMENT: Reason = ("不是带时区偏移的 RFC 3339 日期时间",
                         "not an RFC 3339 date-time with offset")


def _problem(spec_version: str, pointer: str, code: str, *, reason: Reason | None = None,
             **values: Any) -> dict[str, Any]:
    """One problem of a request; ``reason`` words why, in each message's language."""
    spec = mapping(spec_version).spec
    if reason is None:
        return {"pointer": pointer, "code": code, "message": message(spec, code, **values)}
    said = {lang: message(spec, code, **values, reason=why)[lang]
            for lang, why in zip(("zh-Hans", "en"), reason, strict=True)}
    return {"pointer": pointer, "code": code, "message": said}


def _moment(raw: Any) -> datetime | None:
    return moment(raw.strip()) if isinstance(raw, str) else None




def _phone(raw: str) -> str | None:
    digits = re.sub(r"[\s().-]", "", raw)
    if _E164.match(digits):
        return digits
    if _CN_MOBILE.match(digits):
        return "+86" + digits
    return None


def _text(raw: Any) -> str | None:
    """``raw`` as the standard's text: line ends as LF, without the control characters text
    may not hold, nor blank space around it; nothing else changes, so text goes both ways."""
    if not isinstance(raw, str):
        return None
    kept = _CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).strip(_BLANK)
    return kept or None


def _attribute_value(attr: Mapping[str, Any], raw: Any) -> tuple[Any, Reason | None]:
    """The value of one attribute, or why it is invalid."""
    kind = attr["datatype"]
    values = raw if isinstance(raw, list) else [raw]
    keys = {str(v["key"]) for v in attr.get("values") or ()}
    among: Reason = ("不在可选值 " + "、".join(sorted(keys)) + " 之中",
                     "not among " + ", ".join(sorted(keys)))
    if kind == "multivaluelist":
        bad = [v for v in values if str(v) not in keys]
        return [str(v) for v in values], among if bad else None
    if len(values) != 1:
        return None, ("应只有一个值", "one value expected")
    value = str(values[0]).strip()
    if kind == "singlevaluelist":
        return value, None if value in keys else among
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return None, ("不是数字", "not a number")
        if not math.isfinite(number):
            return None, ("不是有限的数", "not a finite number")
        return (int(number) if number.is_integer() else number), None
    if kind in ("datetime", "date"):
        if kind == "datetime" and _moment(value) is None:
            return None, _NOT_A_MOMENT
        if kind == "date" and not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            return None, ("不是日期（YYYY-MM-DD）", "not a date (YYYY-MM-DD)")
        return value, None
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            return None, ("不是 true 或 false", "not true or false")
        return value.lower() == "true", None
    return (value, None) if value else (None, ("为空", "empty"))


def _attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``attribute[code]`` and ``attribute[code][]`` form keys (or an ``attributes`` object;
    one that is no object is refused by the caller, not read here)."""
    given = fields.get("attributes")
    found: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
    for key, value in fields.items():
        m = re.fullmatch(r"attribute\[([^\]]+)\](\[\])?", str(key))
        if m:
            found[m.group(1)] = value if not m.group(2) or isinstance(value, list) else [value]
    return found


def request_to_issue(fields: Mapping[str, Any], catalogue: Catalogue, *, community: str,
                     role: str, issue_id: str | None = None, now: str | None = None,
                     strict: bool = True) -> Conversion:
    """A new submitted issue for the Open311 request ``fields`` and the fields not taken.

    ``community`` is the issue's community division code and ``role`` its submitter's role
    (the server binds the rest of the actor to the credential). ``issue_id`` keeps the id
    (else a new UUID); ``now`` is the submission time when the request carries no
    ``requested_datetime``. With ``strict`` (a POST) every unusable field raises
    :class:`~smartcommunity.exceptions.Open311Error` listing all of them; without it (an
    import) an unusable optional field is only reported lost.
    """
    version = catalogue.version
    table = mapping(version)
    problems: list[dict[str, Any]] = []
    lost: dict[str, Mapping[str, str]] = {}
    why = table.lost_to_issue

    def drop(name: str, code: str, reason: Reason) -> None:
        entry = _problem(version, f"/{name}", code, field=name, reason=reason)
        if strict:
            problems.append(entry)
        else:
            lost[name] = entry["message"]

    given_code = fields.get("service_code")
    # A code is text (an export may write a number); a list or object is no code at all.
    plain_code = isinstance(given_code, str | int) and not isinstance(given_code, bool)
    code = str(given_code).strip() if plain_code else ""
    if given_code not in (None, "") and not plain_code:
        problems.append(_problem(version, "/service_code", INVALID_FIELD, field="service_code",
                                 reason=("不是文本", "not text")))
    elif not code:
        problems.append(_problem(version, "/service_code", MISSING_FIELD, field="service_code"))
    elif code not in catalogue:
        problems.append(_problem(version, "/service_code", UNKNOWN_SERVICE, service_code=code))

    location: dict[str, Any] = {}
    lat, lon = fields.get("lat"), fields.get("long")
    if lat not in (None, "") or lon not in (None, ""):
        try:
            la, lo = float(str(lat)), float(str(lon))
            if not (-90 <= la <= 90 and -180 <= lo <= 180):
                raise ValueError
            location["point"] = {"latitude": la, "longitude": lo, "crs": table.crs}
        except ValueError:
            drop("lat", INVALID_FIELD, ("lat 和 long 应为 WGS-84 十进制度数",
                                        "lat and long must be WGS-84 decimal degrees"))
    place = _text(fields.get("address_string") or fields.get("address"))
    if place is not None:
        location["description"] = place[:4000]
    extra: dict[str, Any] = {}
    for name in ("address_id", "zipcode", "media_url", "status_notes", "agency_responsible",
                 "service_notice", "expected_datetime"):
        value = fields.get(name)
        if value not in (None, ""):
            extra[name] = value
            lost[name] = why[name]
    if not location and "address_id" not in extra and strict:
        problems.append(_problem(version, "/lat", MISSING_FIELD,
                                 field="lat & long, address_string or address_id"))

    # The whole text is the description, tagged personal: GeoReport apps show it as one box
    # where residents write their name, phone and flat, so none of it may become the title,
    # which is published with the issue (/req/open311/mapping).
    description = _text(fields.get("description"))
    if description is not None and len(description) > _TEXT_MAX:
        drop("description", INVALID_FIELD, ("超过 4000 个字符", "longer than 4000 characters"))
        description = description[:_TEXT_MAX].rstrip(_BLANK)
    title = _titled(catalogue, code)

    contact: dict[str, Any] = {}
    person = _text(" ".join(str(fields.get(k) or "") for k in ("first_name", "last_name")))
    if person:
        contact["name"] = person[:100]
    if fields.get("phone"):
        phone = _phone(str(fields["phone"]))
        if phone is None:
            drop("phone", INVALID_FIELD, ("不是 E.164 号码或大陆手机号码",
                                          "not an E.164 or mainland mobile number"))
        else:
            contact["phone"] = phone
    for name_ in ("email", "device_id", "account_id"):
        if fields.get(name_):
            lost[name_] = why[name_]

    given = fields.get("attributes")
    if given not in (None, "") and not isinstance(given, Mapping):
        # A form's attributes=x is no object: read as pairs of characters it would be nonsense.
        drop("attributes", INVALID_FIELD,
             ("不是以属性代码为键的对象；表单中以 attribute[code] 给出属性",
              "not an object of attribute codes; a form gives attribute[code]"))
    attributes = _attributes(fields)
    definitions = {a["code"]: a for a in catalogue.attributes(code)}
    values: dict[str, Any] = {}
    for attr_code, raw in attributes.items():
        attr = definitions.get(attr_code)
        if attr is None:
            drop(f"attribute[{attr_code}]", INVALID_FIELD,
                 ("不是该服务定义中的属性", "not an attribute of the service definition"))
            continue
        value, error = _attribute_value(attr, raw)
        if error is not None:
            drop(f"attribute[{attr_code}]", INVALID_FIELD, error)
        else:
            values[attr_code] = value
    if strict:
        for attr_code, attr in definitions.items():
            if attr.get("required") and attr_code not in attributes:
                problems.append(_problem(version, f"/attribute[{attr_code}]", MISSING_FIELD,
                                         field=f"attribute[{attr_code}]"))

    submitted = fields.get("requested_datetime")
    at = now
    if submitted not in (None, ""):
        if _moment(submitted) is None:
            drop("requested_datetime", INVALID_FIELD, _NOT_A_MOMENT)
        else:
            at = str(submitted).strip()
    if at is None:
        problems.append(_problem(version, "/requested_datetime", MISSING_FIELD,
                                 field="requested_datetime"))
    if problems:
        raise Open311Error("the Open311 request cannot become an issue", problems)

    if fields.get("status") not in (None, "", table.open_or_closed(table.imported_status)):
        lost["status"] = why["status"]
    if fields.get("updated_datetime"):
        lost["updated_datetime"] = why["updated_datetime"]
    actor = {"role": role}
    issue: dict[str, Any] = {
        "resourceType": table.resource_type, "specVersion": version,
        "id": issue_id or str(uuid.uuid4()),
        "requestType": table.raw["requestType"], "category": code, "title": title,
    }
    if description:
        issue["description"] = description
    if location:
        issue["location"] = location
    issue.update({
        "communityDivisionCode": community,
        "intakeChannel": table.raw["intakeChannel"],
        "submittedBy": dict(actor), "submittedAt": at,
    })
    if contact:
        issue["reporterContact"] = contact
    issue.update({
        "reporterDisclosure": table.raw["reporterDisclosure"],
        "status": table.imported_status,
        "history": [{"seq": 1, "at": at, "action": table.raw["submitAction"],
                     "actor": dict(actor), "toStatus": table.imported_status}],
    })
    carried = {**({"attributes": values} if values else {}), **extra}
    if carried:
        issue["extensions"] = {table.extension_key: carried}
    return Conversion(issue, lost)
