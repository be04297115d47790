"""The policy of a resource type: what it adds to the generic operations.

Who may create, update or exercise a right comes from the OpenAPI (an operation's ``x-roles``)
or, for a resource created by a lifecycle action, from the roles of its creating actions. A
resource type needs a subclass only for the rules the spec states in prose; one without is
served by :class:`Policy` as it is. Subclasses register with :func:`policy_for`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from smartcommunity.exceptions import SpecError
from smartcommunity.uris import normalise_uri

from ..auth import Principal
from ..errors import Echo, coded
from ..openapi import resource_operations
from ..storage import Stored
from ._shared import Host, Write, forbidden, unprocessable

__all__ = ["POLICIES", "Policy", "changed", "policy_for", "sub"]

#: resource type → its policy class; types not listed get :class:`Policy`
POLICIES: dict[str, type[Policy]] = {}

P = TypeVar("P", bound="type[Policy]")


def policy_for(resource_type: str) -> Callable[[P], P]:
    """Class decorator: ``cls`` is the policy of ``resource_type``."""
    def register(cls: P) -> P:
        POLICIES[resource_type] = cls
        return cls
    return register


def changed(old: Mapping[str, Any], new: Mapping[str, Any], member: str) -> bool:
    """Whether ``member`` differs between two versions of a document."""
    return old.get(member) != new.get(member)


def sub(doc: Mapping[str, Any], member: str) -> Mapping[str, Any]:
    """``doc[member]`` when it is an object, else an empty one."""
    value = doc.get(member)
    return value if isinstance(value, Mapping) else {}


class Policy:
    """Defaults for any resource type: the spec's roles, no further checks."""

    #: reads and writes of this type are written to the audit log (/req/privacy/audit-log)
    audited = False
    #: the requirement a changed id in an update breaks, when the type names one
    id_requirement: str | None = None
    #: the requirement an action's invalid details break, when the type names one
    details_requirement: str | None = None
    #: which items of an action request each action takes, and the details members naming
    #: them (/req/issues/action-effects); an action not listed takes none
    takes: Mapping[str, tuple[str, tuple[str, ...]]] = {}
    #: the list query's member the ``category`` parameter fills
    category_member = "category"
    #: members naming the creator besides the creating event's actor (actor-is-principal)
    creator_members: tuple[str, ...] = ()
    #: item kind → the member naming who wrote an item an action takes (bound to the
    #: principal as the action's actor is, /req/core/actor-is-principal)
    item_actors: Mapping[str, str] = {}
    #: the proxy scopes under which a proxy acts for a resident on this type
    proxy_scopes: tuple[str, ...] = ()

    def __init__(self, service: Host, rtype: str) -> None:
        self.service = service
        self.access = service.access
        self.rtype = rtype
        spec = service.spec
        everyone = frozenset(spec.roles)
        ops = resource_operations(spec.version, rtype)
        self.collection = spec.collection(rtype)
        create = ops.get("create")
        roles = create.roles if create is not None else None
        if roles is None:
            try:
                lifecycle = service.lifecycle(rtype)
            except SpecError:
                lifecycle = None
            if lifecycle is not None and lifecycle.creating_actions:
                roles = frozenset().union(*(lifecycle.transitions[a].roles
                                            for a in lifecycle.creating_actions))
        self.create_roles: frozenset[str] = everyone if roles is None else roles
        update = ops.get("update")
        self.update_roles: frozenset[str] = (
            everyone if update is None or update.roles is None else update.roles)
        #: right name → the roles that may exercise it
        self.rights: dict[str, frozenset[str]] = {
            op.name: everyone if op.roles is None else op.roles
            for op in ops.values() if op.kind == "right" and op.name is not None}

    def may_create(self, principal: Principal) -> None:
        if principal.role not in self.create_roles:
            raise forbidden(principal, f"{principal.role} may not create a {self.rtype}",
                            f"{principal.role} 不能创建 {self.rtype}", "/req/core/action-roles")

    def may_update(self, principal: Principal) -> None:
        if principal.role not in self.update_roles:
            raise forbidden(principal, f"{principal.role} may not update a {self.rtype}",
                            f"{principal.role} 不能更新 {self.rtype}")

    def complete(self, doc: Any) -> Any:
        """The body of a create with what the server fills in before validating it."""
        return doc

    def route(self, doc: Mapping[str, Any], action: str, body: dict[str, Any]
              ) -> dict[str, Any]:
        """The body of ``action`` on ``doc`` with what the city profile fills in."""
        return body

    def bind_creator(self, principal: Principal, doc: dict[str, Any],
                     bind: Callable[[Any, str], dict[str, Any]]) -> dict[str, Any]:
        """``doc`` whose members, beyond the creating event's actor and ``creator_members``,
        that the principal creating it is bound to are made her with ``bind(given, pointer)``
        (403 if one claims anyone else)."""
        return doc

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        """Checks of a new document that need nothing stored (raise to refuse)."""
        return None

    def serves_division(self, principal: Principal, doc: Mapping[str, Any],
                        requirement: str) -> None:
        """A new record is made in a community ``principal`` serves (its ``divisionCode``)."""
        if not principal.serves(doc.get("divisionCode")):
            raise forbidden(principal, "divisionCode is not a community you serve",
                            "divisionCode 不是您服务的社区", requirement, "/divisionCode")

    @functools.cached_property
    def _creation(self) -> tuple[frozenset[str], list[str], str]:
        """The type's creating actions, the statuses they lead to, and their names as a
        message shows them."""
        lifecycle = self.service.lifecycle(self.rtype)
        creating = lifecycle.creating_actions
        targets = (lifecycle.transitions[a].target for a in creating)
        return (frozenset(creating), sorted({t for t in targets if t is not None}),
                " / ".join(sorted(creating)))

    def creation_problems(self, doc: Mapping[str, Any], requirement: str,
                          barred: Iterable[str] = ()) -> list[tuple[str, str, str, str]]:
        """What keeps ``doc`` from being a new record of its lifecycle: a status other than
        one a creating action leads to, a history other than one creating event, or one of
        the ``barred`` members (those only actions write)."""
        creating, initial, events = self._creation
        problems = []
        if doc.get("status") not in initial:
            problems.append(("/status", f"a new {self.rtype} has status {initial}",
                             f"新{self.rtype}的状态必须是 {initial}", requirement))
        history = doc.get("history") or []
        if len(history) != 1 or history[0].get("action") not in creating:
            problems.append(("/history", f"a new {self.rtype} has exactly one {events} event",
                             f"新{self.rtype}的历史必须恰好是一个 {events} 事件", requirement))
        problems += [(f"/{m}", f"a new {self.rtype} carries no {m}", f"新{self.rtype}不能带有 {m}",
                      requirement) for m in barred if m in doc]
        return problems

    def check_create_stored(self, tx: Any, principal: Principal, doc: dict[str, Any]) -> None:
        """Checks of a new document against what is stored, in the commit's transaction."""
        return None

    def refuse_echo(self, doc: Mapping[str, Any], kept: Mapping[str, Any] | None = None
                    ) -> None:
        """/req/core/echo-suppression: a new document whose externalRefs name this server's
        own system is a copy of one of its records coming back, never a new record (409); an
        update may not add such a reference either (``kept``: the stored record, whose own
        references an update may keep). Systems are compared as URIs after RFC 3986
        normalisation, so that another spelling of this server's system is no way around it.

        The record named is not looked up: whether it exists, and whether the sender may see
        it, changes nothing in the answer, which so tells neither. Every type is held to it
        here, so a type's policy cannot leave it out.
        """
        refs = doc.get("externalRefs")
        if not refs:
            return
        own = normalise_uri(self.service.source)
        held = {(normalise_uri(r["system"]), r.get("value"))
                for r in (kept or {}).get("externalRefs") or ()
                if isinstance(r, Mapping) and isinstance(r.get("system"), str)}
        for i, ref in enumerate(refs):
            system = ref.get("system") if isinstance(ref, Mapping) else None
            if not isinstance(system, str):
                continue
            value = ref.get("value")
            if normalise_uri(system) == own and (own, value) not in held:
                raise Echo(value=value, errors=[coded(
                    f"/externalRefs/{i}", "http.echo", self.service.spec.version,
                    "/req/core/echo-suppression", value=value)])

    def check_writable(self, principal: Principal, stored: Stored) -> None:
        """Checks of any write to ``stored`` (an update, an action, a right) by ``principal``
        that rest on who writes and the record alone, made before the write's version and
        result are judged (raise to refuse)."""
        return None

    def prepare_update(self, principal: Principal, stored: Stored,
                       doc: dict[str, Any]) -> dict[str, Any]:
        """The body of an update with what the server fills in."""
        return doc

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        """Checks of a replacement of ``current`` (raise to refuse)."""
        return None

    def check_action(self, tx: Any, principal: Principal, stored: Stored, action: str,
                     body: Mapping[str, Any], actor: Mapping[str, Any]) -> dict[str, Any]:
        """Checks of a lifecycle action; the items it takes, as the library's inputs."""
        return self.items(body, action)

    def items(self, body: Mapping[str, Any], action: str) -> dict[str, Any]:
        """The request's items (/req/issues/action-effects): only those the action takes,
        each named in its details."""
        items = body.get("items")
        if not items:
            return {}
        member, names = self.takes.get(action, ("", ()))
        details = body.get("details") or {}
        named: set[Any] = set()
        for name in names:
            value = details.get(name)
            named.update(value if isinstance(value, list) else [value])
        problems = []
        for kind, entries in items.items():
            for i, entry in enumerate(entries):
                if kind != member or entry.get("id") not in named:
                    problems.append((f"/items/{kind}/{i}", f"{action} takes no {kind} item "
                                     f"{entry.get('id')}: items must match ids in details",
                                     f"{action} 不接受 {kind} 条目 {entry.get('id')}："
                                     "条目必须与 details 中的标识对应",
                                     "/req/issues/action-effects"))
        if problems:
            raise unprocessable(problems)
        return dict(items)

    def after_apply(self, doc: dict[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The document after the library applied the action and its effects; a hook."""
        return doc

    def also_write(self, tx: Any, principal: Principal, stored: Stored,
                   body: Mapping[str, Any], action: str) -> list[Write]:
        """Other resources the action changes, read in ``tx`` before it is applied."""
        return []

    def right(self, principal: Principal, stored: Stored, name: str, body: Mapping[str, Any],
              at: str) -> tuple[dict[str, Any], str]:
        """The record after the right ``name`` is exercised, and the change's event kind."""
        raise forbidden(principal, f"{name} is not carried out on a {self.rtype}",
                        f"{self.rtype} 不支持 {name}")

    def expire(self, stored: Stored, at: str) -> tuple[dict[str, Any], str]:
        """The person's record once its retention period passed, and the event kind
        (/req/privacy/retention); only the policy of the person type knows how."""
        raise TypeError(f"a {self.rtype} is not erased when its retention period passes")

    def may_exercise(self, principal: Principal, name: str) -> bool:
        """Whether the role of ``principal`` is one the right's ``x-roles`` admits."""
        return principal.role in self.rights.get(name, frozenset())

    # -- shared checks -----------------------------------------------------------------
    def lifecycle_unchanged(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """/req/core/lifecycle-via-actions: a PUT changes neither status nor history."""
        problems = [(f"/{m}", f"{m} changes only through lifecycle actions",
                     f"{m} 只能通过生命周期动作改变", "/req/core/lifecycle-via-actions")
                    for m in ("status", "history") if changed(old, new, m)]
        if problems:
            raise unprocessable(problems)

    def readable(self, tx: Any, principal: Principal, rid: Any) -> Stored | None:
        """The resident record ``rid`` when the server holds it, not erased, and ``principal``
        may read it (its communities and, for a grid worker, its grids); None for any other,
        alike: the reach within which staff name residents, so that an answer resting on it
        tells nothing of records beyond it (/req/core/actor-is-principal,
        /req/consultations/proposers-in-reach)."""
        record: Stored | None = (tx.get(self.access.person_type, rid) if isinstance(rid, str)
                                 else None)
        if (record is None or self.access.is_erased(record.doc)
                or not self.access.can_see(principal, record)):
            return None
        return record

    def acts_for(self, tx: Any, principal: Principal, rid: Any) -> bool:
        """/req/core/actor-is-principal: whether ``principal`` may act for the resident
        ``rid`` (an actor's onBehalfOf): a proxy when she authorised him for this type, any
        other role when she is within its reach (:meth:`readable`)."""
        if principal.role in self.access.own_record_roles:
            return any(self.proxy_for(tx, principal, rid, scope) for scope in self.proxy_scopes)
        return self.readable(tx, principal, rid) is not None

    def proxy_for(self, tx: Any, principal: Principal, resident_id: Any, scope: str) -> bool:
        """/req/residents/proxy-scope: the resident's record names the principal as proxy."""
        if not isinstance(resident_id, str):
            return False
        resident = tx.get(self.access.person_type, resident_id)
        return resident is not None and self.access.proxy_grants(resident.doc, principal, {scope})
