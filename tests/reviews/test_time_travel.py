"""The time-travel test: a micro-credential published on 2027-01-15, swept every morning until 2030-03-01, gets
exactly the monitoring reports and full reviews its policy says, on the right dates; a review left overdue stops
intake on the policy's day, and closing it restores intake."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from app.errors import Conflict
from app.offerings import service as offerings
from app.policies import Policies
from app.reviews import jobs, service, standing
from app.reviews.models import Review, ReviewAlert
from app.workflows.reviews import Outcome
from tests.reviews.helpers import SELF_EVALUATION, morning, owner_of, published, qa

BASE = "https://mcqa.example.org"
LEFT_OVERDUE_UNTIL = date(2029, 4, 1)  # the monitoring report due 2029-01-15 is only submitted and closed then
RUN = offerings.OfferingIn(starts_on=date(2029, 9, 1), ends_on=date(2029, 9, 30), participation_form="online")


def _sweep(db: Session, policies: Policies, day: date) -> None:
    now = morning(day)
    jobs.offerings_ended(db, now, policies=policies)
    jobs.open_due(db, now, policies=policies)
    jobs.open_triggered(db, now, policies=policies)
    jobs.remind_and_escalate(db, now, policies=policies, base_url=BASE)
    jobs.action_reminders(db, now, policies=policies, base_url=BASE)


def test_published_2027_01_15_simulated_to_2030_03_01(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=date(2027, 1, 15))
    cid = credential.id or 0
    owner, office = owner_of(db, credential), qa(db)
    status_by_day: dict[date, str] = {}
    refused_during_suspension = ""

    day = date(2027, 1, 15)
    while day <= date(2030, 3, 1):
        _sweep(db, policies, day)
        for review in db.exec(select(Review).where(Review.credential_id == cid, Review.status == "open")).all():
            monitoring_left_overdue = review.due_on == date(2029, 1, 15)
            if day == (LEFT_OVERDUE_UNTIL if monitoring_left_overdue else review.due_on):
                service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION)
                service.start_assessment(db, review.id or 0, office, policies)
                outcome = service.OutcomeIn(outcome=Outcome.continue_, comment="Runs as approved.")
                service.record_outcome(db, review.id or 0, office, policies, outcome, today=day)
        status_by_day[day] = standing.status_of(db, cid)
        if day == date(2029, 3, 20):
            with pytest.raises(Conflict, match="suspended") as refused:
                offerings.add_offering(db, cid, owner, RUN)
            refused_during_suspension = str(refused.value)
        day += timedelta(days=1)

    reviews = db.exec(select(Review).where(Review.credential_id == cid).order_by(col(Review.due_on))).all()
    assert [(r.kind, r.opened_at.date() if r.opened_at else None, r.due_on, r.closed_on) for r in reviews] == [
        ("monitoring", date(2027, 12, 16), date(2028, 1, 15), date(2028, 1, 15)),
        ("monitoring", date(2028, 12, 16), date(2029, 1, 15), date(2029, 4, 1)),
        ("full", date(2029, 12, 16), date(2030, 1, 15), date(2030, 1, 15)),
        ("monitoring", None, date(2030, 4, 1), None),  # 12 months after the overdue one closed; opens 2030-03-02
        ("full", None, date(2033, 1, 15), None),  # 36 months after the first full review closed
    ]
    overdue = reviews[1]
    alerts = db.exec(select(ReviewAlert).where(ReviewAlert.review_id == overdue.id).order_by(col(ReviewAlert.id))).all()
    assert [(a.step, a.sent_at.date()) for a in alerts] == [
        ("reminder_14", date(2029, 1, 1)),
        ("reminder_3", date(2029, 1, 12)),
        ("escalation_1", date(2029, 1, 16)),
        ("escalation_14", date(2029, 1, 29)),
        ("escalation_30", date(2029, 2, 14)),
        ("overdue_consequence", date(2029, 3, 16)),  # 60 days after the due date
    ]
    # Intake stops on the policy's day and reopens the day the overdue review closes.
    assert status_by_day[date(2029, 3, 15)] == "under_review"
    assert status_by_day[date(2029, 3, 16)] == "suspended"
    assert status_by_day[date(2029, 3, 31)] == "suspended"
    assert status_by_day[date(2029, 4, 1)] == "active"
    assert "suspended" in refused_during_suspension
    assert offerings.add_offering(db, cid, owner, RUN).id is not None
    assert status_by_day[date(2027, 12, 15)] == "active" and status_by_day[date(2027, 12, 16)] == "under_review"
    assert status_by_day[date(2030, 3, 1)] == "active"


def test_intake_reopens_only_when_every_review_that_stopped_it_is_closed(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=date(2027, 1, 15))
    cid = credential.id or 0
    owner, office = owner_of(db, credential), qa(db)
    late = service.schedule(db, cid, "full", date(2027, 3, 1), policies, trigger="qa_office")
    assert late is not None
    for day in (date(2027, 3, 1), date(2028, 1, 15), date(2028, 3, 16)):  # both open, then both 60 days overdue
        _sweep(db, policies, day)
    assert standing.status_of(db, cid) == "suspended"
    monitoring = db.exec(select(Review).where(Review.credential_id == cid, Review.kind == "monitoring")).first()
    assert monitoring is not None

    def close(review: Review, day: date) -> None:
        service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION)
        service.start_assessment(db, review.id or 0, office, policies)
        outcome = service.OutcomeIn(outcome=Outcome.continue_, comment="Done at last.")
        service.record_outcome(db, review.id or 0, office, policies, outcome, today=day)

    close(late, date(2028, 3, 20))
    assert standing.status_of(db, cid) == "suspended"  # the monitoring report still holds intake
    close(monitoring, date(2028, 3, 21))
    assert standing.status_of(db, cid) == "active"
