"""A broken link, as data: where, what was expected and what was found, in both languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..specification import DEFAULT_VERSION, load_spec


@dataclass(frozen=True, slots=True)
class Break:
    """One broken link of a chain.

    ``pointer`` is a JSON Pointer into the document, or into the event at ``index`` of a feed;
    ``seq`` is the history event's ``seq`` or the change event's ``sequence``.
    """

    code: str
    pointer: str
    seq: int | str | None = None
    expected: str | None = None
    found: str | None = None
    index: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    version: str = DEFAULT_VERSION

    @property
    def message(self) -> dict[str, str]:
        """The message of ``code`` (``error-code.csv``) in ``zh-Hans`` and ``en``."""
        from ..validation import message  # validation's rules use this package

        values = {"expected": self.expected or "-", "found": self.found or "-",
                  "seq": self.seq, "sequence": self.seq, **self.values}
        return message(load_spec(self.version), self.code, **values)

    def as_dict(self) -> dict[str, Any]:
        """The break as JSON-ready data."""
        out: dict[str, Any] = {"code": self.code, "pointer": self.pointer}
        for name in ("index", "seq", "expected", "found"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["message"] = self.message
        return out
