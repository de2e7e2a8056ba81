"""What each role sees first. Each panel is a title, a few figures and links."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from app.approvals import queries
from app.approvals.access import STATE_LABELS
from app.approvals.models import Condition
from app.org.models import Committee, Programme
from app.proposals import service as proposal_service
from app.proposals.models import Proposal
from app.security import Actor
from app.text import in_sentence
from app.users.models import User
from app.workflows.approval import FINAL_STATES, ProposalStatus
from app.workflows.conditions import ConditionStatus


@dataclass
class Panel:
    title: str
    figures: list[tuple[str, int]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    empty: str = ""


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _by_status(session: Session, *where: ColumnElement[bool]) -> list[tuple[str, int]]:
    counts = dict(
        session.exec(select(Proposal.status, func.count()).where(*where).group_by(col(Proposal.status))).all()
    )
    return [(in_sentence(STATE_LABELS[s]), counts[s]) for s in STATE_LABELS if counts.get(s)]


def panels(session: Session, actor: Actor) -> list[Panel]:
    result: list[Panel] = []
    if actor.is_academic:
        # One count per micro-credential, as "My proposals" lists them: "published" agrees with the catalogue.
        counts = proposal_service.my_summary(session, actor)
        result.append(
            Panel(
                "My proposals",
                figures=[(in_sentence(STATE_LABELS[s]), counts[s]) for s in STATE_LABELS if counts.get(s)],
                links=[("/proposals", "All my proposals"), ("/proposals/new", "New proposal")],
                empty="You have no micro-credential proposals yet.",
            )
        )
    if actor.memberships:
        waiting = queries.awaiting_count(session, actor)
        result.append(
            Panel(
                "Awaiting my decision",
                figures=[("waiting for your vote", waiting)] if waiting else [],
                links=[("/awaiting", "Open the list")] if waiting else [],
                empty="Nothing is waiting for your vote.",
            )
        )
    if actor.oversees_approvals:
        active = col(Proposal.status).not_in(sorted(FINAL_STATES | {ProposalStatus.draft}))
        open_conditions = session.exec(
            select(func.count()).select_from(Condition).where(Condition.status != ConditionStatus.confirmed)
        ).one()
        figures = _by_status(session, active)
        if open_conditions:
            figures.append(("open conditions", open_conditions))
        result.append(
            Panel(
                "Pipeline",
                figures=figures,
                links=[("/pipeline", "Open the pipeline")]
                + ([("/pipeline?open_conditions=1", "Follow up open conditions")] if open_conditions else []),
                empty="No proposals are in the approval pipeline.",
            )
        )
    if actor.is_admin:
        result.append(
            Panel(
                "Organisation",
                figures=[
                    ("accounts", _count(session, User)),
                    ("committees", _count(session, Committee)),
                    ("programmes", _count(session, Programme)),
                ],
                links=[
                    ("/admin/users", "Manage accounts"),
                    ("/admin/committees", "Manage committees"),
                    ("/admin/programmes", "Manage programmes"),
                ],
            )
        )
    return result
