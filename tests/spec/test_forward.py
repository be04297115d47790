"""Receiver vectors: what a receiver does with a document of a later minor version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smartcommunity import Validator

from .helpers import RECEIVER_DIR, VECTORS_DIR, spec

CASES = [
    pytest.param(group, test, id=test["description"].split(" / ")[-1])
    for path in sorted((VECTORS_DIR / spec().version / RECEIVER_DIR).glob("*.json"))
    for group in json.loads(path.read_text(encoding="utf-8"))
    for test in group["tests"]
]


def test_there_are_receiver_vectors_and_they_cite_a_requirement() -> None:
    assert CASES
    for param in CASES:
        group = param.values[0]
        assert isinstance(group, dict) and group["requirement"] in spec().requirements


@pytest.mark.parametrize(("group", "test"), CASES)
def test_receiver_vector(group: dict[str, Any], test: dict[str, Any]) -> None:
    report = Validator(group["receiver"]).validate(test["data"])
    assert report.valid is test["valid"]
    assert sorted({f.code for f in report.warnings}) == sorted(test["warnings"])
    assert sorted({f.code for f in report.errors}) == sorted(test["errors"])
    for f in report.findings:
        assert f.message["zh-Hans"] and f.message["en"]
        assert "{" not in f.message["en"], f.message


def test_a_later_minor_keeps_the_reading_of_everything_the_receiver_knows() -> None:
    # Read forward, a document differs from its 1.x reading only by the warnings it draws.
    for _, doc in spec().examples():
        later = {**doc, "specVersion": "1.999"}
        now, forward = Validator().validate(doc), Validator().validate(later)
        assert [f.code for f in forward.findings] == ["document.newer-version"]
        assert now.findings == []
