"""The demo community: every example of the spec, loaded through the Store on first start.

幸福里社区 (110105001001): residents — among them 王桂英, over 80 and living alone, with her son
李建国 as proxy — issues in several states, and consultations from a rejected proposal to the
lift installation carried through to the end. Loading produces change events like any write.
"""

from __future__ import annotations

import copy
from typing import Any

from smartcommunity.identifiers import citizen_id_pseudonym, is_valid_citizen_id

from .service import Service
from .service._core import now_cst, stamp

__all__ = ["ORDER", "rekeyed", "seed"]


def rekeyed(doc: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """The example with its citizen-ID pseudonyms computed with this server's city key.

    The examples were made with a demonstration key; a server holding another key would
    otherwise store records whose pseudonyms it rejects when their residents correct them.
    """
    if key is None or doc.get("resourceType") != "Resident":
        return doc
    out = copy.deepcopy(doc)
    for item in out.get("identityDocuments") or ():
        number = item.get("number")
        if "pseudonym" in item and isinstance(number, str) and is_valid_citizen_id(number):
            item["pseudonym"] = citizen_id_pseudonym(number, key)
    return out

#: residents first, then the issues consultations refer to, then consultations
ORDER = {"Resident": 0, "Issue": 1, "Consultation": 2}


def seed(service: Service) -> bool:
    """Load the examples into an empty database; False (and nothing done) when it has data."""
    docs = sorted((rekeyed(doc, service.key) for _, doc in service.spec.examples()),
                  key=lambda d: (ORDER.get(str(d.get("resourceType")), 9), str(d.get("id"))))
    for doc in docs:
        service.validate(doc)
    with service.store.write() as tx:
        if tx.info("demo") is not None or tx.count() > 0:
            return False
        at = stamp(now_cst())
        tx.write_many([service.import_change(doc, at) for doc in docs], upsert=False)
        tx.set_info("demo", at)
    return True
