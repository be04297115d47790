"""The echo check's other spelling of a server's own system: always another string, always
the same URI once normalised (RFC 3986), whatever system URI the server has."""

from __future__ import annotations

from hypothesis import given

from smartcommunity.conformance.checks._core import _spelled_otherwise
from smartcommunity.strategies import schema_values
from smartcommunity.uris import same_uri


@given(schema_values({"$ref": "datatypes.json#/$defs/uri"}))
def test_another_spelling_of_the_same_system(uri: str) -> None:
    spelled = _spelled_otherwise(uri)
    assert spelled != uri and same_uri(spelled, uri)
