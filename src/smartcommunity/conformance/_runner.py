"""Running the kit: read /conformance, pick the classes, run their tests, judge."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ..profiles import Profile, load_profile
from ..specification import BASE_URI, DEFAULT_VERSION, Spec, available_versions, load_spec
from ._client import Client, Response, token_variables
from ._context import KitContext
from ._preset import Preset
from ._registry import TESTS, Failed, KitTest, Skipped, binding

#: results whose exchanges are kept in full (response excerpt, long bodies) as evidence
EVIDENCE = frozenset({"fail", "error", "warn"})
#: the last exchanges of a test the report keeps: as evidence, and of a test that passed (the
#: requests that decided it; fewer, so that a full run's report stays small enough to mail)
KEPT_EVIDENCE, KEPT_PASSED = 6, 3

#: called after every test with (index, total, result): the CLI prints one line per test
Progress = Callable[[int, int, dict[str, Any]], None]
#: the requirement whose test carries a fault of the server's declaration
DECLARATION = "/req/core/conformance-endpoint"


def mandatory(spec: Spec) -> frozenset[str]:
    """The conformance classes every server implements, whatever it declares."""
    return frozenset(c.id for c in spec.conformance_classes.values() if c.mandatory)


def class_of(spec: Spec, requirement: str) -> str:
    return spec.requirements[requirement].conformance_class


def coverage(spec: Spec, tests: Iterable[KitTest] | None = None) -> dict[str, list[str]]:
    """Requirement id → ids of the kit tests that check it (empty list: not covered)."""
    table: dict[str, list[str]] = {rid: [] for rid in spec.requirements}
    for test in tests if tests is not None else all_tests(spec):
        table.setdefault(test.requirement, []).append(test.id)
    return table


def all_tests(spec: Spec) -> list[KitTest]:
    from . import checks  # noqa: F401  (registers the checks)
    from ._vectors import vector_tests

    return [*(t for t in TESTS if not t.last), *vector_tests(spec),
            *(t for t in TESTS if t.last)]


def run(
    base_url: str,
    preset: Preset,
    *,
    classes: Iterable[str] | None = None,
    requirements: Iterable[str] | None = None,
    seed: int = 0,
    version: str | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    pseudonym_key: bytes | None = None,
    command: Sequence[str] = (),
    profile: str | Path | Profile | None = None,
) -> dict[str, Any]:
    """Run the kit against ``base_url`` and return the report (conformance-report.json).

    ``classes`` limits the run to those conformance classes (core always runs);
    ``requirements`` limits it further to the tests of those requirement ids (core included
    only when named), for re-running one failure quickly. Unknown ids raise ValueError.
    ``pseudonym_key`` is the city's shared key, given when the server is known to hold it:
    the kit then checks pseudonyms, recomputes the spec examples' pseudonyms with it and
    redacts as a key holder does; a key shorter than /req/privacy/pseudonym allows raises
    ValueError. ``version`` is the version of the standard to test against; by default the
    latest installed version the server declares at /conformance (DEFAULT_VERSION when it
    declares none the kit knows). ``command`` is the command line that started the run,
    without secrets: the report shows it and builds its re-run commands from it.
    ``profile`` is the city profile (a file or a loaded
    :class:`~smartcommunity.profiles.Profile`) the server must run: the /conf/profiles checks
    hold it to that profile rather than to the one it publishes; a profile with errors raises
    :class:`~smartcommunity.exceptions.ProfileError`.
    """
    city = profile if isinstance(profile, Profile) or profile is None else load_profile(profile)
    started = datetime.now(UTC).astimezone(preset.zone())
    t0 = time.perf_counter()
    client = Client(base_url, transport=transport, secrets=token_variables(
        {name: p.token for name, p in preset.principals.items()}))
    try:
        answer, unreachable = _declaration(client)
        spec = load_spec(version or _version(answer))
        if pseudonym_key is not None:
            shortest = int(spec.parameter("/req/privacy/pseudonym", "minimumKeyBytes"))
            if len(pseudonym_key) < shortest:
                raise ValueError(f"the pseudonym key must be at least {shortest} bytes")
        wanted_requirements = _requirement_filter(spec, requirements)
        core = mandatory(spec)
        declared: set[str] = set()
        unknown: list[str] = []
        problem: dict[str, str] | None = unreachable
        if unreachable is None:
            declared, unknown, problem = _declared(answer, spec)
        wanted = set(classes) if classes else None
        tests = all_tests(spec)
        results: list[dict[str, Any]] = []
        ctx = KitContext(client, preset, spec, seed, declared=declared,
                         pseudonym_key=pseudonym_key, profile=city)
        runnable = []
        for test in tests:
            cls = class_of(spec, test.requirement)
            if wanted_requirements is not None:
                if test.requirement not in wanted_requirements:
                    continue
            elif wanted is not None and cls not in wanted and cls not in core:
                continue
            runnable.append((test, cls))
        for index, (test, cls) in enumerate(runnable, 1):
            missing = _missing_principals(preset, test)
            if unreachable is not None:
                # Every test is an error, not a skip: nothing about the server is known.
                result = _result(spec, test, cls, "error", problem or {}, 0.0, [])
            elif cls not in core and cls not in declared:
                result = _result(
                    spec,
                    test,
                    cls,
                    "skip",
                    {
                        "zh-Hans": "服务器没有声明该一致性类",
                        "en": "the server does not declare this class",
                    },
                    0.0,
                    [],
                )
            elif missing:
                result = _result(spec, test, cls, "skip", missing, 0.0, [])
            else:
                result = _run_one(ctx, spec, test, cls)
            if (problem is not None and unreachable is None
                    and test.requirement == DECLARATION):
                result["status"], result["message"] = "fail", problem
            results.append(result)
            if progress:
                progress(index, len(runnable), result)
        report = _report(spec, base_url, started, t0, seed, declared, unknown, results, tests)
        return {**report, "command": list(command)} if command else report
    finally:
        client.close()


def _requirement_filter(spec: Spec, requirements: Iterable[str] | None) -> set[str] | None:
    if requirements is None:
        return None
    chosen = set(requirements)
    unknown = sorted(chosen - set(spec.requirements))
    if unknown:
        raise ValueError(f"unknown requirement ids: {', '.join(unknown)}")
    return chosen


def _missing_principals(preset: Preset, test: KitTest) -> dict[str, str] | None:
    """A skip message when the preset lacks the principals ``test.needs`` names."""
    lacking = []
    for role in dict.fromkeys(test.needs):
        # Principals naming an organisation count by organisation (two departments are two
        # organisations, not two tokens of one).
        have = {p.organisation or p.name for p in preset.principals.values()
                if p.role == role and p.serves(preset.community)}
        if len(have) < test.needs.count(role):
            lacking.append(f"{test.needs.count(role)} × {role}" if test.needs.count(role) > 1
                           else role)
    if not lacking:
        return None
    names = ", ".join(lacking)
    return {
        "zh-Hans": f"预设中缺少服务社区 {preset.community} 的主体：{names}；"
                   "请在预设中补充后重新运行",
        "en": f"the preset lacks principals serving community {preset.community}: {names}; "
              "add them to the preset and run again",
    }


def _declaration(client: Client) -> tuple[Response | None, dict[str, str] | None]:
    """The answer to GET /conformance, or a message saying the server cannot be reached."""
    try:
        return client.request("GET", "/conformance"), None
    except httpx.HTTPError as exc:
        return None, {"zh-Hans": f"无法连接服务器：{_fault(exc)}",
                      "en": f"cannot reach the server: {_fault(exc)}"}


def _version(resp: Response | None) -> str:
    """The latest installed version of the standard the server declares, else the default."""
    body = resp.json() if resp is not None else None
    declared = body.get("specVersions") if isinstance(body, dict) else None
    known = [v for v in available_versions() if isinstance(declared, list) and v in declared]
    return known[-1] if known else DEFAULT_VERSION


def _declared(resp: Response | None, spec: Spec
              ) -> tuple[set[str], list[str], dict[str, str] | None]:
    """Class ids declared at /conformance, unknown URIs, and a problem with the declaration."""
    prefix = f"{BASE_URI}{spec.version}"
    body = resp.json() if resp is not None else None
    uris = body.get("conformsTo") if isinstance(body, dict) else None
    if resp is None or resp.status != 200 or not isinstance(uris, list):
        return (
            set(),
            [],
            {
                "zh-Hans": "GET /conformance 没有返回一致性声明",
                "en": "GET /conformance did not return a conformance declaration",
            },
        )
    known = set(spec.conformance_classes)
    declared = {u.removeprefix(prefix) for u in uris if isinstance(u, str)}
    unknown = sorted(u for u in uris if isinstance(u, str) and u.removeprefix(prefix) not in known)
    problem = None
    if unknown:
        problem = {
            "zh-Hans": f"声明了本标准没有的一致性类：{', '.join(unknown)}",
            "en": f"declares conformance classes the standard does not define: "
            f"{', '.join(unknown)}",
        }
    elif not mandatory(spec) <= declared:
        missing = ", ".join(sorted(mandatory(spec) - declared))
        problem = {"zh-Hans": f"没有声明必备的一致性类：{missing}",
                   "en": f"the mandatory classes are not declared: {missing}"}
    return declared & known, unknown, problem


def _run_one(ctx: KitContext, spec: Spec, test: KitTest, cls: str) -> dict[str, Any]:
    mark = len(ctx.client.log)
    ctx.begin(test.id)
    start = time.perf_counter()
    try:
        test.fn(ctx)
    except Failed as exc:
        status, message = ("fail" if binding(spec, test.requirement) else "warn"), exc.message
    except Skipped as exc:
        status, message = "skip", exc.message
    except httpx.HTTPError as exc:
        status = "error"
        message = {"zh-Hans": f"网络故障：{_fault(exc)}", "en": f"network fault: {_fault(exc)}"}
    except Exception as exc:  # a fault of the kit itself, reported, never a crash of the run
        status = "error"
        message = {"zh-Hans": f"测试套件故障：{_fault(exc)}", "en": f"kit fault: {_fault(exc)}"}
    else:
        status, message = "pass", {"zh-Hans": "通过", "en": "met"}
        if ctx.remarks:  # what the pass does not cover
            message = {"zh-Hans": "通过；" + "；".join(zh for zh, _ in ctx.remarks),
                       "en": "met; " + "; ".join(en for _, en in ctx.remarks)}
    elapsed = (time.perf_counter() - start) * 1000
    result = _result(spec, test, cls, status, message, elapsed,
                     ctx.evidence or ctx.client.log[mark:])
    if ctx.matrix:
        result["matrix"] = ctx.matrix
    return result


def _fault(exc: BaseException) -> str:
    """``ConnectError: [Errno 111] Connection refused``: the kind of fault and its words."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _result(
    spec: Spec,
    test: KitTest,
    cls: str,
    status: str,
    message: dict[str, str],
    elapsed: float,
    exchanges: list[Any],
) -> dict[str, Any]:
    return {
        "id": test.id,
        "title": test.heading(spec),
        "class": cls,
        "requirement": test.requirement,
        "level": spec.requirements[test.requirement].level,
        "status": status,
        "message": message,
        "durationMs": round(elapsed, 1),
        "exchanges": [e.to_dict(status in EVIDENCE) for e in
                      exchanges[-(KEPT_EVIDENCE if status in EVIDENCE else KEPT_PASSED):]],
    }


def _report(
    spec: Spec,
    base_url: str,
    started: datetime,
    t0: float,
    seed: int,
    declared: set[str],
    unknown: list[str],
    results: list[dict[str, Any]],
    tests: list[KitTest],
) -> dict[str, Any]:
    classes = []
    for cid, cls in spec.conformance_classes.items():
        mine = [r for r in results if r["class"] == cid]
        counts = {
            s: sum(1 for r in mine if r["status"] == s)
            for s in ("pass", "fail", "warn", "skip", "error")
        }
        is_declared = cid in declared or cls.mandatory
        unverified = [r for r in mine if r["status"] == "skip" and r["level"] == "MUST"]
        if not is_declared:
            verdict = "not-declared"
        elif counts["fail"] or counts["error"]:
            verdict = "fail"
        else:
            verdict = "qualified" if unverified else "pass"
        classes.append(
            {
                "id": cid,
                "title": dict(cls.title),
                "declared": is_declared,
                "verdict": verdict,
                "counts": counts,
            }
        )
    verdicts = {c["verdict"] for c in classes}
    verdict = ("fail" if "fail" in verdicts or unknown
               else "qualified" if "qualified" in verdicts else "pass")
    in_force = {c["id"] for c in classes if c["declared"]}
    return {
        "baseUrl": base_url,
        "specVersion": spec.version,
        "startedAt": started.isoformat(timespec="seconds"),
        "timeZone": started.isoformat(timespec="seconds")[-6:],  # "+08:00"
        "durationMs": round((time.perf_counter() - t0) * 1000, 1),
        "seed": seed,
        "verdict": verdict,
        # what a qualified verdict leaves unverified, and why (/conf/core text, "Verdict")
        "unverified": [{"requirement": r["requirement"], "test": r["id"], "reason": r["message"]}
                       for r in results
                       if r["status"] == "skip" and r["level"] == "MUST"
                       and r["class"] in in_force],
        "declared": sorted(f"{BASE_URI}{spec.version}{c}" for c in declared),
        "classes": classes,
        "unknownClasses": unknown,
        "coverage": coverage(spec, tests),
        "results": results,
    }
