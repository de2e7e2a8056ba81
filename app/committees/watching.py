"""Watching a proposal: anyone who may see it can ask to hear of each step (an FYI, no action asked), as in
Curriculog's watch list. The watchers are told by ``app.committees.notices`` on each transition of the proposal,
except of what they did themselves; someone who can no longer see the proposal is not told."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.approvals import access
from app.committees.models import Watch
from app.scheduler import insert_once
from app.security import Actor


def is_watching(session: Session, proposal_id: int, user_id: int) -> bool:
    found = session.exec(_WATCHING, params={"proposal_id": proposal_id, "user_id": user_id}).first()
    return found is not None


_WATCHING = select(Watch.id).where(Watch.proposal_id == bindparam("proposal_id"), Watch.user_id == bindparam("user_id"))


def watch(session: Session, proposal_id: int, actor: Actor) -> bool:
    """Start watching (a 404 for a proposal the person may not see); watching twice is watching."""
    access.get_proposal(session, proposal_id, actor)
    insert_once(session, Watch(proposal_id=proposal_id, user_id=actor.id))
    return True


def unwatch(session: Session, proposal_id: int, actor: Actor) -> bool:
    access.get_proposal(session, proposal_id, actor)
    for row in session.exec(select(Watch).where(Watch.proposal_id == proposal_id, Watch.user_id == actor.id)):
        session.delete(row)
    session.flush()
    return False


def watcher_ids(session: Session, proposal_id: int) -> list[int]:
    return list(session.exec(select(Watch.user_id).where(Watch.proposal_id == proposal_id).order_by(col(Watch.id))))
