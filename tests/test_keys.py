"""Member keys (SPEC §7): the README's test vector, registering and revoking keys, and `pot key`.

Every refused command leaves the store exactly as it was (`refused` compares its
fingerprint), and the import's checks refuse a forged key event with the same
words as the command (each rule once).
"""

from __future__ import annotations

import re
import stat
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import signing
from domain.errors import BadInput, NotAuthorized, NotFound, PotError, Refused
from domain.events import MemberKeyAdded, MemberKeyRevoked, PotEvent
from domain.lawful import check_follows
from domain.pot import Pot
from domain.state import PotState
from ledger.app import Ledger
from ledger.keys import key_dir, public_key_text, registered_keys
from ledger.store import resolve
from tests.conftest import pot, refused

README = Path(__file__).resolve().parent.parent / "README.md"
DAY = date(2026, 1, 1)


def private(n: int) -> Ed25519PrivateKey:
    """A fixed key per number, so failures reproduce."""
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def proof(key: Ed25519PrivateKey, slug: str, actor: str) -> str:
    return signing.b64url(key.sign(signing.proof_message(pot=slug, actor=actor, public_key=public_key_text(key))))


@pytest.fixture(autouse=True)
def keys_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Key files go to a data directory of the test's own, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


# --------------------------------------------------------------------------- the README's test vector
def vector() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- test vector: read by tests/test_keys.py -->", 1)[1].split("```text\n", 1)[1]
    block = block.split("```", 1)[0]
    found: dict[str, str] = {}
    for line in block.strip().splitlines():
        name, value = line.split(":", 1)
        found[name] = value.strip()
    return found


def test_the_readmes_test_vector_is_what_the_code_computes() -> None:
    v = vector()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed"]))
    assert public_key_text(key) == v["public_key"]
    assert signing.key_id_of(signing.parse_public_key(v["public_key"])) == v["key_id"]
    seen = re.search(r'"seen":"([0-9a-f]{64})"', v["message"]).group(1)  # type: ignore[union-attr]
    fields = signing.signed_fields("vote_cast", {"proposal_no": 3, "position": "agree", "reason": "Ça ira"}, 2)
    built = signing.message(pot="maastricht-crew", kind="vote_cast", actor="Bo", seen=seen, fields=fields)
    assert built == v["message"].encode("utf-8")
    assert signing.b64url(key.sign(built)) == v["sig"]
    assert signing.verifies(v["public_key"], built, v["sig"])
    proof_for = signing.proof_message(pot="maastricht-crew", actor="Bo", public_key=v["public_key"])
    assert proof_for == v["proof_for"].encode("utf-8")
    assert signing.verifies(v["public_key"], proof_for, v["proof"])
    # The README's addition to SPEC §7: Bo's own pledge of 25.00 a month, as the pot records it.
    stored = {"member": "Bo", "kind": "monthly", "percent": None, "monthly_minor": 2500, "from_month": "2026-03"}
    pledge = signing.message(
        pot="maastricht-crew",
        kind="pledge_set",
        actor="Bo",
        seen=seen,
        fields=signing.signed_fields("pledge_set", stored, 2),
    )
    assert pledge == v["pledge"].encode("utf-8")
    assert signing.b64url(key.sign(pledge)) == v["pledge_sig"]


def test_the_message_is_sorted_compact_json_with_characters_as_themselves() -> None:
    fields = signing.signed_fields(
        "withdrawal_proposed",
        {"amount_minor": 12_050, "purpose": "Thé", "recipient": "Bo", "closes": date(2026, 3, 8)},
        2,
    )
    built = signing.message(pot="p", kind="withdrawal_proposed", actor="Bo", seen="0" * 64, fields=fields)
    assert built.decode() == (
        '{"actor":"Bo","amount":"120.50","closes":"2026-03-08","pot":"p","purpose":"Thé","recipient":"Bo",'
        f'"seen":"{"0" * 64}","type":"withdrawal_proposed"}}'
    )
    # A contribution's absent ref and note are "", its amount has the currency's digits (JPY: none).
    fields = signing.signed_fields(
        "contribution_recorded", {"member": "Cy", "amount_minor": 500, "on": "2026-01-02", "note": "", "ref": None}, 0
    )
    assert fields == {"member": "Cy", "amount": "500", "on": "2026-01-02", "note": "", "ref": ""}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", "not base64url"),
        ("A6EHv+POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", "not base64url"),
        ("A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMb", "31 bytes"),
        ("A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbh", "canonical"),
        ("", "0 bytes"),
        ("é" * 43, "not base64url"),
    ],
)
def test_a_malformed_public_key_is_bad_input(text: str, says: str) -> None:
    with pytest.raises(BadInput, match=says):
        signing.parse_public_key(text)


# --------------------------------------------------------------------------- the domain's rules
def opened() -> Pot:
    crew = Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
    )
    for name in ("Bo", "Cy"):
        crew.add_member(actor="Ana", name=name, treasurer=False, today=DAY)
    return crew


def forged(crew: Pot, cls: type[PotEvent], actor: str, **fields: Any) -> PotEvent:
    return cls(
        originator_id=crew.id,
        originator_version=crew.version + 1,
        timestamp=datetime.now(UTC),
        actor=actor,
        on=DAY,
        prev=crew.state.head,
        **fields,
    )


def refused_alike(crew: Pot, command: Any, event: PotEvent) -> PotError:
    """The command is refused; the import's checks refuse the event it would record alike (each rule once)."""
    with pytest.raises(PotError) as by_command:
        command()
    assert crew.pending_events == [] or all(e.originator_version <= crew.version for e in crew.pending_events)
    with pytest.raises(PotError) as by_import:
        check_follows(crew, event)
    assert (type(by_import.value), str(by_import.value)) == (type(by_command.value), str(by_command.value))
    return by_command.value


def test_a_member_registers_a_key_for_themself_and_the_import_accepts_it() -> None:
    crew = opened()
    bo = private(1)
    crew.collect_events()
    crew.add_key(actor="bo", public_key=public_key_text(bo), proof=proof(bo, "p", "Bo"), today=DAY)
    (added,) = crew.collect_events()
    assert isinstance(added, MemberKeyAdded)
    assert (added.member, added.key_id) == ("Bo", signing.key_id_of(signing.parse_public_key(added.public_key)))
    assert crew.state.keys[added.key_id].member == "Bo"


def test_a_key_is_registered_only_by_its_member_with_its_proof_and_once() -> None:
    crew = opened()
    bo, other = private(1), private(2)
    public = public_key_text(bo)
    # A treasurer registering Bo's key (with Bo's proof, even) is not Bo registering it.
    as_ana = forged(
        crew, MemberKeyAdded, "Ana", member="Bo", key_id="0" * 16, public_key=public, proof=proof(bo, "p", "Bo")
    )
    with pytest.raises(NotAuthorized, match="only for themself"):
        check_follows(crew, as_ana)
    # A proof by another key, or over another member's registration, is no proof.
    for wrong in (proof(other, "p", "Bo"), proof(bo, "p", "Cy"), proof(bo, "other-pot", "Bo")):
        key_id = signing.key_id_of(signing.parse_public_key(public))
        event = forged(crew, MemberKeyAdded, "Bo", member="Bo", key_id=key_id, public_key=public, proof=wrong)
        error = refused_alike(
            crew, lambda w=wrong: crew.add_key(actor="Bo", public_key=public, proof=w, today=DAY), event
        )
        assert isinstance(error, signing.BadSignature)
    crew.add_key(actor="Bo", public_key=public, proof=proof(bo, "p", "Bo"), today=DAY)
    crew.collect_events()
    key_id = signing.key_id_of(signing.parse_public_key(public))
    again = forged(
        crew, MemberKeyAdded, "Bo", member="Bo", key_id=key_id, public_key=public, proof=proof(bo, "p", "Bo")
    )
    error = refused_alike(
        crew, lambda: crew.add_key(actor="Bo", public_key=public, proof=proof(bo, "p", "Bo"), today=DAY), again
    )
    assert isinstance(error, Refused)
    assert "registered already (event 5)" in str(error)


def test_a_key_is_revoked_only_by_its_member_once() -> None:
    crew = opened()
    bo = private(1)
    crew.add_key(actor="Bo", public_key=public_key_text(bo), proof=proof(bo, "p", "Bo"), today=DAY)
    key_id = signing.key_id_of(signing.parse_public_key(public_key_text(bo)))
    crew.collect_events()
    by_ana = forged(crew, MemberKeyRevoked, "Ana", member="Bo", key_id=key_id)
    error = refused_alike(crew, lambda: crew.revoke_key(actor="Ana", key_id=key_id, today=DAY), by_ana)
    assert isinstance(error, NotAuthorized)
    unknown = forged(crew, MemberKeyRevoked, "Bo", member="Bo", key_id="0123456789abcdef")
    error = refused_alike(crew, lambda: crew.revoke_key(actor="Bo", key_id="0123456789abcdef", today=DAY), unknown)
    assert isinstance(error, NotFound)
    crew.revoke_key(actor="Bo", key_id=key_id, today=DAY)
    (revoked,) = crew.collect_events()
    assert crew.state.keys[key_id].revoked == revoked.originator_version
    twice = forged(crew, MemberKeyRevoked, "Bo", member="Bo", key_id=key_id)
    error = refused_alike(crew, lambda: crew.revoke_key(actor="Bo", key_id=key_id, today=DAY), twice)
    assert "revoked already" in str(error)


def test_a_state_without_keys_hashes_as_before_keys_existed() -> None:
    """Snapshots taken before SPEC §7 keep matching their stored hash: the new fields stay out of it at default."""
    import hashlib
    import json

    state = opened().state
    data = state.model_dump(mode="json")
    # `payouts` (SPEC §8) is later still, and likewise out of the hash while no money came back.
    for name in ("keys", "signed_votes", "payouts"):
        del data[name]
    for name in ("reversed_nos", "reflection_nos"):
        data[name] = sorted(data[name])
    old = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    assert state.digest() == old.hexdigest()
    # An older snapshot's state, without the fields, still reads.
    assert PotState.model_validate(data).digest() == state.digest()


# --------------------------------------------------------------------------- `pot key` on the command line
@pytest.fixture
def signing_crew(db: Path) -> Path:
    """Ana (treasurer), Bo, Cy in pot 'crew'."""
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    return db


def test_key_new_writes_a_file_only_its_user_reads_and_registers_it(signing_crew: Path) -> None:
    made = pot(signing_crew, "--as", "bo", "key", "new", "--json")
    assert made.code == 0, made.err
    info = made.json()
    path = Path(info["file"])
    assert path.parent == key_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (info["member"], info["no"]) == ("Bo", 5)
    ledger = Ledger(resolve(str(signing_crew)))
    try:
        (registered,) = registered_keys(ledger, "crew", "Bo")
    finally:
        ledger.close()
    assert (registered.key_id, registered.public_key) == (info["key_id"], info["public_key"])
    # The private key is in the file, and nowhere in the store or its export.
    secret = path.read_text()
    assert "PRIVATE KEY" in secret
    raw = signing_crew.read_bytes()
    body = "".join(secret.splitlines()[1:-1]).encode()
    assert body not in raw
    exported = signing_crew.with_suffix(".jsonl")
    assert pot(signing_crew, "export", "-o", str(exported)).code == 0
    assert body.decode() not in exported.read_text()
    shown = pot(signing_crew, "--as", "Bo", "key", "show", "--json")
    assert shown.json() == [
        {
            "key_id": info["key_id"],
            "public_key": info["public_key"],
            "file": str(path),
            "status": "in force for Bo (event 5)",
        }
    ]


def test_key_new_into_a_file_that_exists_is_refused_and_nothing_is_stored(signing_crew: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken.key"
    taken.write_text("something precious")
    refused(signing_crew, "--as", "Bo", "key", "new", "--file", str(taken), code=2, says="exists already")
    assert taken.read_text() == "something precious"


def test_key_new_for_a_stranger_is_refused_and_leaves_no_key_file(signing_crew: Path, tmp_path: Path) -> None:
    target = tmp_path / "zed.key"
    refused(signing_crew, "--as", "Zed", "key", "new", "--file", str(target), code=2, says="not a member")
    assert not target.exists()
    assert not key_dir().exists() or not list(key_dir().iterdir())


def test_key_revoke_by_its_member_only(signing_crew: Path) -> None:
    key_id = pot(signing_crew, "--as", "Bo", "key", "new", "--json").json()["key_id"]
    refused(signing_crew, "--as", "Ana", "key", "revoke", key_id, code=1, says="only Bo may revoke")
    refused(signing_crew, "--as", "Bo", "key", "revoke", "0123456789abcdef", code=2, says="there is no key")
    refused(signing_crew, "--as", "Bo", "key", "revoke", "not-a-key", code=2, says="16 hex digits")
    done = pot(signing_crew, "--as", "Bo", "key", "revoke", key_id.upper())
    assert done.code == 0, done.err
    assert f"revoked key {key_id} of Bo (event 6)" in done.out
    refused(signing_crew, "--as", "Bo", "key", "revoke", key_id, code=1, says="revoked already")
    status = pot(signing_crew, "--as", "Bo", "key", "show", "--json").json()[0]["status"]
    assert status == "revoked (event 6)"


def test_a_key_file_that_is_not_a_key_is_refused_clearly(signing_crew: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.key"
    junk.write_text("hello")
    refused(signing_crew, "--as", "Bo", "--key", str(junk), "key", "show", code=2, says="does not hold a private key")
    refused(signing_crew, "--as", "Bo", "--key", str(tmp_path / "none.key"), "key", "show", code=2, says="cannot read")


def test_key_show_without_a_key_says_how_to_make_one(signing_crew: Path) -> None:
    shown = pot(signing_crew, "--as", "Cy", "key", "show")
    assert shown.code == 0
    assert "key new" in shown.out


def test_history_names_key_events_and_who_signed(signing_crew: Path) -> None:
    key_id = pot(signing_crew, "--as", "Bo", "key", "new", "--json").json()["key_id"]
    assert pot(signing_crew, "--as", "Bo", "propose", "10", "--purpose", "tea").code == 0
    assert pot(signing_crew, "--as", "Cy", "propose", "5", "--purpose", "ink").code == 0
    text = pot(signing_crew, "history").out
    assert f"Bo registered signing key {key_id}" in text
    assert f"(signed with key {key_id})" in text
    # The report shows the same: Bo's proposal with his key's id, Cy's (who has no key) as unsigned.
    out = signing_crew.parent / "report.html"
    assert pot(signing_crew, "report", "-o", str(out)).code == 0
    rows = re.findall(r'data-label="What happened">([^<]*)<', out.read_text("utf-8"))
    assert f"Bo proposed 10.00 for tea (proposal 1) (signed with key {key_id})" in rows
    assert "Cy proposed 5.00 for ink (proposal 2) (unsigned)" in rows
    # A member joining is no event anyone signs: neither signed nor unsigned.
    assert "Ana added Bo" in rows


def test_the_chain_head_a_client_signs_against_is_the_newest_events_full_digest(signing_crew: Path) -> None:
    from ledger.keys import chain_head

    ledger = Ledger(resolve(str(signing_crew)))
    try:
        no, digest = chain_head(ledger, "crew")
    finally:
        ledger.close()
    newest = pot(signing_crew, "history", "--json").json()[-1]
    assert (no, digest) == (newest["no"], newest["digest"])
    assert len(digest) == 64
