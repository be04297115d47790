"""The demo community: every example of the spec, loaded through the Store on first start.

幸福里社区 (110105001001): residents — among them 王桂英, over 80 and living alone, with her son
李建国 as proxy — issues in several states, and consultations from a rejected proposal to the
lift installation carried through to the end, with residents' opinions from the app, a paper
form and a grid worker's door-to-door visit for 王桂英, a co-signed proposal, and a reply to
each. Loading produces change events like any write.
"""

from __future__ import annotations

import copy
from typing import Any

from smartcommunity.privacy import rekey_pseudonyms

from .auth import ALL
from .service import Service, now_cst, stamp

__all__ = ["DEMO_COMMUNITY", "NEIGHBOUR_COMMUNITY", "demo_tokens", "seed"]


def _examples(service: Service) -> list[dict[str, Any]]:
    """The examples in the order of ``resource-type.csv`` (a type before those that refer to
    it), each with its citizen-ID pseudonyms computed with this server's city key.

    The examples were made with a demonstration key; a server holding another key would
    otherwise store records whose pseudonyms it rejects when their residents correct them.
    """
    order = {rt: i for i, rt in enumerate(service.spec.resource_types)}
    docs = [doc for _, doc in service.spec.examples()]
    if service.key is not None:
        docs = [rekey_pseudonyms(copy.deepcopy(doc), service.key,
                                 key_id=service.key_id) for doc in docs]
    return sorted(docs, key=lambda d: (order.get(str(d.get("resourceType")), len(order)),
                                       str(d.get("id"))))


def seed(service: Service) -> bool:
    """Load the examples into an empty database; False (and nothing done) when it has data."""
    docs = _examples(service)
    for doc in docs:
        # The examples are the standard's, written for one Beijing community; another city's
        # profile reads what is written after them, not them.
        service.validate(doc, profiled=False)
    with service.store.write() as tx:
        if tx.info("demo") is not None or not tx.is_empty():
            return False
        at = stamp(now_cst())
        tx.write_many([service.import_change(doc, at) for doc in docs], upsert=False)
        tx.set_info("demo", at)
    return True


#: the demo's two neighbouring communities (幸福里, 和平里) in one district
DEMO_COMMUNITY = "110105001001"
NEIGHBOUR_COMMUNITY = "110105001002"

_RC_XINGFULI = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会",
                "type": "residents-committee", "divisionCode": DEMO_COMMUNITY}
_RC_HEPINGLI = {"id": "rc-hepingli", "name": "和平里社区居民委员会",
                "type": "residents-committee", "divisionCode": NEIGHBOUR_COMMUNITY}
_DISTRICT = [DEMO_COMMUNITY, NEIGHBOUR_COMMUNITY]


def _district_department(code: str, title: str, name: str, user_id: str) -> dict[str, Any]:
    """A department principal of the district, serving both demo communities."""
    return {"label": f"department: {code.replace('-', ' ')}", "role": "department",
            "name": name, "userId": user_id,
            "organisation": {"id": code, "name": title, "type": "government-department"},
            "communities": _DISTRICT}


def demo_tokens() -> dict[str, dict[str, Any]]:
    """The demo's tokens, one per role of the demo world (token → principal fields)."""
    return {
        "demo-resident-wang-guiying": {
            "label": "resident (self)", "role": "resident", "name": "王桂英",
            "resident": "5f0c1e2a-6b8d-4c1e-9a3f-1d2e3f4a5b6c", "communities": [DEMO_COMMUNITY]},
        "demo-proxy-li-jianguo": {
            "label": "proxy of 王桂英", "role": "proxy", "name": "李建国",
            "resident": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            # He lives in 和平里 and follows his mother's affairs in 幸福里.
            "communities": [DEMO_COMMUNITY, NEIGHBOUR_COMMUNITY]},
        "demo-grid-worker-zhang-wei": {
            "label": "grid worker", "role": "grid-worker", "name": "张伟", "userId": "gw-0317",
            "organisation": _RC_XINGFULI, "communities": [DEMO_COMMUNITY],
            "grids": [f"{DEMO_COMMUNITY}-03"]},
        "demo-staff-liu-fang": {
            "label": "community staff", "role": "community-staff", "name": "刘芳",
            "userId": "cs-0102", "organisation": _RC_XINGFULI, "communities": [DEMO_COMMUNITY]},
        "demo-dept-civil-affairs": _district_department(
            "civil-affairs", "朝阳区民政局", "王静", "mzj-0311"),
        "demo-dept-housing": _district_department(
            "housing", "朝阳区住房和城乡建设委员会", "孙志刚", "zjw-1187"),
        "demo-regulator": {
            "label": "regulator", "role": "regulator", "name": "市监管员", "userId": "reg-0001",
            "communities": ALL},
        "demo-public": {
            "label": "public", "role": "public", "name": "公众", "communities": [DEMO_COMMUNITY]},
        # The 12345 hotline serves the whole city; its operators find callers by identifier.
        "demo-hotline-zhao-li": {
            "label": "hotline operator", "role": "hotline-operator", "name": "赵丽",
            "userId": "hl-0088", "communities": ALL},
        "demo-system-mirror": {
            "label": "system (mirror)", "role": "system", "name": "镜像系统",
            "userId": "mirror", "communities": ALL},
        "demo-staff-hepingli": {
            "label": "community staff, 和平里", "role": "community-staff", "name": "周敏",
            "userId": "cs-0207", "organisation": _RC_HEPINGLI,
            "communities": [NEIGHBOUR_COMMUNITY]},
        # A namesake of 刘芳 in the neighbouring community: a display name is no identity.
        "demo-staff-hepingli-liu-fang": {
            "label": "community staff, 和平里, namesake of 刘芳", "role": "community-staff",
            "name": "刘芳", "userId": "cs-0219", "organisation": _RC_HEPINGLI,
            "communities": [NEIGHBOUR_COMMUNITY]},
    }
