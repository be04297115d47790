"""What a kit test works with: the client, the preset, the spec, and fresh test documents.

Nothing here names a resource type, a role or a code of the standard: collections, paths, the
role the kit writes as and the audiences come from the spec the run is for.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .._moments import CHINA_STANDARD_TIME
from ..participation import fewest_reply_days, moment, voice_types
from ..pointers import strings_at
from ..profiles import Profile
from ..specification import Spec
from ._client import Client, Exchange, Response
from ._preset import Preset, Principal, writer_role
from ._registry import Failed, Skipped

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: The community the spec's examples and vectors are written for.
EXAMPLE_COMMUNITY = "110105001001"
EXAMPLE_OTHER_COMMUNITY = "110105001002"
#: how many pages a listing is followed for before the kit gives up on reaching its end
MAX_PAGES = 500
#: resource type → what makes a template of it one any server takes from the kit's writers,
#: changing it in place; the checks, which know the types, fill it in (checks/_shared.py)
SHAPERS: dict[str, Callable[[dict[str, Any]], None]] = {}


class KitFault(RuntimeError):
    """The kit itself is wrong (for example a test document it built is invalid): an error,
    never blamed on the server."""


class KitContext:
    """Shared by every test of a run; tests create their own data and never rely on order."""

    def __init__(self, client: Client, preset: Preset, spec: Spec, seed: int,
                 declared: Iterable[str] = (), pseudonym_key: bytes | None = None,
                 profile: Profile | None = None) -> None:
        self.client = client
        self.preset = preset
        self.spec = spec
        #: the draws of the running check (:meth:`begin`); outside a check, the run's own
        self.rng = check_draws(seed, "")
        self.seed = seed
        # Ids differ on every run, so the kit can run again against the same server; the seed
        # still fixes every other choice.
        self._ids = random.Random(f"{seed}:{uuid.uuid4()}")
        #: conformance class ids the server declares (without the URI prefix)
        self.declared = frozenset(declared)
        #: the city's shared pseudonym key when the regulator gives it: the server holds it too
        self.pseudonym_key = pseudonym_key
        #: the city profile the server is certified against (``--profile``); None: the kit
        #: reads the one the server publishes
        self.profile = profile
        #: principal name → the latest feed cursor seen, so the feed is read to its end once
        self.feed_cursors: dict[str, str] = {}
        #: the role the kit writes its test data as (see :func:`writer_role`)
        self.staff_role = writer_role(spec)
        # The audience no role reads as is a resident's own (privacy.json).
        by_role = set(spec.privacy["roleAudience"].values())
        #: the audience residents read their own records as (None: the spec has none)
        self.own_audience = next((a for a in spec.audiences if a not in by_role), None)
        self._templates = _templates(spec)
        #: cells of a matrix the running check records for the report (reader × path × field)
        self.matrix: list[dict[str, Any]] = []
        #: exchanges the running check shows as evidence instead of its own (it made none)
        self.evidence: list[Exchange] = []
        #: what the running check could not try this time, and why: said with its pass
        self.remarks: list[tuple[str, str]] = []
        #: the server's clock at its first answer (see :attr:`since`)
        self._server_start: datetime | None = None
        self._update_filters: dict[str, bool] = {}

    def begin(self, check_id: str) -> None:
        """Start the check ``check_id``: its own draws (:func:`check_draws`), and none of what
        the previous check left for the report."""
        self.rng = check_draws(self.seed, check_id)
        self.matrix = []
        self.evidence = []
        self.remarks = []

    # -- principals --------------------------------------------------------------------
    def principal(
        self, role: str, *, community: str | None = None, organisation: str | None = None
    ) -> Principal:
        found = self.preset.by_role(role, community=community, organisation=organisation)
        if found is None:
            where = community or self.preset.community
            raise Skipped(
                f"预设中没有服务社区 {where} 的 {role} 主体",
                f"the preset has no {role} principal serving community {where}",
            )
        return found

    @property
    def staff(self) -> Principal:
        """The principal the kit writes its test data as."""
        return self.principal(self.staff_role)

    def principals_of(self, role: str, count: int) -> list[Principal]:
        """``count`` principals of ``role`` serving the community, of different organisations
        when they name one (two departments are two organisations, not two tokens)."""
        found: dict[str, Principal] = {}
        for p in self.preset.principals.values():
            if p.role == role and p.serves(self.preset.community):
                found.setdefault(p.organisation or p.name, p)
        if len(found) < count:
            raise Skipped(
                f"预设中需要 {count} 个不同单位的 {role} 主体（服务社区 "
                f"{self.preset.community}），只有 {len(found)} 个",
                f"the preset needs {count} {role} principals of different organisations "
                f"serving community {self.preset.community}; it has {len(found)}",
            )
        return list(found.values())[:count]

    def optional(self, role: str, *, community: str | None = None) -> Principal | None:
        """A principal of ``role`` if the preset has one, for checks that add to a test."""
        return self.preset.by_role(role, community=community)

    def serving(self, *roles: str) -> list[Principal]:
        """The preset's principals of ``roles`` (every role when none is named) that serve
        the community, in preset order."""
        return [p for p in self.preset.principals.values()
                if p.serves(self.preset.community) and (not roles or p.role in roles)]

    # -- time --------------------------------------------------------------------------
    @staticmethod
    def moment(days: float = 0.0) -> str:
        """Now plus ``days`` (negative: in the past) as RFC 3339 with +08:00."""
        at = datetime.now(UTC) + timedelta(days=days)
        return at.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")

    def server_now(self) -> datetime:
        """The server's clock now: the ``Date`` of a fresh answer (to the second, as HTTP
        gives it), or the kit's own clock when the server sends none."""
        resp = self.call("GET", self.path("getConformance"))
        return _http_date(resp.headers.get("date") or "") or datetime.now(UTC)

    def remark(self, zh: str, en: str) -> None:
        """Note a part of the running check that could not be tried (such as one the time of
        the run does not allow), so that a pass says what it did not prove."""
        self.remarks.append((zh, en))

    def ensure_valid(self, doc: dict[str, Any], why: str = "") -> dict[str, Any]:
        """``doc`` when the library finds it valid; a kit fault otherwise, since the kit must
        only send what it means to send."""
        from ..validation import validate

        report = validate(doc)
        if not report.valid:
            errors = [(f.pointer, f.code) for f in report.errors][:5]
            raise KitFault(f"the kit built an invalid {doc.get('resourceType')} {why}: {errors}")
        return doc

    def examples(self, resource_type: str, **criteria: Any) -> list[dict[str, Any]]:
        """The spec's examples of ``resource_type`` matching ``criteria`` (member → value)."""
        return [d for _, d in self.spec.examples()
                if d.get("resourceType") == resource_type
                and all(d.get(k) == v for k, v in criteria.items())]

    def template(self, resource_type: str, **criteria: Any) -> dict[str, Any]:
        """A copy of the spec example of ``resource_type`` matching ``criteria`` (member →
        value), the one with the longest history first; adapted to our community."""
        found = self.examples(resource_type, **criteria)
        if not found:
            raise Skipped(f"规范中没有符合 {criteria} 的 {resource_type} 示例",
                          f"the spec has no {resource_type} example with {criteria}")
        found.sort(key=lambda d: (-len(d.get("history") or []), str(d.get("id"))))
        return self.adapt(found[0])

    # -- data --------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def document(
        self, resource_type: str, *, community: str | None = None, status: str | None = None,
        telling: bool = False,
    ) -> dict[str, Any]:
        """A fresh valid document to create: a template from the spec, new ids, our community.
        ``telling``: the template holding values of the most classes of personal information
        (``x-pipl``), then the most tagged values, so that how a reader's audience treats each
        class can be seen; otherwise one drawn at random."""
        choices = [
            d
            for d in self._templates.get(resource_type, [])
            if status is None or d.get("status") == status
        ]
        if not choices:
            raise Skipped(
                f"规范中没有可用的 {resource_type} 模板",
                f"the spec has no {resource_type} template to create",
            )
        picked = (max(choices, key=functools.partial(_personal_held, self.spec)) if telling
                  else self.rng.choice(choices))
        out = self.adapt(picked, community=community)
        shape = SHAPERS.get(resource_type)
        if shape is not None:
            shape(out)
        # The example's reply deadline may be later than the server's city allows (its
        # profile's reply days, /req/voice/reply-due): one the fewest days any city may set
        # is kept by every server as stated.
        received = moment(out.get("receivedAt"))
        if resource_type in voice_types(self.spec) and "replyDue" in out and received:
            days = fewest_reply_days(self.spec.version)
            out["replyDue"] = (received + timedelta(days=days)).isoformat(timespec="seconds")
        return out

    def adapt(self, doc: dict[str, Any], *, community: str | None = None,
              keep_meta: bool = False) -> dict[str, Any]:
        """``doc`` moved into the preset's community under a new id (references to itself
        follow), without server metadata (meta, and its history events' salts, which are
        each event's own) unless ``keep_meta``; with the city's key, its pseudonyms
        recomputed from their numbers (the spec's are made with another key)."""
        from ..privacy import rekey_pseudonyms

        text = json.dumps(doc, ensure_ascii=False)
        text = text.replace(EXAMPLE_COMMUNITY, community or self.preset.community)
        if self.preset.other_community:
            text = text.replace(EXAMPLE_OTHER_COMMUNITY, self.preset.other_community)
        old_id = doc.get("id")
        if isinstance(old_id, str) and _UUID.match(old_id):  # a broken id stays broken
            text = text.replace(old_id, self.new_id())
        out: dict[str, Any] = json.loads(text)
        if not keep_meta:
            out.pop("meta", None)
            out.pop("externalRefs", None)
            for event in out.get("history") or ():
                if isinstance(event, dict):
                    event.pop("salt", None)
        if self.pseudonym_key is not None:
            rekey_pseudonyms(out, self.pseudonym_key)
        return out

    def redact(self, doc: dict[str, Any], audience: str) -> dict[str, Any]:
        """``doc`` as ``audience`` may see it, by the library (with the city's key if given)."""
        from ..privacy import redact

        return redact(doc, audience, pseudonym_key=self.pseudonym_key)

    def audience(self, who: Principal, doc: dict[str, Any]) -> str:
        """The audience ``who`` reads ``doc`` as: its role's, or a resident's own audience for
        their own record, the record of a resident whose proxy in force lets them read it
        (/req/residents/self-access, /req/residents/read-access), and their own resources
        (:meth:`owns`)."""
        access = self.spec.privacy.get("recordAccess") or {}
        if (self.own_audience is not None and who.resident
                and who.role in (access.get("ownRecordRoles") or ())):
            if doc.get("resourceType") == access.get("personType") and (
                    doc.get("id") == who.resident
                    or self.proxy_for(who, doc, access.get("proxyReadScopes") or ())):
                return self.own_audience
            if self.owns(who, doc):
                return self.own_audience
        return self.spec.audience_of(who.role)

    def owns(self, who: Principal, doc: Mapping[str, Any]) -> bool:
        """Whether ``doc`` is the own resource of the resident ``who`` stands for, or of one
        who authorised them as proxy (/req/privacy/own-issues-self): the last of the members
        ``privacy.json`` ``recordAccess.ownedBy`` names for its type that names a resident names
        her; an earlier one names who acted for her, whose it is only while a proxy of hers in
        force names them (/req/residents/proxy-scope)."""
        access = self.spec.privacy.get("recordAccess") or {}
        owned_by = (access.get("ownedBy") or {}).get(str(doc.get("resourceType")), ())
        named = strings_at(doc, owned_by)
        if not named or who.resident is None:
            return False
        if named[-1] == who.resident:
            return True
        resp = self.read(str(access.get("personType")), named[-1])
        record = resp.json() if resp.status == 200 else None
        if not isinstance(record, dict):
            return False
        # Who acted for her keeps it under any scope; a proxy reads her own resources by the
        # scopes that let them read her.
        return self.proxy_for(who, record, None if who.resident in named
                              else access.get("proxyReadScopes") or ())

    def proxy_for(self, who: Principal, record: Mapping[str, Any],
                  scopes: Iterable[str] | None) -> bool:
        """Whether the person ``record`` holds a proxy in force now (:meth:`proxy_in_force`)
        that names ``who``'s resident record, with one of ``scopes`` (None: any scope)
        (/req/residents/proxy-scope). A proxy named as an actor matches by role, organisation
        and user id, which a preset does not give: the kit never counts one as ``who``."""
        wanted = None if scopes is None else set(scopes)
        for entry in record.get("proxies") or ():
            if not isinstance(entry, Mapping) or who.resident is None:
                continue
            ref = entry.get("resident")
            if (isinstance(ref, Mapping) and ref.get("id") == who.resident
                    and (wanted is None or wanted & set(entry.get("scope") or ()))
                    and self.proxy_in_force(record, entry)):
                return True
        return False

    def proxy_in_force(self, record: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
        """Whether the proxy ``entry`` of the person ``record`` is in force now, by the kit's
        clock: its period holds, and so does the consent its consentId names, if any
        (/req/residents/proxy-scope)."""
        now = datetime.now(UTC)

        def reached(value: Any, absent: bool) -> bool:
            at = moment(value)
            return absent if at is None else at <= now

        if not reached(entry.get("validFrom"), False) or reached(entry.get("validUntil"), False):
            return False
        if "consentId" not in entry:
            return True
        status = next(iter(self.spec.codelist("consent-status")))
        return any(c.get("id") == entry["consentId"] and c.get("status") == status
                   and reached(c.get("grantedAt"), False)
                   and not reached(c.get("withdrawnAt"), False)
                   and not reached(c.get("expiresAt"), False)
                   for c in record.get("consents") or () if isinstance(c, Mapping))

    # -- requests ----------------------------------------------------------------------
    def collection_path(self, resource_type: str) -> str:
        """The path of ``resource_type``'s collection (``/issues``), from the OpenAPI."""
        return "/" + self.spec.collection(resource_type)

    def resource_path(self, resource_type: str, rid: str) -> str:
        return f"{self.collection_path(resource_type)}/{rid}"

    def path(self, operation_id: str, **parameters: str) -> str:
        """The path of an OpenAPI operation with its ``{parameters}`` filled in."""
        return str(self.spec.operation(operation_id)["x-path"]).format(**parameters)

    def call(self, method: str, path: str, who: Principal | None = None, *,
             token: str | None = None, **kw: Any) -> Response:
        """``method`` on ``path`` as ``who`` (else with ``token``; neither: without one)."""
        resp = self.client.request(method, path, token=who.token if who else token, **kw)
        if self._server_start is None and resp.headers.get("date"):
            self._server_start = _http_date(resp.headers["date"])
        return resp

    @property
    def since(self) -> str:
        """The moment the run began, by the server's clock (the ``Date`` of its first
        answer) less a minute, as RFC 3339: what the kit writes is updated after it. Without
        a ``Date``, a day before the kit's own clock says now."""
        if self._server_start is None:
            return self.moment(-1)
        start = self._server_start - timedelta(minutes=1)
        return start.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")

    def _filters_by_update(self, resource_type: str) -> bool:
        """Whether the list operation of ``resource_type`` takes ``updatedSince``."""
        found = self._update_filters.get(resource_type)
        if found is None:
            operation = ((self.spec.openapi.get("paths") or {})
                         .get(self.collection_path(resource_type)) or {}).get("get") or {}
            found = any(str(p.get("$ref", "")).endswith("/updatedSince")
                        or p.get("name") == "updatedSince"
                        for p in operation.get("parameters") or () if isinstance(p, dict))
            self._update_filters[resource_type] = found
        return found

    def create(
        self,
        doc: dict[str, Any],
        who: Principal | None = None,
        headers: dict[str, str] | None = None,
        *,
        as_is: bool = False,
    ) -> Response:
        """POST ``doc`` as ``who`` (default: staff). Unless ``as_is`` or ``doc`` is invalid,
        the actor who creates it is first made ``who`` (/req/core/actor-is-principal): the
        creating event's actor,
        and every top-level actor that repeats it, keep only the role and any onBehalfOf;
        the server fills in the rest from the credential. ``doc`` is changed in place."""
        creator = who or self.staff
        if not as_is and self._valid(doc):
            # A document meant to be refused for its content goes as it is.
            created_by(doc, creator.role)
        path = self.collection_path(doc["resourceType"])
        return self.call("POST", path, creator, json_body=doc, headers=headers)

    @staticmethod
    def _valid(doc: dict[str, Any]) -> bool:
        from ..validation import validate

        return validate(doc).valid

    def created(self, doc: dict[str, Any], who: Principal | None = None) -> dict[str, Any]:
        """Create ``doc`` and return the stored document; a refusal is a precondition failure."""
        resp = self.create(doc, who)
        if resp.status != 201:
            raise Skipped(
                f"无法创建测试数据（{resp.status}）；先修正创建接口",
                f"cannot create test data ({resp.status}); fix creation first",
            )
        body = resp.json()
        return body if isinstance(body, dict) else doc

    def read(self, resource_type: str, rid: str, who: Principal | None = None) -> Response:
        return self.call("GET", self.resource_path(resource_type, rid), who or self.staff)

    def pages(self, path: str, params: Mapping[str, str], *, token: str | None
              ) -> Iterator[Response]:
        """Every page of the paged ``path`` read with ``token`` (None: without one) and the
        query ``params``, following ``next`` while pages are given (a page may hold fewer
        items than asked, /req/core/paging); the caller reads each page's status. Skipped
        past :data:`MAX_PAGES`: a check would not see the end."""
        cursor: str | None = None
        given: set[str] = set()
        for _ in range(MAX_PAGES):
            query = {**params, **({"cursor": cursor} if cursor else {})}
            resp = self.call("GET", path, token=token, params=query)
            yield resp
            body = resp.json() if resp.status == 200 else None
            cursor = body.get("next") if isinstance(body, dict) else None
            if not cursor:
                return
            self.expect(str(cursor) not in given, f"{path} 的 next 游标重复出现，列表永远读不完",
                        f"a next cursor of {path} comes again: the list never ends")
            given.add(str(cursor))
        raise Skipped(f"{path} 的列表超过 {MAX_PAGES} 页，无法读完",
                      f"the list at {path} runs past {MAX_PAGES} pages: its end is not seen")

    def items(self, resource_type: str, who: Principal | None = None,
              params: Mapping[str, str] | None = None, *, must_list: bool = True
              ) -> Iterator[dict[str, Any]]:
        """Every item of ``resource_type``'s collection that ``who`` (default: staff) is
        shown with the query ``params``, following the cursors to the end. A refusal fails
        the check when ``must_list``; otherwise any 4xx simply ends the listing.

        Only the records updated since the run began are listed (``updatedSince``, where the
        collection takes it), unless ``params`` names its own ``updatedSince``: what the kit
        looks for is what it wrote, and a listing of the whole collection would make the
        run's time grow with the server's data."""
        who = who or self.staff
        params = dict(params or {})
        if "updatedSince" not in params and self._filters_by_update(resource_type):
            params["updatedSince"] = self.since
        for resp in self.pages(self.collection_path(resource_type), params, token=who.token):
            if resp.status != 200 and not must_list:
                self.expect(resp.status is not None and 400 <= resp.status < 500,
                            f"{who.name} 列出 {resource_type} 得到 {resp.status}",
                            f"{who.name} listing {resource_type} got {resp.status}")
                return
            # The query as a URL writes it, not as Python prints a dict.
            query = "&".join(f"{k}={v}" for k, v in params.items())
            self.expect_status(resp, 200, zh=f"按 {query} 列出 {resource_type}",
                               en=f"listing {resource_type} by {query}")
            yield from (i for i in (resp.json() or {}).get("items") or [] if isinstance(i, dict))

    # -- expectations ------------------------------------------------------------------
    def expect_status(self, resp: Response, *expected: int, zh: str = "", en: str = "") -> None:
        if resp.status not in expected:
            want = " 或 ".join(map(str, expected))
            want_en = " or ".join(map(str, expected))
            raise Failed(
                f"{zh or '状态码不符'}：应为 {want}，实际为 {resp.status}",
                f"{en or 'unexpected status'}: expected {want_en}, got {resp.status}",
            )

    def expect(self, condition: bool, zh: str, en: str) -> None:
        if not condition:
            raise Failed(zh, en)

    def expect_problem(self, resp: Response, status: int) -> dict[str, Any]:
        """A 4xx answered as RFC 9457 problem+json with code and both languages."""
        self.expect_status(resp, status)
        self.expect(
            resp.media_type == "application/problem+json",
            f"错误响应的媒体类型是 {resp.media_type or '（无）'}，应为 application/problem+json",
            f"error response has media type {resp.media_type or '(none)'}, "
            "not application/problem+json",
        )
        body = resp.json()
        self.expect(
            isinstance(body, dict), "错误响应体不是 JSON 对象", "error body is not a JSON object"
        )
        assert isinstance(body, dict)
        missing = [k for k in ("type", "title", "status", "code", "message") if k not in body]
        self.expect(not missing, f"错误响应缺少 {missing}", f"problem lacks {missing}")
        message = body.get("message")
        self.expect(
            isinstance(message, dict) and bool(message.get("zh-Hans")) and bool(message.get("en")),
            "错误消息没有同时给出中文和英文",
            "problem message is not in both languages",
        )
        self.expect(
            body.get("status") == status,
            "problem 的 status 与响应状态码不一致",
            "problem status differs from the response status",
        )
        return body


def check_draws(seed: int, check_id: str) -> random.Random:
    """The generator of one check's choices (the templates it takes, the values it makes up),
    made from the run's seed and the check's id alone: the check draws the same whichever
    checks ran before it, so a run of one check or one class repeats what the full run with
    that seed drew. SHA-256 rather than ``hash()``, which Python salts in every process."""
    digest = hashlib.sha256(f"{seed}\n{check_id}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _http_date(value: str) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime; None when it is not one."""
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def spec_vectors(spec: Spec) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every test of the spec's vectors for its version, with the schema of its group."""
    folder = spec.folder.parent / "tests" / spec.version
    for path in sorted(folder.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            for test in group["tests"]:
                yield group["schema"], test


def _templates(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """Valid creatable documents by resource type: examples, or valid vectors for a type the
    examples leave without one. Creatable: in a status a lifecycle's creating action reaches
    (any status for a type without a lifecycle), in the example community only (the one moved
    to the preset's; a district department's record belongs to none a community's staff
    write), and not under a restriction (a state only the server's rights procedure sets)."""
    from ..validation import validate

    creating = {rt: {t.get("to") for t in spec.lifecycle(rt)["transitions"] if not t["from"]}
                for rt in spec.lifecycles}

    def creatable(docs: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for doc in docs:
            rt = doc.get("resourceType") if isinstance(doc, dict) else None
            text = json.dumps(doc)
            if rt not in spec.resource_types or EXAMPLE_OTHER_COMMUNITY in text \
                    or EXAMPLE_COMMUNITY not in text:
                continue
            if rt in creating and doc.get("status") not in creating[rt]:
                continue
            if not _restricted(spec, doc) and validate(doc).valid:
                found.setdefault(str(rt), []).append(copy.deepcopy(doc))
        return found

    # Vectors vary the examples one rule at a time: they serve only where no example does.
    vectors = creatable(test["data"] for _, test in spec_vectors(spec) if test.get("valid"))
    return {**vectors, **creatable(doc for _, doc in spec.examples())}


def _personal_held(spec: Spec, doc: dict[str, Any]) -> tuple[int, int]:
    """How many classes of personal information ``doc`` holds values of (the ``x-pipl``
    classes some audience does not keep), and how many such values."""
    from ..validation import compile_plan, values_at

    withheld = {cls for rules in spec.privacy["treatments"].values()
                for cls, how in rules.items() if how != "keep"}
    held = [cls for path, cls, _ in compile_plan(spec, str(doc["resourceType"])).pipl
            if cls in withheld for _ in values_at(doc, path)]
    return len(set(held)), len(held)


def _restricted(spec: Spec, doc: dict[str, Any]) -> bool:
    """Whether ``doc`` carries a restriction state other than the one omission means (the
    first code of the state's codelist)."""
    restriction = doc.get("restriction")
    if not isinstance(restriction, dict):
        return False
    schema = spec.schema(str(doc["resourceType"]))
    bound = schema.get("$defs", {}).get("restriction", {}).get("properties", {}).get("state", {})
    codes = list(spec.codelist(bound["x-codelist"])) if "x-codelist" in bound else []
    return bool(codes) and restriction.get("state") != codes[0]


def created_by(doc: dict[str, Any], role: str) -> dict[str, Any]:
    """``doc`` (changed in place) as ``role`` creates it: the creating event's actor and the
    top-level members that repeat it (an issue's submittedBy) name only the role and any
    onBehalfOf, so the server records the credential's identity."""
    history = doc.get("history")
    if not isinstance(history, list) or not history or not isinstance(history[0], dict):
        return doc
    first = history[0].get("actor")
    if not isinstance(first, dict):
        return doc
    repeats = [k for k, v in doc.items() if k != "history" and v == first]
    actor: dict[str, Any] = {"role": role}
    if isinstance(first.get("onBehalfOf"), dict):
        actor["onBehalfOf"] = first["onBehalfOf"]
    history[0]["actor"] = actor
    for member in repeats:
        doc[member] = dict(actor)
    return doc
