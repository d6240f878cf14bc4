"""The application API's commands on signing keys (SPEC §7), and what signs any command.

`KeyCommands` registers and revokes a member's key, and holds the `keyring` a
front end sets (`Keyring`, e.g. ledger.keys.LocalKeys for the command line).
Its `_signing` decides what signs a command that an actor may sign: a signature
made by a client that holds the key (a browser), else the keyring's key of the
actor's in force in the pot, else nothing (the event is unsigned). A base of
the other command mixins (ledger.deciding, ledger.commands).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol

from domain.pot import Pot
from domain.signing import Signature, Signer, b64url, proof_message
from ledger.results import Recorded, stored_events

if TYPE_CHECKING:
    from ledger.app import LedgerBase as _Base
else:
    _Base = object


class Keyring(Protocol):
    """The private keys a front end holds on this machine (ledger.keys.LocalKeys for the command line)."""

    def signer(self, slug: str, member: str, active: list[str]) -> Signer | None:
        """The key to sign with for `member` in pot `slug`, given their keys in force there (oldest first)."""
        ...


class KeyCommands(_Base):
    """Commands on keys, and what signs a command. Mixed into `ledger.app.Ledger` through `Commands`."""

    keyring: Keyring | None = None

    def add_key(
        self, slug: str, actor: str, public_key: str, proof: str | Callable[[bytes], bytes], today: date
    ) -> Recorded:
        """Register a key for `actor`, who registers only for themself; `proof` is the key's signature over
        `domain.signing.proof_message`, or a function that makes it (the actor's name as the pot stores it)."""

        def decide(pot: Pot) -> Recorded:
            given = proof
            if callable(given):
                name = pot.current_member(actor).name
                given = b64url(given(proof_message(pot=pot.slug, actor=name, public_key=public_key)))
            no = pot.add_key(actor=actor, public_key=public_key, proof=given, today=today)
            return Recorded(no, pot.current_member(actor).name, events=stored_events(pot))

        return self.change(slug, decide)

    def revoke_key(self, slug: str, *, actor: str, key_id: str, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.revoke_key(actor=actor, key_id=key_id, today=today)
            return Recorded(no, pot.current_member(actor).name, events=stored_events(pot))

        return self.change(slug, decide)

    def _signing(self, pot: Pot, actor: str, given: Signature | None) -> tuple[Signature | Signer | None, int | None]:
        """What signs a command, and the number of the event its `seen` names (None: not in the chain)."""
        if given is not None:
            return given, self._seen_no(pot, given.seen)
        member = pot.find_member(actor)
        if self.keyring is None or member is None:
            return None, None  # Unsigned; a non-member is refused by the command's own guard.
        active = [k for k, key in pot.state.keys.items() if key.member == member.name and key.revoked is None]
        return self.keyring.signer(pot.slug, member.name, active), None

    def _seen_no(self, pot: Pot, seen: str) -> int | None:
        """The number of the pot's event with digest `seen`, if it is in the chain so far."""
        from sqlalchemy import select

        from projections.tables import history

        if seen == pot.state.head:
            return pot.version
        query = select(history.c.no).where(
            history.c.slug == pot.slug, history.c.digest == seen, history.c.no <= pot.version
        )
        for attempt in range(2):
            with self.reader.begin() as conn:
                found = conn.execute(query).scalar_one_or_none()
            if found is not None or attempt:
                return None if found is None else int(found)
            self.catch_up()  # The views may not have folded what another process stored.
        return None
