"""The guards of signing keys and signatures (SPEC §7): who registers and revokes a key, what a signature must be.

Guards as domain.rules describes them, called by the `Pot` commands and by the
import's checks alike; the cryptography itself is in domain.signing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from domain.errors import BadInput, NotAuthorized, NotFound, Refused
from domain.rules import Fields
from domain.signing import (
    SIGNATURE_BYTES,
    BadSignature,
    Signature,
    from_b64url,
    key_id_of,
    message,
    parse_key_id,
    parse_public_key,
    parse_signature,
    proof_message,
    signed_fields,
    verifies,
)
from domain.state import MemberState
from domain.values import name_key

if TYPE_CHECKING:
    from domain.pot import Pot


# --------------------------------------------------------------------------- keys and signatures (SPEC §7)
def key_added(pot: Pot, *, actor: str, member: str, public_key: str, proof: str) -> tuple[MemberState, Fields]:
    """A signing key registered by a member for themself, with the key's proof: the member, and the key's fields.

    Never by a treasurer for someone else: a key registered in Bo's name can only
    come from Bo, or whoever holds the store could sign in his name.
    """
    acting = pot.current_member(actor)
    who = pot.find_member(member)
    if who is None or name_key(who.name) != name_key(acting.name):
        raise NotAuthorized(f"{acting.name} may register a key only for themself: each member registers their own")
    raw = parse_public_key(public_key)
    key_id = key_id_of(raw)
    if (known := pot.state.keys.get(key_id)) is not None:
        raise Refused(f"key {key_id} is registered already (event {known.added}): a key is registered once")
    from_b64url(proof, "proof signature", SIGNATURE_BYTES)
    if not verifies(public_key, proof_message(pot=pot.slug, actor=acting.name, public_key=public_key), proof):
        raise BadSignature(
            f"the proof is not key {key_id}'s signature over registering it for {acting.name} in pot {pot.slug!r}"
        )
    return acting, {"member": acting.name, "key_id": key_id, "public_key": public_key, "proof": proof}


def key_revoked(pot: Pot, *, actor: str, key_id: str) -> tuple[MemberState, Fields]:
    """A key ended by its own member: the member, and the revocation's fields.

    Only by its member, as only they register it: a treasurer who could revoke a
    member's key could stop them voting in a pot that takes signed votes only.
    """
    acting = pot.current_member(actor)
    parse_key_id(key_id)
    key = pot.state.keys.get(key_id)
    if key is None:
        raise NotFound(f"there is no key {key_id} in pot {pot.slug!r}")
    if name_key(key.member) != name_key(acting.name):
        raise NotAuthorized(f"key {key_id} is {key.member}'s: only {key.member} may revoke it")
    if key.revoked is not None:
        raise Refused(f"key {key_id} was revoked already (event {key.revoked})")
    return acting, {"member": key.member, "key_id": key_id}


def signature(
    pot: Pot, *, kind: str, actor: str, fields: Mapping[str, Any], given: Signature | None, seen_no: int | None
) -> None:
    """Refuse an event's signature unless it is the actor's, by a key in force, over exactly this event.

    `fields` are the event's fields as the pot records them (with `on`), `actor` its
    actor's name as stored; `seen_no` is the number of the event whose digest the
    signature says it saw, as the caller found it in the chain (None: not there).
    Unsigned is fine, but for a vote in a pot with the rule `signed_votes`.
    """
    if given is None:
        if kind == "vote_cast" and pot.signed_votes_for(fields.get("proposal_no")):
            raise BadSignature(
                f"pot {pot.slug!r} takes signed votes only, and this vote is unsigned: "
                "register a key (`pot key new`) and vote with it"
            )
        return
    parse_signature(given)
    if kind == "pledge_set" and name_key(str(fields.get("member"))) != name_key(actor):
        # A pledge is the member's own word: a treasurer who sets someone else's records it unsigned.
        raise BadSignature(
            f"a pledge is signed only by the member it is about: {actor} cannot sign {fields.get('member')}'s"
        )
    key = pot.state.keys.get(given.key_id)
    if key is None:
        # Bad input (exit 2, HTTP 422), as a signature of the wrong length is: a signature this pot cannot
        # check. A key named in a URL (`keys/{key_id}/revocation`) that does not exist is NotFound (404).
        raise BadInput(f"key {given.key_id} is not registered in pot {pot.slug!r}")
    if name_key(key.member) != name_key(actor):
        raise BadSignature(f"key {given.key_id} is {key.member}'s, so it cannot sign for {actor}")
    if key.revoked is not None:
        raise BadSignature(f"key {given.key_id} was revoked (event {key.revoked}): its signatures no longer count")
    if seen_no is None or not 1 <= seen_no <= pot.version:
        raise BadSignature(
            f"the signature saw digest {given.seen[:16]}…, which is not in pot {pot.slug!r}'s history before it"
        )
    signed = message(
        pot=pot.slug, kind=kind, actor=actor, seen=given.seen, fields=signed_fields(kind, fields, pot.state.digits)
    )
    if not verifies(key.public_key, signed, given.sig):
        raise BadSignature(f"the signature by key {given.key_id} is not over this {kind} as recorded")
