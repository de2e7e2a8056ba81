"""People's names by id, read once per request: a page that names voters, commenters and audit actors asks for
them from several places, and only the names not yet known are queried. A page that knows early whom it will
name (a proposal's proposers) says so with ``expect_names``: they are read with the next names it asks for."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.db import session_memo
from app.users.models import User

# Built once: building a statement costs more than running it (about 0.4 ms against 0.3 ms here).
_NAMES = select(User.id, User.name).where(col(User.id).in_(bindparam("ids", expanding=True)))


def expect_names(session: Session, ids: Iterable[int | None]) -> None:
    """These names will be wanted in this request: read them with the next ones asked for, in the same query."""
    expected: set[int] = session_memo(session, "user_names_expected", set)
    expected.update(i for i in ids if i is not None)


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    known: dict[int, str] = session_memo(session, "user_names", dict)
    missing = wanted - known.keys()
    if missing:
        expected: set[int] = session_memo(session, "user_names_expected", set)
        read = sorted(missing | (expected - known.keys()))
        known.update((uid, name) for uid, name in session.exec(_NAMES, params={"ids": read}) if uid is not None)
        expected.clear()
    return {uid: known[uid] for uid in wanted if uid in known}
