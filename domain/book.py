"""Reading what older pot snapshots carried about contributions: only the reversals still matter.

Until domain.history existed, a pot's state held every contribution (first one
object each, then packed integer arrays as base64 text) and every `ref`. A
snapshot is a cache, but a store may still hold such a snapshot as its latest:
`reversed_numbers` reads either form and returns what the state keeps now,
the numbers of the reversed contributions.
"""

from __future__ import annotations

from typing import Any


def reversed_numbers(contributions: Any) -> list[int]:
    """The reversed contributions' event numbers, from an older snapshot's `contributions` value."""
    if isinstance(contributions, list) and len(contributions) == 6:
        # The packed form: [names, numbers, amounts, days, members, reversed numbers].
        return sorted(int(n) for n in contributions[5])
    if isinstance(contributions, dict):
        # The first form: one object per contribution, keyed by event number.
        return sorted(int(no) for no, c in contributions.items() if isinstance(c, dict) and c.get("reversed"))
    raise ValueError("not a contribution book")
