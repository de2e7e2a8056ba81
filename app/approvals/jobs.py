"""Scheduled work for approvals: reminders and escalations about stages, the QA office told when nobody may vote,
reminders about conditions.

Each is called by the sweep as ``job(session, now)`` with the policies and the app's address bound at start-up
(app/jobs.py), and sends each alert exactly once however many processes sweep:

- a stage alert (a reminder, an escalation) is claimed by inserting its ``stage_alert`` row, whose unique key is
  (proposal, review round, body, step), after the proposal was selected ``FOR UPDATE SKIP LOCKED``: another
  sweeper passes over a proposal this one holds, and the stage cannot change while its alerts are written;
- the QA office's "nobody may vote" alert is written by the workflow, unsent, and claimed by a compare-and-set
  on ``sent_at``;
- a condition's two reminders are claimed by a compare-and-set on their ``..._notified_at`` columns.

The alert, its notifications (in-app and outbox) and its audit row are written in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from app.approvals import access, deciders
from app.approvals.models import Condition, StageAlert, Vote
from app.approvals.policy import ESCALATED_TO_CHAIR, ESCALATED_TO_QA, ApprovalPolicy, StageStep
from app.approvals.queries import overdue_days
from app.notifications.service import notify
from app.org.models import COMMITTEE_KIND_LABELS, CommitteeKind
from app.policies import Policies
from app.proposals.models import CoProposer, Proposal
from app.scheduler import claim_each, handle_each, insert_once, skip_locked
from app.workflows.approval import REVIEW_STATES
from app.workflows.conditions import ConditionStatus

BATCH = 50
REMINDER_KIND = "proposal.reminder"
KIND_OF_STEP = {ESCALATED_TO_CHAIR: "proposal.escalated_to_chair", ESCALATED_TO_QA: "proposal.escalated_to_qa"}
NO_ELIGIBLE_VOTER_KIND = "proposal.no_eligible_voter"
CONDITION_DUE_SOON_KIND = "condition.due_soon"
CONDITION_OVERDUE_KIND = "condition.overdue"


class Message(NamedTuple):
    """What to tell whom; ``send`` writes it (in-app notifications and mail) in the job's transaction."""

    recipients: list[int]
    kind: str
    subject: str
    text: str
    link: str

    def send(self, session: Session, *, base_url: str, now: datetime) -> int:
        """How many were told (inactive accounts are left out)."""
        told = notify(session, base_url=base_url, now=now, **self._asdict())
        return len(told)


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


# --- reminders and escalations about a stage -----------------------------------------------------


def _step_due(step: StageStep, now: datetime) -> ColumnElement[bool]:
    """SQL for ``step.is_due(stage_due_at, now)`` with the step not yet sent for this stage."""
    due_at = col(Proposal.stage_due_at)
    window = [due_at <= now - step.start]
    if step.end is not None:
        window.append(due_at > now - step.end)
    return and_(*window, ~deciders.stage_has_alert(step.name))


def remind_and_escalate(
    session: Session, now: datetime, *, policies: Policies, base_url: str, batch: int = BATCH
) -> int:
    """``approvals.remind_and_escalate``: every reminder and escalation due at ``now``, each once per stage.
    Returns how many alerts were sent."""
    steps = policies.of(ApprovalPolicy).deadlines.stage_steps()
    due = and_(
        col(Proposal.stage_due_at).is_not(None),
        col(Proposal.status).in_(sorted(REVIEW_STATES)),
        or_(*(_step_due(step, now) for step in steps)),
    )
    sent = 0
    after = 0  # keyset: a stage whose alert failed is left for the next sweep, not retried in a loop

    def handle(proposal_id: int) -> bool:
        nonlocal sent
        alerted = _alert_stage(session, proposal_id, now, steps, policies=policies, base_url=base_url)
        sent += alerted
        return alerted > 0

    while True:
        stmt = select(Proposal.id).where(due, col(Proposal.id) > after).order_by(col(Proposal.id)).limit(batch)
        ids = [pid for pid in session.exec(skip_locked(session, stmt)).all() if pid is not None]
        if not ids:
            return sent
        after = ids[-1]
        handle_each(session, ids, handle, job="approvals.remind_and_escalate")
        session.commit()  # the alerts go out, and the stages' locks are released


def _alert_stage(
    session: Session, proposal_id: int, now: datetime, steps: list[StageStep], *, policies: Policies, base_url: str
) -> int:
    """Send the alerts due about one stage (the proposal is locked by the caller's SELECT ... FOR UPDATE)."""
    proposal = session.get(Proposal, proposal_id, populate_existing=True)
    assert proposal is not None and proposal.id is not None
    if proposal.status not in REVIEW_STATES or proposal.stage_due_at is None or not proposal.current_body:
        return 0  # the stage ended meanwhile
    due_at, body = proposal.stage_due_at, CommitteeKind(proposal.current_body)
    ctx = access.load_ctx(session, proposal)
    if deciders.ensure_decider(session, proposal, ctx.proposer_ids, policies):
        ctx = access.load_ctx(session, proposal)
    voted = set(
        session.exec(
            select(Vote.voter_id).where(Vote.proposal_id == proposal.id, Vote.review_round == proposal.review_round)
        )
    )
    sent = 0
    for step in steps:
        if not step.is_due(due_at, now):
            continue
        alert = StageAlert(
            proposal_id=proposal.id, review_round=proposal.review_round, body=body.value, step=step.name, sent_at=now
        )
        if not insert_once(session, alert):
            continue  # sent already, by an earlier sweep or another sweeper
        alert.recipients = _stage_message(session, step.name, ctx, proposal, voted, now).send(
            session, base_url=base_url, now=now
        )
        session.add(alert)
        deciders.record_event(
            session,
            proposal,
            f"deadline.{step.name}",
            policies,
            data={"body": body.value, "due_at": due_at.isoformat(), "recipients": alert.recipients},
        )
        sent += 1
    session.flush()
    return sent


def _stage_message(
    session: Session, step: str, ctx: access.Ctx, proposal: Proposal, voted: set[int], now: datetime
) -> Message:
    assert proposal.stage_due_at is not None and proposal.current_body
    due_at, title = proposal.stage_due_at, proposal.title or "Untitled proposal"
    deciding = ctx.committee.name if ctx.committee else COMMITTEE_KIND_LABELS[CommitteeKind(proposal.current_body)]
    link = f"/proposals/{proposal.id}"
    tally = f"{len(voted & ctx.eligible_ids)} of {len(ctx.eligible_ids)} members who may vote have voted"
    if step == ESCALATED_TO_CHAIR:
        return Message(
            [ctx.chair_id] if ctx.chair_id in ctx.eligible_ids else [],
            KIND_OF_STEP[step],
            f"Decision overdue: {title}",
            f"{deciding} was to decide on “{title}” by {_day(due_at)}; it is overdue by "
            f"{_days(overdue_days(due_at, now))}. {tally}. As its chair, please bring the decision about.",
            link,
        )
    if step == ESCALATED_TO_QA:
        return Message(
            sorted(deciders.qa_office_ids(session) - ctx.proposer_ids),
            KIND_OF_STEP[step],
            f"Decision overdue by {_days(overdue_days(due_at, now))}: {title}",
            f"{deciding} was to decide on “{title}” by {_day(due_at)} and has not: {tally}. Its chair was told "
            "when it fell due.",
            link,
        )
    return Message(
        sorted(ctx.eligible_ids - voted),
        REMINDER_KIND,
        f"Reminder: your vote on “{title}” is due by {_day(due_at)}",
        f"{deciding} is to decide on “{title}” by {_day(due_at)}, and you have not voted yet. "
        "Open the proposal to vote.",
        link,
    )


# --- the QA office told that nobody may vote -----------------------------------------------------


def report_no_eligible_voter(session: Session, now: datetime, *, base_url: str, batch: int = BATCH) -> int:
    """``approvals.report_no_eligible_voter``: tell the QA office about each stage nobody in its body may decide,
    queued by the workflow (app.approvals.deciders). Returns how many were reported."""
    return claim_each(
        session,
        StageAlert,
        partial(_report, session, now=now, base_url=base_url),
        job="approvals.report_no_eligible_voter",
        due=col(StageAlert.sent_at).is_(None),
        claim={"sent_at": now},
        batch=batch,
    )


def _report(session: Session, alert_id: int, *, now: datetime, base_url: str) -> bool:
    alert = session.get(StageAlert, alert_id, populate_existing=True)
    assert alert is not None
    proposal = session.get(Proposal, alert.proposal_id)
    assert proposal is not None and proposal.id is not None
    if proposal.review_round != alert.review_round or proposal.status not in REVIEW_STATES:
        return False  # the stage has ended: nothing to tell
    ctx = access.load_ctx(session, proposal)
    title = proposal.title or "Untitled proposal"
    body = COMMITTEE_KIND_LABELS[CommitteeKind(alert.body)].lower()
    if ctx.taken_over and ctx.committee is not None:
        subject = f"{ctx.committee.name} decides for the {body}: {title}"
        text = (
            f"Nobody in the {body} may vote on “{title}” (its only members are proposers, it has no members, or it "
            f"is not set up), so {ctx.committee.name} decides this stage instead, by "
            f"{_day(proposal.stage_due_at or now)}."
        )
    elif ctx.eligible_ids:
        return False  # the body can decide again
    else:
        subject = f"Nobody can decide: {title}"
        text = (
            f"Nobody in the {body} may vote on “{title}”, nor in any body that may stand in for it. It waits until an "
            "administrator adds a member who is not one of its proposers."
        )
    qa_office = sorted(deciders.qa_office_ids(session) - ctx.proposer_ids)
    message = Message(qa_office, NO_ELIGIBLE_VOTER_KIND, subject, text, f"/proposals/{proposal.id}")
    alert.recipients = message.send(session, base_url=base_url, now=now)
    session.add(alert)
    session.flush()
    return True


# --- conditions ----------------------------------------------------------------------------------


def condition_reminders(
    session: Session, now: datetime, *, policies: Policies, base_url: str, batch: int = BATCH
) -> int:
    """``approvals.condition_reminders``: tell the proposer and co-proposers once when an open condition is due
    within ``condition_reminder_days_before`` days, and once when it is overdue. Returns how many were sent."""
    today = now.date()
    horizon = today + timedelta(days=policies.of(ApprovalPolicy).deadlines.condition_reminder_days_before)
    is_open = col(Condition.status) == ConditionStatus.open.value
    due_on = col(Condition.due_on)
    passes: list[tuple[ColumnElement[bool], str, str]] = [
        (
            is_open & (due_on >= today) & (due_on <= horizon) & col(Condition.due_soon_notified_at).is_(None),
            "due_soon_notified_at",
            CONDITION_DUE_SOON_KIND,
        ),
        (
            is_open & (due_on < today) & col(Condition.overdue_notified_at).is_(None),
            "overdue_notified_at",
            CONDITION_OVERDUE_KIND,
        ),
    ]
    return sum(
        claim_each(
            session,
            Condition,
            partial(_tell_proposers, session, kind=kind, now=now, base_url=base_url),
            job="approvals.condition_reminders",
            due=due,
            claim={claim_column: now},
            order_by=[due_on],
            batch=batch,
        )
        for due, claim_column, kind in passes
    )


def _tell_proposers(session: Session, condition_id: int, *, kind: str, now: datetime, base_url: str) -> bool:
    condition = session.get(Condition, condition_id, populate_existing=True)
    assert condition is not None
    proposal = session.get(Proposal, condition.proposal_id)
    assert proposal is not None
    co = session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)).all()
    title = proposal.title or "Untitled proposal"
    due = condition.due_on.isoformat()
    if kind == CONDITION_OVERDUE_KIND:
        subject = f"Condition overdue: {title}"
        text = f"The condition “{condition.text}” on “{title}” was due on {due} and is not reported met yet."
    else:
        days = (condition.due_on - now.date()).days
        subject = f"Condition due {'today' if days == 0 else 'in ' + _days(days)}: {title}"
        text = f"The condition “{condition.text}” on “{title}” is due on {due}. Report it met with the evidence."
    message = Message(
        [proposal.owner_id, *co], kind, subject, text, f"/proposals/{proposal.id}#condition-{condition.id}"
    )
    return message.send(session, base_url=base_url, now=now) > 0
