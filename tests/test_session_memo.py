"""A figure read once per request (app.db.session_memo) is read again after a write or the transaction's end."""

from __future__ import annotations

from sqlmodel import Session

from app.db import session_memo
from app.users.names import user_names
from tests.conftest import demo_user


def test_a_memo_is_computed_once_until_a_write(db: Session) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert session_memo(db, "k", compute) == 1
    assert session_memo(db, "k", compute) == 1  # read once
    user = demo_user(db, "academic@example.org")
    user.name = "Renamed Academic"
    db.add(user)
    db.flush()  # a write: what was read may have changed
    assert session_memo(db, "k", compute) == 2


def test_names_read_once_follow_a_rename_after_the_write(db: Session) -> None:
    user = demo_user(db, "academic@example.org")
    assert user.id is not None
    before = user_names(db, {user.id})[user.id]
    user.name = before + " Jr"
    db.add(user)
    db.flush()
    assert user_names(db, {user.id, None})[user.id] == before + " Jr"


def test_a_memo_ends_with_its_transaction(db: Session) -> None:
    session_memo(db, "k", lambda: 1)
    nested = db.begin_nested()
    nested.commit()
    assert session_memo(db, "k", lambda: 2) == 2
