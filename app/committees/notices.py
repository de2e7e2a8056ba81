"""Who hears of committee tools: the member and the substitute when a delegation is named or ended, a proposal's
watchers on each of its steps (an FYI), and a committee's members when an agenda is published. Installed at
start-up as a workflow-core listener (app/listeners.py) beside approval's notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.approvals import access
from app.committees import watching
from app.committees.delegation import DelegationChanged
from app.committees.models import Delegation
from app.db import utcnow
from app.notifications.service import notify
from app.proposals.models import Proposal
from app.security import load_actor
from app.users.models import User
from app.workflows import core
from app.workflows.approval import BODY_OF_REVIEW_STATE


@dataclass(frozen=True)
class AgendaPublished:
    """Announced by ``app.committees.agendas.publish``: the members of the committee get the agenda."""

    session: Session
    agenda_id: int
    committee_name: str
    meets_on: str
    recipients: frozenset[int]
    by_id: int


@dataclass(frozen=True)
class CommitteeNotices:
    base_url: str

    def __call__(self, happening: Any) -> None:
        if isinstance(happening, DelegationChanged):
            self._delegation(happening)
        elif isinstance(happening, AgendaPublished):
            self._agenda(happening)
        elif isinstance(happening, core.Transition) and happening.lifecycle is access.PROPOSAL:
            self._watchers(happening)
            if happening.target in BODY_OF_REVIEW_STATE:
                self._substitutes(happening)

    def _send(self, session: Session, recipients: list[int], kind: str, subject: str, text: str, link: str) -> None:
        if recipients:
            notify(
                session, recipients=recipients, kind=kind, subject=subject, text=text, link=link, base_url=self.base_url
            )

    def _delegation(self, c: DelegationChanged) -> None:
        d, member, substitute = c.delegation, c.member, c.substitute
        period = f"from {d.starts_on.isoformat()} to {d.ends_on.isoformat()}"
        if c.action == "named":
            subject = f"{substitute.name} stands in for {member.name}"
            text = (
                f"{substitute.name} acts for {member.name} on their committees {period}: the proposals awaiting "
                f"{member.name}'s decision appear under “Awaiting my decision” for {substitute.name}, who casts "
                f"{member.name}'s ballot."
            )
        else:
            subject = f"{substitute.name} no longer stands in for {member.name}"
            text = f"The substitute arrangement ({period}) has ended: {member.name} acts on their queue again."
        self._send(
            c.session, [member.id or 0, substitute.id or 0], f"delegation.{c.action}", subject, text, "/delegations"
        )

    def _agenda(self, a: AgendaPublished) -> None:
        self._send(
            a.session,
            sorted(a.recipients - {a.by_id}),
            "agenda.published",
            f"Agenda: {a.committee_name}, {a.meets_on}",
            f"The agenda of {a.committee_name} for the meeting on {a.meets_on} is published. Read it and the "
            "meeting pack before the meeting.",
            f"/agendas/{a.agenda_id}",
        )

    def _substitutes(self, t: core.Transition) -> None:
        """A decision now awaits a body: the substitutes of its members on leave are asked, as the members are."""
        proposal: Proposal = t.row
        ctx = access.load_ctx(t.session, proposal)  # the committee deciding now
        if not ctx.eligible_ids or ctx.committee is None:
            return
        today = utcnow().date()
        rows = t.session.exec(
            select(Delegation.substitute_id, User.name)
            .join(User, col(User.id) == Delegation.member_id)
            .where(
                col(Delegation.member_id).in_(sorted(ctx.eligible_ids)),
                col(Delegation.revoked_at).is_(None),
                col(Delegation.starts_on) <= today,
                col(Delegation.ends_on) >= today,
            )
        ).all()
        title = proposal.title or f"Proposal {proposal.id}"
        for substitute_id, member in rows:
            if substitute_id in ctx.member_ids or substitute_id in ctx.proposer_ids:
                continue  # votes in their own right, or proposed it: no seat to fill
            self._send(
                t.session,
                [substitute_id],
                "proposal.awaiting_decision",
                f"Your decision is awaited (for {member}): {title}",
                f"“{title}” is with {ctx.committee.name} for a decision. You stand in for {member}: read it and "
                f"cast {member}'s ballot.",
                f"/proposals/{proposal.id}",
            )

    def _watchers(self, t: core.Transition) -> None:
        proposal: Proposal = t.row
        assert proposal.id is not None
        wanted = [uid for uid in watching.watcher_ids(t.session, proposal.id) if uid != getattr(t.actor, "id", None)]
        if not wanted:
            return
        # Only people who may still see it: a watcher who left the body is not told.
        users = [t.session.get(User, uid) for uid in wanted]
        told = [
            u.id
            for u in users
            if u is not None and u.id is not None and access.can_view(t.session, proposal, load_actor(t.session, u))
        ]
        title = proposal.title or f"Proposal {proposal.id}"
        label = t.lifecycle.label(t.target)
        self._send(
            t.session,
            told,
            "proposal.watched",
            f"For your information: {title} is now {label.lower()}",
            f"“{title}”, which you watch, is now {label.lower()}"
            + (f": {t.comment}" if t.comment else ".")
            + " No action is needed from you.",
            f"/proposals/{proposal.id}",
        )
