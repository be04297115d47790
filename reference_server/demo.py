"""The demo community: every example of the spec, loaded through the Store on first start.

幸福里社区 (110105001001): residents — among them 王桂英, over 80 and living alone, with her son
李建国 as proxy — issues in several states, and consultations from a rejected proposal to the
lift installation carried through to the end. Loading produces change events like any write.
"""

from __future__ import annotations

import copy
from typing import Any

from smartcommunity.privacy import rekey_pseudonyms

from .service import Service, now_cst, stamp

__all__ = ["seed"]


def _examples(service: Service) -> list[dict[str, Any]]:
    """The examples in the order of ``resource-type.csv`` (a type before those that refer to
    it), each with its citizen-ID pseudonyms computed with this server's city key.

    The examples were made with a demonstration key; a server holding another key would
    otherwise store records whose pseudonyms it rejects when their residents correct them.
    """
    order = {rt: i for i, rt in enumerate(service.spec.resource_types)}
    docs = [doc for _, doc in service.spec.examples()]
    if service.key is not None:
        docs = [rekey_pseudonyms(copy.deepcopy(doc), service.key) for doc in docs]
    return sorted(docs, key=lambda d: (order.get(str(d.get("resourceType")), len(order)),
                                       str(d.get("id"))))


def seed(service: Service) -> bool:
    """Load the examples into an empty database; False (and nothing done) when it has data."""
    docs = _examples(service)
    for doc in docs:
        service.validate(doc)
    with service.store.write() as tx:
        if tx.info("demo") is not None or tx.count() > 0:
            return False
        at = stamp(now_cst())
        tx.write_many([service.import_change(doc, at) for doc in docs], upsert=False)
        tx.set_info("demo", at)
    return True
