"""Look-alike names, invisible and direction-changing characters (issue 23, findings 6 and 7).

A name that reads like another member's (TR39 skeletons), or that mixes scripts
whose letters pass for each other, is refused when it first joins; so are
invisible characters in names and bidi overrides or isolates in any free text,
typed or imported. A store that holds such a name or text from before keeps
working; only an import of its history is refused, naming the event.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

import domain.rules
import domain.values
from domain.errors import BadInput
from domain.values import look_alike, parse_name, parse_new_name, parse_text
from tests.conftest import fingerprint, pot, refused
from tests.test_interchange import rewrite

A = ("--as", "Ana")
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


def ok(db: Path, *args: str) -> str:
    result = pot(db, *args)
    assert result.code == 0, (args, result.code, result.out, result.err)
    return result.out


# --------------------------------------------------------------------------- finding 6: look-alike names
@pytest.mark.parametrize(
    ("name", "like"),
    [
        ("\u0410na", "Ana"),  # Cyrillic capital А: the finding as reported
        ("\u0430NA", "Ana"),  # Cyrillic small а, other case: names are compared ignoring case
        ("\u0421\u0443", "Cy"),  # Cyrillic С and у: one script, so only its look is wrong
        ("AI", "Al"),  # capital i and small L, both Latin
    ],
)
def test_a_name_that_looks_like_a_members_is_refused_naming_that_member(crew: Path, name: str, like: str) -> None:
    ok(crew, *A, "member", "add", "Al")
    refused(crew, *A, "member", "add", name, code=1, says=f"looks like {like}, who is a member")


def test_a_look_alike_of_a_member_who_left_is_refused_too(crew: Path) -> None:
    ok(crew, *A, "member", "remove", "Cy")
    refused(crew, *A, "member", "add", "\u0421\u0443", code=1, says="looks like Cy, who was a member until 2026-03-01")
    ok(crew, *A, "member", "add", "Kim")
    ok(crew, *A, "member", "remove", "Kim")
    refused(crew, *A, "member", "add", "Kirn", code=1, says="looks like Kim, who was a member until 2026-03-01")


def test_a_name_mixing_latin_with_cyrillic_or_greek_is_refused_on_its_own(crew: Path, tmp_path: Path) -> None:
    refused(crew, *A, "member", "add", "P\u0430ul", code=2, says="mixes Latin and Cyrillic letters")
    refused(crew, *A, "member", "add", "\u039flga", code=2, says="mixes Greek and Latin letters")
    fresh = tmp_path / "fresh.sqlite"
    result = pot(fresh, "init", "Crew", "--currency", "EUR", "--as", "P\u0430ul")
    assert result.code == 2
    assert "treasurer name 'Pаul' mixes Latin and Cyrillic letters" in result.err
    assert fingerprint(fresh) in {"no store", hashlib.sha256().hexdigest()}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Bo\u200b2", "invisible"),  # zero-width space
        ("Eve\u200d", "invisible"),  # zero-width joiner
        (f"{RLO}evE", "invisible"),  # right-to-left override
        ("Eve\u2066x", "invisible"),  # left-to-right isolate
        ("Eve\u3164", "invisible character (U+3164)"),  # Hangul filler: a letter that shows as nothing
        ("Eve\ufe0f", "invisible character (U+FE0F)"),  # a variation selector
        ("E\u0301\u0301ve", "repeats a mark"),  # two acute accents show as one
    ],
)
def test_invisible_and_direction_changing_characters_in_names_are_refused(crew: Path, name: str, says: str) -> None:
    refused(crew, *A, "member", "add", name, code=2, says=says)


@pytest.mark.parametrize(
    "name",
    ["Zoë", "José María", "Олена", "Ἀλέξανδρος", "李小龙", "Ana 李", "Ana-Maria O’Brien", "علي", "Søren 2", "Bo Jr."],
)
def test_names_in_one_script_or_in_scripts_that_do_not_pass_for_each_other_join(crew: Path, name: str) -> None:
    assert name in ok(crew, *A, "member", "add", name)


def test_look_alike_compares_skeletons_as_typed_and_ignoring_case() -> None:
    assert look_alike("\u0410na", ["Bo", "Ana"]) == "Ana"
    assert look_alike("\u0430NA", ["ana"]) == "ana"
    assert look_alike("rn", ["m"]) == "m"
    assert look_alike("Bo", ["Cy", "Dee", "B0"]) is None
    assert parse_new_name("  Zoë ") == "Zoë"
    with pytest.raises(BadInput, match="mixes Latin and Cyrillic"):
        parse_new_name("P\u0430ul")
    # A name a pot holds already is still found: only new names meet the new rules.
    assert parse_name("P\u0430ul") == "P\u0430ul"


# --------------------------------------------------------------------------- finding 7: direction-changing text
@pytest.fixture
def funded(crew: Path) -> Path:
    """The crew with Ana's 50.00 (event 6) and Bo's proposal 1 open."""
    ok(crew, *A, "contribute", "Ana", "50", "--note", "January")
    ok(crew, "--as", "Bo", "propose", "10", "--purpose", "rent")
    return crew


@pytest.mark.parametrize(
    "args",
    [
        (*A, "contribute", "Bo", "5", "--note", f"fee {RLO}05 EUR"),
        (*A, "contribute", "Bo", "5", "--ref", f"BANK{RLO}-7"),
        ("--as", "Bo", "propose", "10", "--purpose", "repair \u2067x\u2069"),
        ("--as", "Bo", "propose", "10", "--purpose", "rent", "--to", f"Dee{RLO}"),
        ("--as", "Cy", "vote", "1", "agree", "--reason", f"fine {RLO}by me"),
        (*A, "reverse", "6", "--reason", "typo\u202a"),
        ("--as", "Bo", "reflect", "6", "--feeling", "glad", "--note", f"{RLO}thanks"),
    ],
)
def test_a_direction_override_or_isolate_in_free_text_is_refused(funded: Path, args: tuple[str, ...]) -> None:
    refused(funded, *args, code=2, says="direction-changing character")


def test_text_keeps_what_right_to_left_writing_and_emoji_need(funded: Path) -> None:
    # Marks (RLM) and joiners (ZWJ, ZWNJ) are written, not tricks: they pass, unchanged.
    note = "شكرا\u200f — 👩\u200d👩\u200d👧 — می\u200cخواهم"
    ok(funded, *A, "contribute", "Bo", "5", "--note", note)
    assert parse_text(f" {note} ", "note") == note
    with pytest.raises(BadInput, match=r"U\+202E"):
        parse_text(f"a{RLO}b", "note")


# --------------------------------------------------------------------------- the same rules on import
def forged(crew: Path, tmp_path: Path, line: int, old: str, new: str) -> Path:
    """The crew's jsonl export with `old` replaced by `new` in line `line`, the chain recomputed."""
    exported = tmp_path / "pot.jsonl"
    ok(crew, "export", "--format", "jsonl", "-o", str(exported))
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    exported.write_text("".join(rewrite(lines, line - 1)), encoding="utf-8")
    return exported


@pytest.mark.parametrize(
    ("line", "old", "new", "says"),
    [
        (6, '"note":"January"', f'"note":"Jan{RLO}uary"', "direction-changing character (U+202E)"),
        (7, '"purpose":"rent"', '"purpose":"\\u2066rent"', "direction-changing character (U+2066)"),
        (5, '"member":"Dee"', '"member":"\u0410na"', "looks like Ana"),
        (5, '"member":"Dee"', '"member":"P\u0430ul"', "mixes Latin and Cyrillic"),
        (5, '"member":"Dee"', '"member":"De\u3164e"', "invisible character"),
    ],
)
def test_an_import_holding_what_a_command_would_refuse_is_refused(
    funded: Path, tmp_path: Path, line: int, old: str, new: str, says: str
) -> None:
    exported = forged(funded, tmp_path, line, old, new)
    fresh = tmp_path / "fresh.sqlite"
    result = pot(fresh, "import", str(exported))
    assert result.code != 0, result.out
    assert f"event {line}" in result.err
    assert says in result.err
    assert fingerprint(fresh) in {"no store", hashlib.sha256().hexdigest()}


def test_an_old_store_with_a_look_alike_name_and_reversed_text_keeps_working(
    crew: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded before these rules, as an older pot would have.
    with monkeypatch.context() as old:
        old.setattr(domain.rules, "parse_new_name", parse_name)
        old.setattr(domain.rules, "look_alike", lambda name, others: None)
        old.setattr(domain.values, "_BIDI_OVERRIDE", re.compile("(?!)"))
        ok(crew, *A, "member", "add", "\u0410na")
        ok(crew, *A, "contribute", "Bo", "5", "--note", f"fee {RLO}05")
    # Every command still finds the name and shows the text as stored...
    ok(crew, *A, "contribute", "\u0410na", "5")
    ok(crew, "--as", "\u0410na", "propose", "1", "--purpose", "tea")
    assert f"fee {RLO}05" in json.dumps(json.loads(ok(crew, "history", "--json")), ensure_ascii=False)
    # ...but its history imports nowhere: it holds what a command now refuses, and the event is named.
    exported = tmp_path / "old.jsonl"
    ok(crew, "export", "--format", "jsonl", "-o", str(exported))
    result = pot(tmp_path / "fresh.sqlite", "import", str(exported))
    assert result.code == 1
    assert "event 6" in result.err
    assert "looks like Ana" in result.err
