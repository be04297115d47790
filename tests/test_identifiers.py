"""Tests for the public identifier contract in smartcommunity.identifiers."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smartcommunity.identifiers import (
    IdentifierError,
    citizen_id_check_char,
    citizen_id_pseudonym,
    division_level,
    is_valid_citizen_id,
    is_valid_division_code,
    is_valid_uscc,
    mask_citizen_id,
    mask_name,
    mask_phone,
    normalize_citizen_id,
    parent_division,
    pseudonym,
    uscc_check_char,
)

# Fixed reference date so generated IDs do not depend on when the suite runs.
TODAY = date(2024, 6, 15)

# The documented contract, restated independently so an accidental change is caught.
PROVINCES = sorted(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65", "71", "81", "82"}
)
CITIZEN_REGIONS = [*PROVINCES, "83"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DIGITS = "0123456789"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

GB11643_EXAMPLE = "11010519491231002X"
USCC_EXAMPLE = "91350100M000100Y43"


def make_citizen_id(region: str, born: date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + citizen_id_check_char(first17)


def make_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


citizen_ids = st.builds(
    make_citizen_id,
    region=st.builds(
        lambda p, rest: p + rest,
        st.sampled_from(CITIZEN_REGIONS),
        st.text(DIGITS, min_size=4, max_size=4),
    ),
    born=st.dates(min_value=date(1850, 1, 1), max_value=TODAY),
    seq=st.integers(0, 999),
)

usccs = st.builds(
    lambda a, b, c: make_uscc(a + b + c),
    st.text(USCC_ALPHABET, min_size=2, max_size=2),
    st.text(DIGITS, min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


# --------------------------------------------------------------------------- citizen IDs


def test_gb11643_published_example_is_valid() -> None:
    assert citizen_id_check_char(GB11643_EXAMPLE[:17]) == "X"
    assert is_valid_citizen_id(GB11643_EXAMPLE)


@given(citizen_ids)
def test_generated_citizen_ids_are_valid(cid: str) -> None:
    assert is_valid_citizen_id(cid, today=TODAY)


@given(citizen_ids, st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_any_single_substitution_is_detected(cid: str, pos: int, new: str) -> None:
    allowed = DIGITS + "X" if pos == 17 else DIGITS
    assume(new in allowed and new != cid[pos])
    mutated = cid[:pos] + new + cid[pos + 1 :]
    assert not is_valid_citizen_id(mutated, today=TODAY)


@given(citizen_ids, st.integers(0, 16))
def test_adjacent_transposition_of_distinct_digits_is_detected(cid: str, pos: int) -> None:
    a, b = cid[pos], cid[pos + 1]
    assume(a != b and a in DIGITS and b in DIGITS)
    swapped = cid[:pos] + b + a + cid[pos + 2 :]
    assert not is_valid_citizen_id(swapped, today=TODAY)


@pytest.mark.parametrize(
    ("born", "valid"),
    [
        ("20000229", True),  # divisible by 400
        ("20240229", True),
        ("19000229", False),  # century, not divisible by 400
        ("20230229", False),
        ("20230230", False),
        ("20231301", False),
        ("20230100", False),
    ],
)
def test_birth_date_must_be_a_real_calendar_date(born: str, valid: bool) -> None:
    first17 = f"110105{born}123"
    cid = first17 + citizen_id_check_char(first17)
    assert is_valid_citizen_id(cid, today=TODAY) is valid


def test_birth_date_range_boundaries() -> None:
    assert is_valid_citizen_id(make_citizen_id("110105", TODAY, 1), today=TODAY)
    tomorrow = TODAY + timedelta(days=1)
    assert not is_valid_citizen_id(make_citizen_id("110105", tomorrow, 1), today=TODAY)
    assert is_valid_citizen_id(make_citizen_id("110105", tomorrow, 1), today=tomorrow)
    assert is_valid_citizen_id(make_citizen_id("110105", date(1850, 1, 1), 1), today=TODAY)
    assert not is_valid_citizen_id(make_citizen_id("110105", date(1849, 12, 31), 1), today=TODAY)


def test_today_defaults_to_the_current_date() -> None:
    far_future = make_citizen_id("110105", date.today() + timedelta(days=400), 1)
    assert not is_valid_citizen_id(far_future)


@pytest.mark.parametrize("region", ["00", "10", "16", "20", "30", "47", "60", "70", "80", "91"])
def test_unknown_province_rejected(region: str) -> None:
    assert not is_valid_citizen_id(make_citizen_id(region + "0105", date(1990, 1, 1), 1))


def test_abolished_county_codes_stay_valid() -> None:
    # 110103 (Chongwen district) was merged away in 2010; its holders keep their numbers.
    assert is_valid_citizen_id(make_citizen_id("110103", date(1960, 5, 5), 17))


def test_residence_permit_prefix_83_accepted() -> None:
    assert is_valid_citizen_id(make_citizen_id("830000", date(1960, 5, 5), 17))


def test_lowercase_x_rejected_but_normalised() -> None:
    lower = GB11643_EXAMPLE.lower()
    assert not is_valid_citizen_id(lower)
    assert normalize_citizen_id(f"  {lower}\t\n") == GB11643_EXAMPLE
    assert is_valid_citizen_id(normalize_citizen_id(f" {lower} "))


@pytest.mark.parametrize("fake_digit", ["１", "٣", "۳", "߃", "²"])
def test_unicode_digits_rejected(fake_digit: str) -> None:
    assert fake_digit.isdigit() or fake_digit.isnumeric()
    cid = make_citizen_id("110105", date(1949, 12, 31), 2)
    assert not is_valid_citizen_id(cid[:16] + fake_digit + cid[17:])
    assert not is_valid_citizen_id(fake_digit + cid[1:])
    with pytest.raises(IdentifierError):
        citizen_id_check_char(cid[:16] + fake_digit)
    with pytest.raises(IdentifierError):
        mask_citizen_id(cid[:8] + fake_digit + cid[9:])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        GB11643_EXAMPLE[:17],
        GB11643_EXAMPLE + "0",
        " " + GB11643_EXAMPLE,
        GB11643_EXAMPLE + "\n",
    ],
)
def test_wrong_length_or_padding_rejected(bad: str) -> None:
    assert not is_valid_citizen_id(bad)


def test_x_only_allowed_in_check_position() -> None:
    assert not is_valid_citizen_id("1101051949123100X2")


@pytest.mark.parametrize("bad", ["", "1234567890123456", "123456789012345678", "1234567890123456x"])
def test_citizen_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(IdentifierError):
        citizen_id_check_char(bad)


def test_identifier_error_is_a_value_error() -> None:
    assert issubclass(IdentifierError, ValueError)
    with pytest.raises(ValueError):
        citizen_id_check_char("abc")


# --------------------------------------------------------------------------- USCC


def test_uscc_published_example_is_valid() -> None:
    assert uscc_check_char(USCC_EXAMPLE[:17]) == "3"
    assert is_valid_uscc(USCC_EXAMPLE)


@given(usccs)
def test_generated_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code)


@given(usccs, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_uscc_single_substitution_is_detected(code: str, pos: int, new: str) -> None:
    assume(new != code[pos])
    assert not is_valid_uscc(code[:pos] + new + code[pos + 1 :])


@pytest.mark.parametrize("forbidden", ["I", "O", "Z", "S", "V", "a", "m", "-", "１"])
def test_uscc_rejects_characters_outside_alphabet(forbidden: str) -> None:
    assert not is_valid_uscc(forbidden + USCC_EXAMPLE[1:])
    with pytest.raises(IdentifierError):
        uscc_check_char(forbidden + USCC_EXAMPLE[1:17])


def test_uscc_lowercase_rejected() -> None:
    assert not is_valid_uscc(USCC_EXAMPLE.lower())


def test_uscc_division_part_must_be_digits() -> None:
    # Checksum is recomputed so only the structural rule can reject it.
    assert not is_valid_uscc(make_uscc("913501A0M000100Y4"))


def test_uscc_wrong_length_rejected() -> None:
    assert not is_valid_uscc(USCC_EXAMPLE[:17])
    assert not is_valid_uscc(USCC_EXAMPLE + "0")
    with pytest.raises(IdentifierError):
        uscc_check_char(USCC_EXAMPLE[:16])


# --------------------------------------------------------------------------- divisions


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("110000000000", "province", None),
        ("110100000000", "city", "110000000000"),
        ("110105000000", "county", "110100000000"),
        ("110105001000", "township", "110105000000"),
        ("110105001001", "community", "110105001000"),
        # Dongguan has no counties: townships sit directly under the city.
        ("441900003000", "township", "441900000000"),
        ("441900003001", "community", "441900003000"),
    ],
)
def test_division_levels_and_parents(code: str, level: str, parent: str | None) -> None:
    assert is_valid_division_code(code)
    assert division_level(code) == level
    assert parent_division(code) == parent


@pytest.mark.parametrize(
    "code",
    [
        "110100000001",  # committee under an all-zero township
        "110000000001",
        "110005000000",  # county under city 00
        "110000001000",
        "110105000100",
        "991234567890",  # province 99
        "000000000000",
        "910000000000",
        "11010500100",
        "1101050010010",
        "11010500100１",
        " 110105001001",
    ],
)
def test_invalid_division_codes(code: str) -> None:
    assert not is_valid_division_code(code)
    with pytest.raises(IdentifierError):
        division_level(code)
    with pytest.raises(IdentifierError):
        parent_division(code)


def _segment(width: int) -> st.SearchStrategy[str]:
    # Bias towards all-zero segments so every level and the city-without-county case occur.
    return st.one_of(st.just("0" * width), st.text(DIGITS, min_size=width, max_size=width))


division_codes = st.builds(
    lambda p, c, d, t, v: p + c + d + t + v,
    st.sampled_from(PROVINCES),
    _segment(2),
    _segment(2),
    _segment(3),
    _segment(3),
).filter(is_valid_division_code)

LEVEL_ORDER = ["province", "city", "county", "township", "community"]


@given(division_codes)
def test_parent_chain_climbs_to_province(code: str) -> None:
    current: str | None = code
    seen: list[str] = []
    while current is not None:
        assert is_valid_division_code(current)
        seen.append(division_level(current))
        parent = parent_division(current)
        if parent is not None:
            # One level up, except that cities without counties parent townships directly.
            skips_county = seen[-1] == "township" and current[4:6] == "00"
            expected = "city" if skips_county else LEVEL_ORDER[LEVEL_ORDER.index(seen[-1]) - 1]
            assert division_level(parent) == expected
            # A parent is the child's code truncated and zero-filled.
            prefix = parent.rstrip("0")
            assert current.startswith(prefix)
        current = parent
    assert seen[-1] == "province"
    assert seen[0] == division_level(code)


# --------------------------------------------------------------------------- masks


def test_mask_citizen_id_example() -> None:
    assert mask_citizen_id(GB11643_EXAMPLE) == "110105********002X"


@given(st.text(DIGITS, min_size=17, max_size=17), st.sampled_from(DIGITS + "X"))
def test_mask_citizen_id_hides_birth_date(first17: str, last: str) -> None:
    cid = first17 + last  # checksum deliberately not enforced: masking is shape-only
    masked = mask_citizen_id(cid)
    assert len(masked) == 18
    assert masked[:6] == cid[:6]
    assert masked[14:] == cid[14:]
    assert masked[6:14] == "*" * 8


@pytest.mark.parametrize(
    "bad", ["", GB11643_EXAMPLE.lower(), GB11643_EXAMPLE[:17], "11010519491231002Y", "A" * 18]
)
def test_mask_citizen_id_rejects_wrong_shape(bad: str) -> None:
    with pytest.raises(IdentifierError):
        mask_citizen_id(bad)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+8613812345678", "+86138****5678"),
        ("+85291234567", "+852****4567"),
        ("+14155552671", "+1******2671"),
        ("+447911123456", "+44******3456"),
        ("+79161234567", "+7******4567"),
        ("+298123456", "+298****56"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@given(st.text(DIGITS, min_size=11, max_size=11))
def test_mask_phone_chinese_mobile(national: str) -> None:
    number = "+86" + national
    masked = mask_phone(number)
    assert len(masked) == len(number)
    assert masked == "+86" + national[:3] + "****" + national[7:]


@given(st.sampled_from("123456789"), st.text(DIGITS, min_size=7, max_size=14))
def test_mask_phone_always_hides_at_least_four_digits(first: str, rest: str) -> None:
    number = "+" + first + rest
    try:
        masked = mask_phone(number)
    except IdentifierError:
        return  # national number too short after a long country code
    assert len(masked) == len(number)
    assert masked.count("*") >= 4
    assert masked[-1] == number[-1]
    assert all(m in ("*", n) for m, n in zip(masked, number, strict=True))


@pytest.mark.parametrize(
    "bad",
    ["", "8613812345678", "+86 138 1234 5678", "+0613812345678", "+861381234567a",
     "+8613812345678901", "+86１3812345678", "+8612345"],
)  # fmt: skip
def test_mask_phone_rejects_non_e164(bad: str) -> None:
    with pytest.raises(IdentifierError):
        mask_phone(bad)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("阿卜杜拉·买买提", "阿***·***"),
        ("欧阳娜娜", "欧***"),
        (" 李四 ", "李*"),
        ("王", "*"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@given(st.text(min_size=2).map(str.strip).filter(lambda s: len(s) >= 2))
def test_mask_name_reveals_only_first_character(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert all(
        m == "*" or (m == n and n in "·•‧・･") for m, n in zip(masked[1:], name[1:], strict=True)
    )


@pytest.mark.parametrize("bad", ["", "   "])
def test_mask_name_rejects_empty(bad: str) -> None:
    with pytest.raises(IdentifierError):
        mask_name(bad)


# --------------------------------------------------------------------------- pseudonyms

PSEUDONYM_FORMAT = re.compile(r"hmac-sha256:[0-9a-f]{64}")


def test_pseudonym_known_answer() -> None:
    # Pins the documented wire construction so other implementations can interoperate.
    context = "smartcommunity/citizen-id/v1"
    ctx = context.encode()
    expected = hmac.new(
        KEY, len(ctx).to_bytes(8, "big") + ctx + GB11643_EXAMPLE.encode(), hashlib.sha256
    ).hexdigest()
    assert expected == "c704ed5d35bcf534f91e939270499ddbad3078f023af78060afdf8f48822850c"
    assert citizen_id_pseudonym(GB11643_EXAMPLE, KEY) == "hmac-sha256:" + expected
    assert pseudonym(GB11643_EXAMPLE, KEY, context=context) == "hmac-sha256:" + expected


@given(citizen_ids)
def test_citizen_pseudonym_properties(cid: str) -> None:
    p = citizen_id_pseudonym(cid, KEY)
    assert PSEUDONYM_FORMAT.fullmatch(p)
    assert citizen_id_pseudonym(cid, KEY) == p
    assert citizen_id_pseudonym(f" {cid.lower()} ", KEY) == p
    assert citizen_id_pseudonym(cid, OTHER_KEY) != p
    assert citizen_id_pseudonym(cid, KEY, context="other/v1") != p
    assert cid not in p and cid[6:14] not in p


def test_distinct_ids_get_distinct_pseudonyms() -> None:
    other = make_citizen_id("110105", date(1949, 12, 31), 3)
    assert citizen_id_pseudonym(other, KEY) != citizen_id_pseudonym(GB11643_EXAMPLE, KEY)


def test_context_is_length_prefixed() -> None:
    # Without framing, ("ab", "c") and ("a", "bc") would hash the same bytes.
    assert pseudonym("c", KEY, context="ab") != pseudonym("bc", KEY, context="a")


def test_pseudonym_accepts_minimum_key_and_rejects_shorter() -> None:
    assert PSEUDONYM_FORMAT.fullmatch(pseudonym("x", b"k" * 16, context="c"))
    with pytest.raises(IdentifierError):
        pseudonym("x", b"k" * 15, context="c")
    with pytest.raises(IdentifierError):
        citizen_id_pseudonym(GB11643_EXAMPLE, b"k" * 15)


def test_pseudonym_rejects_empty_context_and_unencodable_text() -> None:
    with pytest.raises(IdentifierError):
        pseudonym("x", KEY, context="")
    with pytest.raises(IdentifierError):
        pseudonym("\ud800", KEY, context="c")


@pytest.mark.parametrize(
    "bad", ["11010519491231002Y", "11010519491231003X", GB11643_EXAMPLE[:17], ""]
)
def test_citizen_pseudonym_rejects_invalid_ids(bad: str) -> None:
    with pytest.raises(IdentifierError):
        citizen_id_pseudonym(bad, KEY)


# --------------------------------------------------------------------------- key ids

KEY_IDS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True)


@given(KEY_IDS, st.binary(min_size=16, max_size=40))
def test_a_named_key_puts_its_id_before_the_same_mac(key_id: str, key: bytes) -> None:
    from smartcommunity.identifiers import pseudonym_key_id

    unnamed = citizen_id_pseudonym(GB11643_EXAMPLE, key)
    named = citizen_id_pseudonym(GB11643_EXAMPLE, key, key_id=key_id)
    # The id names the key; it does not enter the MAC, so the digits stay those of the key.
    assert named == f"hmac-sha256:{key_id}:" + unnamed.removeprefix("hmac-sha256:")
    assert pseudonym_key_id(named) == key_id
    assert pseudonym_key_id(unnamed) is None


@pytest.mark.parametrize("key_id", ["", "City", "a_b", "-a", "k" * 33, "a:b"])
def test_a_key_id_is_short_lowercase_and_plain(key_id: str) -> None:
    with pytest.raises(IdentifierError):
        pseudonym("x", b"k" * 16, context="c", key_id=key_id)


@pytest.mark.parametrize("text", ["hmac-sha256:" + "0" * 63, "hmac-sha256:K1:" + "0" * 64,
                                  "hmac-sha256:" + "k" * 33 + ":" + "0" * 64, "sha256:" + "0" * 64])
def test_only_pseudonyms_have_a_key_id(text: str) -> None:
    from smartcommunity.identifiers import pseudonym_key_id

    with pytest.raises(IdentifierError):
        pseudonym_key_id(text)
