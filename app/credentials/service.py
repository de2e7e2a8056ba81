"""Proposals and their approval: drafting, submission, votes and decisions, publication, revisions.

Every status change goes through ``fire``: it locks the proposal row, checks that the event is possible in the
current state (409 otherwise) and that this actor may send it (403 otherwise), sends it to the state machine, and
lets the audit listener write the row in the same transaction. Nothing else assigns ``proposal.status``; a
flush-time guard (``_guard_status_changes``) refuses any status change that has no audit row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import event, or_
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes
from sqlmodel import Session, col, select
from statemachine.exceptions import TransitionNotAllowed as MachineRefused

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.credentials import elements as el
from app.credentials.models import (
    Comment,
    CommentEdit,
    Condition,
    CoProposer,
    Credential,
    CredentialVersion,
    Decision,
    Proposal,
    ProposalVersion,
    Vote,
)
from app.credentials.voting import Ballot, Choice, Side, decide
from app.db import utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember
from app.policies import Policies
from app.security import Actor
from app.users.models import User
from app.workflows.approval import BODY_OF_REVIEW_STATE, FINAL_STATES, ApprovalWorkflow

EDITABLE_STATES = frozenset({"draft", "changes_requested"})
REVIEW_STATES = frozenset(BODY_OF_REVIEW_STATE)
STATE_LABELS = {s.id: s.name for s in ApprovalWorkflow.states}


# --- audit: the listener and the guard -----------------------------------------------------------


class AuditListener:
    """Writes one audit row per transition, in the same transaction as the status change."""

    def __init__(
        self,
        session: Session,
        actor: Actor | None,
        role: str,
        policy_version: str,
        comment: str,
        data: dict[str, Any],
    ) -> None:
        self.session, self.actor, self.role = session, actor, role
        self.policy_version, self.comment, self.data = policy_version, comment, data

    def after_transition(self, event: str, source: Any, target: Any, model: Proposal) -> None:
        assert model.id is not None
        audit.record(
            self.session,
            actor_id=self.actor.id if self.actor else None,
            actor_role=self.role,
            entity_type="proposal",
            entity_id=model.id,
            action=str(event),
            from_state=source.id,
            to_state=target.id,
            policy_version=self.policy_version,
            comment=self.comment,
            data=self.data,
        )


@event.listens_for(OrmSession, "before_flush")
def _guard_status_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """No status changes without an audit row: refuse the flush otherwise."""
    audited = {
        (obj.entity_id, obj.to_state)
        for obj in session.new
        if isinstance(obj, AuditEvent) and obj.entity_type == "proposal"
    }
    for obj in session.dirty:
        changed = isinstance(obj, Proposal) and attributes.get_history(obj, "status").has_changes()
        if changed and (obj.id, obj.status) not in audited:
            raise RuntimeError(f"proposal {obj.id}: status changed to {obj.status} without an audit row")


# --- who is who on a proposal --------------------------------------------------------------------


@dataclass
class Ctx:
    """A proposal with what permission checks need: its proposers and the body now reviewing it."""

    proposal: Proposal
    proposer_ids: set[int]
    committee: Committee | None = None
    member_ids: set[int] = field(default_factory=set)
    chair_id: int | None = None

    @property
    def eligible_ids(self) -> set[int]:
        return self.member_ids - self.proposer_ids


def load_ctx(session: Session, proposal: Proposal) -> Ctx:
    assert proposal.id is not None
    co = set(session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)))
    ctx = Ctx(proposal=proposal, proposer_ids={proposal.owner_id, *co})
    if proposal.current_body:
        body = CommitteeKind(proposal.current_body)
        stmt = (
            select(Committee, CommitteeMember.user_id, CommitteeMember.is_chair)
            .outerjoin(CommitteeMember, col(CommitteeMember.committee_id) == Committee.id)
            .where(Committee.kind == body.value)
        )
        if body is CommitteeKind.faculty_council:
            stmt = stmt.where(Committee.org_unit_id == proposal.org_unit_id)
        rows = session.exec(stmt).all()
        if not rows:
            raise _no_committee(body)
        ctx.committee = rows[0][0]
        ctx.member_ids = {uid for _, uid, _ in rows if uid is not None}
        ctx.chair_id = next((uid for _, uid, chair in rows if chair), None)
    return ctx


def _no_committee(body: CommitteeKind) -> Conflict:
    return Conflict(
        f"No {COMMITTEE_KIND_LABELS[body].lower()} is set up for this proposal. Ask an administrator to create it."
    )


def committee_for(session: Session, body: CommitteeKind, org_unit_id: int) -> Committee:
    stmt = select(Committee).where(Committee.kind == body.value)
    if body is CommitteeKind.faculty_council:
        stmt = stmt.where(Committee.org_unit_id == org_unit_id)
    committee = session.exec(stmt).first()
    if committee is None:
        raise _no_committee(body)
    return committee


def can_view(session: Session, proposal: Proposal, actor: Actor) -> bool:
    if _may_view(proposal, {proposal.owner_id}, actor):
        return True
    return (
        session.exec(
            select(CoProposer.id).where(CoProposer.proposal_id == proposal.id, CoProposer.user_id == actor.id)
        ).first()
        is not None
    )


def _may_view(proposal: Proposal, proposer_ids: set[int], actor: Actor) -> bool:
    """Proposers, the QA office, administrators and members of the bodies on its route see a proposal."""
    if actor.is_admin or actor.is_qa_officer or actor.id in proposer_ids:
        return True
    return any(
        (m.kind.value in proposal.route or m.kind.value == proposal.current_body)
        and (m.kind is not CommitteeKind.faculty_council or m.org_unit_id == proposal.org_unit_id)
        for m in actor.memberships
    )


def get_proposal(session: Session, proposal_id: int, actor: Actor) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not can_view(session, proposal, actor):
        raise NotFound(f"There is no proposal {proposal_id} that you can see.")
    return proposal


def _lock(session: Session, proposal_id: int) -> Proposal:
    """Load the row for a status change: FOR UPDATE on PostgreSQL; SQLite serialises writers (BEGIN IMMEDIATE)."""
    stmt = select(Proposal).where(Proposal.id == proposal_id).with_for_update()
    proposal = session.exec(stmt.execution_options(populate_existing=True)).first()
    if proposal is None:
        raise NotFound(f"There is no proposal {proposal_id}.")
    return proposal


def _locked_ctx(session: Session, proposal_id: int, actor: Actor) -> Ctx:
    """The locked proposal with its context, or a 404 for someone who may not see it."""
    proposal = _lock(session, proposal_id)
    ctx = load_ctx(session, proposal)
    if not _may_view(proposal, ctx.proposer_ids, actor):
        raise NotFound(f"There is no proposal {proposal_id} that you can see.")
    return ctx


# --- permissions: evaluated for the buttons, and again before firing ------------------------------

ACTION_LABELS = {
    "edit": "Edit",
    "submit": "Submit for approval",
    "withdraw": "Withdraw",
    "vote": "Vote",
    "publish": "Publish in the catalogue",
}


def refusal(ctx: Ctx, action: str, actor: Actor | None) -> DomainErrorLike | None:
    """Why this actor may not take this action now (a 409 or 403 error), or None when they may."""
    p = ctx.proposal
    state = p.status
    possible = {
        "edit": state in EDITABLE_STATES,
        "submit": state in EDITABLE_STATES,
        "withdraw": state not in FINAL_STATES and state != "approved",
        "vote": state in REVIEW_STATES,
        "publish": state == "approved",
    }[action]
    if not possible:
        return TransitionNotAllowed(
            f"A proposal that is {STATE_LABELS[state].lower()} cannot be "
            f"{'voted on' if action == 'vote' else ACTION_LABELS[action].lower().split(' ')[0] + 'ed'}."
        )
    if actor is None:
        return None  # the system (a body's decision, the scheduler) may do whatever the state allows
    if action in ("edit", "submit") and actor.id not in ctx.proposer_ids:
        return PermissionDenied("Only the proposer and co-proposers can edit and submit this proposal.")
    if action == "withdraw" and actor.id != p.owner_id:
        return PermissionDenied("Only the proposer can withdraw this proposal.")
    if action == "vote":
        if actor.id in ctx.proposer_ids:
            return PermissionDenied("You cannot vote on your own proposal.")
        if actor.id not in ctx.member_ids:
            body = COMMITTEE_KIND_LABELS[CommitteeKind(p.current_body or "")]
            return PermissionDenied(f"Only members of the body reviewing it now ({body}) can vote.")
    if action == "publish" and not actor.in_qa_office:
        return PermissionDenied("Only the QA office can publish.")
    return None


DomainErrorLike = TransitionNotAllowed | PermissionDenied


def allowed_actions(ctx: Ctx, actor: Actor) -> list[str]:
    return [a for a in ACTION_LABELS if refusal(ctx, a, actor) is None]


def _require(ctx: Ctx, action: str, actor: Actor | None) -> None:
    error = refusal(ctx, action, actor)
    if error is not None:
        raise error


def role_of(ctx: Ctx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id == ctx.proposal.owner_id:
        return "proposer"
    if actor.id in ctx.proposer_ids:
        return "co-proposer"
    if actor.id in ctx.member_ids and ctx.committee is not None:
        chair = "chair, " if actor.id == ctx.chair_id else ""
        return f"{chair}{COMMITTEE_KIND_LABELS[CommitteeKind(ctx.committee.kind)].lower()}"
    if actor.is_qa_officer:
        return "QA officer"
    return "administrator" if actor.is_admin else "user"


# --- the one entry point that changes a status ---------------------------------------------------


def fire(
    session: Session,
    ctx: Ctx,
    event_name: str,
    actor: Actor | None,
    policies: Policies,
    *,
    comment: str = "",
    role: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    proposal = ctx.proposal
    listener = AuditListener(
        session, actor, role or role_of(ctx, actor), policies.approval.version, comment, data or {}
    )
    machine = ApprovalWorkflow(model=proposal, state_field="status", listeners=[listener])
    if event_name not in {e.id for e in machine.allowed_events}:
        raise TransitionNotAllowed(
            f"'{event_name.replace('_', ' ')}' is not possible while the proposal is "
            f"{STATE_LABELS[proposal.status].lower()}."
        )
    try:
        machine.send(event_name, comment=comment, now=utcnow())
    except MachineRefused as exc:
        raise TransitionNotAllowed(str(exc)) from None
    session.add(proposal)
    session.flush()


# --- drafting ------------------------------------------------------------------------------------


def default_content(policies: Policies) -> dict[str, Any]:
    inst = policies.institution
    return {
        "awarding_bodies": [inst.awarding_body],
        "issuer_country": inst.country,
        "issuer_region": inst.region or None,
        "quality_assurance": inst.quality_assurance,
        "national_level": None,
    }


def create_proposal(
    session: Session,
    actor: Actor,
    policies: Policies,
    *,
    kind: el.Kind,
    values: dict[str, Any],
    org_unit_id: int | None = None,
    co_proposer_ids: list[int] | None = None,
) -> tuple[Proposal, el.Check]:
    if not actor.is_academic:
        raise PermissionDenied("Only academics can propose micro-credentials.")
    unit = org_unit_id or actor.org_unit_id
    if unit is None:
        raise PolicyViolation("Choose the owning faculty.", errors={"org_unit_id": "Choose the owning faculty."})
    content, check = _validated(session, {**default_content(policies), **values}, policies, kind)
    credential = Credential(kind=kind.value, org_unit_id=unit, owner_id=actor.id)
    session.add(credential)
    session.flush()
    assert credential.id is not None
    proposal = Proposal(
        credential_id=credential.id,
        kind=kind.value,
        org_unit_id=unit,
        owner_id=actor.id,
        content=content,
        title=content.get("title") or "",
    )
    session.add(proposal)
    session.flush()
    assert proposal.id is not None
    _set_co_proposers(session, proposal, actor, co_proposer_ids or [])
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="proposer",
        entity_type="proposal",
        entity_id=proposal.id,
        action="created",
        to_state="draft",
        policy_version=policies.credentials.version,
    )
    session.flush()
    return proposal, check


def _validated(
    session: Session, values: dict[str, Any], policies: Policies, kind: el.Kind
) -> tuple[dict[str, Any], el.Check]:
    """Parse and check content for saving: any invalid field refuses the save (422), nothing is stored."""
    elements, errors = el.parse(values)
    result = el.check(elements, policies.credentials, kind)
    errors = {**result.errors, **errors}
    errors.update(_parent_errors(session, elements, kind))
    if errors:
        raise PolicyViolation(
            f"{len(errors)} field{'s' if len(errors) > 1 else ''} need{'' if len(errors) > 1 else 's'} correcting: "
            + ", ".join(el.LABELS.get(name, name) for name in errors),
            errors=errors,
        )
    return elements.model_dump(mode="json"), result


def _parent_errors(session: Session, elements: el.Elements, kind: el.Kind) -> dict[str, str]:
    from app.org.models import Module, Programme

    errors: dict[str, str] = {}
    if kind is el.Kind.standalone:
        return errors
    if elements.parent_programme_id is not None and session.get(Programme, elements.parent_programme_id) is None:
        errors["parent_programme_id"] = "Unknown programme."
    if elements.parent_module_id is not None:
        module = session.get(Module, elements.parent_module_id)
        if module is None:
            errors["parent_module_id"] = "Unknown module."
        elif module.programme_id != elements.parent_programme_id:
            errors["parent_module_id"] = "This module is not part of the chosen programme."
    return errors


def check_values(session: Session, values: dict[str, Any], policies: Policies, kind: el.Kind) -> el.Check:
    """Inline validation: every problem in the posted values, without saving anything."""
    elements, errors = el.parse(values)
    result = el.check(elements, policies.credentials, kind)
    result.errors = {**result.errors, **errors, **_parent_errors(session, elements, kind)}
    result.missing = [m for m in result.missing if m not in errors]
    return result


def _set_co_proposers(session: Session, proposal: Proposal, actor: Actor, user_ids: list[int]) -> None:
    assert proposal.id is not None
    wanted = {uid for uid in user_ids if uid != proposal.owner_id}
    if wanted:
        found = set(session.exec(select(User.id).where(col(User.id).in_(wanted), col(User.is_active))))
        if found != wanted:
            raise PolicyViolation("A co-proposer is not an active user.", errors={"co_proposers": "Unknown user."})
    current = {c.user_id: c for c in session.exec(select(CoProposer).where(CoProposer.proposal_id == proposal.id))}
    for uid, row in current.items():
        if uid not in wanted:
            session.delete(row)
    for uid in wanted - current.keys():
        session.add(CoProposer(proposal_id=proposal.id, user_id=uid))


def co_proposer_ids(session: Session, proposal: Proposal) -> list[int]:
    return list(session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)))


def update_proposal(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    values: dict[str, Any],
    co_proposers: list[int] | None = None,
) -> tuple[Proposal, el.Check]:
    ctx = _locked_ctx(session, proposal_id, actor)
    proposal = ctx.proposal
    _require(ctx, "edit", actor)
    content, check = _validated(session, values, policies, el.Kind(proposal.kind))
    changed = sorted(k for k in set(content) | set(proposal.content) if content.get(k) != proposal.content.get(k))
    proposal.content = content
    proposal.title = content.get("title") or ""
    proposal.updated_at = utcnow()
    if co_proposers is not None:
        _set_co_proposers(session, proposal, actor, co_proposers)
    session.add(proposal)
    if changed:
        assert proposal.id is not None
        audit.record(
            session,
            actor_id=actor.id,
            actor_role=role_of(ctx, actor),
            entity_type="proposal",
            entity_id=proposal.id,
            action="edited",
            data={"fields": changed},
            policy_version=policies.credentials.version,
        )
    session.flush()
    return proposal, check


# --- submission, withdrawal ----------------------------------------------------------------------


def published_content(session: Session, credential_id: int) -> dict[str, Any] | None:
    row = session.exec(
        select(CredentialVersion)
        .where(CredentialVersion.credential_id == credential_id, col(CredentialVersion.effective_to).is_(None))
        .order_by(col(CredentialVersion.version_no).desc())
    ).first()
    return row.content if row else None


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [
        f.name
        for f in el.FIELDS
        if el.is_filled(old.get(f.name)) or el.is_filled(new.get(f.name))
        if old.get(f.name) != new.get(f.name)
    ]


def submit(session: Session, proposal_id: int, actor: Actor, policies: Policies) -> Proposal:
    ctx = _locked_ctx(session, proposal_id, actor)
    proposal = ctx.proposal
    _require(ctx, "submit", actor)
    kind = el.Kind(proposal.kind)
    elements, errors = el.parse(proposal.content)
    result = el.check(elements, policies.credentials, kind)
    problems = {**result.errors, **errors}
    missing = [el.LABELS.get(name, name) for name in result.missing]
    if missing or problems:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if problems:
            parts.append("to correct: " + ", ".join(el.LABELS.get(n, n) for n in problems))
        raise PolicyViolation(
            "The proposal cannot be submitted yet; " + "; ".join(parts) + ".",
            errors={**dict.fromkeys(result.missing, "Required for submission."), **problems},
        )
    if proposal.submission_count == 0:
        proposal.route = [b.value for b in _route_for(session, proposal, policies)]
    proposal.submission_count += 1
    assert proposal.id is not None
    session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            version_no=proposal.submission_count,
            content=proposal.content,
            submitted_by_id=actor.id,
        )
    )
    fire(session, ctx, "submit", actor, policies, comment=f"version {proposal.submission_count}")
    fire(
        session,
        ctx,
        "route",
        None,
        policies,
        role="system",
        data={"route": proposal.route, "change_type": proposal.change_type},
    )
    return proposal


def _route_for(session: Session, proposal: Proposal, policies: Policies) -> list[CommitteeKind]:
    """The route from policy: by kind for a new offer; a revision's route depends on what it changes."""
    if proposal.revision_no == 1:
        proposal.change_type = "new"
        return policies.approval.route_for(proposal.kind)
    before = published_content(session, proposal.credential_id) or {}
    changed = set(changed_fields(before, proposal.content))
    major = bool(changed & set(policies.credentials.major_change_fields))
    proposal.change_type = "major" if major else "minor"
    return policies.approval.route_for(proposal.kind) if major else policies.approval.minor_change_route


def withdraw(session: Session, proposal_id: int, actor: Actor, policies: Policies, comment: str = "") -> Proposal:
    ctx = _locked_ctx(session, proposal_id, actor)
    proposal = ctx.proposal
    _require(ctx, "withdraw", actor)
    fire(session, ctx, "withdraw", actor, policies, comment=comment)
    return proposal


# --- votes and decisions -------------------------------------------------------------------------


@dataclass
class VoteResult:
    proposal: Proposal
    vote: Vote
    decision: Decision | None


def _parse_conditions(choice: Choice, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for number, cond in enumerate(conditions, start=1):
        text = str(cond.get("text") or "").strip()
        due = cond.get("due_on")
        if not text and not due:
            continue
        if not text:
            raise PolicyViolation(f"Condition {number} needs a text.", errors={"conditions": "Each needs a text."})
        try:
            due_on = due if isinstance(due, date) else date.fromisoformat(str(due))
        except ValueError:
            raise PolicyViolation(
                f"Condition {number} needs a due date.", errors={"conditions": "Give a due date."}
            ) from None
        if due_on <= date.today():
            raise PolicyViolation(
                f"Condition {number} must be due in the future.",
                errors={"conditions": "The due date must be in the future."},
            )
        cleaned.append({"text": text, "due_on": due_on.isoformat()})
    if choice is Choice.approve_with_conditions and not cleaned:
        raise PolicyViolation(
            "Approving with conditions needs at least one condition with a due date.",
            errors={"conditions": "Add at least one condition."},
        )
    if choice is not Choice.approve_with_conditions and cleaned:
        raise PolicyViolation("Conditions go with 'approve with conditions'.", errors={"conditions": "Not expected."})
    return cleaned


def cast_vote(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    *,
    choice: Choice,
    comment: str = "",
    conditions: list[dict[str, Any]] | None = None,
) -> VoteResult:
    ctx = _locked_ctx(session, proposal_id, actor)
    proposal = ctx.proposal
    _require(ctx, "vote", actor)
    comment = comment.strip()
    if choice in (Choice.request_changes, Choice.reject) and not comment:
        what = "what needs to change" if choice is Choice.request_changes else "the reason for rejecting"
        raise PolicyViolation(f"Say {what}: a comment is required.", errors={"comment": "Required for this vote."})
    cleaned = _parse_conditions(choice, conditions or [])
    assert proposal.id is not None and ctx.committee is not None and ctx.committee.id is not None
    votes = round_votes(session, proposal)
    vote = next((v for v in votes if v.voter_id == actor.id), None)
    action = "vote.changed" if vote else "vote.cast"
    if vote is None:
        vote = Vote(
            proposal_id=proposal.id,
            review_round=proposal.review_round,
            body=proposal.current_body or "",
            committee_id=ctx.committee.id,
            voter_id=actor.id,
            choice=choice.value,
        )
        votes.append(vote)
    vote.choice, vote.comment, vote.conditions, vote.updated_at = choice.value, comment, cleaned, utcnow()
    session.add(vote)
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(ctx, actor),
        entity_type="proposal",
        entity_id=proposal.id,
        action=action,
        comment=comment,
        policy_version=policies.approval.version,
        data={
            "choice": choice.value,
            "body": proposal.current_body,
            "round": proposal.review_round,
            "conditions": cleaned,
        },
    )
    session.flush()
    decision = _decide_if_ready(session, ctx, policies, votes)
    return VoteResult(proposal=proposal, vote=vote, decision=decision)


def round_votes(session: Session, proposal: Proposal) -> list[Vote]:
    return list(
        session.exec(
            select(Vote)
            .where(Vote.proposal_id == proposal.id, Vote.review_round == proposal.review_round)
            .order_by(col(Vote.created_at))
        )
    )


def _decide_if_ready(session: Session, ctx: Ctx, policies: Policies, votes: list[Vote]) -> Decision | None:
    """Apply the body's rule to the votes of the current round (just read and updated by the caller)."""
    proposal = ctx.proposal
    body = CommitteeKind(proposal.current_body or "")
    rule = policies.approval.voting[body]
    ballots = [Ballot(v.voter_id, Choice(v.choice)) for v in votes]
    outcome = decide(rule, ballots, ctx.eligible_ids, ctx.chair_id)
    if outcome is None:
        return None
    winning = [
        v
        for v in votes
        if v.voter_id in ctx.eligible_ids
        and (Side.approve if v.choice in ("approve", "approve_with_conditions") else Side(v.choice)) is outcome.side
    ]
    conditions = [c for v in winning for c in v.conditions]
    outcome_name = "approve_with_conditions" if outcome.side is Side.approve and conditions else outcome.side.value
    comment = "; ".join(v.comment for v in winning if v.comment)
    assert proposal.id is not None and ctx.committee is not None and ctx.committee.id is not None
    decision = Decision(
        proposal_id=proposal.id,
        review_round=proposal.review_round,
        body=body.value,
        committee_id=ctx.committee.id,
        outcome=outcome_name,
        rule=rule.rule.value,
        tally={**outcome.tally, "eligible": len(ctx.eligible_ids), "reason": outcome.reason},
        comment=comment,
        policy_version=policies.approval.version,
    )
    session.add(decision)
    session.flush()
    for cond in conditions:
        session.add(
            Condition(
                proposal_id=proposal.id,
                decision_id=decision.id,
                text=cond["text"],
                due_on=date.fromisoformat(cond["due_on"]),
            )
        )
    role = f"{COMMITTEE_KIND_LABELS[body]} decision"
    if outcome.side is Side.request_changes and policies.approval.resubmit_to == "same_body":
        proposal.return_to_body = body.value
    event_name = "approve" if outcome.side is Side.approve else outcome.side.value
    fire(
        session,
        ctx,
        event_name,
        None,
        policies,
        comment=comment,
        role=role,
        data={
            "decision_id": decision.id,
            "outcome": outcome_name,
            "rule": rule.rule.value,
            "reason": outcome.reason,
            "tally": outcome.tally,
        },
    )
    if proposal.status == "approved" and policies.approval.publish_on_approval:
        publish(session, ctx, None, policies)
    return decision


# --- publication and revisions -------------------------------------------------------------------


def publish_by(session: Session, proposal_id: int, actor: Actor, policies: Policies) -> Proposal:
    ctx = _locked_ctx(session, proposal_id, actor)
    proposal = ctx.proposal
    _require(ctx, "publish", actor)
    publish(session, ctx, actor, policies)
    return proposal


def publish(session: Session, ctx: Ctx, actor: Actor | None, policies: Policies) -> CredentialVersion:
    proposal = ctx.proposal
    credential = session.get(Credential, proposal.credential_id, with_for_update=True)
    assert credential is not None and proposal.id is not None
    now = utcnow()
    previous = session.exec(
        select(CredentialVersion).where(
            CredentialVersion.credential_id == credential.id, col(CredentialVersion.effective_to).is_(None)
        )
    ).first()
    if previous is not None:
        previous.effective_to = now
        session.add(previous)
    version = CredentialVersion(
        credential_id=credential.id or 0,
        version_no=credential.current_version_no + 1,
        proposal_id=proposal.id,
        content=proposal.content,
        change_type=proposal.change_type,
        changes=changed_fields(previous.content, proposal.content) if previous else [],
        effective_from=now,
    )
    session.add(version)
    elements = el.Elements.model_validate(proposal.content)
    credential.current_version_no = version.version_no
    credential.title = elements.title or ""
    credential.ects = elements.ects
    credential.eqf_level = elements.eqf_level
    credential.participation_form = elements.participation_form.value if elements.participation_form else None
    credential.search_text = " ".join(
        [elements.title or "", *elements.learning_outcomes, elements.target_group or ""]
    ).lower()
    credential.published_at = now
    session.add(credential)
    fire(
        session,
        ctx,
        "publish",
        actor,
        policies,
        comment=f"edition {version.version_no}",
        role=None if actor else "system",
    )
    return version


def open_revision(session: Session, credential_id: int, actor: Actor, policies: Policies) -> Proposal:
    credential = session.get(Credential, credential_id, with_for_update=True)
    if credential is None:
        raise NotFound(f"There is no micro-credential {credential_id}.")
    if credential.owner_id != actor.id:
        raise PermissionDenied("Only the owner can open a revision.")
    content = published_content(session, credential_id)
    if content is None:
        raise TransitionNotAllowed("Only a published micro-credential can be revised.")
    open_one = session.exec(
        select(Proposal.id).where(
            Proposal.credential_id == credential_id,
            col(Proposal.status).not_in(["published", "rejected", "withdrawn"]),
        )
    ).first()
    if open_one is not None:
        raise Conflict(f"Revision {open_one} is already open for this micro-credential.")
    last = session.exec(
        select(Proposal).where(Proposal.credential_id == credential_id).order_by(col(Proposal.revision_no).desc())
    ).first()
    assert last is not None
    proposal = Proposal(
        credential_id=credential_id,
        revision_no=last.revision_no + 1,
        change_type="minor",
        kind=credential.kind,
        org_unit_id=credential.org_unit_id,
        owner_id=actor.id,
        content=dict(content),
        title=content.get("title") or "",
    )
    session.add(proposal)
    session.flush()
    assert proposal.id is not None
    for uid in co_proposer_ids(session, last):
        session.add(CoProposer(proposal_id=proposal.id, user_id=uid))
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="proposer",
        entity_type="proposal",
        entity_id=proposal.id,
        action="revision_opened",
        to_state="draft",
        data={"credential_id": credential_id},
    )
    session.flush()
    return proposal


# --- conditions ----------------------------------------------------------------------------------


def _condition(session: Session, condition_id: int, actor: Actor) -> tuple[Condition, Proposal]:
    condition = session.get(Condition, condition_id)
    if condition is None:
        raise NotFound(f"There is no condition {condition_id}.")
    return condition, get_proposal(session, condition.proposal_id, actor)


def mark_condition_met(session: Session, condition_id: int, actor: Actor, evidence: str) -> Condition:
    condition, proposal = _condition(session, condition_id, actor)
    if actor.id not in load_ctx(session, proposal).proposer_ids:
        raise PermissionDenied("Only the proposer can report a condition as met.")
    if condition.status == "confirmed":
        raise TransitionNotAllowed("This condition is already confirmed by the QA office.")
    if not evidence.strip():
        raise PolicyViolation("Describe the evidence that the condition is met.", errors={"evidence": "Required."})
    condition.status, condition.evidence = "met", evidence.strip()
    condition.met_at, condition.met_by_id = utcnow(), actor.id
    session.add(condition)
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="proposer",
        entity_type="proposal",
        entity_id=proposal.id,
        action="condition.met",
        comment=condition.evidence,
        data={"condition_id": condition_id},
    )
    session.flush()
    return condition


def confirm_condition(session: Session, condition_id: int, actor: Actor) -> Condition:
    condition, proposal = _condition(session, condition_id, actor)
    if not actor.in_qa_office:
        raise PermissionDenied("Only the QA office confirms that a condition is met.")
    if condition.status != "met":
        raise TransitionNotAllowed("Only a condition reported as met can be confirmed.")
    condition.status, condition.confirmed_at, condition.confirmed_by_id = "confirmed", utcnow(), actor.id
    session.add(condition)
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="QA office",
        entity_type="proposal",
        entity_id=proposal.id,
        action="condition.confirmed",
        data={"condition_id": condition_id},
    )
    session.flush()
    return condition


def conditions_of(session: Session, proposal_ids: list[int]) -> dict[int, list[Condition]]:
    result: dict[int, list[Condition]] = {pid: [] for pid in proposal_ids}
    if proposal_ids:
        for c in session.exec(
            select(Condition).where(col(Condition.proposal_id).in_(proposal_ids)).order_by(col(Condition.due_on))
        ):
            result[c.proposal_id].append(c)
    return result


# --- comments ------------------------------------------------------------------------------------


def add_comment(session: Session, proposal_id: int, actor: Actor, body: str, parent_id: int | None = None) -> Comment:
    proposal = get_proposal(session, proposal_id, actor)
    if not body.strip():
        raise PolicyViolation("The comment is empty.", errors={"body": "Write something."})
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.proposal_id != proposal.id:
            raise NotFound("The comment you reply to does not exist on this proposal.")
    comment = Comment(proposal_id=proposal_id, parent_id=parent_id, author_id=actor.id, body=body.strip())
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(load_ctx(session, proposal), actor),
        entity_type="proposal",
        entity_id=proposal_id,
        action="comment.added",
        comment=comment.body,
        data={"comment_id": comment.id, "parent_id": parent_id},
    )
    return comment


def edit_comment(session: Session, comment_id: int, actor: Actor, body: str) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"There is no comment {comment_id}.")
    get_proposal(session, comment.proposal_id, actor)
    if comment.author_id != actor.id:
        raise PermissionDenied("You can only edit your own comments.")
    if not body.strip():
        raise PolicyViolation("The comment is empty; comments cannot be deleted.", errors={"body": "Write something."})
    session.add(CommentEdit(comment_id=comment_id, previous_body=comment.body))
    comment.body, comment.edited_at = body.strip(), utcnow()
    session.add(comment)
    audit.record(
        session,
        actor_id=actor.id,
        entity_type="proposal",
        entity_id=comment.proposal_id,
        action="comment.edited",
        comment=comment.body,
        data={"comment_id": comment_id},
    )
    session.flush()
    return comment


# --- lists ---------------------------------------------------------------------------------------


def my_proposals(session: Session, actor: Actor, *, offset: int = 0, limit: int = 25) -> tuple[list[Proposal], int]:
    from sqlmodel import func

    co = select(CoProposer.proposal_id).where(CoProposer.user_id == actor.id)
    where = or_(col(Proposal.owner_id) == actor.id, col(Proposal.id).in_(co))
    total = session.exec(select(func.count()).select_from(Proposal).where(where)).one()
    rows = session.exec(
        select(Proposal)
        .where(where)
        .order_by(col(Proposal.updated_at).desc(), col(Proposal.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total
