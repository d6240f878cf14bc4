"""Member keys and signed events (SPEC §7): the canonical message, key ids, and Ed25519 checks.

Another implementation must be able to check a signature from the SPEC alone, so
everything a signature covers is built here, in one place: the canonical message
(`message`, `proof_message`), the fields each kind of event signs
(`signed_fields`), the key id and the base64url text form. The rules that say
whose key may sign what live in domain.rules; this module only answers "is
this the key's signature over exactly this?".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.errors import BadInput, Refused
from domain.values import format_amount

# Ed25519: a 32-byte public key, a 64-byte signature; in base64url without padding, 43 and 86 characters.
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
# A key id is the first 16 hex digits of SHA-256 of the raw public key; a `seen` digest is a full one.
KEY_ID = re.compile(r"[0-9a-f]{16}", re.ASCII)
FULL_DIGEST = re.compile(r"[0-9a-f]{64}", re.ASCII)
_B64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)

# What `seen` is checked against: the number of the event in this pot's chain with this digest, or None.
Seen = Callable[[str], int | None]


class BadSignature(Refused):
    """A signature that does not hold: not the actor's key, revoked, not over this event, or missing where required."""


class Signature(BaseModel):
    """An event's `signature` (SPEC §7): which key, the newest digest the signer saw, and the signature.

    The fields are plain text so that a stored event with a malformed signature still
    loads, and `verify` can name it; the guards check their shape (`parse_signature`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    seen: str
    sig: str


# The fields each kind of event signs, in the form the message holds them (SPEC §7), from the
# event's stored fields (`amount_minor`, dates, `ref` None…) and the pot's currency digits.
def _vote(f: Mapping[str, Any], _digits: int) -> dict[str, Any]:
    return {"proposal_no": int(f["proposal_no"]), "position": f["position"], "reason": f.get("reason") or ""}


def _proposal(f: Mapping[str, Any], digits: int) -> dict[str, Any]:
    return {
        "amount": format_amount(int(f["amount_minor"]), digits),
        "purpose": f["purpose"],
        "recipient": f["recipient"],
        "closes": _iso(f["closes"]),
    }


def _reflection(f: Mapping[str, Any], _digits: int) -> dict[str, Any]:
    return {"event_no": int(f["event_no"]), "feeling": f["feeling"], "note": f.get("note") or ""}


def _contribution(f: Mapping[str, Any], digits: int) -> dict[str, Any]:
    return {
        "member": f["member"],
        "amount": format_amount(int(f["amount_minor"]), digits),
        "on": _iso(f["on"]),
        "note": f.get("note") or "",
        "ref": f.get("ref") or "",
    }


def _reversal(f: Mapping[str, Any], _digits: int) -> dict[str, Any]:
    return {"contribution_no": int(f["contribution_no"]), "reason": f["reason"]}


def _payout(f: Mapping[str, Any], _digits: int) -> dict[str, Any]:
    return {"proposal_no": int(f["proposal_no"])}


# Not in SPEC §7's list; the README defines it beside the test vector. `percent` as the pot records it
# ("7.5", no trailing zeros), `monthly` with the currency's digits; the one the kind lacks is "".
def _pledge(f: Mapping[str, Any], digits: int) -> dict[str, Any]:
    monthly = f.get("monthly_minor")
    return {
        "member": f["member"],
        "kind": f["kind"],
        "percent": f.get("percent") or "",
        "monthly": "" if monthly is None else format_amount(int(monthly), digits),
        "from_month": f["from_month"],
    }


SIGNED_FIELDS: dict[str, Callable[[Mapping[str, Any], int], dict[str, Any]]] = {
    "vote_cast": _vote,
    "withdrawal_proposed": _proposal,
    "reflection_noted": _reflection,
    "contribution_recorded": _contribution,
    "contribution_reversed": _reversal,
    "withdrawal_paid": _payout,
    "pledge_set": _pledge,
}


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def signed_fields(kind: str, fields: Mapping[str, Any], digits: int) -> dict[str, Any]:
    """The fields an event of this kind signs, as the message holds them."""
    return SIGNED_FIELDS[kind](fields, digits)


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The UTF-8 bytes of `obj` as JSON with sorted keys, no spaces, characters as themselves."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def message(*, pot: str, kind: str, actor: str, seen: str, fields: Mapping[str, Any]) -> bytes:
    """What a signed event's `sig` is over: `{"pot","type","actor","seen"}` plus its signed fields."""
    return canonical({**fields, "pot": pot, "type": kind, "actor": actor, "seen": seen})


def proof_message(*, pot: str, actor: str, public_key: str) -> bytes:
    """What a key's `proof` is over: its registration, `{"pot","type","actor","public_key"}` (no `seen`)."""
    return canonical({"pot": pot, "type": "member_key_added", "actor": actor, "public_key": public_key})


# --------------------------------------------------------------------------- text forms
def b64url(raw: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_b64url(text: str, what: str, size: int) -> bytes:
    """Bytes from base64url without padding, exactly `size` of them, in the one canonical spelling.

    Only the canonical spelling is accepted (no padding, no stray bits in the last
    character), so one key or signature has one text form, and a changed character
    always changes the bytes.
    """
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise BadInput(f"{what} is not base64url text (A-Z, a-z, 0-9, - and _, without padding)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadInput(f"{what} is not base64url text") from None
    if len(raw) != size:
        raise BadInput(f"{what} is {len(raw)} bytes long: an Ed25519 {what.split()[-1]} has {size}")
    if b64url(raw) != text:
        raise BadInput(f"{what} is not in canonical base64url (no padding, no stray bits)")
    return raw


def key_id_of(raw_public_key: bytes) -> str:
    """The first 16 hex digits of SHA-256 of the 32-byte raw public key."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def parse_public_key(text: str) -> bytes:
    """A public key as registered: 32 bytes in canonical base64url."""
    return from_b64url(text, "public key", PUBLIC_KEY_BYTES)


def parse_key_id(text: str) -> str:
    if not isinstance(text, str) or not KEY_ID.fullmatch(text):
        raise BadInput(f"key id {text!r} is not 16 hex digits (0-9, a-f), as `pot key show` prints it")
    return text


def parse_signature(signature: Signature) -> Signature:
    """The signature if each part has its shape; BadInput naming the part otherwise."""
    parse_key_id(signature.key_id)
    if not FULL_DIGEST.fullmatch(signature.seen):
        raise BadInput(f"seen {signature.seen!r} is not a full digest (64 hex digits, 0-9, a-f)")
    from_b64url(signature.sig, "signature", SIGNATURE_BYTES)
    return signature


def verifies(public_key: str, signed: bytes, sig: str) -> bool:
    """Whether `sig` (base64url) is the Ed25519 signature of `signed` by `public_key` (base64url)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(parse_public_key(public_key))
        key.verify(from_b64url(sig, "signature", SIGNATURE_BYTES), signed)
    except (BadInput, InvalidSignature, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- signing
@dataclass(frozen=True)
class Signer:
    """A private key held by a front end: its id, and a function that signs bytes with it.

    The domain signs through it (the message needs the event's fields as the pot
    records them, and the head it is about to follow) and never sees the key itself.
    """

    key_id: str
    sign: Callable[[bytes], bytes]

    def signature(self, *, pot: str, kind: str, actor: str, seen: str, fields: Mapping[str, Any]) -> Signature:
        signed = message(pot=pot, kind=kind, actor=actor, seen=seen, fields=fields)
        return Signature(key_id=self.key_id, seen=seen, sig=b64url(self.sign(signed)))
