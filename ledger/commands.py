"""The typed commands of the application API: one method per thing a crew does.

Each method takes parsed values (names, minor units, dates), runs one
get-decide-save through `LedgerBase.change` (the manner of the eventsourcing
library's `BankAccounts.deposit_funds`), and returns a small result: the event
number, the names as the pot stores them, what was decided. The domain checks
every rule; nothing here decides anything. Front ends (`cli.py`, `web/`) call
these methods and never touch a `Pot`.

This module holds opening a pot, membership, money in, pledges, the game and
reflections; ledger.deciding the commands on proposals, ledger.key_commands
those on keys (and what signs a command), ledger.results what they return.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.errors import Refused
from domain.pot import Pot
from domain.signing import Signature
from domain.values import currency_digits
from ledger.deciding import DecidingCommands
from ledger.key_commands import KeyCommands
from ledger.results import Recorded, Removed, decisions_made, stored_events


class Commands(DecidingCommands, KeyCommands):
    """Commands that change a pot. Mixed into `ledger.app.Ledger`.

    The six commands SPEC §7 lets an actor sign, and `set_pledge` (see the README),
    take `signature`, made by a client that holds the key (a browser); without one, a `keyring` the front end set
    (the command line's key files) signs when it holds a key of the actor's in
    force in the pot, and otherwise the event is unsigned (see ledger.key_commands).
    """

    def open_pot(
        self,
        *,
        slug: str,
        name: str,
        currency: str,
        quorum: Decimal,
        voting_days: int,
        treasurer: str,
        today: date,
        signed_votes: bool = False,
    ) -> str:
        from eventsourcing.persistence import IntegrityError

        if self.exists(slug):
            raise Refused(f"a pot with slug {slug!r} already exists in this store")
        pot = Pot.open(
            slug=slug,
            name=name,
            currency=currency,
            digits=currency_digits(currency),
            quorum=quorum,
            voting_days=voting_days,
            treasurer=treasurer,
            today=today,
            signed_votes=signed_votes,
        )
        try:
            self.app.save(pot)
        except IntegrityError:
            # Deterministic ids: a conflict on create means someone opened it first.
            raise Refused(f"a pot with slug {slug!r} already exists in this store") from None
        self.catch_up()
        return slug

    # ------------------------------------------------------------------ membership
    def add_member(self, slug: str, *, actor: str, name: str, treasurer: bool, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            added = pot.add_member(actor=actor, name=name, treasurer=treasurer, today=today)
            return Recorded(pot.version, added, events=stored_events(pot))

        return self.change(slug, decide)

    def remove_member(self, slug: str, *, actor: str, name: str, today: date) -> Removed:
        def decide(pot: Pot) -> Removed:
            removed = pot.remove_member(actor=actor, name=name, today=today)
            # Leaving can complete a proposal that waited only for this member's vote.
            decided = decisions_made(pot)
            return Removed(pot.version - len(decided), removed, decided, events=stored_events(pot))

        return self.change(slug, decide)

    def change_role(self, slug: str, *, actor: str, name: str, treasurer: bool, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            changed = pot.change_role(actor=actor, name=name, treasurer=treasurer, today=today)
            return Recorded(pot.version, changed, events=stored_events(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ money in
    def contribute(
        self,
        slug: str,
        *,
        actor: str,
        member: str,
        amount_minor: int,
        on: date,
        today: date,
        note: str = "",
        ref: str | None = None,
        income_minor: int | None = None,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.contribute(
                actor=actor,
                member=member,
                amount_minor=amount_minor,
                on=on,
                today=today,
                note=note,
                ref=ref,
                income_minor=income_minor,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(member).name, events=stored_events(pot))

        return self.change(slug, decide)

    def reverse(
        self,
        slug: str,
        *,
        actor: str,
        contribution_no: int,
        reason: str,
        today: date,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.reverse(
                actor=actor,
                contribution_no=contribution_no,
                reason=reason,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(actor).name, events=stored_events(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ pledges, the game, reflection
    def set_pledge(
        self,
        slug: str,
        *,
        actor: str,
        member: str,
        percent: Decimal | None,
        monthly_minor: int | None,
        from_month: str,
        today: date,
        stop: bool = False,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            # Only the member it is about signs a pledge: a treasurer's key here leaves another's unsigned.
            about, acting = pot.find_member(member), pot.find_member(actor)
            own = about is not None and acting is not None and about.name == acting.name
            signed, seen_no = self._signing(pot, actor, signature) if own or signature is not None else (None, None)
            no = pot.set_pledge(
                actor=actor,
                member=member,
                percent=percent,
                monthly_minor=monthly_minor,
                from_month=from_month,
                today=today,
                stop=stop,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(member).name, events=stored_events(pot))

        return self.change(slug, decide)

    def play_game(
        self,
        slug: str,
        *,
        actor: str,
        game: str,
        on: date,
        today: date,
        participants: tuple[str, ...] = (),
        asker: str | None = None,
        offered: tuple[str, ...] = (),
        missed: tuple[str, ...] = (),
        resolved: bool | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.play_game(
                actor=actor,
                game=game,
                on=on,
                today=today,
                participants=participants,
                asker=asker,
                offered=offered,
                missed=missed,
                resolved=resolved,
            )
            return Recorded(no, pot.current_member(actor).name, events=stored_events(pot))

        return self.change(slug, decide)

    def reflect(
        self,
        slug: str,
        *,
        actor: str,
        event_no: int,
        feeling: str,
        note: str,
        today: date,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.reflect(
                actor=actor,
                event_no=event_no,
                feeling=feeling,
                note=note,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(actor).name, events=stored_events(pot))

        return self.change(slug, decide)
