"""What a kit test works with: the client, the preset, the spec, and fresh test documents."""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..specification import Spec
from ._client import Client, Response
from ._preset import Preset, Principal
from ._registry import Failed, Skipped

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: The community the spec's examples and vectors are written for.
EXAMPLE_COMMUNITY = "110105001001"
EXAMPLE_OTHER_COMMUNITY = "110105001002"
COLLECTIONS = {"Resident": "residents", "Issue": "issues", "Consultation": "consultations"}
#: the offset the kit writes its own timestamps with (China Standard Time)
CST = timezone(timedelta(hours=8))


class KitFault(RuntimeError):
    """The kit itself is wrong (for example a test document it built is invalid): an error,
    never blamed on the server."""


class KitContext:
    """Shared by every test of a run; tests create their own data and never rely on order."""

    def __init__(self, client: Client, preset: Preset, spec: Spec, seed: int,
                 declared: Iterable[str] = (), pseudonym_key: bytes | None = None) -> None:
        self.client = client
        self.preset = preset
        self.spec = spec
        self.rng = random.Random(seed)
        self.seed = seed
        # Ids differ on every run, so the kit can run again against the same server; the seed
        # still fixes every other choice.
        self._ids = random.Random(f"{seed}:{uuid.uuid4()}")
        #: conformance class ids the server declares (without the URI prefix)
        self.declared = frozenset(declared)
        #: the city's shared pseudonym key when the regulator gives it: the server holds it too
        self.pseudonym_key = pseudonym_key
        #: principal name → the latest feed cursor seen, so the feed is read to its end once
        self.feed_cursors: dict[str, str] = {}
        self._templates = _templates(spec)

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
        return self.principal("community-staff")

    def departments(self, count: int) -> list[Principal]:
        """``count`` department principals of different organisations serving the community."""
        found: dict[str | None, Principal] = {}
        for p in self.preset.principals.values():
            if p.role == "department" and p.serves(self.preset.community) and p.organisation:
                found.setdefault(p.organisation, p)
        if len(found) < count:
            raise Skipped(
                f"预设中需要 {count} 个不同单位的 department 主体（服务社区 "
                f"{self.preset.community}），只有 {len(found)} 个",
                f"the preset needs {count} department principals of different organisations "
                f"serving community {self.preset.community}; it has {len(found)}",
            )
        return list(found.values())[:count]

    def optional(self, role: str, *, community: str | None = None) -> Principal | None:
        """A principal of ``role`` if the preset has one, for checks that add to a test."""
        return self.preset.by_role(role, community=community)

    def organisation(self, who: Principal) -> dict[str, Any]:
        """A department principal's organisation as an organisation.json object."""
        if not who.organisation:
            raise KitFault(f"principal {who.name} has no organisation")
        departments = self.spec.codelist("department")
        name = departments.title(who.organisation) if who.organisation in departments \
            else who.organisation
        return {"id": who.organisation, "name": name, "type": "government-department"}

    # -- time --------------------------------------------------------------------------
    @staticmethod
    def moment(days: float = 0.0) -> str:
        """Now plus ``days`` (negative: in the past) as RFC 3339 with +08:00."""
        at = datetime.now(UTC) + timedelta(days=days)
        return at.astimezone(CST).isoformat(timespec="seconds")

    def ensure_valid(self, doc: dict[str, Any], why: str = "") -> dict[str, Any]:
        """``doc`` when the library finds it valid; a kit fault otherwise, since the kit must
        only send what it means to send."""
        from ..validation import validate

        report = validate(doc)
        if not report.valid:
            errors = [(f.pointer, f.code) for f in report.errors][:5]
            raise KitFault(f"the kit built an invalid {doc.get('resourceType')} {why}: {errors}")
        return doc

    def template(self, resource_type: str, **criteria: Any) -> dict[str, Any]:
        """A copy of the spec example of ``resource_type`` matching ``criteria`` (member →
        value), the one with the longest history first; adapted to our community."""
        found = [d for _, d in self.spec.examples()
                 if d.get("resourceType") == resource_type
                 and all(d.get(k) == v for k, v in criteria.items())]
        if not found:
            raise Skipped(f"规范中没有符合 {criteria} 的 {resource_type} 示例",
                          f"the spec has no {resource_type} example with {criteria}")
        found.sort(key=lambda d: (-len(d.get("history") or []), str(d.get("id"))))
        return self.adapt(found[0])

    # -- data --------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def document(
        self, resource_type: str, *, community: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """A fresh valid document to create: a template from the spec, new ids, our community."""
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
        return self.adapt(self.rng.choice(choices), community=community)

    def adapt(self, doc: dict[str, Any], *, community: str | None = None,
              keep_meta: bool = False) -> dict[str, Any]:
        """``doc`` moved into the preset's community under a new id (references to itself
        follow), without server metadata unless ``keep_meta``; with the city's key, its
        pseudonyms recomputed from their numbers (the spec's are made with another key)."""
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
        return self._rekey(out)

    def _rekey(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` (changed in place) with the pseudonym of each identity document that has a
        valid number recomputed with the city's key, when the run has it
        (/req/residents/pseudonym-consistent); without the key ``doc`` is left alone."""
        from ..identifiers import IdentifierError, citizen_id_pseudonym

        key = self.pseudonym_key
        if key is None or doc.get("resourceType") != "Resident":
            return doc
        for item in doc.get("identityDocuments") or []:
            if not (isinstance(item, dict) and isinstance(item.get("number"), str)
                    and "pseudonym" in item):
                continue
            try:
                item["pseudonym"] = citizen_id_pseudonym(item["number"], key)
            except IdentifierError:
                continue  # no valid number: nothing to recompute
        return doc

    def redact(self, doc: dict[str, Any], audience: str) -> dict[str, Any]:
        """``doc`` as ``audience`` may see it, by the library (with the city's key if given)."""
        from ..privacy import redact

        return redact(doc, audience, pseudonym_key=self.pseudonym_key)

    def audience(self, who: Principal, doc: dict[str, Any]) -> str:
        """The audience ``who`` reads ``doc`` as: its role's, or "self" for a resident's own
        record and the records of residents who made it their proxy."""
        from ..privacy import audience_for_role

        if who.resident and doc.get("resourceType") == "Resident":
            if doc.get("id") == who.resident:
                return "self"
            for proxy in doc.get("proxies") or []:
                ref = proxy.get("resident") or (proxy.get("actor") or {}).get("resident") or {}
                if isinstance(ref, dict) and ref.get("id") == who.resident:
                    return "self"
        return audience_for_role(who.role)

    # -- requests ----------------------------------------------------------------------
    def call(self, method: str, path: str, who: Principal | None = None, **kw: Any) -> Response:
        return self.client.request(method, path, token=who.token if who else None, **kw)

    def create(
        self,
        doc: dict[str, Any],
        who: Principal | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        path = "/" + COLLECTIONS[doc["resourceType"]]
        return self.call("POST", path, who or self.staff, json_body=doc, headers=headers)

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
        return self.call("GET", f"/{COLLECTIONS[resource_type]}/{rid}", who or self.staff)

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


def _templates(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """Valid creatable documents: examples and valid vectors in a creating status."""
    from ..validation import validate

    creating: dict[str, set[str | None]] = {"Resident": {None}}
    for rt, table in spec.lifecycles.items():
        creating[rt] = {t.get("to") for t in table["transitions"] if not t["from"]}
    found: dict[str, list[dict[str, Any]]] = {}
    # Examples first; valid vectors only for a type the examples leave without a template.
    candidates = [doc for _, doc in spec.examples()]
    vectors = spec.folder.parent / "tests" / spec.version
    for path in sorted(vectors.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            candidates += [t["data"] for t in group["tests"] if t.get("valid")]
    for doc in candidates:
        if EXAMPLE_OTHER_COMMUNITY in json.dumps(doc):
            continue  # a template must live in one community only
        rt = str(doc.get("resourceType"))
        if rt not in creating:
            continue
        # A stored resident needs a name (/req/residents/name-on-write).
        status_ok = doc.get("status") in creating[rt] or (rt == "Resident" and "name" in doc)
        erased = isinstance(doc.get("restriction"), dict) and doc["restriction"].get("state") in {
            "erased",
            "erasure-requested",
            "restricted",
            "restriction-requested",
        }
        if status_ok and not erased and validate(doc).valid:
            found.setdefault(rt, []).append(copy.deepcopy(doc))
    examples = {doc["id"] for _, doc in spec.examples()}
    for rt, docs in found.items():
        preferred = [d for d in docs if d["id"] in examples]
        found[rt] = preferred or docs
    return found
