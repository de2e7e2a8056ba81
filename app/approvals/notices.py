"""Who hears what: the notifications that approval's events send, written in the event's own transaction.

- the members of the body now deciding, when a decision awaits them (and when a proposal they decide on is
  withdrawn);
- the proposer and co-proposers, when changes are requested or the proposal is decided (approved, published,
  rejected), and when the QA office confirms a condition or sends it back;
- the QA office, when a condition is reported met;
- everyone on a proposal (its proposers, the body deciding it, whoever voted or commented on it), when someone
  comments; a person named in a comment (``@name@example.org``), even if not on it yet, provided they may see it.

Installed at start-up as a workflow-core listener (app/listeners.py), so every lifecycle's transitions and
every comment pass through it; ``app.notifications.service.notify`` writes the in-app item and the mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.approvals import access
from app.approvals.deciders import qa_office_ids
from app.approvals.models import Condition, Vote
from app.approvals.policy import ApprovalPolicy
from app.notifications.service import notify
from app.org.models import COMMITTEE_KIND_LABELS
from app.proposals import service
from app.proposals.models import Comment, Proposal
from app.security import load_actor
from app.text import in_sentence
from app.users.models import User
from app.workflows import core
from app.workflows.approval import BODY_OF_REVIEW_STATE, ProposalStatus
from app.workflows.conditions import ConditionStatus

MENTION = re.compile(r"(?<![\w@])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


@dataclass(frozen=True)
class Notices:
    """The notifications listener; ``base_url`` makes the mails' links absolute."""

    base_url: str

    def __call__(self, happening: Any) -> None:
        if isinstance(happening, core.Transition):
            if happening.lifecycle is access.PROPOSAL:
                self._proposal(happening)
            elif happening.lifecycle is access.CONDITION:
                self._condition(happening)
        elif isinstance(happening, service.CommentAdded):
            self._comment(happening)

    def _send(self, session: Session, recipients: set[int], kind: str, subject: str, text: str, link: str) -> None:
        if recipients:
            notify(
                session,
                recipients=sorted(recipients),
                kind=kind,
                subject=subject,
                text=text,
                link=link,
                base_url=self.base_url,
            )

    # --- proposals ---------------------------------------------------------------------------------

    def _proposal(self, t: core.Transition) -> None:
        proposal: Proposal = t.row
        title = proposal.title or f"Proposal {proposal.id}"
        link = f"/proposals/{proposal.id}"
        not_the_actor = {getattr(t.actor, "id", None)}
        if t.target in BODY_OF_REVIEW_STATE:
            ctx = access.load_ctx(t.session, proposal)  # the body that decides now, not the one before
            body = COMMITTEE_KIND_LABELS[BODY_OF_REVIEW_STATE[t.target]]
            self._send(
                t.session,
                ctx.eligible_ids,
                "proposal.awaiting_decision",
                f"Your decision is awaited: {title}",
                f"“{title}” is with the {in_sentence(body)} for a decision. Read it and cast your vote.",
                link,
            )
        elif t.target == ProposalStatus.changes_requested:
            self._send(
                t.session,
                t.ctx.proposer_ids,
                "proposal.changes_requested",
                f"Changes requested: {title}",
                f"The {self._body_of(t)} asks for changes to “{title}”: {t.comment}",
                link,
            )
        elif t.target == ProposalStatus.rejected:
            self._send(
                t.session,
                t.ctx.proposer_ids,
                "proposal.rejected",
                f"Rejected: {title}",
                f"The {self._body_of(t)} rejected “{title}”: {t.comment}",
                link,
            )
        elif t.target == ProposalStatus.approved and not t.policies.of(ApprovalPolicy).publish_on_approval:
            self._send(
                t.session,
                t.ctx.proposer_ids,
                "proposal.approved",
                f"Approved: {title}",
                f"“{title}” is approved. The QA office will publish it in the catalogue.",
                link,
            )
        elif t.target == ProposalStatus.published:
            self._send(
                t.session,
                t.ctx.proposer_ids - not_the_actor,
                "proposal.published",
                f"Published: {title}",
                f"“{title}” is approved and published in the catalogue ({t.comment}).",
                link,
            )
        elif t.target == ProposalStatus.withdrawn and t.source in BODY_OF_REVIEW_STATE:
            self._send(
                t.session,
                t.ctx.eligible_ids,
                "proposal.withdrawn",
                f"Withdrawn: {title}",
                f"“{title}” was withdrawn by its proposer; no decision is needed any more.",
                link,
            )

    @staticmethod
    def _body_of(t: core.Transition) -> str:
        body = BODY_OF_REVIEW_STATE.get(t.source)
        return in_sentence(COMMITTEE_KIND_LABELS[body]) if body else "approval"

    # --- conditions --------------------------------------------------------------------------------

    def _condition(self, t: core.Transition) -> None:
        condition: Condition = t.row
        ctx: access.ConditionCtx = t.ctx
        title = ctx.proposal.title or f"Proposal {ctx.proposal.id}"
        link = f"/proposals/{ctx.proposal.id}#condition-{condition.id}"
        if t.target == ConditionStatus.met:
            self._send(
                t.session,
                qa_office_ids(t.session) - {getattr(t.actor, "id", None)},
                "condition.reported_met",
                f"Condition reported met: {title}",
                f"The proposer reports the condition “{condition.text}” as met: {condition.evidence}",
                link,
            )
        elif t.target == ConditionStatus.confirmed:
            self._send(
                t.session,
                ctx.proposer_ids,
                "condition.confirmed",
                f"Condition confirmed: {title}",
                f"The QA office confirmed that the condition “{condition.text}” is met.",
                link,
            )
        elif t.target == ConditionStatus.open and t.source == ConditionStatus.met:
            self._send(
                t.session,
                ctx.proposer_ids,
                "condition.sent_back",
                f"Condition not met yet: {title}",
                f"The QA office sent back the condition “{condition.text}”: {t.comment}",
                link,
            )

    # --- comments ----------------------------------------------------------------------------------

    def _comment(self, c: service.CommentAdded) -> None:
        proposal, comment = c.proposal, c.comment
        title = proposal.title or f"Proposal {proposal.id}"
        link = f"/proposals/{proposal.id}#comment-{comment.id}"
        excerpt = comment.body if len(comment.body) <= 300 else comment.body[:297] + "…"
        mentioned = mentioned_ids(c.session, proposal, comment.body) - {c.author.id}
        self._send(
            c.session,
            mentioned,
            "comment.mention",
            f"{c.author.name} mentioned you on {title}",
            f"{c.author.name} wrote on “{title}”: {excerpt}",
            link,
        )
        self._send(
            c.session,
            people_on(c.session, proposal) - mentioned - {c.author.id},
            "comment.added",
            f"New comment on {title}",
            f"{c.author.name} wrote: {excerpt}",
            link,
        )


def people_on(session: Session, proposal: Proposal) -> set[int]:
    """Its proposers, the body deciding it now, and whoever has voted or commented on it."""
    assert proposal.id is not None
    ctx = access.load_ctx(session, proposal)
    voters = session.exec(select(Vote.voter_id).where(Vote.proposal_id == proposal.id))
    authors = session.exec(select(Comment.author_id).where(Comment.proposal_id == proposal.id))
    return {*ctx.proposer_ids, *ctx.eligible_ids, *voters, *authors}


def mentioned_ids(session: Session, proposal: Proposal, text: str) -> set[int]:
    """Active people named as ``@address`` who may see the proposal (nobody learns of it through a mention)."""
    addresses = {m.lower() for m in MENTION.findall(text)}
    if not addresses:
        return set()
    users = session.exec(select(User).where(col(User.email).in_(addresses), col(User.is_active))).all()
    return {u.id for u in users if u.id is not None and access.can_view(session, proposal, load_actor(session, u))}
