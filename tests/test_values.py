"""Unit tests of value parsing: money, names, slugs, dates (SPEC §1)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput
from domain.values import (
    FEELING_MAX,
    format_amount,
    name_key,
    parse_amount,
    parse_date,
    parse_feeling,
    parse_name,
    parse_new_name,
    parse_slug,
    parse_text,
    slugify,
)


@pytest.mark.parametrize(
    ("text", "digits", "minor"),
    [
        ("25", 2, 2500),
        ("25.5", 2, 2550),
        ("25.50", 2, 2550),
        ("0.01", 2, 1),
        ("1000000000.00", 2, 100_000_000_000),
        ("7", 0, 7),
    ],
)
def test_plain_decimals_become_minor_units(text: str, digits: int, minor: int) -> None:
    assert parse_amount(text, digits) == minor


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "zero"),
        ("0.00", "zero"),
        ("-5", "negative"),
        ("-0", "negative"),
        ("", "empty"),
        ("NaN", "plain decimal"),
        ("Infinity", "plain decimal"),
        ("1e3", "plain decimal"),
        ("10.001", "more than 2 decimals"),
        ("5,00", "use a dot"),
        ("1,000.00", "use a dot"),
        ("1_000", "plain decimal"),
        ("１２", "plain decimal"),  # full-width digits
        ("٣٤", "plain decimal"),  # Arabic-Indic digits
        ("1000000000.01", "above the limit"),
        (" 12 34", "plain decimal"),
        ("+5", "plain decimal"),
        ("0x10", "plain decimal"),
    ],
)
def test_bad_amounts_are_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(BadInput, match=says):
        parse_amount(text, 2)


@given(st.integers(min_value=1, max_value=100_000_000_000), st.sampled_from([0, 2, 3]))
def test_formatting_then_parsing_gives_the_same_minor_units(minor: int, digits: int) -> None:
    """format_amount and parse_amount are inverse on every valid amount."""
    if minor > 1_000_000_000 * 10**digits:
        return
    assert parse_amount(format_amount(minor, digits), digits) == minor


def test_amounts_format_with_the_currency_digits() -> None:
    assert format_amount(2550, 2) == "25.50"
    assert format_amount(5, 2) == "0.05"
    assert format_amount(7, 0) == "7"
    assert format_amount(-1234, 3) == "-1.234"


@pytest.mark.parametrize("text", ["", "   ", "x" * 65, "Bo\x07", "Bo\x1b[31m", "Bo\nCy", "Zero\u200bWidth"])
def test_bad_member_names_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_name(text)


def test_names_are_trimmed_and_compared_ignoring_case() -> None:
    assert parse_name("  Bo  ") == "Bo"
    assert parse_name("x" * 64) == "x" * 64
    assert name_key("BO") == name_key("bo")
    assert parse_name("Robert'); DROP TABLE x;--") == "Robert'); DROP TABLE x;--"


def test_slugs_follow_the_pattern() -> None:
    assert parse_slug("maastricht-crew") == "maastricht-crew"
    assert slugify("Maastricht crew!") == "maastricht-crew"
    assert slugify("Über Café") == "uber-cafe"
    for bad in ("-x", "Crew", "a" * 49, "", "a_b"):
        with pytest.raises(BadInput):
            parse_slug(bad)


BIDI_OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@given(st.text(max_size=40) | st.text(alphabet=st.sampled_from(f"ab \n{BIDI_OVERRIDES}\u200f\u200d"), max_size=8))
def test_text_is_refused_exactly_when_it_holds_a_control_character_or_a_direction_override(text: str) -> None:
    has_control = any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text.strip())
    if has_control:
        with pytest.raises(BadInput, match="control character"):
            parse_text(text, "note")
    elif any(ch in BIDI_OVERRIDES for ch in text):
        with pytest.raises(BadInput, match="direction-changing character"):
            parse_text(text, "note")
    else:
        # Nothing is stripped but the surrounding blanks: what is stored is what was typed.
        assert parse_text(text, "note") == text.strip()


@pytest.mark.parametrize("ch", list(BIDI_OVERRIDES))
def test_each_bidi_embedding_override_and_isolate_is_refused_by_its_code_point(ch: str) -> None:
    with pytest.raises(BadInput, match=f"U\\+{ord(ch):04X}"):
        parse_text(f"pay 05{ch}01", "purpose", one_line=True)


@pytest.mark.parametrize(
    "ch", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\u115f", "\ufe0f", "\u034f"]
)
def test_a_new_name_with_an_invisible_character_is_refused(ch: str) -> None:
    with pytest.raises(BadInput, match="invisible"):
        parse_new_name(f"Ev{ch}e")


@given(st.text(max_size=12))
def test_a_new_name_is_one_an_existing_name_lookup_accepts_unchanged(text: str) -> None:
    # New names meet more rules than lookups, never others: a pot always finds who joined it.
    try:
        name = parse_new_name(text)
    except BadInput:
        return
    assert parse_name(text) == name == parse_new_name(name)


@given(st.text(alphabet=st.sampled_from("ab \n\t\x07é"), max_size=12))
def test_a_one_line_label_is_refused_exactly_when_it_holds_a_break_a_tab_or_a_control_character(text: str) -> None:
    inner = text.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in inner):
        with pytest.raises(BadInput, match=r"control character|one line"):
            parse_text(text, "ref", one_line=True)
    else:
        assert parse_text(text, "ref", one_line=True) == inner


# What a parser returns is what an event stores, and an import checks stored values
# with the same parser (domain.rules, for domain.lawful): so each must accept its own output unchanged.
@pytest.mark.parametrize(
    "parse",
    [
        parse_feeling,
        parse_name,
        parse_new_name,
        lambda t: parse_text(t, "note"),
        lambda t: parse_text(t, "ref", one_line=True),
    ],
    ids=["feeling", "name", "new name", "note", "one-line label"],
)
@given(text=st.text(max_size=40))
def test_a_parser_accepts_its_own_output_unchanged(parse: Callable[[str], str], text: str) -> None:
    try:
        once = parse(text)
    except BadInput:
        return
    assert parse(once) == once


@pytest.mark.parametrize("word", ["İyi", "İ" * FEELING_MAX, "Zoë", "SCARED"])
def test_a_feeling_is_checked_as_it_is_stored(word: str) -> None:
    # "İ" lower-cases to "i" and a combining dot: that form must fit and pass again.
    try:
        stored = parse_feeling(word)
    except BadInput:
        assert len(word.lower()) > FEELING_MAX
        return
    assert parse_feeling(stored) == stored
    assert len(stored) <= FEELING_MAX


def test_undecodable_bytes_in_text_are_bad_input() -> None:
    # How Python hands over an argument whose bytes were not UTF-8 (surrogateescape).
    with pytest.raises(BadInput, match="not UTF-8 text"):
        parse_text("bad\udcffbyte", "note")


@pytest.mark.parametrize("text", ["9999-12-30", "3000-01-01"])
def test_dates_after_2999_are_refused_as_typos(text: str) -> None:
    with pytest.raises(BadInput, match="after 2999"):
        parse_date(text)


def test_an_amount_of_thousands_of_digits_is_above_the_limit_not_a_crash() -> None:
    from domain.values import parse_amount

    with pytest.raises(BadInput, match="above the limit"):
        parse_amount("1" + "0" * 5000, 2)
    with pytest.raises(BadInput, match="above the limit"):
        parse_amount("0" * 5000 + "9" * 20, 2)
    assert parse_amount("0" * 5000 + "25.50", 2) == 2550
