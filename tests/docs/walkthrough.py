"""Run an HTTP walkthrough page as written: every ```http request block is sent to a reference
server, and the ```http response block after it must match what comes back.

The notation, as the page itself explains it to readers:

- ``{{name}}`` in a response binds ``name`` to the value found there the first time and must
  equal it afterwards; in a request it is replaced by that value.
- ``{{new:name}}`` in a request binds ``name`` to a fresh UUID (the client chooses ids).
- ``{{now}}`` and ``{{now+5d}}`` are the current time (+08:00) and five days later.
- ``"…"`` in a response matches any value; a list whose last (first) item is ``"…"`` matches a
  list that starts (ends) with the other items; an object lists only the members that matter.
- Response headers listed must be present with that value (``…`` for any value).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

ANY = "…"
BLOCK = re.compile(r"^```http\n(.*?)^```", re.M | re.S)
VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")
CHINA = timezone(timedelta(hours=8))


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: str | None


@dataclass
class Expected:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Step:
    request: Request
    expected: Expected
    line: int


def _head_and_body(text: str) -> tuple[list[str], str | None]:
    head, _, body = text.partition("\n\n")
    return head.strip().splitlines(), (body.strip() or None)


def _headers(lines: list[str]) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in lines)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def steps(page: str) -> list[Step]:
    """The request/response pairs of a page, in order."""
    blocks = [(page.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(page)]
    if len(blocks) % 2:
        raise ValueError("every request block needs the response block after it")
    found = []
    for (line, ask), (_, answer) in zip(blocks[::2], blocks[1::2], strict=True):
        head, body = _head_and_body(ask)
        method, target = head[0].split()[:2]
        rhead, rbody = _head_and_body(answer)
        status = int(rhead[0].split()[1])
        found.append(Step(Request(method, target, _headers(head[1:]), body),
                          Expected(status, _headers(rhead[1:]),
                                   json.loads(rbody) if rbody else None), line))
    return found


@dataclass
class Walk:
    """The variables bound so far, and the mismatches found."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def fill(self, text: str) -> str:
        # one moment for the whole request: its {{now}}s are the same instant, as a client's
        # submittedAt and first event are
        now = datetime.now(CHINA)

        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("new:"):
                self.values[name[4:]] = str(uuid.uuid4())
                return self.values[name[4:]]
            if name == "now" or name.startswith("now+"):
                days = int(name[4:-1]) if name.startswith("now+") else 0
                moment = now + timedelta(days=days)
                return moment.isoformat(timespec="milliseconds")
            if name not in self.values:
                raise KeyError(f"{{{{{name}}}}} is used before a response binds it")
            return self.values[name]
        return VARIABLE.sub(value, text)

    def match(self, want: Any, got: Any, where: str) -> None:
        if want == ANY:
            return
        if isinstance(want, str) and VARIABLE.fullmatch(want):
            name = want[2:-2]
            if name not in self.values:
                self.values[name] = got if isinstance(got, str) else json.dumps(got)
                return
            want = self.values[name]
        if isinstance(want, dict):
            if not isinstance(got, dict):
                self.problems.append(f"{where}: expected an object, got {got!r}")
                return
            for key, value in want.items():
                if key not in got:
                    self.problems.append(f"{where}/{key}: missing")
                else:
                    self.match(value, got[key], f"{where}/{key}")
            return
        if isinstance(want, list):
            if not isinstance(got, list):
                self.problems.append(f"{where}: expected a list, got {got!r}")
                return
            if want and want[-1] == ANY:
                items, part, exact = want[:-1], got[:len(want) - 1], False
            elif want and want[0] == ANY:
                items, part, exact = want[1:], got[len(got) - len(want) + 1:], False
            else:
                items, part, exact = want, got, True
            if len(got) < len(items) or (exact and len(got) != len(items)):
                self.problems.append(f"{where}: expected {'' if exact else 'at least '}"
                                     f"{len(items)} items, got {len(got)}")
                return
            for i, (w, g) in enumerate(zip(items, part, strict=True)):
                self.match(w, g, f"{where}/{i}")
            return
        if isinstance(want, str) and VARIABLE.search(want):
            want = self.fill(want)
        if want != got:
            self.problems.append(f"{where}: expected {want!r}, got {got!r}")


Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, dict[str, str], Any]]


def walk(page: str, send: Send) -> Walk:
    """Send every request of ``page`` in order and compare every response; stop at the first
    step that does not match (later steps depend on it)."""
    state = Walk()
    for step in steps(page):
        ask = step.request
        target = state.fill(ask.target)
        headers = {k: state.fill(v) for k, v in ask.headers.items()}
        body = state.fill(ask.body).encode("utf-8") if ask.body else None
        status, got_headers, got_body = send(ask.method, target, headers, body)
        at = f"line {step.line}: {ask.method} {target}"
        if status != step.expected.status:
            state.problems.append(f"{at}: status {status}, the page says "
                                  f"{step.expected.status}: {json.dumps(got_body)[:600]}")
            return state
        for name, value in step.expected.headers.items():
            self_value = got_headers.get(name)
            if self_value is None:
                state.problems.append(f"{at}: no {name} header")
            else:
                state.match(value, self_value, f"{at} header {name}")
        if step.expected.body is not None:
            state.match(step.expected.body, got_body, at)
        if state.problems:
            return state
    return state
