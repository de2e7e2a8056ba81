"""What each role sees first. Each panel is a title, a few figures and links."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from app.approvals import queries
from app.approvals.access import STATE_LABELS
from app.approvals.models import Condition
from app.checklists import coverage
from app.db import utcnow
from app.org.models import Committee, Programme
from app.policies import Policies
from app.proposals import service as proposal_service
from app.proposals.models import Proposal
from app.reviews import queries as review_queries
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


def review_panels(session: Session, actor: Actor) -> list[Panel]:
    """The owner's reviews and actions with their due dates; the QA office's reviews at a glance."""
    today = utcnow().date()
    found: list[Panel] = []
    mine, actions = (
        review_queries.my_reviews(session, actor.id, today=today),
        review_queries.my_actions(session, actor.id),
    )
    if mine or actions:
        links = [
            (f"/reviews/{r.id}", f"{r.kind_label} of {r.title}: {r.status_label.lower()}, due {r.due_on}") for r in mine
        ]
        links += [
            (f"/reviews/{a.review_id}#action-{a.id}", f"Action on {a.title}: {a.text}, due {a.due_on}") for a in actions
        ]
        found.append(Panel("My reviews and actions", links=links))
    if actor.oversees_approvals:
        totals = review_queries.totals(review_queries.by_faculty(session, review_queries.ReviewFilters(), today=today))
        figures = [
            (f"due in the next {review_queries.DUE_SOON_DAYS} days", totals.due_soon),
            ("open", totals.open),
            ("overdue", totals.overdue),
            ("suspended", totals.suspended),
        ]
        found.append(
            Panel(
                "Periodic reviews",
                figures=[f for f in figures if f[1]],
                links=[("/reviews", "Open the reviews dashboard")],
                empty="No review is due or open.",
            )
        )
    return found


def _esg_shortfalls(session: Session, policies: Policies) -> Panel:
    """The ESG standards with the most "not met" answers and unanswered mandatory items, each linked to the coverage
    matrix showing the micro-credentials concerned."""
    worst = coverage.shortfalls(session, policies)
    return Panel(
        "ESG standards falling short",
        figures=[(f"not met or missing in {s.standard} {s.title} ({_shortfall_detail(s)})", s.total) for s in worst],
        links=[
            (f"/checklists/coverage?standard={s.standard}&cell=problems", f"Micro-credentials short on {s.standard}")
            for s in worst
        ]
        + [("/checklists/coverage", "Open the ESG coverage matrix")],
        empty="No checklist answer is not met or missing.",
    )


def _shortfall_detail(s: coverage.StandardShortfall) -> str:
    parts = [f"{s.not_met} not met" if s.not_met else "", f"{s.missing} missing" if s.missing else ""]
    return ", ".join(p for p in parts if p)


def panels(session: Session, actor: Actor, policies: Policies) -> list[Panel]:
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
    result += review_panels(session, actor)
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
    if actor.oversees_approvals:
        result.append(_esg_shortfalls(session, policies))
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
