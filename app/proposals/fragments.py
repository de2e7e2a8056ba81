"""The fragments of the proposal page, each a template with the one function that builds its context.

The full page includes every fragment with the context its builder gives; an htmx action that is refused
re-renders only its own fragment, from the same builder, with the reason (STYLE.md 12: the page includes the
very fragment htmx receives). A builder takes a ``Viewing``: the proposal, who is looking, and what several
fragments share (the proposers and the deciding committee, the conditions), loaded once per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlmodel import Session

from app.approvals import access, history
from app.approvals import service as approvals
from app.approvals.models import Condition, Vote
from app.approvals.voting import CHOICE_LABELS, SIDE_LABELS
from app.audit import timeline as audit_timeline
from app.catalogue.models import CredentialVersion
from app.checklists import service as checklists
from app.org.models import COMMITTEE_KIND_LABELS, CommitteeKind
from app.policies import Policies
from app.proposals import attachments as proposal_attachments
from app.proposals import service as proposal_service
from app.proposals import views
from app.proposals.models import Proposal
from app.proposals.policy import CredentialPolicy
from app.security import Actor
from app.text import in_sentence
from app.users.names import user_names
from app.workflows import conditions as condition_workflow
from app.workflows.approval import REVIEW_STATES, ProposalStatus


@dataclass
class Viewing:
    """One person looking at one proposal, in one request."""

    session: Session
    proposal: Proposal
    actor: Actor
    policies: Policies
    timeline_shown: int | None = audit_timeline.SHOWN  # the newest timeline entries shown (None: all of them)

    @property
    def proposal_id(self) -> int:
        assert self.proposal.id is not None
        return self.proposal.id

    @cached_property
    def access(self) -> access.Ctx:
        return access.load_ctx(self.session, self.proposal)

    @cached_property
    def votes(self) -> list[tuple[Vote, str]]:
        """This round's votes with the voters' names, oldest first (from ``rounds``, which the page reads anyway)."""
        current = next((r for r in self.rounds if r.review_round == self.proposal.review_round), None)
        return [(named.vote, named.voter) for named in current.votes] if current else []

    @cached_property
    def _own_and_carried_conditions(self) -> tuple[list[Condition], list[Condition]]:
        return approvals.conditions_and_carried(self.session, self.proposal)

    @property
    def conditions(self) -> list[Condition]:
        return self._own_and_carried_conditions[0]

    @property
    def carried_conditions(self) -> list[Condition]:
        """Open conditions of earlier editions, followed up on this one (none on a superseded edition's page)."""
        return [] if self.superseded_by else self._own_and_carried_conditions[1]

    @cached_property
    def superseded_by(self) -> CredentialVersion | None:
        """The later edition that replaced this proposal's: a superseded edition offers no actions."""
        return views.superseded_by(self.session, self.proposal)

    @cached_property
    def actions(self) -> list[str]:
        return [] if self.superseded_by else access.allowed_actions(self.access, self.actor)

    @cached_property
    def rounds(self) -> list[history.Round]:
        """Every round the proposal has had, each numbered among its body's rounds."""
        return history.rounds(self.session, self.proposal)

    @property
    def round_label(self) -> str | None:
        """The current round in words ("Faculty council, round 2"), while a body is deciding."""
        if not self.proposal.current_body:
            return None
        return next((r.label for r in self.rounds if r.review_round == self.proposal.review_round), None)

    @cached_property
    def sent_back(self) -> history.ChangesRequested | None:
        """Why the proposal is back with its proposer, when it is."""
        return history.changes_requested(self.session, self.proposal)

    @cached_property
    def route(self) -> list[str]:
        """The route the proposal takes: given on submission, or the one the submission would give it now."""
        return proposal_service.route_of(self.session, self.proposal, self.policies)

    @property
    def body_label(self) -> str | None:
        body = self.proposal.current_body
        return COMMITTEE_KIND_LABELS[CommitteeKind(body)] if body else None

    @property
    def deciding_label(self) -> str | None:
        """Who decides now: the body, or the committee standing in for it, said so."""
        committee = self.access.committee
        if self.access.taken_over and committee:
            return f"{committee.name} (deciding for the {(self.body_label or '').lower()})"
        return self.body_label


Builder = Callable[[Viewing], dict[str, Any]]


@dataclass(frozen=True)
class Fragment:
    template: str
    build: Builder


def decision_panel(v: Viewing) -> dict[str, Any]:
    body = v.proposal.current_body
    deciding = body is not None and v.proposal.status in REVIEW_STATES
    seat = v.access.seat_of(v.actor)
    return {
        "checklist_gate": (
            checklists.gate(v.session, v.proposal, body, v.policies, v.access) if deciding and body else None
        ),
        "checklist_gate_label": in_sentence(v.body_label or ""),
        "proposal": v.proposal,
        "actions": v.actions,
        "can_revise": v.proposal.status == ProposalStatus.published
        and v.actor.id == v.proposal.owner_id
        and v.superseded_by is None,
        "superseded_by": v.superseded_by,
        "deciding_label": v.deciding_label,
        # A substitute sees the ballot of the member they stand in for: the seat they vote in, named.
        "my_vote": next((vote for vote, _ in v.votes if vote.voter_id == (seat or v.actor.id)), None),
        "standing_in_for": user_names(v.session, {seat}).get(seat or 0) if seat and seat != v.actor.id else None,
        "choices": CHOICE_LABELS,
        # The body's rule and how far it is from a decision (templates/proposals/_vote_rule.html).
        "voting": approvals.round_progress(v.access, v.policies, [vote for vote, _ in v.votes]),
        "round_label": v.round_label,
        "side_labels": SIDE_LABELS,
        # Where a submission goes, as the confirmation says (the route the submission itself takes).
        "route_labels": [COMMITTEE_KIND_LABELS[CommitteeKind(b)] for b in v.route] if "submit" in v.actions else [],
        "confirm": "",
        # A resubmission answers every point raised (templates/proposals/_resubmit.html).
        "points": v.sent_back.points if v.sent_back and "submit" in v.actions else [],
    }


def votes(v: Viewing) -> dict[str, Any]:
    return {
        "proposal": v.proposal,
        "deciding_label": v.deciding_label,
        "taken_over": v.access.taken_over,
        "round_label": v.round_label,
        "votes": v.votes,
        "choices": CHOICE_LABELS,
        # Earlier rounds (and decided ones), grouped by body, each round with its votes by name and its decision.
        "rounds_by_body": _by_body(
            [r for r in v.rounds if r.decision is not None or r.review_round != v.proposal.review_round]
        ),
    }


def _by_body(rounds: list[history.Round]) -> list[tuple[str, list[history.Round]]]:
    grouped: dict[str, list[history.Round]] = {}
    for r in rounds:
        grouped.setdefault(history.body_label(r.body), []).append(r)
    return list(grouped.items())


def conditions(v: Viewing) -> dict[str, Any]:
    # Open conditions of earlier editions carry over: followed up here, not on the superseded edition's page.
    carried = v.carried_conditions
    shown = [*v.conditions, *carried]
    return {
        "conditions": shown,
        "carried_ids": {c.id for c in carried},
        "superseded_by": v.superseded_by,
        "condition_actions": {
            c.id: [] if v.superseded_by else approvals.condition_actions(v.session, c, v.actor) for c in shown
        },
        "condition_labels": condition_workflow.LABELS,
        "condition_done": condition_workflow.FINAL_STATES,
    }


def attachments(v: Viewing) -> dict[str, Any]:
    policies = v.policies
    return {
        "proposal": v.proposal,
        "attachments": proposal_attachments.list_for(v.session, v.proposal_id),
        "can_attach": "edit" in v.actions,
        "attachment_types": policies.of(CredentialPolicy).attachments.allowed_types,
        "attachment_max_mb": policies.of(CredentialPolicy).attachments.max_mb,
    }


def comments(v: Viewing) -> dict[str, Any]:
    return {"proposal": v.proposal, "comments": views.comment_tree(v.session, v.proposal_id)}


def timeline(v: Viewing) -> dict[str, Any]:
    return {"timeline": views.timeline(v.session, v.proposal_id, v.conditions, v.timeline_shown)}


DECISION_PANEL = Fragment("proposals/_decision_panel.html", decision_panel)
VOTES = Fragment("proposals/_votes.html", votes)
CONDITIONS = Fragment("proposals/_conditions.html", conditions)
ATTACHMENTS = Fragment("proposals/_attachments.html", attachments)
COMMENTS = Fragment("proposals/_comments.html", comments)
TIMELINE = Fragment("_partials/timeline.html", timeline)
ALL = (DECISION_PANEL, VOTES, CONDITIONS, ATTACHMENTS, COMMENTS, TIMELINE)


def page_context(v: Viewing) -> dict[str, Any]:
    """Every fragment's context, for the full page."""
    ctx: dict[str, Any] = {}
    for fragment in ALL:
        ctx.update(fragment.build(v))
    return ctx
