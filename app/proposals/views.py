"""Shaping proposals for the API and the pages: one place that gathers what a proposal view shows."""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import shorten

from sqlalchemy import BindParameter, bindparam
from sqlmodel import Session, col, select

from app.approvals import access, history
from app.approvals import service as approvals
from app.approvals.models import Condition, Vote
from app.approvals.queries import Row
from app.approvals.voting import Progress
from app.audit import timeline as audit_timeline
from app.audit.models import AuditEvent
from app.audit.timeline import Subject, Timeline
from app.catalogue.models import CredentialVersion
from app.policies import Policies
from app.proposals import checks
from app.proposals import elements as el
from app.proposals.models import Comment, CommentEdit, Proposal, ProposalVersion
from app.proposals.policy import CredentialPolicy
from app.proposals.schemas import (
    ChangesRequestedPublic,
    DecisionPublic,
    PointPublic,
    ProposalPublic,
    RoundPublic,
    RowPublic,
    VotePublic,
    VotingPublic,
)
from app.security import Actor
from app.users.names import user_names
from app.workflows import conditions as condition_workflow
from app.workflows.approval import ProposalStatus


def proposal_public(session: Session, proposal: Proposal, actor: Actor, policies: Policies) -> ProposalPublic:
    assert proposal.id is not None
    ctx = access.load_ctx(session, proposal)
    elements, _ = el.parse(proposal.content)
    check = checks.check(elements, policies.of(CredentialPolicy), el.Kind(proposal.kind))
    return ProposalPublic(
        id=proposal.id,
        credential_id=proposal.credential_id,
        revision_no=proposal.revision_no,
        change_type=proposal.change_type,
        kind=proposal.kind,
        org_unit_id=proposal.org_unit_id,
        owner_id=proposal.owner_id,
        co_proposer_ids=sorted(ctx.proposer_ids - {proposal.owner_id}),
        title=proposal.title,
        status=proposal.status,
        status_label=access.STATE_LABELS[proposal.status],
        current_body=proposal.current_body,
        route=proposal.route,
        review_round=proposal.review_round,
        submission_count=proposal.submission_count,
        stage_entered_at=proposal.stage_entered_at,
        stage_due_at=proposal.stage_due_at,
        deciding_committee_id=proposal.deciding_committee_id,
        created_at=proposal.created_at,
        updated_at=proposal.updated_at,
        decided_at=proposal.decided_at,
        effective_on=proposal.effective_on,
        elements=proposal.content,
        completeness=check.completeness,
        missing=check.missing,
        warnings=check.warnings,
        allowed_actions=access.allowed_actions(ctx, actor),
    )


def row_public(row: Row) -> RowPublic:
    return RowPublic(
        id=row.id,
        title=row.title,
        kind=row.kind,
        status=row.status,
        status_label=access.STATE_LABELS[row.status],
        current_body=row.current_body,
        owner=row.owner_name,
        faculty=row.faculty,
        days_in_stage=row.days_in_stage,
        open_conditions=row.open_conditions,
        votes_cast=row.votes_cast,
        due_at=row.due_at,
        overdue_days=row.overdue_days,
        decided_by=row.decided_by,
    )


@dataclass
class CommentNode:
    comment: Comment
    author: str
    previous: list[CommentEdit]
    replies: list[CommentNode]


def comment_tree(session: Session, proposal_id: int) -> list[CommentNode]:
    comments = list(session.exec(_COMMENTS, params={"proposal_id": proposal_id}))
    ids = [c.id for c in comments]
    edits: dict[int, list[CommentEdit]] = {}
    if ids:
        for e in session.exec(_EDITS, params={"ids": ids}):
            edits.setdefault(e.comment_id, []).append(e)
    names = user_names(session, {c.author_id for c in comments})
    nodes = {c.id: CommentNode(c, names.get(c.author_id, "?"), edits.get(c.id or 0, []), []) for c in comments}
    roots: list[CommentNode] = []
    for node in nodes.values():
        parent = nodes.get(node.comment.parent_id) if node.comment.parent_id else None
        (parent.replies if parent else roots).append(node)
    return roots


def timeline(
    session: Session, proposal_id: int, conditions: list[Condition] | None = None, newest: int | None = None
) -> Timeline:
    """The proposal's transitions and its conditions' in one list (``conditions``: when already loaded; ``newest``:
    only that many of the latest)."""
    if conditions is None:
        conditions = approvals.conditions_of(session, [proposal_id])[proposal_id]
    names: dict[Subject, str] = {
        ("condition", c.id): f"Condition “{shorten(c.text, 60, placeholder='…')}”"
        for c in conditions
        if c.id is not None
    }
    labels = {"proposal": access.STATE_LABELS, "condition": condition_workflow.LABELS}
    subjects = _audit_subjects(proposal_id, conditions)
    return audit_timeline.timeline(session, subjects, state_labels=labels, subject_names=names, newest=newest)


def audit_page(session: Session, proposal_id: int, after: int, limit: int) -> tuple[list[AuditEvent], bool]:
    """The audit rows of the proposal and its conditions after the row ``after``, oldest first, at most ``limit``,
    and whether more follow (the API's audit trail, page by page)."""
    subjects = _audit_subjects(proposal_id, approvals.conditions_of(session, [proposal_id])[proposal_id])
    return audit_timeline.events_after(session, subjects, after, limit)


def _audit_subjects(proposal_id: int, conditions: list[Condition]) -> list[Subject]:
    """Whose audit rows make a proposal's history: the proposal's own and its conditions'."""
    return [("proposal", proposal_id), *(("condition", c.id) for c in conditions if c.id is not None)]


def versions(session: Session, proposal_id: int) -> list[ProposalVersion]:
    return list(session.exec(_VERSIONS, params={"proposal_id": proposal_id}))


def latest_versions(session: Session, proposal_id: int, count: int) -> list[ProposalVersion]:
    """The last ``count`` submissions, oldest first: what a redline compares, without reading every earlier one."""
    return list(reversed(session.exec(_LATEST_VERSIONS, params={"proposal_id": proposal_id, "count": count}).all()))


# Built once: building a statement costs more than running it (a page runs a dozen of them).
_PROPOSAL_ID: BindParameter[int] = bindparam("proposal_id")
_COMMENTS = select(Comment).where(Comment.proposal_id == _PROPOSAL_ID).order_by(col(Comment.created_at))
_EDITS = (
    select(CommentEdit)
    .where(col(CommentEdit.comment_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(CommentEdit.edited_at))
)
_VERSIONS = (
    select(ProposalVersion).where(ProposalVersion.proposal_id == _PROPOSAL_ID).order_by(col(ProposalVersion.version_no))
)
_LATEST_VERSIONS = (
    select(ProposalVersion)
    .where(ProposalVersion.proposal_id == _PROPOSAL_ID)
    .order_by(col(ProposalVersion.version_no).desc())
    .limit(bindparam("count"))
)


def votes_with_names(session: Session, proposal: Proposal) -> list[tuple[Vote, str]]:
    votes = approvals.round_votes(session, proposal)
    names = user_names(session, {v.voter_id for v in votes})
    return [(v, names.get(v.voter_id, "?")) for v in votes]


def conditions(session: Session, proposal_id: int) -> list[Condition]:
    return approvals.conditions_of(session, [proposal_id])[proposal_id]


def vote_public(vote: Vote, name: str) -> VotePublic:
    return VotePublic(voter_name=name, **vote.model_dump(include=set(VotePublic.model_fields) - {"voter_name"}))


def round_public(r: history.Round) -> RoundPublic:
    return RoundPublic(
        review_round=r.review_round,
        body=r.body,
        number=r.number,
        label=r.label,
        votes=[vote_public(nv.vote, nv.voter) for nv in r.votes],
        decision=DecisionPublic.model_validate(r.decision, from_attributes=True) if r.decision else None,
    )


def changes_requested_public(sent_back: history.ChangesRequested) -> ChangesRequestedPublic:
    return ChangesRequestedPublic(
        round_label=sent_back.round.label,
        decision=DecisionPublic.model_validate(sent_back.decision, from_attributes=True),
        points=[
            PointPublic(key=p.key, who=p.who, choice=p.choice, comment=p.comment, conditions=p.conditions)
            for p in sent_back.points
        ],
    )


def voting_public(progress: Progress, round_label: str | None) -> VotingPublic:
    return VotingPublic(
        round_label=round_label,
        rule=progress.rule,
        eligible=progress.eligible,
        voted=progress.voted,
        quorum=progress.quorum,
        needed={side.value: n for side, n in progress.needed.items()},
    )


def superseded_by(session: Session, proposal: Proposal) -> CredentialVersion | None:
    """The edition that replaced the one this proposal published (None: not published, or still current)."""
    if proposal.status != ProposalStatus.published:
        return None
    return session.exec(
        select(CredentialVersion)
        .join(Proposal, col(Proposal.id) == CredentialVersion.proposal_id)
        .where(
            CredentialVersion.credential_id == proposal.credential_id,
            col(Proposal.revision_no) > proposal.revision_no,
        )
        .order_by(col(CredentialVersion.version_no).desc())
    ).first()
