"""Value parsing for the pot: money, currencies, member names, slugs, dates.

Every user-supplied value passes through one of these functions before it reaches
an event, so an event only ever holds values that obey SPEC §1.

Names and texts are also checked for what would mislead a reader (issue 23): a
new name may not mix scripts that look alike nor hold an invisible character,
and may not look like another member's (Unicode TR39 skeletons, from ICU's
spoof checker: the reference implementation, whose data is pinned with the
wheel that bundles it); free text may not hold a direction override or isolate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from domain.errors import BadInput

# Above this, an amount is refused whatever the currency (SPEC §1 Money).
MAX_MAJOR_UNITS = 1_000_000_000
# No crew's money is older: an earlier date is a typo ("0202", "1026"), and a pledge or
# a first contribution dated in year 1 would count some 24,000 months against a member.
EARLIEST = date(1900, 1, 1)
# Nor younger than this: a later year is a typo too ("9999"), and a default closing date
# a week after the calendar's last day cannot be computed at all.
LATEST = date(2999, 12, 31)

_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,47}", re.ASCII)
# Unicode category Cc (C0, DEL, C1) but for newline and tab, which notes may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What an argument holds where its bytes were not UTF-8 (Python's surrogateescape).
_UNDECODED = re.compile(r"[\ud800-\udfff]")
# Bidi embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069): they reorder the
# text after them, so "fee\u202eRUE 05" reads as something else in a history or a CSV.
# Marks (LRM, RLM, ALM) only nudge neutral characters, and right-to-left writing needs them.
_BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Any of the three above: one search clears a plain text (nearly every one) instead of three,
# which an import of many rows does for each row's note and ref.
_ANY_REFUSED = re.compile(f"{_UNDECODED.pattern}|{_CONTROL.pattern}|{_BIDI_OVERRIDE.pattern}")
# The stored feeling's length: the views keep it in a 32-character column.
FEELING_MAX = 32


@lru_cache(maxsize=64)
def currency_digits(code: str) -> int:
    """Minor digits of an ISO 4217 currency (EUR 2, JPY 0, BHD 3)."""
    from babel.numbers import get_currency_precision

    return int(str(get_currency_precision(code)))


def parse_currency(text: str) -> str:
    """An ISO 4217 code, upper-cased; refuse codes babel does not know."""
    from babel.numbers import list_currencies

    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code, re.ASCII) or code not in list_currencies():
        raise BadInput(f"unknown currency {text!r}: use an ISO 4217 code such as EUR")
    return code


def parse_amount(text: str, digits: int) -> int:
    """Parse a plain decimal amount into integer minor units.

    Accepts `25`, `25.5`, `25.50`; refuses everything SPEC §1 lists, each with a
    message that says what to type instead.
    """
    raw = text.strip()
    if raw == "":
        raise BadInput("amount is empty: give a plain decimal such as 25.50")
    if "," in raw:
        raise BadInput(f"amount {text!r} uses a comma: use a dot as the decimal separator and no thousands separators")
    if not _PLAIN_DECIMAL.fullmatch(raw):
        if raw.startswith("-"):
            raise BadInput(f"amount {text!r} is negative: amounts must be above zero")
        raise BadInput(f"amount {text!r} is not a plain decimal: use digits 0-9 and a dot, e.g. 25.50")
    whole, _, frac = raw.partition(".")
    if len(frac) > digits:
        if digits == 0:
            # "more than 0 decimals" reads oddly (issue 18): a yen amount is a whole number.
            raise BadInput(f"amount {text!r} has decimals, but this currency has no decimals: give a whole number")
        raise BadInput(f"amount {text!r} has more than {digits} decimal{'s' if digits != 1 else ''} for this currency")
    whole = whole.lstrip("0") or "0"
    if len(whole) > len(str(MAX_MAJOR_UNITS)):
        # Above the ceiling whatever its digits: refused before int(), which stops at 4,300 digits.
        raise BadInput(f"amount {text[:40]!r}… is above the limit of {MAX_MAJOR_UNITS:,}")
    minor = int(whole) * int(10**digits) + (int(frac.ljust(digits, "0")) if digits else 0)
    if minor == 0:
        raise BadInput(f"amount {text!r} is zero: amounts must be above zero")
    return within_ceiling(minor, digits, text)


def within_ceiling(minor: int, digits: int, text: str | None = None) -> int:
    """Refuse an amount above SPEC §1's ceiling, named as typed (`text`) or as the pot writes it."""
    if minor > MAX_MAJOR_UNITS * int(10**digits):
        shown = format_amount(minor, digits) if text is None else text
        raise BadInput(f"amount {shown!r} is above the limit of {MAX_MAJOR_UNITS:,}")
    return minor


def format_amount(minor: int, digits: int) -> str:
    """Integer minor units as a decimal string with the currency's digits (`"125.50"`)."""
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


def parse_name(text: str, what: str = "member name") -> str:
    """A member name: trimmed, 1-64 printable characters, no control characters."""
    name = text.strip()
    if not name:
        raise BadInput(f"{what} is empty")
    if len(name) > 64:
        raise BadInput(f"{what} is {len(name)} characters long: at most 64")
    if name.isascii() and name.isprintable():
        return name  # The common case, checked without a look at each character.
    for ch in name:
        # Cc covers ESC (ANSI escapes), newlines, tabs; Cf/Cs/Co/Cn are invisible or invalid.
        if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} or ch in "\u2028\u2029":
            raise BadInput(f"{what} contains a control or invisible character ({ch!r})")
    return name


def name_key(name: str) -> str:
    """The case-insensitive identity of a member name."""
    return unicodedata.normalize("NFKC", name).casefold()


@lru_cache(maxsize=1)
def _icu() -> Any:
    """PyICU, imported on first use: most commands meet no new name."""
    import icu  # type: ignore[import-untyped]

    return icu


@lru_cache(maxsize=1)
def _spoof_checker() -> Any:
    """ICU's TR39 checker, configured once (ICU: thread-safe to use once configured).

    Moderately restrictive (TR39 §5.2) lets Latin go with any one other script but
    Cyrillic, Greek and Cherokee, the ones whose letters pass for Latin ones, and
    with Han and kana or Hangul; `INVISIBLE` refuses a mark repeated on one letter.
    """
    icu = _icu()
    checker = icu.SpoofChecker()
    checker.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.INVISIBLE)
    checker.setRestrictionLevel(icu.URestrictionLevel.MODERATELY_RESTRICTIVE)
    return checker


def parse_new_name(text: str, what: str = "member name") -> str:
    """A name as it first enters a pot: `parse_name`'s rules, and none that misleads a reader.

    Refuses invisible characters (Unicode's default-ignorable ones, such as the
    Hangul filler, a variation selector, a zero-width joiner) and names that mix
    scripts in a confusable way ("Pаul" with a Cyrillic а). Only new names meet
    these rules: a name a pot already holds is still found by `parse_name`.
    """
    name = parse_name(text, what)
    if name.isascii():
        return name  # One script, nothing invisible: parse_name refused the controls.
    icu = _icu()
    for ch in name:
        if icu.Char.hasBinaryProperty(ch, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT):
            raise BadInput(f"{what} contains an invisible character (U+{ord(ch):04X}): type the name without it")
    failed = int(_spoof_checker().check(name))
    if failed & icu.USpoofChecks.RESTRICTION_LEVEL:
        scripts = dict.fromkeys(str(icu.Script.getScript(ch).getName()) for ch in name)
        mixed = " and ".join(s.replace("_", " ") for s in scripts if s not in {"Common", "Inherited"})
        raise BadInput(f"{what} {name!r} mixes {mixed} letters, which look alike: type it in one script")
    if failed:
        raise BadInput(f"{what} {name!r} repeats a mark on one letter, which shows as one: type it once")
    return name


@lru_cache(maxsize=4096)
def _skeletons(name: str) -> frozenset[str]:
    """A name's TR39 skeletons, as typed and as its key: "AI" and "Al" meet as typed, "Ana" and "аNA" as keys."""
    checker = _spoof_checker()
    return frozenset(str(checker.getSkeleton(0, form)) for form in (name, name_key(name)))


def letters_not_in(name: str, other: str) -> str:
    """Name the characters of `name` that `other` lacks: a look-alike's message says where they differ."""
    odd = dict.fromkeys(ch for ch in name if ch not in other)
    return ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}" for ch in odd)


def look_alike(name: str, others: Iterable[str]) -> str | None:
    """The first of `others` that a reader could take for `name` (TR39: the same skeleton), if any."""
    mine = _skeletons(name)
    return next((other for other in others if mine & _skeletons(other)), None)


def parse_slug(text: str) -> str:
    if not _SLUG.fullmatch(text):
        raise BadInput(
            f"slug {text!r} is not valid: lower-case letters, digits and '-', 1-48 characters, not starting with '-'"
        )
    return text


def slugify(name: str) -> str:
    """A slug from a display name: ASCII letters and digits joined by '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].strip("-")
    return slug or "pot"


def parse_date(text: str, what: str = "date") -> date:
    """An ISO 8601 calendar date, YYYY-MM-DD."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip(), re.ASCII):
        raise BadInput(f"{what} {text!r} is not a date: use YYYY-MM-DD")
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{what} {text!r} is not a real date") from None
    if day < EARLIEST:
        raise BadInput(f"{what} {text!r} is before {EARLIEST.year}: check the year")
    if day > LATEST:
        raise BadInput(f"{what} {text!r} is after {LATEST.year}: check the year")
    return day


# Four decimals are enough for any crew's share of voters, and keep the stored quorum short.
QUORUM_DECIMALS = 4


def parse_quorum(text: str) -> Decimal:
    """A fraction of eligible voters from 0 to 1, a plain decimal with at most four decimals."""
    raw = text.strip()
    if re.fullmatch(rf"(0(\.[0-9]{{1,{QUORUM_DECIMALS}}})?|1(\.0{{1,{QUORUM_DECIMALS}}})?)", raw, re.ASCII):
        return Decimal(raw)
    # Say which rule it broke: a fraction in range, typed too precisely, is not "out of range".
    whole, dot, frac = raw.partition(".")
    if dot and whole in {"0", "1"} and frac.isdigit() and frac.isascii() and (whole == "0" or not frac.strip("0")):
        raise BadInput(f"quorum {text!r} has more than {QUORUM_DECIMALS} decimals: e.g. 0.3333 for a third")
    raise BadInput(
        f"quorum {text!r} must be a plain decimal from 0 to 1 with at most {QUORUM_DECIMALS} decimals, e.g. 0.5"
    )


def parse_percent(text: str) -> Decimal:
    """A plain decimal percentage (`10`, `7.5`); the pot checks its range and decimals."""
    raw = text.strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw, re.ASCII):
        raise BadInput(f"percent {text!r} is not a plain decimal above 0: use digits and a dot, e.g. 7.5")
    return Decimal(raw)


def parse_text(text: str, what: str, *, max_len: int = 500, required: bool = False, one_line: bool = False) -> str:
    """Free text (notes, reasons, purposes): trimmed, no control characters but none required.

    Notes and reasons may run over several lines (newlines and tabs allowed);
    labels such as a ref, a recipient or a pot's name are `one_line`.
    """
    value = text.strip()
    if required and not value:
        raise BadInput(f"{what} is required")
    if len(value) > max_len:
        raise BadInput(f"{what} is {len(value)} characters long: at most {max_len}")
    if _ANY_REFUSED.search(value) is not None:
        _refuse_characters(value, what)
    if one_line and ("\n" in value or "\t" in value):
        raise BadInput(f"{what} must be one line, without line breaks or tabs")
    return value


def _refuse_characters(value: str, what: str) -> None:
    """Say which of the characters text may not hold is in `value`."""
    if _UNDECODED.search(value):
        raise BadInput(f"{what} is not UTF-8 text: retype it, or check the terminal's encoding")
    if _CONTROL.search(value):
        raise BadInput(f"{what} contains a control character")
    if found := _BIDI_OVERRIDE.search(value):
        # Refused, not stripped: what is recorded is exactly what was typed, or nothing.
        raise BadInput(
            f"{what} contains a direction-changing character (U+{ord(found.group()):04X}), "
            "which makes the text read differently: type it without"
        )


def parse_feeling(text: str) -> str:
    """One word of letters, lower-cased; what it returns, it accepts again unchanged.

    The lower-cased word is the one checked, because lower-casing can add a
    combining mark ("İyi" becomes "i̇yi"): a word accepted here must pass again
    when an export holding it is imported, and fit the views' column.
    """
    word = text.strip().lower()
    letters_and_marks = all(ch.isalpha() or unicodedata.category(ch).startswith("M") for ch in word)
    if not (1 <= len(word) <= FEELING_MAX and word[:1].isalpha() and letters_and_marks):
        raise BadInput(f"feeling {text!r} must be one word of 1-{FEELING_MAX} letters")
    return word
