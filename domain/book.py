"""Compact per-contribution state for the Pot: what the rules look up, in packed arrays.

A pot's rules need, for every contribution ever recorded, its member, amount,
value date and whether it was reversed (for `reverse` and for an import's "same
ref, same content?" check), and every `ref` (unique per pot). Held as pydantic
models that would be one object per contribution, and a snapshot of a pot with a
million contributions would take seconds to load. Here they are parallel arrays
of integers, stored in a snapshot as base64 text, plus the refs as one list:
loading is a few bulk decodes, whatever the pot's age.

Both classes read as mappings (`book.get(no)`, `refs.get(ref)`, `.items()`), and
both still accept the dictionaries older snapshots hold.
"""

from __future__ import annotations

import base64
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema


class ContributionState(BaseModel):
    """One contribution as the rules see it (built on demand, never stored one by one)."""

    model_config = ConfigDict(extra="forbid")
    member: str
    amount_minor: int
    on: date
    ref: str | None = None
    reversed: bool = False


def _pack(values: array[int]) -> str:
    # Little-endian on every machine, so a snapshot reads the same anywhere.
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unpack(code: str, text: str) -> array[int]:
    values = array(code)
    values.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _packed_schema(cls: Any) -> core_schema.CoreSchema:
    return core_schema.no_info_plain_validator_function(
        cls.validate,
        serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.dump()),
    )


class ContributionBook(Mapping[int, ContributionState]):
    """Every contribution by event number: member, amount, value date, reversed or not."""

    def __init__(self) -> None:
        self._nos: array[int] = array("q")
        self._amounts: array[int] = array("q")
        self._days: array[int] = array("i")
        self._who: array[int] = array("i")
        self._names: list[str] = []
        self._name_index: dict[str, int] = {}
        self._reversed: set[int] = set()

    # -------------------------------------------------------------- the fold
    def add(self, no: int, member: str, amount_minor: int, on: date) -> None:
        # Event numbers only grow, so the arrays stay sorted by number.
        index = self._name_index.get(member)
        if index is None:
            index = self._name_index[member] = len(self._names)
            self._names.append(member)
        self._nos.append(no)
        self._amounts.append(amount_minor)
        self._days.append(on.toordinal())
        self._who.append(index)

    def mark_reversed(self, no: int) -> None:
        self._reversed.add(no)

    # -------------------------------------------------------------- reading
    def _find(self, no: int) -> int | None:
        i = bisect_left(self._nos, no)
        return i if i < len(self._nos) and self._nos[i] == no else None

    def __getitem__(self, no: int) -> ContributionState:
        i = self._find(no)
        if i is None:
            raise KeyError(no)
        return ContributionState(
            member=self._names[self._who[i]],
            amount_minor=self._amounts[i],
            on=date.fromordinal(self._days[i]),
            reversed=no in self._reversed,
        )

    def __contains__(self, no: object) -> bool:
        return isinstance(no, int) and self._find(no) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self._nos)

    def __len__(self) -> int:
        return len(self._nos)

    # -------------------------------------------------------------- storing
    def dump(self) -> list[Any]:
        return [
            self._names,
            _pack(self._nos),
            _pack(self._amounts),
            _pack(self._days),
            _pack(self._who),
            sorted(self._reversed),
        ]

    @classmethod
    def validate(cls, value: Any) -> ContributionBook:
        if isinstance(value, ContributionBook):
            return value
        book = cls()
        if isinstance(value, list) and len(value) == 6:
            names, nos, amounts, days, who, reversed_ = value
            book._names = list(names)
            book._name_index = {n: i for i, n in enumerate(book._names)}
            book._nos, book._amounts = _unpack("q", nos), _unpack("q", amounts)
            book._days, book._who = _unpack("i", days), _unpack("i", who)
            book._reversed = {int(n) for n in reversed_}
            if not len(book._nos) == len(book._amounts) == len(book._days) == len(book._who):
                raise ValueError("contribution arrays differ in length")
            return book
        if isinstance(value, dict):
            # An older snapshot: one object per contribution, keyed by number.
            for no, c in sorted(((int(k), ContributionState.model_validate(v)) for k, v in value.items())):
                book.add(no, c.member, c.amount_minor, c.on)
                if c.reversed:
                    book.mark_reversed(no)
            return book
        raise ValueError("not a contribution book")

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return _packed_schema(cls)


class RefIndex(Mapping[str, int]):
    """Every contribution `ref` in the pot and the event that recorded it."""

    def __init__(self) -> None:
        self._refs: list[str] = []
        self._nos: array[int] = array("q")
        # Built on first lookup: a command without a ref never pays for it.
        self._index: dict[str, int] | None = None

    def add(self, ref: str, no: int) -> None:
        self._refs.append(ref)
        self._nos.append(no)
        if self._index is not None:
            self._index[ref] = no

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self._refs, self._nos, strict=True))
        return self._index

    def __getitem__(self, ref: str) -> int:
        return self._lookup()[ref]

    def __contains__(self, ref: object) -> bool:
        return ref in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def dump(self) -> list[Any]:
        return [_pack(self._nos), self._refs]

    @classmethod
    def validate(cls, value: Any) -> RefIndex:
        if isinstance(value, RefIndex):
            return value
        index = cls()
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
            index._nos, index._refs = _unpack("q", value[0]), list(value[1])
            if len(index._nos) != len(index._refs):
                raise ValueError("refs and their event numbers differ in length")
            return index
        if isinstance(value, dict):
            # An older snapshot: a plain ref -> event number object.
            for ref, no in value.items():
                index.add(str(ref), int(no))
            return index
        raise ValueError("not a ref index")

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return _packed_schema(cls)
