"""The bench's agenda: the bench council member's faculty council meets next week; its agenda (drafted by the QA
office through the service, as a chair would) holds the first ``ITEMS`` proposals awaiting the council, the size
of a real meeting. The "agenda" scenario reads its page as a member."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from app.committees import agendas
from app.committees.models import AgendaItem
from app.db import make_engine, utcnow
from app.org.models import Committee, CommitteeKind, CommitteeMember
from app.policies import load_policies
from app.security import load_actor
from app.settings import ROOT
from app.users.models import User

ITEMS = 20


def make_agenda(url: str, council_member_id: int, qa_officer_id: int) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            committee_id = session.exec(
                select(Committee.id)
                .join(CommitteeMember, col(CommitteeMember.committee_id) == Committee.id)
                .where(CommitteeMember.user_id == council_member_id, Committee.kind == CommitteeKind.faculty_council)
            ).one()
            qa = session.get(User, qa_officer_id)
            assert qa is not None and committee_id is not None
            agenda = agendas.create(
                session,
                load_actor(session, qa),
                load_policies(ROOT / "policies"),
                committee_id=committee_id,
                meets_on=utcnow().date() + timedelta(days=7),
            )
            for item in session.exec(
                select(AgendaItem).where(AgendaItem.agenda_id == agenda.id, AgendaItem.position > ITEMS)
            ):
                session.delete(item)
            session.commit()
            assert agenda.id is not None
            return agenda.id
    finally:
        engine.dispose()
