"""What a record keeps once its retention period passed (``privacy.without_personal``) and what
a resident's erasure leaves of her in other records (``ErasureReach``), over generated
documents: still valid, nothing tagged personal left, nothing of her left, the rest untouched."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reference_server.service import ErasureReach
from smartcommunity import load_spec
from smartcommunity.integrity import verify_history
from smartcommunity.privacy import redact, without_personal
from smartcommunity.profiles import Profile, load_profile
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.strategies import documents
from smartcommunity.validation import compile_plan, values_at

SPEC = load_spec(DEFAULT_VERSION)
REACH = ErasureReach(SPEC)
PERSON = SPEC.privacy["recordAccess"]["personType"]
ORACLES = {rt: Draft202012Validator(SPEC.schema(rt), registry=SPEC.registry,
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)
           for rt in SPEC.resource_types}
LARGE = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow,
                                                         HealthCheck.data_too_large])
KEPT_BY_ALL = {c for c in SPEC.privacy["treatments"]["public"]
               if all(t.get(c) == "keep" for t in SPEC.privacy["treatments"].values())}


def _tagged_values(doc: dict[str, Any]) -> list[Any]:
    plan = compile_plan(SPEC, str(doc["resourceType"]))
    return [value for path, pipl, _ in plan.pipl if pipl not in KEPT_BY_ALL
            for _, value in values_at(doc, path)]


@LARGE
@given(st.sampled_from(sorted(SPEC.resource_types)).flatmap(documents))
def test_without_personal_keeps_a_valid_record_with_nothing_tagged(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    out = without_personal(doc)
    assert doc == before  # the input is not modified
    assert ORACLES[doc["resourceType"]].is_valid(out)
    assert _tagged_values(out) == []
    assert without_personal(out) == out
    assert set(out) <= set(doc)
    for member in ("id", "resourceType", "status", "meta"):
        assert out.get(member) == doc.get(member)
    if verify_history(doc) == []:
        assert verify_history(out) == []  # the integrity form leaves tagged members out


@st.composite
def _naming_her(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    rt = draw(st.sampled_from(REACH.resource_types))
    doc = draw(documents(rt))
    rid = draw(st.uuids()).hex
    rid = f"{rid[:8]}-{rid[8:12]}-4{rid[13:16]}-8{rid[17:20]}-{rid[20:]}"
    name = "她的名字" + rid[:4]
    ref = {"resourceType": PERSON, "id": rid, "display": name}
    # Put her wherever the document holds a reference to a resident.
    text = json.dumps(doc)
    if f'"resourceType": "{PERSON}"' in text:
        def swap(node: Any) -> Any:
            if isinstance(node, dict):
                if node.get("resourceType") == PERSON and "id" in node:
                    return {**ref}
                out = {k: swap(v) for k, v in node.items()}
                if isinstance(out.get("resident"), dict) and out["resident"].get("id") == rid:
                    out["name"] = name
                return out
            if isinstance(node, list):
                return [swap(v) for v in node]
            return node
        doc = swap(doc)
    return doc, rid, name


@LARGE
@given(_naming_her())
def test_erasure_reach_leaves_nothing_of_her(case: tuple[dict[str, Any], str, str]) -> None:
    doc, rid, name = case
    out = REACH.apply(doc, rid)
    if name not in json.dumps(doc, ensure_ascii=False):
        assert out is None  # nothing of her: nothing rewritten
        return
    assert out is not None
    assert name not in json.dumps(out, ensure_ascii=False)
    assert rid in json.dumps(out)  # the references stay
    assert ORACLES[doc["resourceType"]].is_valid(out) == ORACLES[doc["resourceType"]].is_valid(doc)
    assert REACH.apply(out, rid) is None  # once is enough
    other = REACH.apply(doc, "00000000-0000-4000-8000-000000000000")
    assert other is None


@functools.cache
def _chaoyang() -> Profile:
    return load_profile(SPEC.folder / "profiles" / "beijing-chaoyang.json")


@settings(max_examples=60, deadline=None)
@given(number=st.from_regex(r"CY[0-9]{12}", fullmatch=True),
       district=st.none() | st.text(max_size=20),
       contacts=st.dictionaries(st.from_regex(r"contact[A-Z][a-z]{0,8}", fullmatch=True),
                                st.text(max_size=60), max_size=3),
       untold=st.none() | st.text(max_size=10))
def test_a_registered_extension_keeps_what_its_tags_mark_for_everyone(
        number: str, district: str | None, contacts: dict[str, str], untold: str | None) -> None:
    """With the city's profile, a registered extension loses what its schema tags personal
    (named, or found by a pattern) and what its tags do not cover; the rest stays, as the
    public is served it. Without the profile the whole extension is sensitive and goes."""
    city = _chaoyang()
    (key,) = [k for k in city.extensions if city.extensions[k].applies_to("Issue")]
    value: dict[str, Any] = {"workOrderNo": number, "score": {"response": 90}, **contacts}
    if district is not None:
        value["callerDistrict"] = district
    if untold is not None:
        value["kitUntold"] = untold
    doc = copy.deepcopy(next(d for _, d in SPEC.examples() if d.get("resourceType") == "Issue"))
    doc["extensions"] = {key: value, "x.unregistered": {"note": "kept by nobody"}}
    kept = without_personal(doc, profile=city)
    assert kept["extensions"] == {key: {"workOrderNo": number, "score": {"response": 90}}}
    assert list(kept) == [k for k in doc if k in kept]  # members keep their order
    assert redact(doc, "public", profile=city).get("extensions") == kept["extensions"]
    assert "extensions" not in without_personal(doc)


def _example(name: str) -> dict[str, Any]:
    return next(doc for path, doc in SPEC.examples() if path == name)


def test_items_made_equal_by_removing_or_masking_stay_one() -> None:
    """Two items of an array whose items must be unique can differ only by a tagged value:
    once it is removed or masked they are one, and the record still validates (two
    references to one issue with different displays; two former names alike but for what
    a mask hides)."""
    consultation = _example("consultation/green-space-parking-rejected.json")
    issue = "2b7c1a3e-0d5f-4c8a-9e21-6f4b3a8d7c10"
    consultation["origin"]["issues"] = [
        {"resourceType": "Issue", "id": issue, "display": "欧阳志刚反映的停车问题"},
        {"resourceType": "Issue", "id": issue, "display": "绿地停车"}]
    resident = _example("resident/abdurahman-ahmat.json")
    resident["formerNames"] = ["阿不都热合曼", "阿不都"]
    for doc in (consultation, resident):
        assert ORACLES[doc["resourceType"]].is_valid(doc)
        outs = {"retention": without_personal(doc),
                **{audience: redact(doc, audience) for audience in SPEC.audiences}}
        for name, out in outs.items():
            errors = [e.message for e in ORACLES[doc["resourceType"]].iter_errors(out)]
            assert errors == [], (doc["resourceType"], name)
    kept = without_personal(consultation)["origin"]["issues"]
    assert kept == [{"resourceType": "Issue", "id": issue}]
