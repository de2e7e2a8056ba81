"""What the bodies said, round by round, and what the proposer answered.

A *round* is one pass of the proposal at one body (``proposal.review_round`` counts them over the whole route);
people count rounds per body ("Faculty council, round 2"), so each round is numbered among the rounds at its body.
When a body requests changes, each vote that gave a comment or conditions is a *point raised*, by name; a
resubmission answers every point (``review_response``), and the body reads the answers beside the redline of the
new submission. Nothing here changes a status: the submission that carries the answers goes through the workflow
core (``app.proposals.service.submit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Index, bindparam
from sqlmodel import Field, Session, SQLModel, col, select

from app import limits
from app.approvals.models import Decision, Vote
from app.approvals.voting import CHOICE_LABELS, Choice
from app.db import utcnow
from app.errors import PolicyViolation
from app.org.models import COMMITTEE_KIND_LABELS, CommitteeKind
from app.proposals.models import Proposal
from app.users.names import user_names
from app.workflows.approval import ProposalStatus

RESPONSE_MAX = limits.REASON


class ReviewResponse(SQLModel, table=True):
    """The proposer's answer to one point a body raised when it requested changes, sent with the resubmission
    (``version_no``: the submission it came with)."""

    __tablename__ = "review_response"
    __table_args__ = (Index("ix_review_response_proposal", "proposal_id", "version_no"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE")
    decision_id: int = Field(foreign_key="decision.id", ondelete="CASCADE")
    # The vote whose comment or conditions it answers; empty: the decision's own reason (a split round).
    vote_id: int | None = Field(default=None, foreign_key="vote.id", ondelete="CASCADE")
    version_no: int
    author_id: int = Field(foreign_key="user_account.id")
    text: str
    created_at: datetime = Field(default_factory=utcnow)


def body_label(body: str) -> str:
    return COMMITTEE_KIND_LABELS[CommitteeKind(body)]


def round_label(body: str, number: int) -> str:
    return f"{body_label(body)}, round {number}"


@dataclass
class NamedVote:
    vote: Vote
    voter: str

    @property
    def choice_label(self) -> str:
        return CHOICE_LABELS[Choice(self.vote.choice)]


@dataclass
class Round:
    """One round at one body: its votes by name and, once the body decided, its decision."""

    review_round: int
    body: str
    number: int  # among the rounds at this body
    votes: list[NamedVote] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def label(self) -> str:
        return round_label(self.body, self.number)


_VOTES = select(Vote).where(Vote.proposal_id == bindparam("proposal_id")).order_by(col(Vote.created_at))
_DECISIONS = select(Decision).where(Decision.proposal_id == bindparam("proposal_id")).order_by(col(Decision.id))


def decisions(session: Session, proposal_id: int) -> list[Decision]:
    """Every decision on the proposal, oldest first."""
    return list(session.exec(_DECISIONS, params={"proposal_id": proposal_id}))


def rounds(session: Session, proposal: Proposal) -> list[Round]:
    """Every round the proposal has had, oldest first, each numbered among its body's rounds."""
    assert proposal.id is not None
    votes = list(session.exec(_VOTES, params={"proposal_id": proposal.id}))
    decided = decisions(session, proposal.id)
    bodies: dict[int, str] = {v.review_round: v.body for v in votes}
    bodies.update({d.review_round: d.body for d in decided})
    if proposal.current_body:
        bodies[proposal.review_round] = proposal.current_body
    names = user_names(session, {v.voter_id for v in votes})
    counted: dict[str, int] = {}
    result: dict[int, Round] = {}
    for review_round in sorted(bodies):
        body = bodies[review_round]
        counted[body] = counted.get(body, 0) + 1
        result[review_round] = Round(review_round, body, counted[body])
    for v in votes:
        result[v.review_round].votes.append(NamedVote(v, names.get(v.voter_id, "?")))
    for d in decided:
        result[d.review_round].decision = d
    return list(result.values())


def body_round(session: Session, proposal: Proposal) -> str | None:
    """The current round in words ("Faculty council, round 2"), while a body is deciding."""
    if not proposal.current_body:
        return None
    return next((r.label for r in rounds(session, proposal) if r.review_round == proposal.review_round), None)


@dataclass
class Point:
    """Something a body raised when it requested changes: a member's vote with its comment or conditions, or,
    when no vote gave a reason (a split round), the decision's own reason."""

    key: str  # the form field of the answer: "vote-<id>" or "decision-<id>"
    who: str
    choice: str
    comment: str
    conditions: list[dict[str, str]]
    vote_id: int | None


@dataclass
class ChangesRequested:
    """The decision that sent the proposal back, with every point raised, by name."""

    round: Round
    decision: Decision
    points: list[Point]
    votes: list[NamedVote]


def changes_requested(session: Session, proposal: Proposal) -> ChangesRequested | None:
    """Why the proposal is back with its proposer (None unless it is waiting for changes)."""
    if proposal.status != ProposalStatus.changes_requested:
        return None
    return last_send_back(session, proposal)


def last_send_back(session: Session, proposal: Proposal) -> ChangesRequested | None:
    """The latest decision that requested changes, with its points (none: never sent back)."""
    for r in reversed(rounds(session, proposal)):
        if r.decision is not None and r.decision.outcome == "request_changes":
            return ChangesRequested(r, r.decision, _points(r, r.decision), r.votes)
    return None


def _points(r: Round, decision: Decision) -> list[Point]:
    points = [
        Point(f"vote-{nv.vote.id}", nv.voter, nv.choice_label, nv.vote.comment, nv.vote.conditions, nv.vote.id)
        for nv in r.votes
        if nv.vote.comment or nv.vote.conditions
    ]
    if not points:
        who = f"{body_label(r.body)} (its voting rule)"
        points.append(Point(f"decision-{decision.id}", who, "Request changes", decision.comment, [], None))
    return points


def record_responses(
    session: Session, proposal: Proposal, author_id: int, version_no: int, answers: Mapping[str, str]
) -> list[ReviewResponse]:
    """Store an answer to every point of the latest send-back; refuse (422, per point) when one is missing. Call
    before the resubmission is fired, in its transaction."""
    sent_back = last_send_back(session, proposal)
    if sent_back is None:
        return []
    errors: dict[str, str] = {}
    for point in sent_back.points:
        text = (answers.get(point.key) or "").strip()
        if not text:
            errors[f"response-{point.key}"] = f"Answer {point.who}'s point: say what you changed, or why not."
        elif len(text) > RESPONSE_MAX:
            errors[f"response-{point.key}"] = f"Must be at most {RESPONSE_MAX:,} characters (this has {len(text):,})."
    if errors:
        raise PolicyViolation(
            f"Answer each point raised before resubmitting: {len(errors)} of {len(sent_back.points)} "
            f"{'are' if len(errors) > 1 else 'is'} not answered.",
            errors=errors,
        )
    assert proposal.id is not None and sent_back.decision.id is not None
    rows = [
        ReviewResponse(
            proposal_id=proposal.id,
            decision_id=sent_back.decision.id,
            vote_id=point.vote_id,
            version_no=version_no,
            author_id=author_id,
            text=(answers.get(point.key) or "").strip(),
        )
        for point in sent_back.points
    ]
    session.add_all(rows)
    return rows


@dataclass
class Answer:
    point: Point
    response: str


def answers_with(session: Session, proposal: Proposal, version_no: int) -> list[Answer]:
    """The points of the send-back that the submission ``version_no`` answered, each with its answer."""
    responses = list(
        session.exec(
            select(ReviewResponse)
            .where(ReviewResponse.proposal_id == proposal.id, ReviewResponse.version_no == version_no)
            .order_by(col(ReviewResponse.id))
        )
    )
    if not responses:
        return []
    decision_id = responses[0].decision_id
    r = next((r for r in rounds(session, proposal) if r.decision is not None and r.decision.id == decision_id), None)
    if r is None or r.decision is None:
        return []
    points = {p.vote_id: p for p in _points(r, r.decision)}
    return [Answer(points[resp.vote_id], resp.text) for resp in responses if resp.vote_id in points]
