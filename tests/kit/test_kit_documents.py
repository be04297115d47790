"""The documents the kit writes from the spec's templates, whatever the run's seed draws: a
proposed consultation names nobody its creator acts for (a resident proposing on her own
behalf is refused, /req/core/actor-is-principal), and the records the redaction check reads
show every class of personal information to every reader, a grid worker included
(/req/privacy/redaction-by-audience). No server is needed."""

from __future__ import annotations

import functools
import random

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity.conformance._client import Client
from smartcommunity.conformance._context import KitContext
from smartcommunity.conformance._preset import Preset, Principal
from smartcommunity.conformance.checks._people import in_worker_grid
from smartcommunity.conformance.checks._shared import proposed
from smartcommunity.specification import load_spec
from smartcommunity.validation import compile_plan, values_at

SPEC = load_spec("1.0")
COMMUNITY = "110105001001"
GRID = f"{COMMUNITY}-03"


@functools.cache
def _context() -> KitContext:
    """A kit context whose server answers nothing (one for the module: making one reads the
    spec's templates); a test sets the seed of its draws."""
    client = Client("http://kit.test",
                    transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    principals = {
        "staff": Principal(name="staff", token="s", role="community-staff",
                           communities=(COMMUNITY,)),
        "worker": Principal(name="worker", token="w", role="grid-worker",
                            communities=(COMMUNITY,), grids=(GRID,)),
    }
    preset = Preset(community=COMMUNITY, other_community=None, principals=principals)
    return KitContext(client, preset, SPEC, seed=0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**16), draws=st.integers(1, 6))
def test_a_proposed_consultation_acts_for_nobody(seed: int, draws: int) -> None:
    ctx = _context()
    ctx.rng = random.Random(seed)
    for _ in range(draws):
        creator = proposed(ctx)["history"][0]["actor"]
        assert "onBehalfOf" not in creator, creator


def test_the_telling_resident_shows_every_class_to_the_grid_worker() -> None:
    ctx = _context()
    doc = in_worker_grid(ctx, ctx.document("Resident", telling=True))
    plan = compile_plan(SPEC, "Resident")
    held = {cls for path, cls, _ in plan.pipl if cls != "none" for _ in values_at(doc, path)}
    assert held == {"personal", "sensitive"}
    assert doc["memberships"]
    assert all(m["grid"] == GRID and m["community"] == COMMUNITY for m in doc["memberships"])
