"""Consent nobody can forge (issue 20, SPEC §7): signed events, `signed_votes`, and forgeries `verify` names.

An attacker here holds the database: they add events with the chain recomputed,
but they do not hold the members' private keys. Each forgery is named by `verify`
on the store and by `verify --file` on its export, and an import refuses it.
A command refused for its signature leaves the store exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import signing
from domain.errors import BadInput, PotError
from domain.events import SIGNABLE_EVENTS, PledgeSet, PotEvent, VoteCast
from domain.lawful import check_follows, check_signature, follow
from domain.pot import Pot
from domain.signing import BadSignature, Signature, Signer, signed_fields
from ledger.app import Ledger
from ledger.keys import load_key, public_key_text, signer, write_key
from ledger.store import resolve
from tests.conftest import fingerprint, head, pot, refused

DAY = date(2026, 2, 1)
# The day the CLI's commands run in these tests (tests.conftest.TODAY).
TODAY = date(2026, 3, 1)
# A pot exported by `pot` before SPEC §7 (commit c706916): contributions, a reversal, a proposal, votes,
# a payout and a reflection, none of them signed. Its digests must never change.
BEFORE_KEYS = (
    '{"no":1,"type":"pot_opened","at":"2026-11-25T07:06:42.560337+00:00","on":"2026-01-05","actor":"Ana","prev":"0000000000000000000000000000000000000000000000000000000000000000","fields":{"slug":"old-crew","name":"Old crew","currency":"EUR","digits":2,"quorum":"0.5","voting_days":7},"digest":"af27b5c0afe75901c150a2ac3d846dfc423c23eec44bc02979fde6f89151512a"}',  # noqa: E501
    '{"no":2,"type":"member_joined","at":"2026-11-25T07:06:42.566556+00:00","on":"2026-01-05","actor":"Ana","prev":"af27b5c0afe75901c150a2ac3d846dfc423c23eec44bc02979fde6f89151512a","fields":{"member":"Ana","role":"treasurer"},"digest":"ccc6a4336154bd533fd4a3a11bb6440f5cd7dbaceebfe69c5a059b78122b12b8"}',
    '{"no":3,"type":"member_joined","at":"2026-11-25T07:06:43.301480+00:00","on":"2026-01-05","actor":"Ana","prev":"ccc6a4336154bd533fd4a3a11bb6440f5cd7dbaceebfe69c5a059b78122b12b8","fields":{"member":"Bo","role":"member"},"digest":"05eacadfc308b8b69e1e2997bd436e4325e023523aa09865e228056de19140d9"}',
    '{"no":4,"type":"member_joined","at":"2026-11-25T07:06:43.928216+00:00","on":"2026-01-05","actor":"Ana","prev":"05eacadfc308b8b69e1e2997bd436e4325e023523aa09865e228056de19140d9","fields":{"member":"Cy","role":"member"},"digest":"798cd10606d6d9b2157242b2f7257f88c44b5256255685a66240e6451d58c8c4"}',
    '{"no":5,"type":"contribution_recorded","at":"2026-11-25T07:06:44.505807+00:00","on":"2026-01-06","actor":"Ana","prev":"798cd10606d6d9b2157242b2f7257f88c44b5256255685a66240e6451d58c8c4","fields":{"member":"Bo","amount_minor":4000,"note":"janvier","ref":"B1","income_minor":null},"digest":"186fe6f7be378067aa7cc2a24eb790c9447da3edb004dbd85c7d2545befd5257"}',
    '{"no":6,"type":"contribution_recorded","at":"2026-11-25T07:06:45.158449+00:00","on":"2026-01-06","actor":"Ana","prev":"186fe6f7be378067aa7cc2a24eb790c9447da3edb004dbd85c7d2545befd5257","fields":{"member":"Cy","amount_minor":500,"note":"","ref":null,"income_minor":null},"digest":"e9ed706bfca52f82802f444e2306598039e4d417eb7fc3314709421250cef2d5"}',
    '{"no":7,"type":"contribution_reversed","at":"2026-11-25T07:06:45.772445+00:00","on":"2026-01-07","actor":"Ana","prev":"e9ed706bfca52f82802f444e2306598039e4d417eb7fc3314709421250cef2d5","fields":{"contribution_no":6,"member":"Cy","amount_minor":500,"reason":"typo"},"digest":"09337f23c7e055140b7db51cc2f960edda37f0b1eefee04ca31d175f51d82486"}',
    '{"no":8,"type":"withdrawal_proposed","at":"2026-11-25T07:06:46.438039+00:00","on":"2026-01-07","actor":"Bo","prev":"09337f23c7e055140b7db51cc2f960edda37f0b1eefee04ca31d175f51d82486","fields":{"proposal_no":1,"amount_minor":1250,"purpose":"Thé et café","recipient":"Bo","closes":"2026-01-14","eligible":["Ana","Bo","Cy"]},"digest":"958c1d1d0458a12a971ee8704a1d2a29d36c387a758ebc34c8f4e32cacdee73a"}',  # noqa: E501
    '{"no":9,"type":"vote_cast","at":"2026-11-25T07:06:47.078675+00:00","on":"2026-01-08","actor":"Ana","prev":"958c1d1d0458a12a971ee8704a1d2a29d36c387a758ebc34c8f4e32cacdee73a","fields":{"proposal_no":1,"member":"Ana","position":"agree","reason":"ça va"},"digest":"d9498190454ab2e68565e621bed0c8ec1b8af90e67c407d6ba3e09398a002619"}',  # noqa: E501
    '{"no":10,"type":"vote_cast","at":"2026-11-25T07:06:47.595632+00:00","on":"2026-01-08","actor":"Bo","prev":"d9498190454ab2e68565e621bed0c8ec1b8af90e67c407d6ba3e09398a002619","fields":{"proposal_no":1,"member":"Bo","position":"agree","reason":"ça va"},"digest":"7c9f21467e58cc3131611f8ddca0259e289e563bb32253248b57612f5462f61e"}',  # noqa: E501
    '{"no":11,"type":"vote_cast","at":"2026-11-25T07:06:48.279324+00:00","on":"2026-01-08","actor":"Cy","prev":"7c9f21467e58cc3131611f8ddca0259e289e563bb32253248b57612f5462f61e","fields":{"proposal_no":1,"member":"Cy","position":"agree","reason":"ça va"},"digest":"e003e6ffc20992d125e33fefcc107a7d44953868369cbec9dd8ad38efb852ae4"}',  # noqa: E501
    '{"no":12,"type":"proposal_decided","at":"2026-11-25T07:06:48.279676+00:00","on":"2026-01-08","actor":"Cy","prev":"e003e6ffc20992d125e33fefcc107a7d44953868369cbec9dd8ad38efb852ae4","fields":{"proposal_no":1,"outcome":"approved","agree":3,"abstain":0,"disagree":0,"block":0,"eligible_count":3,"all_voted":true},"digest":"5294bd342958ca2b9abd1d4eee23b2c8093f96fad3297a5f0aa3623aeb11864c"}',
    '{"no":13,"type":"withdrawal_paid","at":"2026-11-25T07:06:48.951424+00:00","on":"2026-01-09","actor":"Ana","prev":"5294bd342958ca2b9abd1d4eee23b2c8093f96fad3297a5f0aa3623aeb11864c","fields":{"proposal_no":1,"amount_minor":1250,"recipient":"Bo"},"digest":"35e3119c42ad236da7dc1ba35d10fe9ef4d1b3b5057564b80952610bfea4096c"}',
    '{"no":14,"type":"reflection_noted","at":"2026-11-25T07:06:49.628933+00:00","on":"2026-01-09","actor":"Cy","prev":"35e3119c42ad236da7dc1ba35d10fe9ef4d1b3b5057564b80952610bfea4096c","fields":{"event_no":8,"member":"Cy","feeling":"glad","note":"bien"},"digest":"ef73dec6b4439d66b2f9099d1b847612184a7b839bf8728b46a539f903b41c66"}',
)
KEYS = {"Ana": 4, "Bo": 1, "Cy": 2, "Dee": 3}


def private(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def proof(key: Ed25519PrivateKey, slug: str, actor: str) -> str:
    return signing.b64url(key.sign(signing.proof_message(pot=slug, actor=actor, public_key=public_key_text(key))))


@pytest.fixture(autouse=True)
def keys_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


# --------------------------------------------------------------------------- the issue's walkthrough
@pytest.fixture
def crew(db: Path) -> Path:
    """Pot 'crew': Ana (treasurer), Bo, Cy; 100.00 from Bo; proposal 1 by Cy open."""
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    assert pot(db, "--as", "Ana", "contribute", "Bo", "100").code == 0
    assert pot(db, "--as", "Cy", "propose", "30", "--purpose", "a kettle").code == 0
    return db


def test_the_issues_walkthrough_signs_verifies_and_verifies_offline(crew: Path, tmp_path: Path) -> None:
    made = pot(crew, "--as", "Bo", "key", "new")
    assert made.code == 0, made.err
    voted = pot(crew, "--as", "Bo", "vote", "1", "agree", "--reason", "we need it")
    assert voted.code == 0, voted.err
    items = pot(crew, "history", "--json").json()
    vote = items[-1]
    assert (vote["type"], vote["actor"]) == ("vote_cast", "Bo")
    key_id = vote["signature"]["key_id"]
    # Signed against the head Bo's command saw, the event before it, whose full digest the history carries.
    assert vote["signature"]["seen"] == items[-2]["digest"]
    assert len(items[-2]["digest"]) == 64
    report = pot(crew, "verify")
    assert report.code == 0, report.err
    assert "1 signed, 2 unsigned, no bad signature" in report.out  # unsigned: Ana's contribution, Cy's proposal
    as_json = pot(crew, "verify", "--json").json()
    assert (as_json["ok"], as_json["signed"], as_json["unsigned"], as_json["bad_signatures"]) == (True, 1, 2, [])
    exported = tmp_path / "pot.jsonl"
    assert pot(crew, "export", "--format", "jsonl", "-o", str(exported)).code == 0
    assert key_id in exported.read_text()
    offline = pot(crew, "verify", "--file", str(exported), "--json").json()
    assert {k: offline[k] for k in ("ok", "signed", "unsigned", "bad_signatures")} == {
        "ok": True,
        "signed": 1,
        "unsigned": 2,
        "bad_signatures": [],
    }
    # Imported elsewhere, the same events: the same head, and the signatures still hold.
    elsewhere = tmp_path / "elsewhere.sqlite"
    assert pot(elsewhere, "import", "--format", "jsonl", str(exported)).code == 0
    assert head(elsewhere) == head(crew)
    assert pot(elsewhere, "verify", "--json").json()["signed"] == 1


def test_no_sign_and_key_file_work_before_or_after_the_command(crew: Path, tmp_path: Path) -> None:
    bo_key = tmp_path / "bo.key"
    assert pot(crew, "--as", "Bo", "key", "new", "--file", str(bo_key)).code == 0
    # A key kept in a file of its own signs when named; otherwise Bo has no key here.
    assert pot(crew, "--as", "Bo", "reflect", "5", "--feeling", "glad").code == 0
    assert pot(crew, "--as", "Bo", "reflect", "4", "--feeling", "glad", "--key", str(bo_key)).code == 0
    assert pot(crew, "--as", "Bo", "--key", str(bo_key), "--no-sign", "reflect", "2", "--feeling", "calm").code == 0
    assert pot(crew, "--as", "Bo", "--key", str(bo_key), "vote", "1", "agree", "--no-sign").code == 0
    kinds = [(i["type"], "signature" in i) for i in pot(crew, "history", "--json").json()[-4:]]
    assert kinds == [
        ("reflection_noted", False),
        ("reflection_noted", True),
        ("reflection_noted", False),
        ("vote_cast", False),
    ]


def test_a_treasurer_signs_contributions_reversals_and_payouts(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "key", "new").code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Cy", "5", "--ref", "T1").code == 0
    assert pot(crew, "--as", "Ana", "reverse", "8", "--reason", "twice").code == 0
    for who in ("Ana", "Bo", "Cy"):
        assert pot(crew, "--as", who, "vote", "1", "agree").code == 0
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0
    signed = {i["type"] for i in pot(crew, "history", "--json").json() if "signature" in i}
    assert signed == {"contribution_recorded", "contribution_reversed", "vote_cast", "withdrawal_paid"}
    assert pot(crew, "verify", "--json").json()["bad_signatures"] == []


def test_a_member_signs_their_own_pledge_and_a_treasurer_sets_anothers_unsigned(crew: Path, tmp_path: Path) -> None:
    """Pledges are signed too (the issue: "votes, proposals, reflections and pledges"), by the member they are about."""
    assert pot(crew, "--as", "Bo", "key", "new").code == 0
    assert pot(crew, "--as", "Ana", "key", "new").code == 0
    assert pot(crew, "--as", "Bo", "pledge", "Bo", "--percent", "7.50").code == 0
    assert pot(crew, "--as", "Ana", "pledge", "Ana", "--monthly", "20.5", "--from", "2026-04").code == 0
    # Ana's key is hers: Bo's pledge she sets is recorded unsigned, not refused.
    assert pot(crew, "--as", "Ana", "pledge", "Bo", "--monthly", "20").code == 0
    assert pot(crew, "--as", "Bo", "pledge", "Bo", "--stop", "--from", "2026-05").code == 0
    pledges = [i for i in pot(crew, "history", "--json").json() if i["type"] == "pledge_set"]
    assert [(p["actor"], p["member"], "signature" in p) for p in pledges] == [
        ("Bo", "Bo", True),
        ("Ana", "Ana", True),
        ("Ana", "Bo", False),
        ("Bo", "Bo", True),
    ]
    assert pledges[0]["percent"] == "7.5"
    report = pot(crew, "verify", "--json").json()
    # Signed: Bo's two pledges and Ana's own; unsigned: Ana's contribution, Cy's proposal, Bo's pledge set by Ana.
    assert (report["ok"], report["signed"], report["unsigned"], report["bad_signatures"]) == (True, 3, 3, [])
    exported = tmp_path / "pot.jsonl"
    assert pot(crew, "export", "--format", "jsonl", "-o", str(exported)).code == 0
    offline = pot(crew, "verify", "--file", str(exported), "--json").json()
    assert (offline["ok"], offline["signed"], offline["unsigned"], offline["bad_signatures"]) == (True, 3, 3, [])


def test_keys_that_cannot_sign_for_the_actor_are_refused_and_store_nothing(crew: Path, tmp_path: Path) -> None:
    bo_key = tmp_path / "bo.key"
    assert pot(crew, "--as", "Bo", "key", "new", "--file", str(bo_key)).code == 0
    refused(
        crew, "--as", "Cy", "--key", str(bo_key), "vote", "1", "agree", code=1, says="is Bo's, so it cannot sign for Cy"
    )
    stray = tmp_path / "stray.key"
    write_key(private(9), stray)
    refused(crew, "--as", "Bo", "--key", str(stray), "vote", "1", "agree", code=2, says="is not registered in pot")
    key_id = signing.key_id_of(signing.parse_public_key(public_key_text(load_key(bo_key))))
    assert pot(crew, "--as", "Bo", "key", "revoke", key_id).code == 0
    refused(crew, "--as", "Bo", "--key", str(bo_key), "vote", "1", "agree", code=1, says="was revoked")


def test_a_signed_votes_pot_refuses_unsigned_votes_and_counts_signed_ones(db: Path) -> None:
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", "--signed-votes", today="2026-01-01").code == 0
    for name in ("Bo", "Cy"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    assert pot(db, "--as", "Bo", "propose", "0.01", "--purpose", "a stamp").code == 0
    refused(db, "--as", "Bo", "vote", "1", "agree", code=1, says="takes signed votes only")
    assert pot(db, "--as", "Bo", "key", "new").code == 0
    refused(db, "--as", "Bo", "vote", "1", "agree", "--no-sign", code=1, says="takes signed votes only")
    for who in ("Ana", "Bo", "Cy"):
        assert pot(db, "--as", who, "key", "new").code == 0
        assert pot(db, "--as", who, "vote", "1", "agree").code == 0, who
    assert pot(db, "proposal", "1", "--json").json()["status"] == "approved"


# --------------------------------------------------------------------------- the ledger API a browser calls
@pytest.fixture
def keyed(crew: Path) -> Iterator[tuple[Path, Ledger]]:
    """The crew with Bo's key (private(1)) registered through the API, as a browser would."""
    ledger = Ledger(resolve(str(crew)))
    bo = private(1)
    ledger.add_key("crew", "Bo", public_key_text(bo), proof(bo, "crew", "Bo"), TODAY)
    yield crew, ledger
    ledger.close()


def bo_signs_vote(seen: str, *, position: str = "agree", proposal_no: int = 1) -> Signature:
    fields = signed_fields("vote_cast", {"proposal_no": proposal_no, "position": position, "reason": ""}, 2)
    return signer(private(1)).signature(pot="crew", kind="vote_cast", actor="Bo", seen=seen, fields=fields)


def digests(db: Path) -> list[str]:
    return [i["digest"] for i in pot(db, "history", "--json").json()]


def test_a_browsers_signature_against_an_older_head_is_taken(keyed: tuple[Path, Ledger]) -> None:
    db, ledger = keyed
    older = digests(db)[3]  # Bo saw event 4; two more happened since
    ledger.vote(
        "crew", actor="Bo", proposal_no=1, position="agree", reason="", today=TODAY, signature=bo_signs_vote(older)
    )
    report = pot(db, "verify", "--json").json()
    assert (report["ok"], report["signed"]) == (True, 1)


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"key_id": "XYZ"}, BadInput, "16 hex digits"),
        ({"key_id": "0123456789abcdef"}, BadInput, "is not registered"),
        ({"seen": "abc"}, BadInput, "not a full digest"),
        ({"sig": "AAAA"}, BadInput, "3 bytes long"),
        ({"sig": "not base64url!"}, BadInput, "not base64url"),
        ({"seen": hashlib.sha256(b"another history").hexdigest()}, BadSignature, "not in pot 'crew'"),
        ({"position": "block"}, BadSignature, "not over this vote_cast"),
    ],
)
def test_bad_signatures_from_a_client_are_refused_and_store_nothing(
    keyed: tuple[Path, Ledger], change: dict[str, str], error: type[PotError], says: str
) -> None:
    db, ledger = keyed
    good = bo_signs_vote(digests(db)[-1], position=change.pop("position", "agree"))
    bad = good.model_copy(update=change)
    before, head_before = fingerprint(db), head(db)
    with pytest.raises(error, match=says) as raised:
        ledger.vote("crew", actor="Bo", proposal_no=1, position="agree", reason="", today=TODAY, signature=bad)
    # Exactly this class: a NotFound would be 404 on the web, where the issue says 422.
    assert type(raised.value) is error
    assert (fingerprint(db), head(db)) == (before, head_before)
    assert error.exit_code == (2 if issubclass(error, BadInput) else 1)


@pytest.mark.parametrize(
    ("public_key", "the_proof", "error", "says"),
    [
        ("A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMb", None, BadInput, "31 bytes"),
        ("!!", None, BadInput, "not base64url"),
        (None, "AAAA", BadInput, "3 bytes long"),
        (None, "by another key", BadSignature, "the proof is not key"),
    ],
)
def test_bad_keys_and_proofs_from_a_client_are_refused_and_store_nothing(
    keyed: tuple[Path, Ledger], public_key: str | None, the_proof: str | None, error: type[PotError], says: str
) -> None:
    db, ledger = keyed
    cy = private(2)
    public = public_key if public_key is not None else public_key_text(cy)
    given = proof(cy, "crew", "Cy") if the_proof is None else the_proof
    if the_proof == "by another key":
        given = proof(private(3), "crew", "Cy")
    before, head_before = fingerprint(db), head(db)
    with pytest.raises(error, match=says) as raised:
        ledger.add_key("crew", "Cy", public, given, TODAY)
    assert (fingerprint(db), head(db)) == (before, head_before)
    assert raised.value.exit_code == (2 if issubclass(error, BadInput) else 1)


def test_a_treasurer_cannot_register_a_key_for_a_member(keyed: tuple[Path, Ledger]) -> None:
    """Even with a proof the member's key made: the registration would be Ana's, not Cy's."""
    db, ledger = keyed
    cy = private(2)
    before = fingerprint(db)
    with pytest.raises(BadSignature, match="registering it for Ana"):
        ledger.add_key("crew", "Ana", public_key_text(cy), proof(cy, "crew", "Cy"), TODAY)
    assert fingerprint(db) == before


# --------------------------------------------------------------------------- forgeries in the store
def keyed_crew(*, signed_votes: bool = True) -> tuple[Pot, dict[str, Signer]]:
    """Ana (treasurer), Bo, Cy, Dee, each with a key; 500.00 from Bo; proposals 1 (by Bo) and 2 (by Cy) open."""
    crew = Pot.open(
        slug="p",
        name="P",
        currency="EUR",
        digits=2,
        quorum=Decimal("0.5"),
        voting_days=7,
        treasurer="Ana",
        today=DAY,
        signed_votes=signed_votes,
    )
    for name in ("Bo", "Cy", "Dee"):
        crew.add_member(actor="Ana", name=name, treasurer=False, today=DAY)
    signers = {}
    for name, n in KEYS.items():
        crew.add_key(actor=name, public_key=public_key_text(private(n)), proof=proof(private(n), "p", name), today=DAY)
        signers[name] = signer(private(n))
    crew.contribute(actor="Ana", member="Bo", amount_minor=50_000, on=DAY, today=DAY, signature=signers["Ana"])
    for who in ("Bo", "Cy"):
        crew.propose(
            actor=who, amount_minor=100, purpose="tea", recipient=None, closes=None, today=DAY, signature=signers[who]
        )
    return crew, signers


def vote_signature(crew: Pot, by: Signer, actor: str, seen: str | None = None, **fields: Any) -> Signature:
    fields = {"proposal_no": 1, "position": "agree", "reason": "", **fields}
    return by.signature(
        pot=crew.slug,
        kind="vote_cast",
        actor=actor,
        seen=seen or crew.state.head,
        fields=signed_fields("vote_cast", fields, crew.state.digits),
    )


def forge_vote(crew: Pot, actor: str, signature: Signature | None, **fields: Any) -> int:
    """A vote appended with the chain computed as `pot` would, and no guard asked."""
    fields = {"proposal_no": 1, "position": "agree", "reason": "", **fields}
    crew._emit(VoteCast, actor=actor, on=DAY, member=actor, signature=signature, **fields)
    return crew.version


def pledge_fields(**fields: Any) -> dict[str, Any]:
    """Cy's pledge of 5% from February, as `set_pledge` stores it, with `fields` changed."""
    return {"member": "Cy", "kind": "percent", "percent": "5", "monthly_minor": None, "from_month": "2026-02", **fields}


def pledge_signature(crew: Pot, by: Signer, actor: str, **fields: Any) -> Signature:
    signed = signed_fields("pledge_set", pledge_fields(**fields), crew.state.digits)
    return by.signature(pot=crew.slug, kind="pledge_set", actor=actor, seen=crew.state.head, fields=signed)


def forge_pledge(crew: Pot, actor: str, signature: Signature | None, **fields: Any) -> int:
    """A pledge appended with the chain computed as `pot` would, and no guard asked."""
    crew._emit(PledgeSet, actor=actor, on=DAY, signature=signature, **pledge_fields(**fields))
    return crew.version


FORGERIES = (
    "unsigned, where votes must be signed",
    "signed with another member's key",
    "position changed after signing",
    "reason changed after signing",
    "proposal number changed after signing",
    "replayed onto another proposal",
    "signed with a key revoked before",
    "signed with a key after its revocation",
    "seen a digest not in the chain",
    "pledge changed after signing",
    "pledge signed by a treasurer for another member",
)


def forge(crew: Pot, signers: dict[str, Signer], kind: str) -> int:
    match kind:
        case "unsigned, where votes must be signed":
            return forge_vote(crew, "Cy", None)
        case "signed with another member's key":
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Bo"], "Cy"))
        case "position changed after signing":
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Cy"], "Cy"), position="block")
        case "reason changed after signing":
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Cy"], "Cy"), reason="I was told to")
        case "proposal number changed after signing":
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Cy"], "Cy"), proposal_no=2)
        case "replayed onto another proposal":
            crew.vote(actor="Cy", proposal_no=1, position="agree", reason="", today=DAY, signature=signers["Cy"])
            replayed = crew.pending_events[-1]
            assert isinstance(replayed, VoteCast)
            return forge_vote(crew, "Cy", replayed.signature, proposal_no=2)
        case "signed with a key revoked before":
            key_id = signers["Cy"].key_id
            signature = vote_signature(crew, signers["Cy"], "Cy")  # made while the key was in force
            crew.revoke_key(actor="Cy", key_id=key_id, today=DAY)
            return forge_vote(crew, "Cy", signature)
        case "signed with a key after its revocation":
            # The key's holder (a stolen laptop) signs after Cy revoked it, having seen the revocation.
            crew.revoke_key(actor="Cy", key_id=signers["Cy"].key_id, today=DAY)
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Cy"], "Cy"))
        case "seen a digest not in the chain":
            elsewhere = hashlib.sha256(b"a history shown to Cy alone").hexdigest()
            return forge_vote(crew, "Cy", vote_signature(crew, signers["Cy"], "Cy", seen=elsewhere))
        case "pledge changed after signing":
            return forge_pledge(crew, "Cy", pledge_signature(crew, signers["Cy"], "Cy"), percent="50")
        case "pledge signed by a treasurer for another member":
            # Ana may set Cy's pledge, but her signature cannot stand for Cy's word.
            return forge_pledge(crew, "Ana", pledge_signature(crew, signers["Ana"], "Ana"))
    raise AssertionError(kind)


def write_history(path: Path, crew: Pot) -> None:
    ledger = Ledger(resolve(str(path)))
    try:
        ledger.app.save(crew)
    finally:
        ledger.close()


@pytest.mark.parametrize("kind", FORGERIES)
def test_verify_names_every_forged_vote_in_the_store_and_in_its_export(tmp_path: Path, kind: str) -> None:
    crew, signers = keyed_crew()
    bad = forge(crew, signers, kind)
    # Lawful, signed events after it are still checked and counted.
    crew.vote(actor="Dee", proposal_no=2, position="agree", reason="", today=DAY, signature=signers["Dee"])
    store = tmp_path / "forged.sqlite"
    write_history(store, crew)
    report = pot(store, "verify", "--json")
    assert report.code == 1, report.out
    found = report.json()
    assert (found["ok"], found["first_bad"], found["why"], found["bad_signatures"]) == (False, bad, "signature", [bad])
    assert f"event {bad} has a bad signature" in pot(store, "verify").err
    exported = tmp_path / "forged.jsonl"
    assert pot(store, "export", "-o", str(exported)).code == 0
    offline = pot(store, "verify", "--file", str(exported), "--json")
    assert offline.code == 1
    assert {k: offline.json()[k] for k in ("first_bad", "why", "bad_signatures", "signed")} == {
        "first_bad": bad,
        "why": "signature",
        "bad_signatures": [bad],
        "signed": found["signed"],
    }
    # An import refuses it, naming the line, and leaves no store behind.
    elsewhere = tmp_path / "elsewhere.sqlite"
    refused(elsewhere, "import", "--format", "jsonl", str(exported), code=1, says=f"(event {bad})")
    assert not elsewhere.exists()


def test_an_unsigned_vote_forged_into_a_signed_votes_pot_is_not_counted() -> None:
    crew, signers = keyed_crew()
    forge_vote(crew, "Cy", None, position="block")
    assert "Cy" not in crew.state.proposals[1].votes
    crew.vote(actor="Cy", proposal_no=1, position="agree", reason="", today=DAY, signature=signers["Cy"])
    assert crew.state.proposals[1].votes["Cy"] == "agree"


def test_a_history_exported_before_keys_verifies_and_imports_unchanged(tmp_path: Path) -> None:
    """Old events load without a signature and keep their digests: no `signature: null` enters the chain."""
    exported = tmp_path / "before-keys.jsonl"
    exported.write_text("".join(line + "\n" for line in BEFORE_KEYS), encoding="utf-8")
    last = json.loads(BEFORE_KEYS[-1])["digest"]
    offline = pot(tmp_path / "unused.sqlite", "verify", "--file", str(exported), "--json").json()
    assert {k: offline[k] for k in ("ok", "head", "signed", "unsigned", "bad_signatures")} == {
        "ok": True,
        "head": last[:16],
        "signed": 0,
        "unsigned": 9,
        "bad_signatures": [],
    }
    store = tmp_path / "before-keys.sqlite"
    assert pot(store, "import", "--format", "jsonl", str(exported)).code == 0
    report = pot(store, "verify", "--json").json()
    assert (report["ok"], report["head"]) == (True, last[:16])
    again = tmp_path / "again.jsonl"
    assert pot(store, "export", "--format", "jsonl", "-o", str(again)).code == 0
    assert again.read_text(encoding="utf-8").splitlines() == list(BEFORE_KEYS)


# --------------------------------------------------------------------------- property
TEXT = st.text(alphabet="abcxyz ÇéüΩ漢-", min_size=1, max_size=12).filter(lambda t: t.strip() != "")
KIND = st.sampled_from([cls.TYPE for cls in SIGNABLE_EVENTS])


def mirror_of(events: list[Any]) -> tuple[Pot, dict[str, int]]:
    """The pot an import builds from these events, and each digest's event number."""
    built: Pot | None = None
    seen: dict[str, int] = {}
    for event in events:
        built = follow(built, event, seen=seen.get)
        seen[built.state.head] = built.version
    assert built is not None
    return built, seen


def one_signed(crew: Pot, signers: dict[str, Signer], kind: str, who: str, text: str) -> PotEvent:
    """Record one signed event of this kind through its command; the event."""
    today = DAY + timedelta(days=1)
    match kind:
        case "vote_cast":
            crew.vote(actor=who, proposal_no=2, position="disagree", reason=text, today=today, signature=signers[who])
        case "withdrawal_proposed":
            crew.propose(
                actor=who,
                amount_minor=77,
                purpose=text,
                recipient=None,
                closes=None,
                today=today,
                signature=signers[who],
            )
        case "reflection_noted":
            crew.reflect(actor=who, event_no=3, feeling="glad", note=text, today=today, signature=signers[who])
        case "contribution_recorded":
            crew.contribute(
                actor="Ana",
                member=who,
                amount_minor=1234,
                on=DAY,
                today=today,
                note=text,
                ref=text,
                signature=signers["Ana"],
            )
        case "contribution_reversed":
            crew.reverse(actor="Ana", contribution_no=10, reason=text, today=today, signature=signers["Ana"])
        case "withdrawal_paid":
            for voter in ("Ana", "Bo", "Cy", "Dee"):
                crew.vote(actor=voter, proposal_no=1, position="agree", reason="", today=DAY, signature=signers[voter])
            crew.pay(actor="Ana", proposal_no=1, today=today, signature=signers["Ana"])
        case "pledge_set":
            # A monthly pledge: its percent is None, which the message holds as "".
            crew.set_pledge(
                actor=who,
                member=who,
                percent=None,
                monthly_minor=100 * len(text) + 1,
                from_month="2026-03",
                today=today,
                signature=signers[who],
            )
    return next(e for e in events_of(crew) if kind == e.TYPE)


def events_of(crew: Pot) -> list[PotEvent]:
    """The pot's events not yet saved, as the pot events they are."""
    found = [e for e in crew.pending_events if isinstance(e, PotEvent)]
    assert len(found) == len(crew.pending_events)
    return found


def changed(value: Any, at: int) -> Any:
    """The value with one character (or the number, or the day) different."""
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, date):
        return value - timedelta(days=1)
    text = str(value)
    if not text:
        return "x"
    i = at % len(text)
    return text[:i] + ("a" if text[i] != "a" else "b") + text[i + 1 :]


SIGNED_ATTRIBUTES = {
    "vote_cast": ("proposal_no", "position", "reason"),
    "withdrawal_proposed": ("amount_minor", "purpose", "recipient", "closes"),
    "reflection_noted": ("event_no", "feeling", "note"),
    "contribution_recorded": ("member", "amount_minor", "on", "note", "ref"),
    "contribution_reversed": ("contribution_no", "reason"),
    "withdrawal_paid": ("proposal_no",),
    "pledge_set": ("member", "kind", "percent", "monthly_minor", "from_month"),
}


@settings(max_examples=60, deadline=None)
@given(kind=KIND, who=st.sampled_from(["Bo", "Cy", "Dee"]), text=TEXT, what=st.integers(0, 99), at=st.integers(0, 99))
def test_signing_then_verifying_accepts_and_any_one_change_is_detected(
    kind: str, who: str, text: str, what: int, at: int
) -> None:
    """Property: a signed event checks; changing one character of a signed field, the actor or any part of the
    signature makes it fail."""
    crew, signers = keyed_crew(signed_votes=False)
    before, seen = mirror_of(list(crew.collect_events()))
    event = one_signed(crew, signers, kind, who, text)
    # What happened before it (the votes before a payout) is folded first.
    pending = events_of(crew)
    for earlier in pending[: pending.index(event)]:
        before = follow(before, earlier, seen=seen.get)
        seen[before.state.head] = before.version
    check_signature(before, event, seen.get)
    signature = getattr(event, "signature", None)
    assert isinstance(signature, Signature)
    targets = [*SIGNED_ATTRIBUTES[kind], "actor", "key_id", "seen", "sig"]
    target = targets[what % len(targets)]
    if target in ("key_id", "seen", "sig"):
        tampered = event.model_copy(
            update={"signature": signature.model_copy(update={target: changed(getattr(signature, target), at)})}
        )
    else:
        tampered = event.model_copy(update={target: changed(getattr(event, target), at)})
    with pytest.raises(PotError):
        check_signature(before, tampered, seen.get)


# --------------------------------------------------------------------------- each rule once
SIGNATURE_REFUSALS = (
    "unsigned, where votes must be signed",
    "signed with another member's key",
    "position changed after signing",
    "signed with a key revoked before",
    "an unknown key",
    "a signature of the wrong length",
)


@pytest.mark.parametrize("kind", SIGNATURE_REFUSALS)
def test_a_bad_signature_is_refused_alike_by_the_command_and_by_the_imports_checks(kind: str) -> None:
    """The command's refusal and the import's (domain.lawful.check_follows) are one rule, in the same words."""
    crew, signers = keyed_crew()
    crew.collect_events()
    signature: Signature | None = vote_signature(crew, signers["Cy"], "Cy")
    position = "agree"
    match kind:
        case "unsigned, where votes must be signed":
            signature = None
        case "signed with another member's key":
            signature = vote_signature(crew, signers["Bo"], "Cy")
        case "position changed after signing":
            position = "abstain"
        case "signed with a key revoked before":
            crew.revoke_key(actor="Cy", key_id=signers["Cy"].key_id, today=DAY)
            crew.collect_events()
            signature = vote_signature(crew, signers["Cy"], "Cy")
        case "an unknown key":
            signature = vote_signature(crew, signer(private(7)), "Cy")
        case "a signature of the wrong length":
            assert signature is not None
            signature = signature.model_copy(update={"sig": signature.sig[:-4]})
    with pytest.raises(PotError) as by_command:
        crew.vote(actor="Cy", proposal_no=1, position=position, reason="", today=DAY, signature=signature)
    assert crew.pending_events == []
    event = VoteCast(
        originator_id=crew.id,
        originator_version=crew.version + 1,
        timestamp=VoteCast.create_timestamp(),
        actor="Cy",
        on=DAY,
        prev=crew.state.head,
        proposal_no=1,
        member="Cy",
        position=position,
        reason="",
        signature=signature,
    )
    with pytest.raises(PotError) as by_import:
        check_follows(crew, event)
    assert (type(by_import.value), str(by_import.value)) == (type(by_command.value), str(by_command.value))


def test_a_signature_against_an_older_head_is_found_in_either_store(store_url: str) -> None:
    """The ledger finds `seen` among the pot's digests on SQLite and PostgreSQL alike; one from nowhere is refused."""
    assert pot(store_url, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    assert pot(store_url, "--as", "Ana", "member", "add", "Bo", today="2026-01-01").code == 0
    assert pot(store_url, "--as", "Bo", "propose", "1", "--purpose", "ink").code == 0
    ledger = Ledger(resolve(store_url))
    try:
        bo = private(1)
        ledger.add_key("crew", "Bo", public_key_text(bo), proof(bo, "crew", "Bo"), TODAY)
        older = pot(store_url, "history", "--json").json()[1]["digest"]
        before = fingerprint(store_url)
        with pytest.raises(BadSignature, match="not in pot 'crew'"):
            ledger.vote(
                "crew",
                actor="Bo",
                proposal_no=1,
                position="agree",
                reason="",
                today=TODAY,
                signature=bo_signs_vote(hashlib.sha256(older.encode()).hexdigest()),
            )
        assert fingerprint(store_url) == before
        ledger.vote(
            "crew", actor="Bo", proposal_no=1, position="agree", reason="", today=TODAY, signature=bo_signs_vote(older)
        )
    finally:
        ledger.close()
    report = pot(store_url, "verify", "--json").json()
    assert (report["ok"], report["signed"], report["bad_signatures"]) == (True, 1, [])
