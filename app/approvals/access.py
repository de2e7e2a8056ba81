"""Who sees a proposal, who may send which event, and the role recorded on the audit row: the two lifecycles
approval owns (a proposal's approval, and the conditions an approval sets), registered with the workflow core
(``app.workflows.core``).

Every other module changes a proposal's or a condition's status through ``core.run`` or ``lock`` + ``core.fire``
with the subjects built here; nothing assigns a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam
from sqlmodel import Session, select

from app.approvals import deciders
from app.approvals.models import Condition
from app.approvals.policy import ApprovalPolicy
from app.db import session_memo
from app.errors import Conflict, DomainError, PermissionDenied, TransitionNotAllowed
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind
from app.policies import Policies
from app.proposals.models import CoProposer, Proposal
from app.security import Actor
from app.text import in_sentence
from app.workflows import approval, conditions, core
from app.workflows.approval import BODY_OF_REVIEW_STATE, DECISION_EVENTS, ApprovalWorkflow
from app.workflows.conditions import ConditionWorkflow

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

    def seat_of(self, actor: Actor) -> int | None:
        """Whose ballot this person casts on the proposal: their own, or the absent member's they stand in for."""
        return actor.seat_in(self.committee.id, self.member_ids) if self.committee and self.committee.id else None

    @property
    def taken_over(self) -> bool:
        """The stage is decided by a substitute, as nobody in the body's own committee may vote (app.approvals
        .deciders)."""
        return self.proposal.deciding_committee_id is not None


_CTX = "proposal_ctx"  # the session memo of a proposal's context (load_ctx)
# Built once: every action on a proposal reads who proposed it.
_IS_CO_PROPOSER = select(CoProposer.id).where(
    CoProposer.proposal_id == bindparam("proposal_id"), CoProposer.user_id == bindparam("user_id")
)


def load_ctx(session: Session, proposal: Proposal) -> Ctx:
    """The proposal's proposers and, while a body is deciding, the committee that decides: the body's own or the
    substitute that took the stage over. A body whose committee is not set up has nobody who may vote.

    Read once per request until something is written (``session_memo``): the proposal's page asks for it in
    several places, after ``get_proposal`` read it with the proposal."""
    proposal_id = proposal.id
    assert proposal_id is not None

    def read() -> Ctx:
        found = _load(session, proposal_id, False)  # the same row, from the session (its changes flushed first)
        assert found is not None
        return found[1]

    if session.new or session.dirty or session.deleted:  # changes not flushed yet: read after them
        return read()
    return session_memo(session, (_CTX, proposal_id), read)


def _ctx(proposal: Proposal, panel: deciders.Panel | None, co_proposer_ids: frozenset[int]) -> Ctx:
    ctx = Ctx(proposal=proposal, proposer_ids={proposal.owner_id, *co_proposer_ids})
    if panel is not None:
        ctx.committee, ctx.member_ids, ctx.chair_id = panel.committee, set(panel.member_ids), panel.chair_id
    return ctx


def _load(session: Session, proposal_id: int, lock: bool) -> tuple[Proposal, Ctx] | None:
    """The proposal with its context, in one statement (``deciders.proposal_with_deciders``)."""
    found = deciders.proposal_with_deciders(session, proposal_id, lock=lock)
    return None if found is None else (found[0], _ctx(*found))


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
    return session.exec(_IS_CO_PROPOSER, params={"proposal_id": proposal.id, "user_id": actor.id}).first() is not None


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
    """The proposal, a 404 for someone who may not see it: read with its context in one statement, which
    ``load_ctx`` then gives without reading it again."""
    found = core.read(session, PROPOSAL, proposal_id, actor)
    return session_memo(session, (_CTX, proposal_id), lambda: found.ctx).proposal


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
        seat = ctx.seat_of(actor)
        if seat is not None and seat in ctx.proposer_ids:
            return PermissionDenied(
                "The member you stand in for is a proposer of this proposal, so their seat does not vote on it."
            )
        if seat is None:
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
    if event == "reassign" and not actor.is_admin:
        return PermissionDenied("Only an administrator can hand a stage to another committee.")
    return None


def role_of(ctx: Ctx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id == ctx.proposal.owner_id:
        return "proposer"
    if actor.id in ctx.proposer_ids:
        return "co-proposer"
    seat = ctx.seat_of(actor)
    if seat is not None and ctx.committee is not None:
        chair = "chair, " if seat == ctx.chair_id else ""
        body = f"{chair}{in_sentence(COMMITTEE_KIND_LABELS[CommitteeKind(ctx.committee.kind)])}"
        if seat == actor.id:
            return body
        member = next(m.substitute_for_name for m in actor.memberships if m.substitute_for == seat)
        return f"{actor.name} for {member} ({body})"
    if actor.is_qa_officer:
        return "QA officer"
    return "administrator" if actor.is_admin else "user"


def _begin_stage(t: core.Transition) -> None:
    """After every transition: the due date of the stage the proposal enters (none when no body is deciding), and
    someone who may decide it (a substitute when nobody in the body may vote)."""
    proposal: Proposal = t.row
    policies: Policies = t.policies
    if t.event == "reassign":  # the same stage and due date; the committee the administrator chose decides it
        proposal.deciding_committee_id = t.data["deciding_committee_id"]
        return
    body = BODY_OF_REVIEW_STATE.get(t.target)
    proposal.deciding_committee_id = None
    proposal.stage_due_at = (
        None if body is None else policies.of(ApprovalPolicy).deadlines.due_at(body, proposal.stage_entered_at)
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
        policy_version=lambda policies: policies.of(ApprovalPolicy).version,
        participles=approval.PARTICIPLES,
        listeners=(_begin_stage,),
        load=_load,
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
    if action == "minute":  # the body's decision recorded from its meeting (not a button): the state, then who
        error = core.refusal(subject(ctx), "approve", None, doing="decided")
        return error or (_minute_refusal(ctx, actor) if actor is not None else None)
    error = core.refusal(subject(ctx), _ACTION_EVENT[action], actor, doing=_ACTION_DOING.get(action))
    if error is not None and action == "vote" and actor is not None:
        return _already_decided(ctx, actor) or error
    return error


def _minute_refusal(ctx: Ctx, actor: Actor) -> DomainError | None:
    """The chair of the deciding committee (or the chair's substitute) and the QA office record a body's decisions
    from the minutes of its meeting; never on a proposal of their own."""
    if actor.id in ctx.proposer_ids:
        return PermissionDenied("You cannot record a decision on your own proposal.")
    chair = ctx.chair_id is not None and ctx.seat_of(actor) == ctx.chair_id
    if not chair and not actor.in_qa_office:
        deciding = ctx.committee.name if ctx.committee else "the deciding body"
        return PermissionDenied(f"Only the chair of {deciding} or the QA office can record its decisions.")
    return None


def _already_decided(ctx: Ctx, actor: Actor) -> TransitionNotAllowed | None:
    """A member's vote that arrives after their body has decided: a 409 saying so, rather than "not your turn"
    (the proposal has moved on to a later body) or a bare state refusal (the decision ended the round)."""
    proposal = ctx.proposal
    if actor.id in ctx.proposer_ids or not proposal.submission_count:
        return None
    route = [CommitteeKind(b) for b in proposal.route]
    current = CommitteeKind(proposal.current_body) if proposal.current_body else None
    if proposal.status in BODY_OF_REVIEW_STATE:
        decided = route[: route.index(current)] if current in route else []
    elif proposal.status in _DECIDED_STATES:
        decided = route
    else:
        return None
    body = next((b for b in reversed(decided) if _member_of(actor, b, proposal)), None)
    if body is None:
        return None
    label = in_sentence(COMMITTEE_KIND_LABELS[body])
    if current is not None and proposal.status in BODY_OF_REVIEW_STATE:
        now = f"it is now with the {in_sentence(COMMITTEE_KIND_LABELS[current])}"
    else:
        now = f"it is {in_sentence(STATE_LABELS[approval.ProposalStatus(proposal.status)])}"
    return TransitionNotAllowed(f"The {label} has already decided on this proposal; {now}. Your vote was not recorded.")


_DECIDED_STATES = {
    approval.ProposalStatus.changes_requested,
    approval.ProposalStatus.approved,
    approval.ProposalStatus.published,
    approval.ProposalStatus.rejected,
}


def _member_of(actor: Actor, body: CommitteeKind, proposal: Proposal) -> bool:
    return any(
        m.kind is body and (body is not CommitteeKind.faculty_council or m.org_unit_id == proposal.org_unit_id)
        for m in actor.memberships
    )


def allowed_actions(ctx: Ctx, actor: Actor) -> list[str]:
    return [a for a in ACTION_LABELS if refusal(ctx, a, actor) is None]


def lock(session: Session, proposal_id: int, actor: Actor | None, action: str) -> core.Subject[Proposal, Ctx]:
    """The proposal locked for a change (404 for someone who may not see it), once this action is allowed."""
    locked = core.lock(session, PROPOSAL, proposal_id, actor)
    error = refusal(locked.ctx, action, actor)
    if error is not None:
        raise error
    return locked


# --- conditions ----------------------------------------------------------------------------------


@dataclass
class ConditionCtx:
    condition: Condition
    proposal: Proposal
    proposer_ids: set[int]


def _condition_ctx(session: Session, condition: Condition) -> ConditionCtx:
    proposal = session.get(Proposal, condition.proposal_id)
    assert proposal is not None
    co = set(session.exec(deciders.CO_PROPOSERS, params={"proposal_id": proposal.id}))
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
        policy_version=lambda policies: policies.of(ApprovalPolicy).version,
        participles=conditions.PARTICIPLES,
    )
)
