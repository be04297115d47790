"""/req/privacy/pseudonym-key-id in the reference server: during a rotation it holds the new
key and the old ones by id, makes every pseudonym with the newest, and checks each pseudonym
with the key it names."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server import Settings, create_app
from smartcommunity import identifiers

from .helpers import KEY, TOKENS, Api
from .test_over_time import _person

NEW = b"the-city-key-of-2026-rotation"


def _app(tmp_path: Path, **options: Any) -> Any:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'keys.sqlite3'}",
                               tokens=TOKENS, demo=False, pseudonym_key=NEW,
                               pseudonym_key_id="k2026", **options))


def _with(doc: dict[str, Any], key: bytes, key_id: str | None) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    card = out["identityDocuments"][0]
    card["pseudonym"] = identifiers.citizen_id_pseudonym(card["number"], key, key_id=key_id)
    return out


def test_each_pseudonym_is_checked_with_the_key_it_names(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, older_pseudonym_keys={"": KEY})) as client:
        staff = Api(client).staff
        rng = random.Random(7)
        for key, key_id in ((NEW, "k2026"), (KEY, None)):
            resp = staff.create(_with(_person(rng), key, key_id))
            assert resp.status_code == 201, resp.text
        # Made with the old key but naming the new one: a mismatch under the key it names.
        resp = staff.create(_with(_person(rng), KEY, "k2026"))
        assert resp.status_code == 422, resp.text
        assert "/identityDocuments/0/pseudonym" in resp.text
        # A key the server does not hold: nothing to check it with, so it is taken as sent.
        resp = staff.create(_with(_person(rng), KEY, "k1999"))
        assert resp.status_code == 201, resp.text


def test_pseudonyms_the_server_makes_name_the_newest_key(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        api = Api(client)
        doc = _person(random.Random(8))
        doc["identityDocuments"][0].pop("pseudonym")
        assert api.staff.create(doc).status_code == 201
        number = doc["identityDocuments"][0]["number"]
        made: list[str] = []
        for role in ("grid-worker", "regulator", "department"):
            shown = api.as_(role).get(f"/residents/{doc['id']}")
            if shown.status_code == 200 and number not in shown.text:
                made += [v for v in _strings(shown.json()) if v.startswith("hmac-sha256:")]
        assert made  # some audience reads the pseudonym in place of the number
        assert set(made) == {identifiers.citizen_id_pseudonym(number, NEW, key_id="k2026")}


def test_a_key_id_the_pseudonym_form_cannot_carry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'bad.sqlite3'}",
                            tokens=TOKENS, pseudonym_key=NEW, pseudonym_key_id="Key_1"))


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []
