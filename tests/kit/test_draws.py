"""Each kit check draws from a generator of its own, made from the run's seed and the check's
id: it draws the same documents and values run alone, for its conformance class, after any
other checks or within the full run, so a regulator re-running one check or one class sends
what the full run sent, and a check's outcome never hangs on which checks ran before it. A
different seed draws differently.

No server is needed for most of it: a stub declares every class and refuses everything else,
and each check draws until its first refusal. One slow test holds the same against the
reference server, where the checks run to their end."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

import httpx
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from smartcommunity.conformance import (
    KitTest,
    Preset,
    _runner,
    all_tests,
    parse_preset,
    rerun_command,
    run,
)
from smartcommunity.conformance._context import KitContext, check_draws
from smartcommunity.specification import BASE_URI, DEFAULT_VERSION, load_spec

from .harness import Server, demo_preset_data

SPEC = load_spec(DEFAULT_VERSION)
TESTS = all_tests(SPEC)
CLASS = {t.id: _runner.class_of(SPEC, t.requirement) for t in TESTS}
STUB_PRESET = parse_preset(demo_preset_data())
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stub(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/conformance":
        return httpx.Response(200, json={
            "specVersions": [SPEC.version],
            "conformsTo": [f"{BASE_URI}{SPEC.version}{c}" for c in SPEC.conformance_classes]})
    return httpx.Response(404, json={"status": 404})


STUB = httpx.MockTransport(_stub)


class _Recording:
    """Stands in for a check's generator and logs every value it gives."""

    def __init__(self, rng: Any, log: list[Any]) -> None:
        self._rng, self._log = rng, log

    def __getattr__(self, name: str) -> Any:
        drawn = getattr(self._rng, name)
        if not callable(drawn):
            return drawn

        def logged(*args: Any, **kwargs: Any) -> Any:
            value = drawn(*args, **kwargs)
            self._log.append(_UUID.sub("<id>", repr((name, value))))
            return value

        return logged


def _drawn(base_url: str, preset: Preset, *, transport: httpx.BaseTransport | None = None,
           **options: Any) -> dict[str, list[Any]]:
    """Test id → what the test drew in a run: the first value of the generator it was given
    (whether it draws or not), each value that generator gave it and each document it built,
    ids blanked (they differ on every run by design, whatever the seed)."""
    drawn: dict[str, list[Any]] = {}
    current: list[list[Any]] = [[]]

    def recorded(test: KitTest) -> KitTest:
        def fn(ctx: KitContext) -> None:
            current[0] = drawn.setdefault(test.id, [])
            rng = ctx.rng
            current[0].append(("start", copy.deepcopy(rng).random()))
            ctx.rng = _Recording(rng, current[0])  # type: ignore[assignment]
            try:
                test.fn(ctx)
            finally:
                ctx.rng = rng

        return dataclasses.replace(test, fn=fn)

    document = KitContext.document

    def logged(self: KitContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = document(self, *args, **kwargs)
        current[0].append(("document", _UUID.sub("<id>", json.dumps(doc, sort_keys=True))))
        return doc

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_runner, "all_tests", lambda spec: [recorded(t) for t in all_tests(spec)])
        patch.setattr(KitContext, "document", logged)
        run(base_url, preset, transport=transport, **options)
    return drawn


def _stub_drawn(**options: Any) -> dict[str, list[Any]]:
    return _drawn("http://kit.test", STUB_PRESET, transport=STUB, **options)


# Each example runs the kit four times; shrinking a seed would teach nothing.
@settings(max_examples=5, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 2**64), data=st.data())
def test_a_check_draws_the_same_alone_for_its_class_after_others_and_in_the_full_run(
        seed: int, data: st.DataObject) -> None:
    full = _stub_drawn(seed=seed)
    drawing = [t.id for t in TESTS if len(full.get(t.id, ())) > 1]
    assert len(drawing) > 20, "the stub lets too few checks draw to prove anything"
    target = data.draw(st.sampled_from(drawing), label="check")
    test = next(t for t in TESTS if t.id == target)
    before = sorted({t.requirement for t in TESTS[:TESTS.index(test)]})
    others = data.draw(st.lists(st.sampled_from(before), max_size=15) if before
                       else st.just([]), label="run before it")
    alone = _stub_drawn(seed=seed, requirements=[test.requirement])
    in_class = _stub_drawn(seed=seed, classes=[CLASS[target]])
    after = _stub_drawn(seed=seed, requirements=[*others, test.requirement])
    assert alone[target] == full[target]
    assert in_class[target] == full[target]
    assert after[target] == full[target]


def test_another_seed_draws_otherwise() -> None:
    """Under another seed every check is given another generator, and the checks draw other
    documents and values (not each of them: one choosing among two templates may take the
    same again); within a run no two checks share a generator."""
    first, second = _stub_drawn(seed=1), _stub_drawn(seed=2)
    assert first.keys() == second.keys() == {t.id for t in TESTS}
    starts = {t: log[0] for t, log in first.items()}
    assert all(second[t][0] != start for t, start in starts.items())
    assert len(set(starts.values())) == len(starts)
    drawing = [t for t, log in first.items() if len(log) > 1]
    changed = [t for t in drawing if first[t] != second[t]]
    assert len(changed) > len(drawing) // 4, (len(changed), len(drawing))
    assert _stub_drawn(seed=1) == first


def test_check_ids_are_unique() -> None:
    """A check's id makes its generator: two checks of one id would draw alike."""
    assert len({t.id for t in TESTS}) == len(TESTS)


def test_the_default_seed_is_zero() -> None:
    assert _stub_drawn() == _stub_drawn(seed=0)


def test_a_failure_re_run_keeps_the_run_seed() -> None:
    """The command a failure offers re-runs its requirement under the run's seed, so its
    checks send the documents the full run sent."""
    command = ["smartcommunity", "conformance", "run", "--base-url", "http://x", "--classes",
               "/conf/issues", "--seed", "42", "--report-dir", "reports"]
    again = shlex.split(rerun_command(command, "/req/core/etag"))
    assert again[again.index("--seed") + 1] == "42"
    assert again[again.index("--requirements") + 1] == "/req/core/etag"


@given(seed=st.integers(-(2**70), 2**70), check=st.text(max_size=40),
       other=st.text(max_size=40))
def test_a_check_generator_is_its_seed_and_id_alone(seed: int, check: str, other: str) -> None:
    assert check_draws(seed, check).getstate() == check_draws(seed, check).getstate()
    if other != check:
        assert check_draws(seed, check).random() != check_draws(seed, other).random()
    assert check_draws(seed, check).random() != check_draws(seed + 1, check).random()


def test_a_check_generator_does_not_hang_on_the_process_hash_salt() -> None:
    """Python salts ``hash()`` of a string per process: a generator made from it would draw
    differently in a regulator's re-run."""
    probe = ("from smartcommunity.conformance._context import check_draws; "
             "print(check_draws(7, '/req/core/etag#etag').random())")
    drawn = {subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONHASHSEED": salt}).stdout
             for salt in ("1", "2")}
    assert drawn == {f"{check_draws(7, '/req/core/etag#etag').random()}\n"}


@pytest.mark.slow
def test_against_the_reference_server_a_check_draws_the_same_after_others(
        served: Server, preset: Preset) -> None:
    """Run to their end, privacy checks draw the same alone as after core and redaction
    checks, which create data of their own and draw much before them."""
    later = ["/req/privacy/erasure-reaches-records", "/req/privacy/own-issues-self",
             "/req/privacy/update-keeps-unreceived"]
    earlier = ["/req/core/no-server-error", "/req/core/create-read-back",
               "/req/privacy/redaction-by-audience"]
    assert set(later + earlier) <= set(SPEC.requirements)
    alone = _drawn(served.base_url, preset, requirements=later, seed=5)
    after = _drawn(served.base_url, preset, requirements=earlier + later, seed=5)
    mine = [t.id for t in TESTS if t.requirement in later]
    assert any(alone.get(t) for t in mine), "the chosen checks draw nothing"
    for test_id in mine:
        assert alone.get(test_id) == after.get(test_id), test_id
