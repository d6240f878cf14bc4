"""Domain errors: the two ways a command can fail, in the crew's words.

`BadInput` is malformed input (exit code 2); `Refused` is well-formed input that a
rule of the pot refuses (exit code 1). Both leave the store exactly as it was.
"""

from __future__ import annotations


class PotError(Exception):
    """Base of every error a crew member can cause."""

    exit_code = 1


class BadInput(PotError):
    """The input is malformed: a bad amount, name, date or option."""

    exit_code = 2


class Refused(PotError):
    """The input is well-formed but a rule of the pot refuses it."""

    exit_code = 1


class NotAuthorized(Refused):
    """The acting member may not do this."""


class InsufficientFunds(Refused):
    """The pot does not hold enough money for this."""


class NotFound(BadInput):
    """Something named does not exist: a member, proposal or event number (SPEC §1: exit 2, HTTP 404)."""


class UnknownPot(NotFound):
    """No pot with that slug in the store, or no way to tell which pot is meant (a usage error)."""


class Tampered(Refused):
    """The stored history does not match its hash chain."""
