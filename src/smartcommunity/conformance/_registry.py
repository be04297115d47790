"""Kit tests: each one checks one requirement of the registry and is registered here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..specification import Spec
    from ._context import KitContext


class Failed(Exception):
    """The server does not meet the requirement; the message says how, in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.message = {"zh-Hans": zh, "en": en}


class Skipped(Exception):
    """A precondition is not met (for example the preset has no department token)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.message = {"zh-Hans": zh, "en": en}


TestFn = Callable[["KitContext"], None]


@dataclass(frozen=True)
class KitTest:
    id: str
    requirement: str
    #: what the test shows; None: the requirement's own title in the registry
    title: dict[str, str] | None
    fn: TestFn
    needs: tuple[str, ...] = ()
    #: runs after every other test, vectors included (it reads what they exchanged)
    last: bool = False

    def heading(self, spec: Spec) -> dict[str, str]:
        """The title the report gives the test: its own, else its requirement's."""
        if self.title is not None:
            return self.title
        return dict(spec.requirements[self.requirement].title)


TESTS: list[KitTest] = []


def check(requirement: str, *, needs: tuple[str, ...] = (),
          last: bool = False) -> Callable[[TestFn], TestFn]:
    """Register a kit test of ``requirement``; ``needs`` names preset roles it requires;
    ``last`` runs it after every other test, for a check of what the run exchanged.

    The report titles the test with the requirement's ``title`` in the registry, so what a
    check is about is said once, in spec/.
    """

    def register(fn: TestFn) -> TestFn:
        test_id = f"{requirement}#{fn.__name__.removeprefix('test_').replace('_', '-')}"
        TESTS.append(KitTest(test_id, requirement, None, fn, needs, last))
        return fn

    return register


def binding(spec: Spec, requirement: str) -> bool:
    """Whether ``requirement`` is of the strictest level (the first of ``requirement-level``):
    a server that misses it fails; one that misses a weaker requirement draws a warning."""
    return spec.requirements[requirement].level == next(iter(spec.codelist("requirement-level")))
