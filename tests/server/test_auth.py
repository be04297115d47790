"""Authentication a city deploys: hashed, expiring, reloaded tokens files; JWTs of the city's
identity provider checked against its JWKS; no demo tokens beside either; private files; and
the inputs that used to reach the storage unchecked (wildcard If-Match, cursors, path ids)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server import Settings, create_app
from reference_server.auth import WeakToken, read_tokens_file, token_bits
from reference_server.demo import demo_tokens
from reference_server.files import read_key_file, shared_file_warnings
from reference_server.http import decode_cursor, encode_cursor

from .helpers import LI, SPEC, Api, as_creator, submitted_issue

STAFF = demo_tokens()["demo-staff-liu-fang"]
STRONG = "kR7f-Qz2Lw9xVb4N_pT8sYc1HjM6dGe3"
ISSUER = "https://idp.city.example"
AUDIENCE = "https://api.community.example"


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def _write(path: Path, tokens: dict[str, Any]) -> None:
    path.write_text(json.dumps({"tokens": tokens}, ensure_ascii=False), encoding="utf-8")
    # A rewrite within the same clock tick must still be seen as a change.
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))


def _client(tmp_path: Path, **options: Any) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'auth.sqlite3'}", demo=False,
                        reload_every=0.0, **options)
    return TestClient(create_app(settings))


def _get(client: TestClient, token: str) -> int:
    resp = client.get("/issues", headers={"Authorization": f"Bearer {token}"})
    return int(resp.status_code)


# -- tokens files ------------------------------------------------------------------------------

def test_a_tokens_file_holds_digests_with_expiry_and_is_read_again(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    other = "Zq9-Xw3_Lr8Mn2Bv7Ct5Ky1Hs4Jd6Fg0"
    _write(tokens, {_digest(STRONG): {**STAFF, "expires": "2999-01-01T00:00:00+08:00"},
                    _digest(other): {**STAFF, "expires": "2000-01-01T00:00:00+08:00"}})
    client = _client(tmp_path, tokens_file=tokens)
    assert _get(client, STRONG) == 200
    assert _get(client, other) == 401  # expired
    assert _get(client, "demo-staff-liu-fang") == 401  # a configured server has no demo tokens
    _write(tokens, {_digest(other): STAFF})  # revoke STRONG, renew the other: no restart
    assert _get(client, STRONG) == 401
    assert _get(client, other) == 200


def test_a_broken_rewrite_keeps_the_last_good_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    _write(tokens, {STRONG: STAFF})
    client = _client(tmp_path, tokens_file=tokens)
    tokens.write_text("{not json", encoding="utf-8")
    st_ = tokens.stat()
    os.utime(tokens, ns=(st_.st_atime_ns, st_.st_mtime_ns + 2_000_000_000))
    assert _get(client, STRONG) == 200


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababababab",
                                  "0123456789abcdef"])
def test_weak_clear_tokens_are_refused_at_start(tmp_path: Path, weak: str) -> None:
    tokens = tmp_path / "tokens.json"
    _write(tokens, {weak: STAFF})
    with pytest.raises(WeakToken) as caught:
        read_tokens_file(tokens)
    message = str(caught.value)
    assert "太弱" in message and "too weak" in message and weak not in message


def test_short_clear_tokens_break_the_schema(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    _write(tokens, {"aaaaaaaa": STAFF})
    with pytest.raises(ValueError, match=r"tokens-file\.json"):
        read_tokens_file(tokens)


def test_the_tokens_file_schema_requires_a_departments_organisation(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    department = {k: v for k, v in demo_tokens()["demo-dept-housing"].items()
                  if k != "organisation"}
    _write(tokens, {STRONG: department})
    with pytest.raises(ValueError, match="organisation"):
        read_tokens_file(tokens)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
               max_size=64))
def test_token_bits_never_credit_repetition(token: str) -> None:
    assert token_bits(token) <= len(token) * 7
    assert token_bits(token * 3) <= 3 * token_bits(token) + 1e-9
    assert token_bits(token[0] * len(token)) == 0


# -- JWTs of the city's identity provider -------------------------------------------------------

def _jwks(path: Path, *keys: tuple[str, ec.EllipticCurvePrivateKey]) -> None:
    entries = []
    for kid, key in keys:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        entries.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
    path.write_text(json.dumps({"keys": entries}), encoding="utf-8")
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))


def _token(key: ec.EllipticCurvePrivateKey, kid: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "cs-0102", "iat": now, "exp": now + 600,
              "name": STAFF["name"], "role": STAFF["role"], "communities": STAFF["communities"],
              "organisation": STAFF["organisation"], **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def test_jwts_signed_by_the_city_are_accepted_and_nothing_else(tmp_path: Path) -> None:
    key, stranger = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "jwks.json"
    _jwks(jwks, ("k1", key))
    client = _client(tmp_path, jwks=str(jwks), jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    assert _get(client, _token(key, "k1")) == 200
    past = int(time.time()) - 3600
    assert _get(client, _token(key, "k1", exp=past, iat=past - 600)) == 401  # expired
    assert _get(client, _token(stranger, "k1")) == 401  # wrongly signed
    assert _get(client, _token(key, "k1", iss="https://evil.example")) == 401
    assert _get(client, _token(key, "k1", aud="https://other.example")) == 401
    assert _get(client, _token(key, "k1", role="emperor")) == 401  # claims break the schema
    assert _get(client, _token(key, "k1", exp=None)) == 401  # no expiry
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**33,
                           "name": "x", "role": "regulator", "communities": "*"}, None,
                          algorithm="none")
    assert _get(client, unsigned) == 401
    assert _get(client, "demo-regulator") == 401  # JWT configured: no demo tokens
    # Revocation by rotation: the city replaces k1 with k2; k1's tokens stop working at once.
    new = ec.generate_private_key(ec.SECP256R1())
    _jwks(jwks, ("k2", new))
    assert _get(client, _token(key, "k1")) == 401
    assert _get(client, _token(new, "k2")) == 200


def test_a_city_profile_maps_its_identity_providers_claims_to_roles(tmp_path: Path) -> None:
    """With a city profile, a token that carries the city's own claim (Chaoyang's ``dept``
    or ``post``) gets the standard role and organisation the profile maps it to, in place of
    any role it states; a token that matches no mapping still needs a standard role."""
    from reference_server.auth import JwtVerifier
    from smartcommunity.profiles import load_profile
    from smartcommunity.specification import spec_root

    chaoyang = spec_root() / "1.0" / "profiles" / "beijing-chaoyang.json"
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "jwks.json"
    _jwks(jwks, ("k1", key))
    city = JwtVerifier(str(jwks), ISSUER, AUDIENCE, check_every=0.0,
                       map_claims=load_profile(chaoyang).map_claims)
    national = JwtVerifier(str(jwks), ISSUER, AUDIENCE, check_every=0.0)

    def city_token(**claims: Any) -> str:
        return _token(key, "k1", role=None, organisation=None, **claims)

    housing = city.principal(city_token(dept="CY-ZJW"))
    assert housing is not None
    assert (housing.role, housing.organisation_id) == ("department", "housing")
    assert housing.organisation is not None and housing.organisation["name"]
    grid = city.principal(city_token(post=["volunteer", "grid"]))
    assert grid is not None and (grid.role, grid.organisation_id) == ("grid-worker",
                                                                      "rc-xingfuli")
    regulator = city.principal(city_token(post="standards-office"))
    assert regulator is not None and regulator.role == "regulator"
    # The city's claim decides, whatever role the token states beside it.
    stated = city.principal(_token(key, "k1", dept="CY-CGW"))
    assert stated is not None and stated.organisation_id == "urban-management"
    # A value the profile does not map, or no profile at all: no standard role, refused.
    assert city.principal(city_token(dept="CY-UNKNOWN")) is None
    assert national.principal(city_token(dept="CY-ZJW")) is None
    # The server running the profile reads its tokens so.
    client = _client(tmp_path, jwks=str(jwks), jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                     profile=chaoyang)
    assert _get(client, city_token(dept="CY-ZJW")) == 200
    assert _get(client, city_token(dept="CY-UNKNOWN")) == 401


def test_the_actor_of_a_jwt_is_its_subject(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "jwks.json"
    _jwks(jwks, ("k1", key))
    client = _client(tmp_path, jwks=str(jwks), jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    doc = submitted_issue()
    # The body names only the role; the server fills in who from the token
    # (/req/core/actor-is-principal).
    doc["submittedBy"] = {"role": STAFF["role"]}
    doc["history"][0]["actor"] = {"role": STAFF["role"]}
    resp = client.post("/issues", json=doc,
                       headers={"Authorization": f"Bearer {_token(key, 'k1', sub='idp-77')}"})
    assert resp.status_code == 201, resp.text
    actor = resp.json()["history"][0]["actor"]
    assert actor.get("userId") == "idp-77" and actor.get("name") == STAFF["name"]


# -- files ----------------------------------------------------------------------------------------

def test_the_database_the_server_creates_is_private(tmp_path: Path) -> None:
    _client(tmp_path)
    mode = stat.S_IMODE((tmp_path / "auth.sqlite3").stat().st_mode)
    assert mode & 0o077 == 0


def test_files_open_to_others_draw_a_warning(tmp_path: Path) -> None:
    shared, private = tmp_path / "shared.key", tmp_path / "private.key"
    shared.write_bytes(b"k" * 32)
    private.write_bytes(b"k" * 32)
    shared.chmod(0o644)
    private.chmod(0o600)
    warnings = shared_file_warnings(shared, private, None, tmp_path / "missing")
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and str(shared) in warnings[0]


def test_binary_key_files_are_read_byte_for_byte(tmp_path: Path) -> None:
    binary = bytes(range(256))
    path = tmp_path / "key.bin"
    path.write_bytes(binary)
    assert read_key_file(path) == binary
    text = tmp_path / "key.txt"
    text.write_text("a-city-key-of-enough-length\n")
    assert read_key_file(text) == b"a-city-key-of-enough-length"


def test_workers_get_key_paths_not_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reference_server.app import SETTINGS_ENV, app_from_env

    key = tmp_path / "key.bin"
    key.write_bytes(bytes(range(200, 256)) * 2)
    monkeypatch.setenv(SETTINGS_ENV, json.dumps({
        "database_url": f"sqlite:///{tmp_path / 'w.sqlite3'}", "demo": False,
        "pseudonym_key_file": str(key)}))
    app = app_from_env()
    assert app.state.sc.settings.pseudonym_key == key.read_bytes()


# -- inputs that must never reach the storage ------------------------------------------------------

PAGED = [path for path, item in SPEC.openapi["paths"].items()
         for method, op in item.items() if method == "get" and isinstance(op, dict)
         and any((p.get("name") == "cursor") or p.get("$ref", "").endswith("/cursor")
                 for p in op.get("parameters", []))]


def test_every_collection_and_the_two_feeds_are_paged() -> None:
    collections = {f"/{c}" for c in SPEC.collections.values()}
    assert set(PAGED) == collections | {"/changes", "/audit-events"}, PAGED


@pytest.mark.parametrize("text", ["r²", "r١٢", "f³", "r 1", "r-1", "r", "r" + "9" * 40, "x1"])
def test_cursors_take_ascii_digits_only(api: Api, text: str) -> None:
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    for path in PAGED:
        resp = api.as_("regulator").get(path, params={"cursor": cursor})
        assert resp.status_code == 400, (path, resp.status_code, resp.text)
        assert resp.json()["code"] == "http.invalid-cursor"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=12))
def test_decode_cursor_gives_a_number_or_a_400(text: str) -> None:
    from reference_server.errors import InvalidCursor

    cursor = base64.urlsafe_b64encode(("r" + text).encode()).decode().rstrip("=")
    try:
        seq = decode_cursor("r", cursor)
    except InvalidCursor:
        assert not (text.isascii() and text.isdigit() and len(text) <= 19)
    else:
        assert encode_cursor("r", seq) == encode_cursor("r", int(text))


@pytest.mark.parametrize("rid", ["\x00", "a\x00b", "\x1f", "a\x7f", "\x85x"])
def test_control_characters_in_path_ids_get_400(api: Api, rid: str) -> None:
    for collection in SPEC.collections.values():
        for method in ("GET", "PUT"):
            encoded = quote(rid, safe="")  # as a client sends it: percent-encoded
            resp = api.client.request(method, f"/{collection}/{encoded}", json={},
                                      headers={"Authorization": "Bearer demo-staff-liu-fang",
                                               "If-Match": '"1"'})
            assert resp.status_code in (400, 404), (collection, method, resp.text)


def test_wildcard_if_match_is_refused(api: Api) -> None:
    doc = submitted_issue()
    created = api.staff.create(doc)
    assert created.status_code == 201, created.text
    path = f"/issues/{doc['id']}"
    body = created.json()
    for tag in ("*", ' * ', '"1", *'):
        resp = api.staff.put(path, body, if_match=tag)
        assert resp.status_code == 428 and resp.json()["code"] == "http.if-match-wildcard"
        action = next(iter(SPEC.lifecycle("Issue")["transitions"]))["action"]
        resp = api.staff.post(f"{path}/actions/{action}", {}, if_match=tag)
        assert resp.status_code == 428, resp.text
    assert api.staff.get(path).json()["meta"]["versionId"] == body["meta"]["versionId"]


class _JwksServer:
    """A JWKS served over HTTP on 127.0.0.1, as an identity provider serves its keys; the
    keys it serves can be changed while it runs."""

    def __init__(self) -> None:
        import http.server
        import threading

        outer = self
        self.body = b'{"keys": []}'

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, tmp_path: Path, *keys: tuple[str, ec.EllipticCurvePrivateKey]) -> None:
        _jwks(tmp_path / "served.json", *keys)
        self.body = (tmp_path / "served.json").read_bytes()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_jwks_url_is_fetched_again_for_new_keys(tmp_path: Path) -> None:
    """Rotation at the provider: a token naming a key id not yet seen makes the server fetch
    the JWKS again, and the old key stops verifying; an unreachable URL gives 503."""
    served = _JwksServer()
    try:
        k1, k2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        served.serve(tmp_path, ("k1", k1))
        client = _client(tmp_path, jwks=served.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
        assert _get(client, _token(k1, "k1")) == 200
        served.serve(tmp_path, ("k2", k2))  # the provider rotates
        assert _get(client, _token(k2, "k2")) == 200  # unknown kid: fetched again
        assert _get(client, _token(k1, "k1")) == 401  # k1 left the fetched set
        assert _get(client, _token(k2, "k2", iss="https://evil.example")) == 401
    finally:
        served.stop()
    # The provider is gone: a token naming a key not in the cache cannot be checked.
    k3 = ec.generate_private_key(ec.SECP256R1())
    resp = client.get("/issues", headers={"Authorization": f"Bearer {_token(k3, 'k3')}"})
    assert resp.status_code == 503, resp.text
    problem = resp.json()
    assert problem["code"] == "http.keys-unavailable" and resp.headers["retry-after"]
    assert problem["message"]["zh-Hans"] and problem["message"]["en"]


def test_an_unreachable_jwks_url_is_a_503_never_a_500(tmp_path: Path) -> None:
    from .helpers import free_port

    url = f"http://127.0.0.1:{free_port()}/jwks.json"  # nothing listens there
    client = _client(tmp_path, jwks=url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    key = ec.generate_private_key(ec.SECP256R1())
    for token in (_token(key, "k1"), _token(key, "k1", exp=1)):
        resp = client.get("/issues", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 503 and resp.json()["code"] == "http.keys-unavailable"
    assert _get(client, "not-a-jwt-at-all") == 401  # no key needed to refuse this


def _guide_steps(page: str) -> list[str]:
    """The bash blocks of the guide's three-step JWT section."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "guides" / page).read_text(
        encoding="utf-8")
    section = text[re.search(r"^## .*JWT", text, re.M).start():]  # type: ignore[union-attr]
    section = section[:section.index("\n## ")]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


@pytest.mark.slow
def test_the_documented_three_step_jwks_setup(tmp_path: Path) -> None:
    """docs/guides/authentication: the three blocks of the guide run as written, with a JWKS
    served on 127.0.0.1 for the provider's URL and a free port for 8311."""
    import subprocess
    import sys

    from .helpers import free_port, wait_healthy

    steps = _guide_steps("authentication.en.md")
    assert len(steps) == 3 and steps == _guide_steps("authentication.md")
    served = _JwksServer()
    key = ec.generate_private_key(ec.SECP256R1())
    served.serve(tmp_path, ("city-1", key))
    port = free_port()
    # the guide's placeholders, and nothing else, are replaced
    steps = [step.replace("https://idp.city.example/.well-known/jwks.json", served.url)
             .replace("8311", str(port)) for step in steps]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "JWT": _token(key, "city-1")}
    out = tmp_path / "out.txt"
    try:
        # 1. the provider's JWKS URL answers with its keys
        first = subprocess.run(["bash", "-euc", steps[0]], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60, check=False)
        assert first.returncode == 0 and json.loads(first.stdout)["keys"], first.stderr
        # 2. the server started with it (the environment of step 1, a port and a database)
        env["JWKS_URL"] = served.url
        proc = subprocess.Popen(
            ["bash", "-euc", f"exec {steps[1].strip()} --port {port} "
                             f"--database-url sqlite:///{tmp_path / 'city.sqlite3'}"],
            cwd=tmp_path, env=env, stdout=out.open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc)
            # 3. a call with a token the provider signed
            third = subprocess.run(["bash", "-euc", steps[2]], cwd=tmp_path, env=env,
                                   capture_output=True, text=True, timeout=60, check=False)
            assert third.returncode == 0, third.stderr
            assert "items" in json.loads(third.stdout)
            env["JWT"] = _token(ec.generate_private_key(ec.SECP256R1()), "city-1")
            refused = subprocess.run(["bash", "-euc", steps[2]], cwd=tmp_path, env=env,
                                     capture_output=True, text=True, timeout=60, check=False)
            assert refused.returncode != 0 and "401" in refused.stderr
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        served.stop()
    banner = out.read_text(encoding="utf-8")
    assert "demo-" not in banner and served.url in banner


# -- the reproductions, on every backend ---------------------------------------------------------

def test_a_forged_actor_on_create_is_refused(api: Api) -> None:
    """Naming someone else as the creator gets 403 http.actor-mismatch and stores nothing."""
    doc = as_creator(submitted_issue(), {**api.staff.actor(), "name": "冒名者",
                                         "userId": "someone-else"})
    resp = api.staff.create(doc, as_is=True)
    assert resp.status_code == 403 and resp.json()["code"] == "http.actor-mismatch", resp.text
    assert api.staff.get(f"/issues/{doc['id']}").status_code == 404


def test_demo_tokens_fail_on_a_configured_server(backend: str, request: pytest.FixtureRequest,
                                                 tmp_path: Path) -> None:
    """A server with a tokens file, on either database, refuses every published demo token."""
    url = (f"sqlite:///{tmp_path / 'configured.sqlite3'}" if backend == "sqlite"
           else request.getfixturevalue("pg_url"))
    tokens = tmp_path / "tokens.json"
    _write(tokens, {_digest(STRONG): STAFF})
    tokens.chmod(0o600)
    client = TestClient(create_app(Settings(database_url=url, tokens_file=tokens, demo=False)))
    assert _get(client, STRONG) == 200
    assert all(_get(client, token) == 401 for token in demo_tokens())


@pytest.mark.parametrize("where", ["submittedBy", "history"])
def test_an_issue_submitted_for_a_resident_one_does_not_serve_is_refused(
        api: Api, where: str) -> None:
    """/req/core/actor-is-principal: whichever actor names her, staff of one community may not
    submit for 李建国 of the next (submittedBy decides whose own issue it is)."""
    doc = submitted_issue()
    behalf = {"resourceType": "Resident", "id": LI}
    target = doc["submittedBy"] if where == "submittedBy" else doc["history"][0]["actor"]
    target["onBehalfOf"] = behalf
    resp = api.staff.create(doc)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "http.actor-mismatch"
    pointer = "/submittedBy/onBehalfOf" if where == "submittedBy" else \
        "/history/0/actor/onBehalfOf"
    assert [e["pointer"] for e in resp.json()["errors"]] == [pointer]
    assert api.staff.get(f"/issues/{doc['id']}").status_code == 404
