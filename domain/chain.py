"""The hash chain: each event's digest commits to the event before it.

The digest is SHA-256 over a canonical JSON record of the event (number, type,
timestamp, business date, actor, payload and the previous digest), so anyone
with an export can recompute the chain without our database or code paths.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

# The digest before event 1: 64 zeros, so event 1's `prev` is well defined.
GENESIS = "0" * 64
# Characters of the head digest a member writes down; 64 bits is plenty for one pot.
SHORT = 16
# The fewest characters of a digest that `verify --digest` accepts: 48 bits, so no one can make a
# different history that starts the same way by trying (32 bits, 8 characters, could be brute-forced).
MIN_PREFIX = 12
# A digest is the hex SHA-256 of a chain record: 64 characters at most.
FULL = 64


def iso_at(timestamp: datetime) -> str:
    """The recording timestamp in one fixed ISO form (UTC, microseconds)."""
    return timestamp.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_record(
    *, no: int, type_: str, at: str, on: str, actor: str, prev: str, fields: dict[str, Any]
) -> dict[str, Any]:
    return {"no": no, "type": type_, "at": at, "on": on, "actor": actor, "prev": prev, "fields": fields}


def digest(record: dict[str, Any]) -> str:
    """SHA-256 hex of the record's canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_digest(text: str) -> str:
    """A digest written down earlier: hex, long enough to name one event, lower-cased.

    A malformed digest is a typo, not evidence of tampering: it must not reach
    `verify`, whose failure (exit 1) says the history changed.
    """
    from domain.errors import BadInput

    raw = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]+", raw, re.ASCII):
        raise BadInput(f"--digest {text!r} is not a digest: use the hex characters (0-9, a-f) `pot verify` printed")
    if len(raw) < MIN_PREFIX:
        raise BadInput(f"--digest {text!r} is too short: give at least {MIN_PREFIX} hex characters")
    if len(raw) > FULL:
        raise BadInput(f"--digest {text!r} is too long: a digest has at most {FULL} hex characters")
    return raw
