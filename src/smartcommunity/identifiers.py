"""Validation, masking and pseudonymisation of Chinese identifiers.

This module is a public, stable contract: callers outside the project rely on the exact
acceptance rules and output formats documented here, so changes must stay backwards compatible.

Covered identifiers:

* Citizen identity numbers (公民身份号码, GB 11643-1999), 18 characters.
* Unified Social Credit Codes (统一社会信用代码, GB 32100-2015), 18 characters.
* Statistical urban-rural division codes (统计用区划代码, NBS), 12 digits.

Province-level codes accepted (first two digits), following GB/T 2260:
11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71 (Taiwan), 81 (Hong Kong), 82 (Macao).
Citizen identity numbers additionally accept 83, the region prefix of residence-permit
numbers issued to Taiwan residents since 2018, which share the GB 11643 format.
Anything else (for example 91, which GB/T 2260 does not allocate) is rejected.

All validators accept uppercase ASCII only; they never fold case or Unicode digits, because the
exchange format is uppercase ASCII and silently accepting look-alikes would let two spellings of
one identifier enter a dataset. Use :func:`normalize_citizen_id` on user input first.
"""

from __future__ import annotations

import hmac
import re
from datetime import date
from hashlib import sha256
from typing import Literal

from .exceptions import IdentifierError

__all__ = [
    "DivisionLevel",
    "IdentifierError",
    "citizen_id_birth_date",
    "citizen_id_check_char",
    "citizen_id_pseudonym",
    "division_level",
    "is_valid_citizen_id",
    "is_valid_division_code",
    "is_valid_uscc",
    "mask_citizen_id",
    "mask_name",
    "mask_phone",
    "minimum_key_bytes",
    "normalize_citizen_id",
    "parent_division",
    "pseudonym",
    "pseudonym_key_id",
    "uscc_check_char",
]




DivisionLevel = Literal["province", "city", "county", "township", "community"]

_PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip
_CITIZEN_ID_REGIONS: frozenset[str] = _PROVINCE_CODES | {"83"}

# Explicit [0-9] classes: \d and str.isdigit() would also match e.g. '１' or '٣'.
_CITIZEN_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS_17 = re.compile(r"[0-9]{17}")
_DIVISION_SHAPE = re.compile(r"[0-9]{12}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

# ISO 7064 MOD 11-2: weight of position i is 2**(17 - i) mod 11.
_CITIZEN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CITIZEN_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH_DATE = date(1850, 1, 1)

# GB 32100-2015 character set: 31 symbols, omitting I, O, Z, S and V.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_ALPHABET)}
# Weight of position i is 3**i mod 31; 31 is prime, so every single substitution is detected.
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"[{_USCC_ALPHABET}]{{2}}[0-9]{{6}}[{_USCC_ALPHABET}]{{10}}")

#: /req/privacy/pseudonym states the shortest key as its minimumKeyBytes parameter
_PSEUDONYM_REQUIREMENT = "/req/privacy/pseudonym"
_CITIZEN_ID_CONTEXT = "smartcommunity/citizen-id/v1"
_PSEUDONYM_PREFIX = "hmac-sha256:"
#: /req/privacy/pseudonym-key-id: how a key is named, its longest name a parameter
_KEY_ID_REQUIREMENT = "/req/privacy/pseudonym-key-id"
_KEY_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_PSEUDONYM_FORM = re.compile(r"hmac-sha256:(?:([a-z0-9][a-z0-9-]*):)?[0-9a-f]{64}")

# Separators that appear between parts of transliterated names. U+00B7 is the standard one;
# the others are what common input methods produce in its place.
_NAME_SEPARATORS = frozenset("\u00b7\u2022\u2027\u30fb\uff65")

# E.164 country codes are prefix-free. Only these are shorter than three digits.
_ONE_DIGIT_COUNTRY_CODES = frozenset({"1", "7"})
_TWO_DIGIT_COUNTRY_CODES = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39",
        "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58",
        "60", "61", "62", "63", "64", "65", "66",
        "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    }
)  # fmt: skip


# --------------------------------------------------------------------------- citizen IDs


def normalize_citizen_id(s: str) -> str:
    """Return ``s`` with surrounding whitespace removed and letters uppercased.

    Does not validate; pass the result to :func:`is_valid_citizen_id`.
    """
    return s.strip().upper()


def citizen_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character ('0'-'9' or 'X') for 17 ASCII digits.

    Raises :class:`IdentifierError` unless ``first17`` is exactly 17 ASCII digits.
    """
    if not isinstance(first17, str) or not _DIGITS_17.fullmatch(first17):
        raise IdentifierError("expected exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _CITIZEN_WEIGHTS, strict=True))
    return _CITIZEN_CHECK_CHARS[total % 11]


def _birth_date(s: str) -> date | None:
    try:
        return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None


def citizen_id_birth_date(s: str) -> date | None:
    """The birth date a valid GB 11643 number carries, or None when ``s`` is not valid."""
    if not isinstance(s, str) or not is_valid_citizen_id(s):
        return None
    return _birth_date(normalize_citizen_id(s))


def is_valid_citizen_id(s: str, *, today: date | None = None) -> bool:
    """Return True iff ``s`` is a well-formed GB 11643-1999 citizen identity number.

    Requires exactly 18 characters (17 ASCII digits, then an ASCII digit or uppercase 'X'),
    an accepted province prefix (see module docstring), a real calendar birth date between
    1850-01-01 and ``today`` inclusive (default: the local current date) and a correct
    MOD 11-2 check character. The last four digits of the region code are not checked,
    because numbers issued under since-abolished county codes remain valid for life.
    """
    if not isinstance(s, str) or not _CITIZEN_ID_SHAPE.fullmatch(s):
        return False
    if s[:2] not in _CITIZEN_ID_REGIONS:
        return False
    born = _birth_date(s)
    if born is None:
        return False
    if not _EARLIEST_BIRTH_DATE <= born <= (today if today is not None else date.today()):
        return False
    return citizen_id_check_char(s[:17]) == s[17]


def mask_citizen_id(s: str) -> str:
    """Return ``s`` with its 8 birth-date characters replaced by '*' for display.

    Keeps the 6-digit region code and the last 4 characters, e.g. ``110105********002X``.
    Accepts any string of 17 ASCII digits followed by an ASCII digit or 'X', even if its
    checksum or date is wrong, so that bad records can still be shown safely. Raises
    :class:`IdentifierError` for anything else (including lowercase 'x'; normalise first).
    """
    if not isinstance(s, str) or not _CITIZEN_ID_SHAPE.fullmatch(s):
        raise IdentifierError("not shaped like an 18-character citizen identity number")
    return s[:6] + "*" * 8 + s[14:]


def citizen_id_pseudonym(s: str, key: bytes, *, context: str = _CITIZEN_ID_CONTEXT,
                         key_id: str | None = None) -> str:
    """Return a keyed pseudonym of a citizen identity number.

    ``s`` is normalised (:func:`normalize_citizen_id`) and must then be valid, so the same
    person always maps to the same pseudonym whatever the input spelling. The result equals
    ``pseudonym(normalised_id, key, context=context, key_id=key_id)``. Raises
    :class:`IdentifierError` for an invalid number, a key shorter than 16 bytes or an
    invalid key id.
    """
    if not isinstance(s, str):
        raise IdentifierError("citizen identity number must be a str")
    normalised = normalize_citizen_id(s)
    if not is_valid_citizen_id(normalised):
        raise IdentifierError("invalid citizen identity number")
    return pseudonym(normalised, key, context=context, key_id=key_id)


# --------------------------------------------------------------------------- USCC


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC.

    Raises :class:`IdentifierError` unless ``first17`` is 17 characters of the USCC
    alphabet ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (uppercase only).
    """
    if (
        not isinstance(first17, str)
        or len(first17) != 17
        or any(c not in _USCC_VALUES for c in first17)
    ):
        raise IdentifierError("expected 17 characters from the USCC alphabet")
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """Return True iff ``s`` is a well-formed GB 32100-2015 Unified Social Credit Code.

    Requires 18 uppercase characters of the USCC alphabet, positions 3-8 ASCII digits and a
    correct MOD 31 check character. The registration-authority and organisation-type
    characters (positions 1-2) may be any alphabet character, and the embedded division and
    organisation codes are not checked further, because authorities are allocated new codes
    over time and an over-strict check would reject genuine codes.
    """
    if not isinstance(s, str) or not _USCC_SHAPE.fullmatch(s):
        return False
    return uscc_check_char(s[:17]) == s[17]


# --------------------------------------------------------------------------- divisions


def is_valid_division_code(s: str) -> bool:
    """Return True iff ``s`` is a structurally valid 12-digit NBS division code.

    Layout ``PP CC DD TTT VVV``: province, city, county, township, residents'/villagers'
    committee. Requires 12 ASCII digits, an accepted province (see module docstring) and
    zero padding below the code's level: city ``00`` means everything after it is zero, and
    township ``000`` means the committee part is ``000``. A county part of ``00`` is allowed
    under a non-zero city with a non-zero township, because cities without counties
    (e.g. Dongguan 4419, Zhongshan 4420) number their townships directly under the city.
    Whether the code is actually allocated is not checked.
    """
    if not isinstance(s, str) or not _DIVISION_SHAPE.fullmatch(s):
        return False
    if s[:2] not in _PROVINCE_CODES:
        return False
    if s[2:4] == "00" and s[4:] != "00000000":
        return False
    return not (s[6:9] == "000" and s[9:] != "000")


def _require_division(s: str) -> None:
    if not is_valid_division_code(s):
        raise IdentifierError("invalid division code")


def division_level(s: str) -> DivisionLevel:
    """Return the administrative level a valid division code denotes.

    Raises :class:`IdentifierError` if ``s`` is not a valid division code.
    """
    _require_division(s)
    if s[2:] == "0000000000":
        return "province"
    if s[4:] == "00000000":
        return "city"
    if s[6:] == "000000":
        return "county"
    if s[9:] == "000":
        return "township"
    return "community"


def parent_division(s: str) -> str | None:
    """Return the 12-digit code of the enclosing division, or None for a province.

    A township directly under a city without counties has that city as its parent. Raises
    :class:`IdentifierError` if ``s`` is not a valid division code.
    """
    level = division_level(s)
    if level == "province":
        return None
    if level == "city":
        return s[:2] + "0" * 10
    if level == "community":
        return s[:9] + "000"
    if level == "county" or s[4:6] == "00":
        return s[:4] + "0" * 8
    return s[:6] + "0" * 6


# --------------------------------------------------------------------------- display masks


def _country_code_length(digits: str) -> int:
    if digits[:1] in _ONE_DIGIT_COUNTRY_CODES:
        return 1
    if digits[:2] in _TWO_DIGIT_COUNTRY_CODES:
        return 2
    return 3


def mask_phone(s: str) -> str:
    """Return an E.164 number (``+`` and up to 15 ASCII digits) masked for display.

    Keeps the country code and the last 4 digits of the national number; if the national
    number has at least 11 digits its first 3 digits are kept too, e.g.
    ``+8613812345678`` -> ``+86138****5678`` and ``+85291234567`` -> ``+852****4567``.
    At least 4 digits are always masked, so national numbers of 6 or 7 digits keep only
    their last 2 or 3. The output
    has the same length as the input. Raises :class:`IdentifierError` if ``s`` is not in
    E.164 form or its national number is shorter than 6 digits.
    """
    if not isinstance(s, str) or not _E164.fullmatch(s):
        raise IdentifierError("not an E.164 number such as +8613812345678")
    digits = s[1:]
    cc_len = _country_code_length(digits)
    national = digits[cc_len:]
    n = len(national)
    if n < 6:
        raise IdentifierError("national number too short to mask")
    # Keeping 3 leading digits only when at least 4 remain hidden in the middle.
    head = 3 if n >= 11 else 0
    tail = min(4, n - 4 - head)
    masked = national[:head] + "*" * (n - head - tail) + national[n - tail :]
    return "+" + digits[:cc_len] + masked


def mask_name(s: str) -> str:
    """Return a personal name masked for display, keeping only its first character.

    Every other character becomes '*', except name separators (the middle dot '·' and its
    common look-alikes), which are kept: ``张三丰`` -> ``张**``, ``阿卜杜拉·买买提`` ->
    ``阿***·***``. Surrounding whitespace is ignored; the result otherwise has the same
    length as the name. A one-character name is returned as ``*``, since keeping its first
    character would disclose it entirely. Raises :class:`IdentifierError` for an empty name.
    """
    if not isinstance(s, str):
        raise IdentifierError("name must be a str")
    name = s.strip()
    if not name:
        raise IdentifierError("empty name")
    if len(name) == 1:
        return "*"
    return name[0] + "".join(c if c in _NAME_SEPARATORS else "*" for c in name[1:])


# --------------------------------------------------------------------------- pseudonyms


def _minimum_key_bytes(version: str) -> int:
    # Read on first use, not on import: identifiers stays cheap to import (load_spec caches).
    from .specification import load_spec

    return int(load_spec(version).parameter(_PSEUDONYM_REQUIREMENT, "minimumKeyBytes"))


def minimum_key_bytes(version: str | None = None) -> int:
    """The shortest pseudonym key /req/privacy/pseudonym allows (``minimumKeyBytes`` of spec
    ``version``, the default version when None)."""
    from .specification import DEFAULT_VERSION

    return _minimum_key_bytes(version or DEFAULT_VERSION)


def _maximum_key_id_length() -> int:
    from .specification import DEFAULT_VERSION, load_spec

    return int(load_spec(DEFAULT_VERSION).parameter(_KEY_ID_REQUIREMENT, "maximumKeyIdLength"))


def pseudonym_key_id(p: str) -> str | None:
    """The id of the key the pseudonym ``p`` names (``hmac-sha256:<key id>:<hex>``), or None
    for a pseudonym of the key a city used before naming its keys (``hmac-sha256:<hex>``).
    Raises :class:`IdentifierError` when ``p`` is not a pseudonym (/req/privacy/pseudonym-key-id).
    """
    found = _PSEUDONYM_FORM.fullmatch(p) if isinstance(p, str) else None
    if found is None or len(found.group(1) or "") > _maximum_key_id_length():
        raise IdentifierError("not a pseudonym of the form hmac-sha256:[<key id>:]<64 hex>")
    return found.group(1)


def pseudonym(value: str, key: bytes, *, context: str, key_id: str | None = None) -> str:
    """Return ``"hmac-sha256:"`` + 64 lowercase hex digits, a keyed pseudonym of ``value``;
    with ``key_id``, the key's id stands between them (``hmac-sha256:<key id>:<hex>``) so a
    city can rotate its key (/req/privacy/pseudonym-key-id). The id does not enter the MAC.

    The MAC is HMAC-SHA256 under ``key`` over ``len(C).to_bytes(8, "big") + C + V``, where
    ``C`` and ``V`` are the UTF-8 encodings of ``context`` and ``value``. This exact
    construction is part of the contract so that other implementations sharing the key
    produce identical pseudonyms. ``value`` is used as given: normalise it first.
    Raises :class:`IdentifierError` if ``key`` is shorter than 16 bytes, ``context`` is
    empty, or either string cannot be encoded as UTF-8.
    """
    if not isinstance(key, bytes | bytearray):
        raise IdentifierError("key must be bytes")
    minimum = minimum_key_bytes()
    if len(key) < minimum:
        raise IdentifierError(f"key must be at least {minimum} bytes")
    if not isinstance(context, str) or not context:
        raise IdentifierError("context must be a non-empty str")
    if not isinstance(value, str):
        raise IdentifierError("value must be a str")
    if key_id is not None and (not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id)
                               or len(key_id) > _maximum_key_id_length()):
        raise IdentifierError("a key id is 1 to 32 lowercase letters, digits or hyphens, "
                              "starting with a letter or digit")
    try:
        ctx = context.encode("utf-8")
        val = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise IdentifierError("context and value must be encodable as UTF-8") from exc
    # The length prefix keeps (context, value) pairs from colliding when concatenated.
    message = len(ctx).to_bytes(8, "big") + ctx + val
    named = f"{key_id}:" if key_id is not None else ""
    return _PSEUDONYM_PREFIX + named + hmac.new(bytes(key), message, sha256).hexdigest()
