"""Scheduled work of periodic review, each called by the sweep as ``job(session, now)`` (app/jobs.py):

- ``reviews.open_due``: open the scheduled reviews whose opening day has come (the owner is told);
- ``reviews.offerings_ended``: bring the monitoring report forward after an offering ends, when the policy asks
  for one after every offering;
- ``reviews.remind_and_escalate``: remind the owner before the due date, then escalate after it (owner, head of
  the faculty, QA office), and on the policy's day stop intake (the micro-credential becomes suspended);
- ``reviews.open_triggered``: open a full review when an offering's completion rate falls below the threshold;
- ``reviews.action_reminders``: remind the owner of an action before it is due, and once when it is overdue.

Each happens exactly once however many processes sweep: reviews are selected ``FOR UPDATE SKIP LOCKED`` (another
sweeper passes over the ones this one holds) and changed through the workflow core (compare-and-set on their
version); each alert is claimed by inserting its ``review_alert`` row, unique per (review, step); a triggered
review by inserting it under its unique ``trigger_key``; an action's reminders by a compare-and-set on their
``..._notified_at`` columns. Every query starts from an index on a date (``ix_review_status_opens_on``,
``ix_review_status_due_on``, ``ix_offering_ends_on``, ``ix_offering_figures_recorded_at``,
``ix_review_action_open_due``), so a sweep with nothing due reads nothing however many micro-credentials there are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.approvals.deciders import qa_office_ids
from app.catalogue.models import Credential
from app.feedback import service as feedback
from app.feedback.models import Survey
from app.notifications.service import notify
from app.offerings.models import Offering
from app.org.models import Committee, CommitteeKind, CommitteeMember, membership_current
from app.policies import Policies
from app.reviews import service
from app.reviews.access import STANDING
from app.reviews.models import Review, ReviewAction, ReviewAlert
from app.reviews.policy import ReviewPolicy
from app.scheduler import claim_each, handle_each, insert_once, skip_locked
from app.workflows import core
from app.workflows.core import SYSTEM
from app.workflows.reviews import ReviewStatus, StandingStatus
from app.workflows.survey import SurveyStatus

BATCH = 50
OVERDUE_CONSEQUENCE = service.OVERDUE_CONSEQUENCE


def _keyset(session: Session, where: list[ColumnElement[bool]], handle: Callable[[int], bool], *, job: str) -> int:
    """Select due reviews a batch at a time (locked, skipping those another sweeper holds), handle each in its
    own savepoint, commit after each batch. A review that failed is left for the next sweep, not retried here."""
    done, after = 0, 0
    while True:
        stmt = select(Review.id).where(*where, col(Review.id) > after).order_by(col(Review.id)).limit(BATCH)
        ids = [i for i in session.exec(skip_locked(session, stmt)).all() if i is not None]
        if not ids:
            return done
        after = ids[-1]
        done += handle_each(session, ids, handle, job=job)
        session.commit()


# --- opening -------------------------------------------------------------------------------------


def open_due(session: Session, now: datetime, *, policies: Policies) -> int:
    """``reviews.open_due``: open every scheduled review whose opening day has come. Returns how many opened."""
    today = now.date()

    def handle(review_id: int) -> bool:
        review = session.get(Review, review_id, populate_existing=True)
        if review is None or review.status != ReviewStatus.scheduled.value or review.opens_on > today:
            return False  # opened meanwhile (by the QA office)
        service.open_review(session, review_id, SYSTEM, policies, comment=f"due on {review.due_on:%Y-%m-%d}", at=now)
        return True

    where = [col(Review.status) == ReviewStatus.scheduled.value, col(Review.opens_on) <= today]
    return _keyset(session, where, handle, job="reviews.open_due")


def offerings_ended(session: Session, now: datetime, *, policies: Policies) -> int:
    """``reviews.offerings_ended``: a monitoring report after every offering, ``days_after_offering`` after it
    ends, when that comes before the one scheduled. Only offerings that ended in the last year are read."""
    today = now.date()
    rules = policies.of(ReviewPolicy)
    moved = 0
    ended = session.exec(
        select(col(Offering.credential_id), col(Offering.ends_on), col(Credential.kind))
        .join(Credential, col(Credential.id) == Offering.credential_id)
        .where(col(Offering.ends_on) <= today, col(Offering.ends_on) > today - timedelta(days=366))
        .order_by(col(Offering.ends_on))
    ).all()
    for credential_id, ends_on, kind in ended:
        monitoring = rules.of(kind).monitoring
        if monitoring.after_every_offering:
            due = ends_on + timedelta(days=monitoring.days_after_offering)
            moved += service.bring_forward(session, credential_id, due, policies)
    return moved


def open_triggered(session: Session, now: datetime, *, policies: Policies, window_days: int = 14) -> int:
    """``reviews.open_triggered``: a full review opened when an offering's completion rate is below the policy's
    threshold (figures recorded in the last ``window_days``), or when a learner-feedback survey that closed in
    that window calls for one (feedback.yaml's review triggers). Each offering and each survey triggers at most
    one review, and none while a full review is open."""
    rules = policies.of(ReviewPolicy)
    opened = 0
    rows = session.exec(
        select(Offering, Credential.kind)
        .join(Credential, col(Credential.id) == Offering.credential_id)
        .where(col(Offering.figures_recorded_at) >= now - timedelta(days=window_days))
        .order_by(col(Offering.id))
    ).all()
    for offering, kind in rows:
        threshold = rules.of(kind).thresholds.completion_rate_below
        rate = offering.completion_rate
        if threshold is None or rate is None or rate >= threshold:
            continue
        reason = (
            f"Completion rate {rate:.0%} in the offering of {offering.starts_on:%Y-%m-%d} is below {threshold:.0%}."
        )
        key = f"threshold:completion:offering:{offering.id}"
        opened += _open_triggered(session, offering.credential_id, kind, key, reason, now, policies)
    surveys = session.execute(
        sa_select(
            col(Survey.id),
            col(Offering.credential_id),
            col(Offering.starts_on),
            col(Offering.ends_on),
            col(Credential.kind),
        )
        .join(Offering, col(Offering.id) == Survey.offering_id)
        .join(Credential, col(Credential.id) == Offering.credential_id)
        .where(
            col(Survey.status).in_((SurveyStatus.closed.value, SurveyStatus.released.value)),
            col(Survey.closes_on) >= (now - timedelta(days=window_days)).date(),
        )
        .order_by(col(Survey.id))
    ).all()
    for survey_id, credential_id, starts_on, ends_on, kind in surveys:
        if not rules.of(kind).thresholds.learner_feedback:
            continue
        summaries = feedback.summary_for_review(session, credential_id, ends_on, policies)
        flags = next((s.review_flags for s in summaries if s.survey_id == survey_id), [])
        if flags:
            reason = f"Learner feedback on the offering of {starts_on:%Y-%m-%d}: {' '.join(flags)}"
            key = f"threshold:feedback:survey:{survey_id}"
            opened += _open_triggered(session, credential_id, kind, key, reason, now, policies)
    return opened


def _open_triggered(
    session: Session, credential_id: int, kind: str, key: str, reason: str, now: datetime, policies: Policies
) -> int:
    """Open a full review a threshold called for (once per ``key``; not while a full review is open)."""
    if _has_open_full_review(session, credential_id):
        return 0
    cadence = policies.of(ReviewPolicy).of(kind)
    review = Review(
        credential_id=credential_id,
        kind="full",
        trigger="threshold",
        trigger_key=key,
        reason=reason,
        opens_on=now.date(),
        due_on=now.date() + timedelta(days=max(cadence.lead_time_days, 30)),
    )
    service.ensure_standing(session, credential_id)
    if not insert_once(session, review):
        return 0
    service.open_review(session, review.id or 0, SYSTEM, policies, comment=review.reason, at=now)
    return 1


def _has_open_full_review(session: Session, credential_id: int) -> bool:
    return (
        session.exec(
            select(Review.id).where(
                Review.credential_id == credential_id,
                Review.kind == "full",
                col(Review.status).in_(service.OPEN_STATES),
            )
        ).first()
        is not None
    )


# --- reminders, escalations, the overdue consequence ---------------------------------------------


def _steps_due(review: Review, today: date, policies: Policies, kind: str) -> list[str]:
    """The alerts due about this review today: the latest reminder whose day has come (before the due date
    only), every escalation whose day has come, and the overdue consequence on and after its day."""
    rules = policies.of(ReviewPolicy).of(kind)
    steps: list[str] = []
    if today < review.due_on:
        come = [d for d in rules.reminder_days_before if review.due_on - timedelta(days=d) <= today]
        if come:
            steps.append(f"reminder_{min(come)}")
    for step in rules.escalation:
        if today >= review.due_on + timedelta(days=step.days_after_due):
            steps.append(f"escalation_{step.days_after_due}")
    if today >= review.due_on + timedelta(days=rules.overdue_consequence.days_after_due):
        steps.append(OVERDUE_CONSEQUENCE)
    return steps


def remind_and_escalate(session: Session, now: datetime, *, policies: Policies, base_url: str) -> int:
    """``reviews.remind_and_escalate``: every reminder, escalation and overdue consequence due at ``now`` about
    reviews the owner has not submitted, each once. Returns how many alerts were sent."""
    today = now.date()
    longest = max(max(k.reminder_days_before, default=0) for k in policies.of(ReviewPolicy).kinds.values())
    sent = 0

    def handle(review_id: int) -> bool:
        nonlocal sent
        review = session.get(Review, review_id, populate_existing=True)
        if review is None or review.status != ReviewStatus.open.value:
            return False
        credential = session.get_one(Credential, review.credential_id)
        done = set(session.exec(select(ReviewAlert.step).where(ReviewAlert.review_id == review_id)))
        count = 0
        for step in _steps_due(review, today, policies, credential.kind):
            if step in done:
                continue
            alert = ReviewAlert(review_id=review_id, step=step, sent_at=now)
            if not insert_once(session, alert):
                continue
            alert.recipients = _alert(session, step, review, credential, now, policies, base_url)
            session.add(alert)
            count += 1
        session.flush()
        sent += count
        return count > 0

    where = [col(Review.status) == ReviewStatus.open.value, col(Review.due_on) <= today + timedelta(days=longest)]
    _keyset(session, where, handle, job="reviews.remind_and_escalate")
    return sent


def head_of_faculty_ids(session: Session, org_unit_id: int) -> set[int]:
    """The head of the faculty: the chair of its (active) faculty council, while a current member."""
    return set(
        session.exec(
            select(CommitteeMember.user_id)
            .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
            .where(
                Committee.kind == CommitteeKind.faculty_council.value,
                Committee.org_unit_id == org_unit_id,
                col(Committee.is_active),
                col(CommitteeMember.is_chair),
                membership_current(),
            )
        )
    )


def _alert(
    session: Session,
    step: str,
    review: Review,
    credential: Credential,
    now: datetime,
    policies: Policies,
    base_url: str,
) -> list[int]:
    what = f"{service.KIND_LABELS[review.kind]} of “{credential.title}”"
    due = f"{review.due_on:%Y-%m-%d}"
    link = f"/reviews/{review.id}"
    overdue_days = (now.date() - review.due_on).days
    rules = policies.of(ReviewPolicy).of(credential.kind)
    stop_on = review.due_on + timedelta(days=rules.overdue_consequence.days_after_due)
    if step.startswith("reminder_"):
        recipients, kind = {credential.owner_id}, "review.reminder"
        subject = f"Reminder: {what} is due on {due}"
        text = f"The {what} is due on {due}. Complete the self-evaluation and submit it."
    elif step == OVERDUE_CONSEQUENCE:
        standing = service.ensure_standing(session, credential.id or 0)
        if standing.status in (StandingStatus.active.value, StandingStatus.under_review.value):
            core.run(
                session,
                STANDING,
                standing.id,
                "suspend",
                SYSTEM,
                policies,
                comment=f"review {review.id} overdue",
                reason="overdue",
            )
        recipients = (
            {credential.owner_id} | head_of_faculty_ids(session, credential.org_unit_id) | qa_office_ids(session)
        )
        kind, subject = "review.suspended", f"Intake stopped: {what} is overdue"
        text = (
            f"The {what} was due on {due} and is {overdue_days} days overdue. The micro-credential is suspended: no "
            "new offering can open until the review is submitted and closed."
        )
    else:
        days = int(step.removeprefix("escalation_"))
        targets = next(s.to for s in rules.escalation if s.days_after_due == days)
        recipients = set()
        if "owner" in targets:
            recipients.add(credential.owner_id)
        if "head_of_faculty" in targets:
            recipients |= head_of_faculty_ids(session, credential.org_unit_id)
        if "qa_office" in targets:
            recipients |= qa_office_ids(session)
        kind, subject = "review.overdue", f"Overdue: {what} (due {due})"
        text = (
            f"The {what} was due on {due} and is not submitted ({overdue_days} days overdue). Intake stops on "
            f"{stop_on:%Y-%m-%d} if it is still not submitted."
        )
    told = notify(
        session,
        recipients=sorted(recipients),
        kind=kind,
        subject=subject,
        text=text,
        link=link,
        base_url=base_url,
        now=now,
    )
    return [n.user_id for n in told]


# --- actions -------------------------------------------------------------------------------------


def action_reminders(session: Session, now: datetime, *, policies: Policies, base_url: str) -> int:
    """``reviews.action_reminders``: tell an action's owner once when it is due within the policy's days, and once
    when it is overdue, while it is not closed. Returns how many were told."""
    today = now.date()
    days = max(k.action_reminder_days_before for k in policies.of(ReviewPolicy).kinds.values())
    is_open = col(ReviewAction.done_at).is_(None)
    due_on = col(ReviewAction.due_on)
    passes: list[tuple[ColumnElement[bool], str, bool]] = [
        (
            is_open
            & (due_on >= today)
            & (due_on <= today + timedelta(days=days))
            & col(ReviewAction.due_soon_notified_at).is_(None),
            "due_soon_notified_at",
            False,
        ),
        (is_open & (due_on < today) & col(ReviewAction.overdue_notified_at).is_(None), "overdue_notified_at", True),
    ]
    return sum(
        claim_each(
            session,
            ReviewAction,
            partial(_tell_action_owner, session, overdue=overdue, now=now, base_url=base_url),
            job="reviews.action_reminders",
            due=due,
            claim={claim_column: now},
            order_by=[due_on],
            batch=BATCH,
        )
        for due, claim_column, overdue in passes
    )


def _tell_action_owner(session: Session, action_id: int, *, overdue: bool, now: datetime, base_url: str) -> bool:
    action = session.get_one(ReviewAction, action_id, populate_existing=True)
    credential = session.get_one(Credential, action.credential_id)
    due = f"{action.due_on:%Y-%m-%d}"
    if overdue:
        subject, text = f"Action overdue: {credential.title}", f"The action “{action.text}” was due on {due}."
    else:
        subject, text = f"Action due on {due}: {credential.title}", f"The action “{action.text}” is due on {due}."
    told = notify(
        session,
        recipients=[action.owner_id],
        kind="review.action_due",
        subject=subject,
        text=text + " Close it with a note on what was done.",
        link=f"/reviews/{action.review_id}#action-{action.id}",
        base_url=base_url,
        now=now,
    )
    return bool(told)
