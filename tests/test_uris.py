"""URIs compared after RFC 3986 normalisation: every spelling of a URI that the RFC makes
equivalent is the same URI, and URIs the RFC leaves apart stay apart."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.strategies import schema_values, uri_spellings
from smartcommunity.uris import normalise_uri, same_uri

#: any URI the schemas accept as one (datatypes.json's uri)
URIS = schema_values({"$ref": "datatypes.json#/$defs/uri"})
SEGMENT = st.text(string.ascii_lowercase + string.digits + "-_~!$&'()*+,;=:@", min_size=1,
                  max_size=6)
HOST = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){1,2}", fullmatch=True)


@st.composite
def normal_uris(draw: st.DrawFn) -> str:
    """A URI in normal form: an http(s) URL or a urn:uuid (a server's own system by default)."""
    if draw(st.booleans()):
        return f"urn:uuid:{draw(st.uuids())}"
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.sampled_from(["", ":8080", ":8443"]))
    path = "/" + "/".join(draw(st.lists(SEGMENT, max_size=3)))
    if draw(st.booleans()) and path != "/":
        path += "/"  # a trailing "/" is part of the URI, kept
    query = draw(st.one_of(st.just(""), SEGMENT.map(lambda q: "?" + q)))
    return f"{scheme}://{draw(HOST)}{port}{path}{query}"


@given(st.data(), URIS)
def test_every_equivalent_spelling_is_the_same_uri(data: st.DataObject, uri: str) -> None:
    spelled = data.draw(uri_spellings(uri))
    assert same_uri(spelled, uri) and same_uri(uri, spelled)


@given(st.data(), normal_uris())
def test_a_uri_in_normal_form_is_what_its_spellings_normalise_to(data: st.DataObject,
                                                                  uri: str) -> None:
    assert normalise_uri(uri) == uri
    assert normalise_uri(data.draw(uri_spellings(uri))) == uri


@given(st.one_of(URIS, st.text(max_size=40)))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_uri(text)
    assert normalise_uri(once) == once


@given(HOST, st.text(string.ascii_lowercase, min_size=1, max_size=6))
def test_a_trailing_slash_or_the_case_of_a_path_makes_another_uri(host: str,
                                                                   segment: str) -> None:
    """What the RFC leaves to the scheme or the resource makes another URI."""
    uri = f"https://{host}/{segment}"
    assert not same_uri(uri, uri + "/")
    assert not same_uri(uri, f"https://{host}/{segment.upper()}")
    assert not same_uri(uri, f"https://{host}:8443/{segment}")
    assert same_uri(uri, f"HTTPS://{host.upper()}:443/{segment}")


def test_reserved_characters_keep_their_encoding() -> None:
    """An encoded "/" is data, not a path separator: decoding it would name another URI."""
    assert not same_uri("https://example.org/a%2Fb", "https://example.org/a/b")
    assert normalise_uri("https://example.org/a%2fb") == "https://example.org/a%2Fb"


def test_dot_segments_go_as_rfc_3986_removes_them() -> None:
    """The examples of remove_dot_segments in RFC 3986 section 5.2.4."""
    assert normalise_uri("http://a/b/c/./../../g") == "http://a/g"
    assert normalise_uri("x:mid/content=5/../6") == "x:mid/6"


@given(st.sampled_from(["/.", "/..", "/a/..", "/./."]), HOST, SEGMENT)
def test_a_path_without_an_authority_never_becomes_one(dots: str, host: str,
                                                       segment: str) -> None:
    """Removing the dot segments of "/.//host/x" (no authority) must not make "//host" read
    as one: another system, and normalising twice must give the same."""
    uri = f"https:{dots}//{host}/{segment}"
    once = normalise_uri(uri)
    assert not same_uri(uri, f"https://{host}/{segment}")
    assert normalise_uri(once) == once
    assert normalise_uri("a:/..//b") == normalise_uri(normalise_uri("a:/..//b"))
