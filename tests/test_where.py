"""`ledger.where`: a SQLite store's path as pathlib would give it, without loading pathlib (issue 22)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput, UnknownPot
from ledger import where

paths = st.lists(st.sampled_from(["", ".", "..", "a", "b.sqlite", "x y", "é"]), max_size=5).flatmap(
    lambda parts: st.tuples(st.sampled_from(["", "/", "//", "///"]), st.sampled_from(["", "/", "//"])).map(
        lambda ends: ends[0] + "/".join(parts) + ends[1]
    )
)


@given(text=paths)
def test_a_path_is_written_as_pathlib_writes_it(text: str) -> None:
    if not text:
        return  # no --db: the default store
    written = where._as_pathlib_writes(text)
    assert written == str(PurePosixPath(text))
    assert where._parent(written) == str(PurePosixPath(text).parent)


def test_the_store_is_checked_and_found_as_before(tmp_path: Path) -> None:
    store = tmp_path / "crew.sqlite"
    with pytest.raises(UnknownPot, match=f"there is no pot store at '{store}'"):
        where.sqlite_store(f"{tmp_path}//./crew.sqlite", create=False)
    with pytest.raises(BadInput, match="is a directory"):
        where.sqlite_store(str(tmp_path) + "/", create=False)
    with pytest.raises(BadInput, match=f"the folder '{tmp_path}/nope' does not exist"):
        where.sqlite_store(f"{tmp_path}/nope/crew.sqlite", create=True)
    store.write_text("not a database")
    with pytest.raises(BadInput, match="is not a SQLite database"):
        where.sqlite_store(str(store), create=False)
    store.write_bytes(b"")
    link = tmp_path / "link.sqlite"
    link.symlink_to(store)
    assert where.sqlite_store(str(link), create=False) == str(store.resolve())
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert where.sqlite_store("crew.sqlite", create=False) == str(Path("crew.sqlite").resolve())
    finally:
        os.chdir(cwd)
