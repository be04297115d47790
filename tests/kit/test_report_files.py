"""What write_reports puts beside the report: request bodies too long for a command line,
which the failing test's curl command reads back byte for byte."""

from __future__ import annotations

import html
import json
import os
import shlex
import subprocess
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smartcommunity.conformance import rerun_command, write_reports
from smartcommunity.conformance._client import INLINE_BODY, Exchange, token_variables


def _report(exchange: Exchange, status: str) -> dict[str, object]:
    return {"baseUrl": "http://127.0.0.1:1", "specVersion": "1.0", "verdict": "fail",
            "classes": [], "results": [{
                "id": "/req/core/request-limits#limits", "title": {}, "class": "/conf/core",
                "requirement": "/req/core/request-limits", "level": "MUST", "status": status,
                "message": {"zh-Hans": "x", "en": "x"},
                "exchanges": [exchange.to_dict(status != "pass")]}]}


@settings(max_examples=25, deadline=None)
@given(text=st.text(min_size=INLINE_BODY + 1, max_size=3 * INLINE_BODY))
def test_a_long_body_of_a_failure_is_kept_beside_the_report(tmp_path_factory: object,
                                                            text: str) -> None:
    folder = Path(tmp_path_factory.mktemp("r"))  # type: ignore[attr-defined]
    body = json.dumps({"title": text}, ensure_ascii=False).encode("utf-8")
    exchange = Exchange("POST", "http://127.0.0.1:1/issues", {"Accept": "application/json"}, body)
    write_reports(_report(exchange, "fail"), folder)
    written = json.loads((folder / "report.json").read_text("utf-8"))
    (kept,) = written["results"][0]["exchanges"]
    assert "requestBody" not in kept
    args = shlex.split(kept["curl"])
    sent = args[args.index("--data-binary") + 1]
    assert sent == "@" + kept["requestBodyFile"]
    assert (folder / kept["requestBodyFile"]).read_bytes() == body


def test_a_passed_test_keeps_no_long_body(tmp_path: Path) -> None:
    body = b"[" + b"0," * INLINE_BODY + b"0]"
    exchange = Exchange("POST", "http://127.0.0.1:1/issues", {}, body)
    write_reports(_report(exchange, "pass"), tmp_path)
    assert not (tmp_path / "request-bodies").exists()
    (kept,) = json.loads((tmp_path / "report.json").read_text("utf-8"))["results"][0]["exchanges"]
    assert f"<{len(body)} bytes, not kept>" in kept["curl"] and "response" not in kept


@given(requirement=st.sampled_from(["/req/core/etag", "/req/issues/if-match"]),
       scope=st.lists(st.sampled_from(["--classes", "--requirements", "--report-dir"]),
                      unique=True))
def test_a_rerun_names_one_requirement_and_its_own_folder(requirement: str,
                                                          scope: list[str]) -> None:
    command = ["smartcommunity", "conformance", "run", "--base-url", "http://h:1",
               "--preset", "/p/preset file.json"]
    for option in scope:
        command += [option, "/x"]
    args = shlex.split(rerun_command(command, requirement))
    assert args[:7] == command[:7]
    assert args.count("--requirements") == 1 and "--classes" not in args
    assert args[args.index("--requirements") + 1] == requirement
    assert args.count("--report-dir") == 1 and "/x" not in args


_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
#: what a token may be: anything printable a header may carry, quotes and ``$`` included
_TOKENS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=8,
                  max_size=40).map(lambda t: "sk-" + t)


@settings(max_examples=60, deadline=None)
@given(tokens=st.dictionaries(_NAMES, _TOKENS, min_size=1, max_size=4),
       noise=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30),
       status=st.sampled_from(["pass", "fail"]))
def test_a_report_names_tokens_by_variable_and_its_curl_sends_them(
        tmp_path_factory: object, tokens: dict[str, str], noise: str, status: str) -> None:
    """A report is kept and mailed: no principal's token is written in it, in a curl command,
    a URL, a body or a response. Its curl command names each by a shell variable and, with
    the variables set, still sends what the kit sent."""
    secrets = token_variables(tokens)
    assume(len(secrets) == len(tokens))  # two principals with one token: one variable
    assume(not any(a != b and a in b for a in secrets for b in secrets))
    (token, variable), *_ = secrets.items()
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    body = f"api_key={token}&description={noise}".encode()
    exchange = Exchange("POST", f"http://127.0.0.1:1/open311/v2/requests.json?k={token}",
                        headers, body, status=200, response_text=f"echo {token} {noise}",
                        secrets=secrets)
    folder = Path(tmp_path_factory.mktemp("r"))  # type: ignore[attr-defined]
    write_reports(_report(exchange, status), folder)
    for name in ("report.json", "report.html", "junit.xml"):
        text = (folder / name).read_text("utf-8")
        for t in tokens.values():
            written = {t, json.dumps(t)[1:-1], html.escape(t), html.escape(t, quote=False)}
            assert t in noise or not any(w in text for w in written), name
    (kept,) = json.loads((folder / "report.json").read_text("utf-8"))["results"][0]["exchanges"]
    assert "${" + variable + "}" in kept["curl"]
    # What the shell makes of the command once the variables are set: the request as sent.
    env = {**os.environ, **{v: t for t, v in secrets.items()}}
    words = subprocess.run(["bash", "-c", 'printf "%s\\0" ' + kept["curl"]], env=env,
                           capture_output=True, check=True).stdout.decode().split("\0")[:-1]
    assert words[0] == "curl"
    assert f"Authorization: Bearer {token}" in words
    assert words[words.index("--data-binary") + 1] == body.decode()
    assert words[-1] == exchange.url
