"""The kit certifies a server against a city profile (/conf/profiles): the reference server
running the large example city passes every check, with the profile read from the server or
given as a file, and both the server's deadlines and the kit's expectations follow the profile's
deadline table when it is swapped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reference_server import create_app
from smartcommunity.conformance import Preset, parse_preset, run
from smartcommunity.profiles import load_profile

from .harness import CITY_PROFILE, Server, server_settings, serving
from .mutants import MUTANTS

pytestmark = pytest.mark.slow


def _profile_requirements() -> list[str]:
    from smartcommunity.specification import load_spec

    spec = load_spec("1.0")
    return sorted(r for r, req in spec.requirements.items()
                  if req.conformance_class == "/conf/profiles")


def _verdicts(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["status"], r["message"]["en"]) for r in report["results"]}


@pytest.mark.parametrize("given", [None, CITY_PROFILE], ids=["published", "file"])
def test_the_reference_server_passes_every_profile_check(served: Server, preset: Preset,
                                                        given: Path | None) -> None:
    report = run(served.base_url, preset, requirements=_profile_requirements(), profile=given)
    results = _verdicts(report)
    assert len(results) == len(_profile_requirements())
    assert all(status == "pass" for status, _ in results.values()), results


def test_a_server_running_another_profile_is_not_certified_against_this_one(
        served: Server, preset: Preset) -> None:
    other = CITY_PROFILE.parent / "jiangshan.json"
    report = run(served.base_url, preset, requirements=["/req/profiles/format"], profile=other)
    assert report["verdict"] == "fail"
    assert "jiangshan" in report["results"][0]["message"]["en"]


def _swapped(tmp_path: Path) -> Path:
    """The large city's profile with another deadline table: every category uses the
    defaults, and the resolution of a normal issue takes 2 working days."""
    data = json.loads(CITY_PROFILE.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(CITY_PROFILE.parent / data["organisations"]["file"])
    for service in data["services"]:
        service.pop("deadlines", None)
    for urgency in data["deadlines"].values():
        urgency["resolution"] = {"amount": 2, "unit": "working-days"}
        urgency["response"] = {"amount": 3, "unit": "hours"}
    path = tmp_path / "swapped.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_swapping_the_deadline_table_moves_server_and_kit_together(
        tmp_path: Path, issuer: Path, preset: Preset) -> None:
    swapped = _swapped(tmp_path)
    assert load_profile(swapped).time_limit("housing.lift", "urgent", "resolution") != \
        load_profile(CITY_PROFILE).time_limit("housing.lift", "urgent", "resolution")
    settings = server_settings(tmp_path / "swapped.sqlite3", issuer, profile=swapped)
    with serving(create_app(settings)) as server:
        follows = run(server.base_url, preset, requirements=["/req/profiles/deadlines"],
                      profile=swapped)
        assert follows["verdict"] == "pass", _verdicts(follows)
        # Held to the original table, the same server's deadlines are wrong.
        original = run(server.base_url, preset, requirements=["/req/profiles/deadlines"],
                       profile=CITY_PROFILE)
        assert original["verdict"] == "fail", _verdicts(original)


def test_the_kit_certifies_a_server_running_the_small_city(tmp_path: Path, issuer: Path,
                                                          preset: Preset) -> None:
    """The same checks against the reference server running the small city's profile: what
    the profile gives the kit to try passes; what it does not (a grid of the preset's community,
    the preset's department in its registry) is skipped, never failed."""
    small = CITY_PROFILE.parent / "jiangshan.json"
    settings = server_settings(tmp_path / "small.sqlite3", issuer, profile=small)
    with serving(create_app(settings)) as server:
        report = run(server.base_url, preset, requirements=_profile_requirements(),
                     profile=small)
    results = _verdicts(report)
    assert not {k: v for k, v in results.items() if v[0] in ("fail", "error")}, results
    passed = {k.split("#")[0] for k, (status, _) in results.items() if status == "pass"}
    assert {"/req/profiles/format", "/req/profiles/deadlines",
            "/req/profiles/external-ref-lookup", "/req/profiles/bbox-filter",
            "/req/profiles/document-organisations"} <= passed, results
    # Every step of the deadlines check ran, the change of urgency included; and the preset's
    # staff, whose residents' committee the small city does not list, submit and work issues.
    assert results["/req/profiles/deadlines#profile-deadlines"] == ("pass", "met"), results
    assert results["/req/profiles/document-organisations#profile-document-organisations"] \
        == ("pass", "met"), results


@pytest.mark.parametrize("name", ["profile-deadlines-frozen",
                                  "profile-reclassified-deadlines-kept"])
def test_the_kit_catches_a_change_of_urgency_ignored_in_the_small_city(
        tmp_path: Path, issuer: Path, preset: Preset, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """In the small city, whose registry does not list the preset's staff, the change of
    urgency is made and checked too."""
    mutant = next(m for m in MUTANTS if m.name == name)
    small = CITY_PROFILE.parent / "jiangshan.json"
    settings = server_settings(tmp_path / "small.sqlite3", issuer, profile=small)
    with serving(create_app(settings)) as server:
        server.serve(mutant.install(server.app, monkeypatch))
        report = run(server.base_url, preset, requirements=["/req/profiles/deadlines"],
                     profile=small)
    (status, message), = _verdicts(report).values()
    assert status == "fail" and "urgency" in message, message


def test_the_kit_catches_a_registry_holding_whoever_acted_without_a_test_issuer(
        tmp_path: Path, issuer: Path, preset_data: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a test issuer to sign for someone the registry does not list, the preset's own
    staff, whom the small city does not list, show a server refusing the writes of their
    issues."""
    mutant = next(m for m in MUTANTS if m.name == "profile-registry-holds-who-acted")
    small = CITY_PROFILE.parent / "jiangshan.json"
    without = parse_preset({k: v for k, v in preset_data.items() if k != "jwt"})
    settings = server_settings(tmp_path / "small.sqlite3", issuer, profile=small)
    with serving(create_app(settings)) as server:
        server.serve(mutant.install(server.app, monkeypatch))
        report = run(server.base_url, without,
                     requirements=["/req/profiles/document-organisations"], profile=small)
    (status, message), = _verdicts(report).values()
    assert status == "fail" and "rc-xingfuli" in message and "accept" in message, message
