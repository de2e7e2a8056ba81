"""Proposals and their approval: drafting, submission, votes and decisions, publication, revisions.

Every status change goes through the workflow core (``app.workflows.core``): this module declares the two
lifecycles it owns (a proposal's approval, and the conditions set by an approval) with their rules (who sees a
proposal, who may send which event, the role recorded on the audit row) and calls ``core.run`` or
``core.lock`` + ``core.fire``. Nothing here assigns a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.credentials import deciders
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
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember
from app.policies import Policies
from app.security import Actor
from app.text import in_sentence
from app.users.models import User
from app.workflows import approval, conditions, core
from app.workflows.approval import (
    BODY_OF_REVIEW_STATE,
    DECISION_EVENTS,
    FINAL_STATES,
    REVIEW_STATES,
    ApprovalWorkflow,
    ProposalStatus,
)
from app.workflows.conditions import ConditionWorkflow
from app.workflows.core import SYSTEM

STATE_LABELS = approval.LABELS


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

    @property
    def taken_over(self) -> bool:
        """The stage is decided by a substitute, as nobody in the body's own committee may vote (app.credentials
        .deciders)."""
        return self.proposal.deciding_committee_id is not None


def load_ctx(session: Session, proposal: Proposal) -> Ctx:
    """The proposal's proposers and, while a body is deciding, the committee that decides: the body's own or the
    substitute that took the stage over. A body whose committee is not set up has nobody who may vote."""
    assert proposal.id is not None
    co = set(session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)))
    ctx = Ctx(proposal=proposal, proposer_ids={proposal.owner_id, *co})
    panel = deciders.deciding_panel(session, proposal)
    if panel is not None:
        ctx.committee, ctx.member_ids, ctx.chair_id = panel.committee, set(panel.member_ids), panel.chair_id
    return ctx


def _no_committee(body: CommitteeKind) -> Conflict:
    return Conflict(
        f"No {in_sentence(COMMITTEE_KIND_LABELS[body])} is set up for this proposal. Ask an administrator to create it."
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
    if actor.oversees_approvals or actor.id in proposer_ids:
        return True
    return any(
        m.committee_id == proposal.deciding_committee_id
        or (
            (m.kind.value in proposal.route or m.kind.value == proposal.current_body)
            and (m.kind is not CommitteeKind.faculty_council or m.org_unit_id == proposal.org_unit_id)
        )
        for m in actor.memberships
    )


def get_proposal(session: Session, proposal_id: int, actor: Actor) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not can_view(session, proposal, actor):
        raise NotFound(f"There is no proposal {proposal_id} that you can see.")
    return proposal


# --- permissions: evaluated for the buttons, and again before firing ------------------------------


def _proposal_refusal(ctx: Ctx, event: str, actor: Actor) -> DomainError | None:
    """Who may send which event of the approval machine (the state is the core's check)."""
    if event == "submit" and actor.id not in ctx.proposer_ids:
        return PermissionDenied("Only the proposer and co-proposers can edit and submit this proposal.")
    if event == "withdraw" and actor.id != ctx.proposal.owner_id:
        return PermissionDenied("Only the proposer can withdraw this proposal.")
    if event in DECISION_EVENTS:  # members take part by voting; the body's rule sends the event
        if actor.id in ctx.proposer_ids:
            return PermissionDenied("You cannot vote on your own proposal.")
        if actor.id not in ctx.member_ids:
            deciding = (
                ctx.committee.name
                if ctx.committee
                else COMMITTEE_KIND_LABELS[CommitteeKind(ctx.proposal.current_body or "")]
            )
            return PermissionDenied(f"Only members of the body deciding it now ({deciding}) can vote.")
    if event == "publish" and not actor.in_qa_office:
        return PermissionDenied("Only the QA office can publish.")
    if event == "route":
        return PermissionDenied("A proposal is routed by the system when it is submitted.")
    return None


def role_of(ctx: Ctx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id == ctx.proposal.owner_id:
        return "proposer"
    if actor.id in ctx.proposer_ids:
        return "co-proposer"
    if actor.id in ctx.member_ids and ctx.committee is not None:
        chair = "chair, " if actor.id == ctx.chair_id else ""
        return f"{chair}{in_sentence(COMMITTEE_KIND_LABELS[CommitteeKind(ctx.committee.kind)])}"
    if actor.is_qa_officer:
        return "QA officer"
    return "administrator" if actor.is_admin else "user"


def _begin_stage(t: core.Transition) -> None:
    """After every transition: the due date of the stage the proposal enters (none when no body is deciding), and
    someone who may decide it (a substitute when nobody in the body may vote)."""
    proposal: Proposal = t.row
    policies: Policies = t.policies
    body = BODY_OF_REVIEW_STATE.get(t.target)
    proposal.deciding_committee_id = None
    proposal.stage_due_at = (
        None if body is None else policies.approval.deadlines.due_at(body, proposal.stage_entered_at)
    )
    if body is not None:
        deciders.ensure_decider(t.session, proposal, t.ctx.proposer_ids, policies)


PROPOSAL: core.Lifecycle[Proposal, Ctx] = core.register(
    core.Lifecycle(
        name="proposal",
        model=Proposal,
        machine=ApprovalWorkflow,
        context=lambda session, proposal: load_ctx(session, proposal),
        can_see=lambda ctx, actor: _may_view(ctx.proposal, ctx.proposer_ids, actor),
        refusal=_proposal_refusal,
        role_of=role_of,
        policy_version=lambda policies: policies.approval.version,
        participles=approval.PARTICIPLES,
        listeners=(_begin_stage,),
    )
)

# What the proposal page offers. Each is an event of the machine, or the part a person takes in one: editing
# is possible where submitting is, and a vote is a member's part in the body's decision.
ACTION_LABELS = {
    "edit": "Edit",
    "submit": "Submit for approval",
    "withdraw": "Withdraw",
    "vote": "Vote",
    "publish": "Publish in the catalogue",
}
_ACTION_EVENT = {"edit": "submit", "submit": "submit", "withdraw": "withdraw", "vote": "approve", "publish": "publish"}
_ACTION_DOING = {"edit": "edited", "vote": "voted on"}


def subject(ctx: Ctx) -> core.Subject[Proposal, Ctx]:
    return core.Subject(PROPOSAL, ctx.proposal, ctx)


def refusal(ctx: Ctx, action: str, actor: Actor | None) -> DomainError | None:
    """Why this actor may not take this action now (a 409 or 403 error), or None when they may."""
    return core.refusal(subject(ctx), _ACTION_EVENT[action], actor, doing=_ACTION_DOING.get(action))


def allowed_actions(ctx: Ctx, actor: Actor) -> list[str]:
    return [a for a in ACTION_LABELS if refusal(ctx, a, actor) is None]


def _lock(session: Session, proposal_id: int, actor: Actor | None, action: str) -> core.Subject[Proposal, Ctx]:
    """The proposal locked for a change (404 for someone who may not see it), once this action is allowed."""
    locked = core.lock(session, PROPOSAL, proposal_id, actor)
    core.require(locked, _ACTION_EVENT[action], actor, doing=_ACTION_DOING.get(action))
    return locked


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
    locked = _lock(session, proposal_id, actor, "edit")
    ctx, proposal = locked.ctx, locked.row
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
    locked = _lock(session, proposal_id, actor, "submit")
    proposal = locked.row
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
    core.fire(session, locked, "submit", actor, policies, comment=f"version {proposal.submission_count}")
    core.fire(
        session,
        locked,
        "route",
        SYSTEM,
        policies,
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
    return core.run(session, PROPOSAL, proposal_id, "withdraw", actor, policies, comment=comment).row


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
    locked = _lock(session, proposal_id, actor, "vote")
    ctx, proposal = locked.ctx, locked.row
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
    decision = _decide_if_ready(session, locked, policies, votes)
    return VoteResult(proposal=proposal, vote=vote, decision=decision)


def round_votes(session: Session, proposal: Proposal) -> list[Vote]:
    return list(
        session.exec(
            select(Vote)
            .where(Vote.proposal_id == proposal.id, Vote.review_round == proposal.review_round)
            .order_by(col(Vote.created_at))
        )
    )


def _decide_if_ready(
    session: Session, locked: core.Subject[Proposal, Ctx], policies: Policies, votes: list[Vote]
) -> Decision | None:
    """Apply the body's rule to the votes of the current round (just read and updated by the caller)."""
    ctx, proposal = locked.ctx, locked.row
    if ctx.committee is None:
        return None
    body = CommitteeKind(proposal.current_body or "")
    deciding = CommitteeKind(ctx.committee.kind)  # the body's own committee, or the substitute that took it over
    rule = policies.approval.voting[deciding]
    ballots = [Ballot(v.voter_id, Choice(v.choice)) for v in votes]
    outcome = decide(rule, ballots, ctx.eligible_ids, ctx.chair_id)
    if outcome is None:
        return None
    reason = outcome.reason
    if ctx.taken_over:
        reason += f" ({ctx.committee.name}, deciding for the {COMMITTEE_KIND_LABELS[body].lower()})"
    winning = [
        v
        for v in votes
        if v.voter_id in ctx.eligible_ids
        and (Side.approve if v.choice in ("approve", "approve_with_conditions") else Side(v.choice)) is outcome.side
    ]
    conditions = [c for v in winning for c in v.conditions]
    outcome_name = "approve_with_conditions" if outcome.side is Side.approve and conditions else outcome.side.value
    # A decision the system takes carries its own reason when the winning votes gave none (a unanimous body
    # split three ways sends the proposal back although nobody asked for changes).
    comment = "; ".join(v.comment for v in winning if v.comment) or f"{reason[:1].upper()}{reason[1:]}."
    assert proposal.id is not None and ctx.committee.id is not None
    decision = Decision(
        proposal_id=proposal.id,
        review_round=proposal.review_round,
        body=body.value,
        committee_id=ctx.committee.id,
        outcome=outcome_name,
        rule=rule.rule.value,
        tally={**outcome.tally, "eligible": len(ctx.eligible_ids), "reason": reason},
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
    role = f"{COMMITTEE_KIND_LABELS[deciding]} decision" + (
        f" for the {COMMITTEE_KIND_LABELS[body].lower()}" if ctx.taken_over else ""
    )
    if outcome.side is Side.request_changes and policies.approval.resubmit_to == "same_body":
        proposal.return_to_body = body.value
    event_name = "approve" if outcome.side is Side.approve else outcome.side.value
    core.fire(
        session,
        locked,
        event_name,
        SYSTEM,
        policies,
        comment=comment,
        role=role,
        data={
            "decision_id": decision.id,
            "outcome": outcome_name,
            "rule": rule.rule.value,
            "reason": reason,
            "tally": outcome.tally,
        },
    )
    if proposal.status == ProposalStatus.approved and policies.approval.publish_on_approval:
        publish(session, locked, SYSTEM, policies)
    return decision


def committee_changed(session: Session, committee: Committee, policies: Policies) -> int:
    """After a committee was created or its membership changed: each proposal it decides where the change can
    matter (nobody in it may vote on it any more, or votes already cast may now meet the rule), and each stage that
    waits for a body able to decide, is locked in turn, gets someone who may decide it, and the rule is applied to
    the votes already cast (one member fewer may be all a body needed). Returns how many it looked at."""
    assert committee.id is not None
    waiting = col(Proposal.status).in_(sorted(REVIEW_STATES)) & col(Proposal.deciding_committee_id).is_(None)
    own_body = col(Proposal.current_body) == committee.kind
    if committee.kind == CommitteeKind.faculty_council:
        own_body &= col(Proposal.org_unit_id) == committee.org_unit_id
    decides = (col(Proposal.deciding_committee_id) == committee.id) | (waiting & own_body)
    co_proposers = select(CoProposer.user_id).where(col(CoProposer.proposal_id) == Proposal.id)
    someone_may_vote = (
        select(CommitteeMember.id)
        .where(
            col(CommitteeMember.committee_id) == committee.id,
            col(CommitteeMember.user_id) != Proposal.owner_id,
            col(CommitteeMember.user_id).not_in(co_proposers),
        )
        .exists()
    )
    ballots = (
        select(Vote.id)
        .where(col(Vote.proposal_id) == Proposal.id, col(Vote.review_round) == Proposal.review_round)
        .exists()
    )
    nobody_could = waiting & deciders.stage_has_alert(deciders.NO_ELIGIBLE_VOTER)
    affected = session.exec(
        select(Proposal.id).where((decides & (~someone_may_vote | ballots)) | nobody_could).order_by(col(Proposal.id))
    ).all()
    for proposal_id in affected:
        assert proposal_id is not None
        locked = core.lock(session, PROPOSAL, proposal_id, SYSTEM)
        if locked.row.status not in REVIEW_STATES:
            continue  # decided meanwhile
        if deciders.ensure_decider(session, locked.row, locked.ctx.proposer_ids, policies):
            locked.reload_context(session)
        _decide_if_ready(session, locked, policies, round_votes(session, locked.row))
    return len(affected)


# --- publication and revisions -------------------------------------------------------------------


def publish_by(session: Session, proposal_id: int, actor: Actor, policies: Policies) -> Proposal:
    locked = _lock(session, proposal_id, actor, "publish")
    publish(session, locked, actor, policies)
    return locked.row


def publish(
    session: Session, locked: core.Subject[Proposal, Ctx], actor: Actor | None, policies: Policies
) -> CredentialVersion:
    proposal = locked.row
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
    core.fire(session, locked, "publish", actor, policies, comment=f"edition {version.version_no}")
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
            col(Proposal.status).not_in(sorted(FINAL_STATES)),
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


@dataclass
class ConditionCtx:
    condition: Condition
    proposal: Proposal
    proposer_ids: set[int]


def _condition_ctx(session: Session, condition: Condition) -> ConditionCtx:
    proposal = session.get(Proposal, condition.proposal_id)
    assert proposal is not None
    co = set(session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)))
    return ConditionCtx(condition, proposal, {proposal.owner_id, *co})


def _condition_refusal(ctx: ConditionCtx, event: str, actor: Actor) -> DomainError | None:
    if event == "report_met" and actor.id not in ctx.proposer_ids:
        return PermissionDenied("Only the proposer can report a condition as met.")
    if event in ("confirm", "send_back") and not actor.in_qa_office:
        return PermissionDenied("Only the QA office decides whether a condition is met.")
    return None


def _condition_role(ctx: ConditionCtx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id in ctx.proposer_ids:
        return "proposer" if actor.id == ctx.proposal.owner_id else "co-proposer"
    return "QA office" if actor.in_qa_office else "user"


CONDITION: core.Lifecycle[Condition, ConditionCtx] = core.register(
    core.Lifecycle(
        name="condition",
        model=Condition,
        machine=ConditionWorkflow,
        context=_condition_ctx,
        can_see=lambda ctx, actor: _may_view(ctx.proposal, ctx.proposer_ids, actor),
        refusal=_condition_refusal,
        role_of=_condition_role,
        policy_version=lambda policies: policies.approval.version,
        participles=conditions.PARTICIPLES,
    )
)


def mark_condition_met(
    session: Session, condition_id: int, actor: Actor, policies: Policies, evidence: str
) -> Condition:
    evidence = evidence.strip()
    return core.run(
        session, CONDITION, condition_id, "report_met", actor, policies, comment=evidence, evidence=evidence
    ).row


def confirm_condition(session: Session, condition_id: int, actor: Actor, policies: Policies) -> Condition:
    return core.run(session, CONDITION, condition_id, "confirm", actor, policies).row


def send_back_condition(
    session: Session, condition_id: int, actor: Actor, policies: Policies, reason: str
) -> Condition:
    """The QA office finds the evidence not sufficient: the condition is open again, with the reason."""
    return core.run(session, CONDITION, condition_id, "send_back", actor, policies, comment=reason.strip()).row


def condition_actions(session: Session, condition: Condition, actor: Actor) -> list[str]:
    """The condition events this person may send now (the buttons beside it)."""
    return core.offered(core.Subject(CONDITION, condition, _condition_ctx(session, condition)), actor)


def conditions_of(session: Session, proposal_ids: list[int]) -> dict[int, list[Condition]]:
    result: dict[int, list[Condition]] = {pid: [] for pid in proposal_ids}
    if proposal_ids:
        for c in session.exec(
            select(Condition).where(col(Condition.proposal_id).in_(proposal_ids)).order_by(col(Condition.due_on))
        ):
            result[c.proposal_id].append(c)
    return result


# --- comments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentAdded:
    """Announced to the installed listeners (notifications) in the transaction that adds the comment."""

    session: Session
    proposal: Proposal
    comment: Comment
    author: Actor


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
    core.announce(CommentAdded(session, proposal, comment, actor))
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
