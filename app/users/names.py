"""People's names by id, read once per request: a page that names voters, commenters and audit actors asks for
them from several places, and only the names not yet known are queried."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.db import session_memo
from app.users.models import User

# Built once: building a statement costs more than running it (about 0.4 ms against 0.3 ms here).
_NAMES = select(User.id, User.name).where(col(User.id).in_(bindparam("ids", expanding=True)))


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    known: dict[int, str] = session_memo(session, "user_names", dict)
    missing = wanted - known.keys()
    if missing:
        known.update(
            (uid, name) for uid, name in session.exec(_NAMES, params={"ids": sorted(missing)}) if uid is not None
        )
    return {uid: known[uid] for uid in wanted if uid in known}
