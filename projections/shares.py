"""Percent shares that add up to exactly 100.00 (largest remainder method)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def largest_remainder(amounts: Sequence[int], *, places: int = 2) -> list[Decimal]:
    """Each amount's share of the total, rounded to `places` decimals, summing to exactly 100.

    Shares are floored in units of 10**-places percent, and the units left over go
    to the largest remainders (ties to the earlier entry), so no share moves by
    more than one unit. A zero total gives all zeros: there is nothing to share.
    """
    if any(a < 0 for a in amounts):
        raise ValueError("shares of negative amounts are undefined")
    total = sum(amounts)
    unit = Decimal(1).scaleb(-places)
    if total == 0:
        return [Decimal(0).quantize(unit) for _ in amounts]
    whole = 100 * 10**places
    floors = [a * whole // total for a in amounts]
    remainders = [a * whole % total for a in amounts]
    left = whole - sum(floors)
    order = sorted(range(len(amounts)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(f) * unit).quantize(unit) for f in floors]
