"""Votes and decisions, publication of an approved proposal, and the conditions an approval sets.

A member's vote is their part in the body's decision; the body's voting rule (``app.approvals.voting``) fires the
decision event the moment it is met. Every status change goes through the workflow core with the subjects of
``app.approvals.access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app import limits
from app.approvals import access, deciders
from app.approvals.access import CONDITION, PROPOSAL, Ctx, _condition_ctx, lock, role_of
from app.approvals.models import Condition, Decision, Vote
from app.approvals.policy import ApprovalPolicy, VotingPolicy
from app.approvals.voting import Ballot, Choice, Progress, Side, decide, progress
from app.audit import service as audit
from app.catalogue import service as catalogue
from app.catalogue.models import CredentialVersion
from app.checklists import service as checklists
from app.db import IN_FLIGHT, mark_written, table_of, utcnow
from app.errors import PolicyViolation, TransitionNotAllowed
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember, membership_current
from app.policies import Policies
from app.proposals.models import CoProposer, Proposal
from app.security import Actor
from app.text import in_sentence
from app.workflows import core
from app.workflows.approval import REVIEW_STATES, ProposalStatus
from app.workflows.conditions import ConditionStatus
from app.workflows.core import SYSTEM

# --- votes and decisions -------------------------------------------------------------------------


@dataclass
class VoteResult:
    proposal: Proposal
    vote: Vote
    decision: Decision | None


def parse_conditions(choice: Choice, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conditions of an approval (a vote's, or a decision minuted at a meeting), cleaned; a 422 naming what
    is wrong: each needs a text and a future due date, and only "approve with conditions" has them (at least one)."""
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
    locked = lock(session, proposal_id, actor, "vote")
    ctx, proposal = locked.ctx, locked.row
    comment = comment.strip()
    if choice in (Choice.request_changes, Choice.reject) and not comment:
        what = "what needs to change" if choice is Choice.request_changes else "the reason for rejecting"
        raise PolicyViolation(f"Say {what}: a comment is required.", errors={"comment": "Required for this vote."})
    cleaned = parse_conditions(choice, conditions or [])
    assert proposal.id is not None and ctx.committee is not None and ctx.committee.id is not None
    votes = round_votes(session, proposal)
    # A substitute casts the absent member's ballot: one seat, one ballot, whoever of the two casts it.
    seat = ctx.seat_of(actor)
    assert seat is not None  # the refusal above allowed the vote
    vote = next((v for v in votes if v.voter_id == seat), None)
    if vote is not None and (vote.choice, vote.comment, vote.conditions) == (choice.value, comment, cleaned):
        return VoteResult(proposal=proposal, vote=vote, decision=None)  # the same vote again: nothing changes
    if choice in (Choice.approve, Choice.approve_with_conditions):  # the body's ESG checklist must be complete
        checklists.require_gate(session, proposal, proposal.current_body or "", policies)
    action = "vote.changed" if vote else "vote.cast"
    if vote is None:
        vote = Vote(
            proposal_id=proposal.id,
            review_round=proposal.review_round,
            body=proposal.current_body or "",
            committee_id=ctx.committee.id,
            voter_id=seat,
            choice=choice.value,
            comment=comment,
            conditions=cleaned,
        )
        votes.append(vote)
        session.add(vote)
    else:
        _change_vote(session, vote, choice=choice.value, comment=comment, conditions=cleaned, updated_at=utcnow())
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(ctx, actor),
        entity_type="proposal",
        entity_id=proposal.id,
        action=action,
        comment=comment,
        policy_version=policies.of(ApprovalPolicy).version,
        data={
            "choice": choice.value,
            "body": proposal.current_body,
            "round": proposal.review_round,
            "conditions": cleaned,
            **({"for_member_id": seat} if seat != actor.id else {}),
        },
    )
    session.flush()
    decision = _decide_if_ready(session, locked, policies, votes)
    return VoteResult(proposal=proposal, vote=vote, decision=decision)


# A changed vote is written as one UPDATE, without the ORM's unit of work (the proposal's lock serialises the
# round's votes); the loaded row then holds the new values as if read back.
_CHANGE_VOTE = (
    update(table_of(Vote))
    .where(table_of(Vote).c.id == bindparam("vote_id"))
    .values({name: bindparam(name) for name in ("choice", "comment", "conditions", "updated_at")})
    .execution_options(**{IN_FLIGHT: True})  # its row count is not read: it travels with the audit row's INSERT
)


def _change_vote(session: Session, vote: Vote, **values: Any) -> None:
    session.connection().execute(_CHANGE_VOTE, {"vote_id": vote.id, **values})
    mark_written(session)
    for name, value in values.items():
        set_committed_value(vote, name, value)


_ROUND_VOTES = (
    select(Vote)
    .where(Vote.proposal_id == bindparam("proposal_id"), Vote.review_round == bindparam("round"))
    .order_by(col(Vote.created_at))
)


def round_votes(session: Session, proposal: Proposal) -> list[Vote]:
    return list(session.exec(_ROUND_VOTES, params={"proposal_id": proposal.id, "round": proposal.review_round}))


def _decide_if_ready(
    session: Session, locked: core.Subject[Proposal, Ctx], policies: Policies, votes: list[Vote]
) -> Decision | None:
    """Apply the body's rule to the votes of the current round (just read and updated by the caller)."""
    ctx = locked.ctx
    if ctx.committee is None:
        return None
    rule, ballots = _rule_and_ballots(ctx.committee, policies, votes)
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
    if outcome.side is Side.approve:
        # No approval while the body's checklist is incomplete (answers changed after the votes were cast); its
        # "not met" answers made conditions of approval become conditions.
        gate = checklists.gate(session, locked.row, locked.row.current_body or "", policies, ctx)
        if gate.blocks:
            return None
        conditions += gate.conditions
    # A decision the system takes carries its own reason when the winning votes gave none (a unanimous body
    # split three ways sends the proposal back although nobody asked for changes).
    comments = "; ".join(v.comment for v in winning if v.comment)
    return _apply_decision(
        session,
        locked,
        policies,
        side=outcome.side,
        reason=outcome.reason,
        rule_name=rule.rule.value,
        tally=outcome.tally,
        comment=comments,
        conditions=conditions,
    )


def _apply_decision(
    session: Session,
    locked: core.Subject[Proposal, Ctx],
    policies: Policies,
    *,
    side: Side,
    reason: str,
    rule_name: str,
    tally: dict[str, int],
    comment: str,
    conditions: list[dict[str, Any]],
    role_note: str = "",
    data: dict[str, Any] | None = None,
) -> Decision:
    """The body's decision, however it was reached (its members' votes, or the minutes of its meeting): the
    decision row, its conditions, and the event sent through the workflow core (audit, notices, next stage)."""
    ctx, proposal = locked.ctx, locked.row
    assert ctx.committee is not None
    body = CommitteeKind(proposal.current_body or "")
    deciding = CommitteeKind(ctx.committee.kind)
    if ctx.taken_over:
        reason += f" ({ctx.committee.name}, deciding for the {COMMITTEE_KIND_LABELS[body].lower()})"
    if side is Side.approve and proposal.effective_on and _is_last_body(proposal):
        # The last body's approval confirms the date the proposer set for the changes to take effect.
        reason += f"; takes effect on {proposal.effective_on.isoformat()}"
    outcome_name = "approve_with_conditions" if side is Side.approve and conditions else side.value
    comment = comment or f"{reason[:1].upper()}{reason[1:]}."
    assert proposal.id is not None and ctx.committee.id is not None
    decision = Decision(
        proposal_id=proposal.id,
        review_round=proposal.review_round,
        body=body.value,
        committee_id=ctx.committee.id,
        outcome=outcome_name,
        rule=rule_name,
        tally={**tally, "eligible": len(ctx.eligible_ids), "reason": reason},
        comment=comment,
        policy_version=policies.of(ApprovalPolicy).version,
        checklist=checklists.snapshot(session, proposal, body.value, policies),
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
    if side is Side.request_changes and policies.of(ApprovalPolicy).resubmit_to == "same_body":
        proposal.return_to_body = body.value
    event_name = "approve" if side is Side.approve else side.value
    core.fire(
        session,
        locked,
        event_name,
        SYSTEM,
        policies,
        comment=comment,
        role=role + role_note,
        data={
            "decision_id": decision.id,
            "outcome": outcome_name,
            "rule": rule_name,
            "reason": reason,
            "tally": tally,
            **(data or {}),
        },
    )
    if proposal.status == ProposalStatus.approved and policies.of(ApprovalPolicy).publish_on_approval:
        publish(session, locked, SYSTEM, policies)
    return decision


def _is_last_body(proposal: Proposal) -> bool:
    return bool(proposal.route) and proposal.current_body == proposal.route[-1]


def _rule_and_ballots(committee: Committee, policies: Policies, votes: list[Vote]) -> tuple[VotingPolicy, list[Ballot]]:
    """The deciding committee's voting rule and the round's votes as ballots."""
    rule = policies.of(ApprovalPolicy).voting[CommitteeKind(committee.kind)]
    return rule, [Ballot(v.voter_id, Choice(v.choice)) for v in votes]


def round_progress(ctx: Ctx, policies: Policies, votes: list[Vote]) -> Progress | None:
    """How far the deciding body is from a decision this round (None while no body is deciding)."""
    if ctx.committee is None or not ctx.proposal.current_body:
        return None
    rule, ballots = _rule_and_ballots(ctx.committee, policies, votes)
    return progress(rule, ballots, ctx.eligible_ids, ctx.chair_id)


MINUTES_RULE = "minutes"  # the rule named on a decision recorded from a meeting's minutes


def record_minuted_decision(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    *,
    committee_id: int,
    review_round: int,
    side: Side,
    comment: str,
    meeting: str,
    meets_on: str,
    data: dict[str, Any],
    conditions: list[dict[str, Any]] | None = None,
) -> Decision:
    """The body's decision taken at its meeting and recorded from the minutes by its chair or the QA office: the
    same decision row, conditions, event, audit and notices as a decision reached by votes. Refused when the
    proposal is no longer before that committee in that round (decided, withdrawn, moved on since)."""
    locked = core.lock(session, PROPOSAL, proposal_id, actor)
    ctx, proposal = locked.ctx, locked.row
    if ctx.committee is None or ctx.committee.id != committee_id or proposal.review_round != review_round:
        now = in_sentence(access.STATE_LABELS[ProposalStatus(proposal.status)])
        raise TransitionNotAllowed(
            f"“{proposal.title}” has left this committee's queue since the agenda was made (it is now {now}, "
            f"round {proposal.review_round}): record no decision for it."
        )
    error = access.refusal(ctx, "minute", actor)
    if error is not None:
        raise error
    comment = comment.strip()
    limits.refuse_too_long(comment, limits.VOTE_COMMENT, "comment", "The comment")
    if side is not Side.approve and not comment:  # as for a vote: the proposer must learn why
        what = "what needs to change" if side is Side.request_changes else "the reason for rejecting"
        raise PolicyViolation(f"Say {what}: a comment is required.", errors={"comment": "Required for this decision."})
    conditions = list(conditions or [])  # the meeting's own, cleaned by parse_conditions
    if side is Side.approve:  # as for a vote: the body's ESG checklist must be complete; its conditions carry over
        conditions += checklists.require_gate(session, proposal, proposal.current_body or "", policies).conditions
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(ctx, actor),
        entity_type="proposal",
        entity_id=proposal.id,
        action="minutes.recorded",
        comment=comment,
        policy_version=policies.of(ApprovalPolicy).version,
        data={"outcome": side.value, "body": proposal.current_body, "round": proposal.review_round, **data},
    )
    return _apply_decision(
        session,
        locked,
        policies,
        side=side,
        reason=f"decided at the meeting of {meeting}, recorded by {actor.name}",
        rule_name=MINUTES_RULE,
        tally={s.value: 0 for s in Side},
        comment=comment,
        conditions=conditions,
        role_note=f" (minutes, {meets_on})",
        data={**data, "recorded_by_id": actor.id},
    )


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
            membership_current() & committee.is_active,
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


def reassign(
    session: Session, proposal_id: int, actor: Actor, policies: Policies, *, committee_id: int, reason: str
) -> Proposal:
    """An administrator hands the proposal's current stage to another committee, with a reason: the stage, its
    round, its due date and the votes cast stay (only the new committee's members' ballots count). Through the
    workflow core (event ``reassign``): audited, and the new committee is asked for its decision."""
    reason = reason.strip()
    limits.refuse_too_long(reason, limits.REASON, "reason", "The reason")
    if not reason:
        raise PolicyViolation("Say why the stage is handed to another committee.", errors={"reason": "Required."})
    locked = core.lock(session, PROPOSAL, proposal_id, actor)
    core.require(locked, "reassign", actor)
    ctx, proposal = locked.ctx, locked.row
    target = session.get(Committee, committee_id)
    if target is None:
        raise PolicyViolation("Choose a committee.", errors={"committee_id": "Choose a committee."})
    if ctx.committee is not None and ctx.committee.id == committee_id:
        raise PolicyViolation(f"{target.name} decides this stage already.", errors={"committee_id": "Already."})
    members = set(session.exec(select(CommitteeMember.user_id).where(CommitteeMember.committee_id == committee_id)))
    if not members - ctx.proposer_ids:
        raise PolicyViolation(
            f"Nobody in {target.name} may vote on this proposal: choose a committee with a member who is not a "
            "proposer of it.",
            errors={"committee_id": "No eligible member."},
        )
    body = CommitteeKind(proposal.current_body or "")
    own = deciders.body_panel(session, proposal, body)
    deciding = None if own is not None and own.committee.id == committee_id else committee_id
    core.fire(
        session,
        locked,
        "reassign",
        actor,
        policies,
        comment=reason,
        data={
            "body": body.value,
            "from_committee_id": ctx.committee.id if ctx.committee else None,
            "to_committee_id": committee_id,
            "deciding_committee_id": deciding,
            "round": proposal.review_round,
        },
    )
    locked.reload_context(session)
    _decide_if_ready(session, locked, policies, round_votes(session, proposal))
    return proposal


def publish_by(session: Session, proposal_id: int, actor: Actor, policies: Policies) -> Proposal:
    locked = lock(session, proposal_id, actor, "publish")
    publish(session, locked, actor, policies)
    return locked.row


def publish(
    session: Session, locked: core.Subject[Proposal, Ctx], actor: Actor | None, policies: Policies
) -> CredentialVersion:
    version = catalogue.record_edition(session, locked.row)
    core.fire(session, locked, "publish", actor, policies, comment=f"edition {version.version_no}")
    _carry_over_conditions(session, locked.row, version, policies)
    return version


def _carry_over_conditions(
    session: Session, proposal: Proposal, version: CredentialVersion, policies: Policies
) -> None:
    """The open conditions of earlier editions still bind the micro-credential: they carry over to the new edition
    (shown and followed up on its page), each with an audit row saying so. Their status is unchanged."""
    for condition in carried_conditions(session, proposal):
        assert condition.id is not None
        audit.record(
            session,
            actor_id=None,
            actor_role="system",
            entity_type="condition",
            entity_id=condition.id,
            action="condition.carried_over",
            comment=f"Carried over to edition {version.version_no}.",
            policy_version=policies.of(ApprovalPolicy).version,
            data={"proposal_id": proposal.id, "edition": version.version_no},
        )


def carried_conditions(session: Session, proposal: Proposal) -> list[Condition]:
    """Conditions of the micro-credential's earlier proposals that are not confirmed yet: they carry over to this
    one (a revision, and the edition it publishes)."""
    params = {"credential_id": proposal.credential_id, "revision_no": proposal.revision_no}
    return list(session.exec(_CARRIED, params=params))


_EARLIER_OPEN = and_(
    col(Condition.proposal_id).in_(
        select(Proposal.id).where(
            Proposal.credential_id == bindparam("credential_id"),
            col(Proposal.revision_no) < bindparam("revision_no"),
        )
    ),
    col(Condition.status) != ConditionStatus.confirmed.value,
)
_CARRIED = select(Condition).where(_EARLIER_OPEN).order_by(col(Condition.due_on))
_OWN_AND_CARRIED = (
    select(Condition)
    .where(or_(col(Condition.proposal_id) == bindparam("proposal_id"), _EARLIER_OPEN))
    .order_by(col(Condition.due_on))
)


def conditions_and_carried(session: Session, proposal: Proposal) -> tuple[list[Condition], list[Condition]]:
    """The proposal's own conditions and those ``carried_conditions`` gives, in one query (its page shows both)."""
    params = {"proposal_id": proposal.id, "credential_id": proposal.credential_id, "revision_no": proposal.revision_no}
    own: list[Condition] = []
    carried: list[Condition] = []
    for condition in session.exec(_OWN_AND_CARRIED, params=params):
        (own if condition.proposal_id == proposal.id else carried).append(condition)
    return own, carried


# --- conditions --------------------------------------------------------------------------------


def mark_condition_met(
    session: Session, condition_id: int, actor: Actor, policies: Policies, evidence: str
) -> Condition:
    evidence = evidence.strip()
    limits.refuse_too_long(evidence, limits.EVIDENCE, "evidence", "The evidence")
    return core.run(
        session, CONDITION, condition_id, "report_met", actor, policies, comment=evidence, evidence=evidence
    ).row


def confirm_condition(session: Session, condition_id: int, actor: Actor, policies: Policies) -> Condition:
    return core.run(session, CONDITION, condition_id, "confirm", actor, policies).row


def send_back_condition(
    session: Session, condition_id: int, actor: Actor, policies: Policies, reason: str
) -> Condition:
    """The QA office finds the evidence not sufficient: the condition is open again, with the reason."""
    limits.refuse_too_long(reason.strip(), limits.REASON, "comment", "The reason")
    return core.run(session, CONDITION, condition_id, "send_back", actor, policies, comment=reason.strip()).row


def condition_actions(session: Session, condition: Condition, actor: Actor) -> list[str]:
    """The condition events this person may send now (the buttons beside it)."""
    return core.offered(core.Subject(CONDITION, condition, _condition_ctx(session, condition)), actor)


def conditions_of(session: Session, proposal_ids: list[int]) -> dict[int, list[Condition]]:
    result: dict[int, list[Condition]] = {pid: [] for pid in proposal_ids}
    if proposal_ids:
        for c in session.exec(_CONDITIONS_OF, params={"ids": proposal_ids}):
            result[c.proposal_id].append(c)
    return result


_CONDITIONS_OF = (
    select(Condition)
    .where(col(Condition.proposal_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Condition.due_on))
)
