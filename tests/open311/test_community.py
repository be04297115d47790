"""Which community an Open311 request belongs to (/req/open311/community): the point-in-polygon
test against plain rectangles, and the order in which the request's hints are read."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.exceptions import Open311Error
from smartcommunity.open311 import catalogue, community_of, inside, named_community
from smartcommunity.profiles import load_profile
from smartcommunity.specification import load_spec

SPEC = load_spec("1.0")
CITY = catalogue(load_profile(SPEC.folder / "profiles" / "beijing-chaoyang.json"))
XINGFULI, HEPINGLI = "110105001001", "110105001002"


def _box(west: float, south: float, east: float, north: float) -> list[list[float]]:
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


@given(lat=st.floats(-1, 3), lon=st.floats(-1, 3))
def test_inside_a_square_with_a_hole(lat: float, lon: float) -> None:
    square = {"type": "Polygon", "coordinates": [_box(0, 0, 2, 2), _box(0.5, 0.5, 1, 1)]}
    in_outer = 0 < lat < 2 and 0 < lon < 2
    in_hole = 0.5 <= lat <= 1 and 0.5 <= lon <= 1
    on_edge = lat in (0, 2, 0.5, 1) or lon in (0, 2, 0.5, 1)
    if not on_edge:
        assert inside(lat, lon, square) == (in_outer and not in_hole)
    multi = {"type": "MultiPolygon", "coordinates": [[_box(5, 5, 6, 6)], [_box(0, 0, 2, 2)]]}
    if not on_edge:
        assert inside(lat, lon, multi) == in_outer


def test_jurisdiction_names_the_city_or_a_community() -> None:
    assert named_community(None, CITY) is None
    assert named_community(CITY.jurisdiction, CITY) is None
    assert named_community(HEPINGLI, CITY) == HEPINGLI
    for bad in ("elsewhere", "11010500100", "0101050010011"):
        with pytest.raises(LookupError):
            named_community(bad, CITY)


def test_the_request_decides_in_order() -> None:
    every = None
    # jurisdiction_id first, even over a grid that says otherwise
    assert community_of({"jurisdiction_id": HEPINGLI, "address_id": f"{XINGFULI}-01"},
                        CITY, every) == HEPINGLI
    assert community_of({"address_id": f"{XINGFULI}-01", "lat": "39.9065",
                         "long": "116.4450"}, CITY, every) == XINGFULI
    # the credential's one community before the point
    assert community_of({"lat": "39.9065", "long": "116.4450"}, CITY, {XINGFULI}) == XINGFULI
    assert community_of({"lat": "39.9065", "long": "116.4450"}, CITY, every) == HEPINGLI
    assert community_of({"lat": "39.9065", "long": "116.4450"}, CITY,
                        {XINGFULI, HEPINGLI}) == HEPINGLI
    for vague, serves in (({}, every), ({"lat": "39.9065", "long": "116.4450"},
                                        {XINGFULI, "110105001003"}),
                          ({"lat": "nan", "long": "x"}, every)):
        with pytest.raises(Open311Error) as caught:
            community_of(vague, CITY, serves)
        problem = caught.value.problems[0]
        assert problem["pointer"] == "/jurisdiction_id"
        assert problem["code"] == "open311.no-community"
        assert problem["message"]["zh-Hans"] != problem["message"]["en"]


def test_overlapping_grids_of_two_communities_are_ambiguous() -> None:
    twice = ((f"{XINGFULI}-09", XINGFULI, {"type": "Polygon", "coordinates": [_box(0, 0, 2, 2)]}),
             (f"{HEPINGLI}-09", HEPINGLI, {"type": "Polygon", "coordinates": [_box(1, 1, 3, 3)]}))
    city = dataclasses.replace(CITY, grids=twice)
    assert community_of({"lat": "0.5", "long": "0.5"}, city, None) == XINGFULI
    with pytest.raises(Open311Error):
        community_of({"lat": "1.5", "long": "1.5"}, city, None)
    assert community_of({"lat": "1.5", "long": "1.5"}, city, {HEPINGLI, "110105001003"}
                        ) == HEPINGLI
