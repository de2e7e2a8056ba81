"""The review sweep's smaller jobs: a monitoring report after every offering, a review opened by a completion rate
below the threshold, and reminders to an action's owner, each once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from app.db import utcnow
from app.notifications.models import Notification
from app.offerings.models import Offering
from app.policies import Policies
from app.reviews import jobs, service
from app.reviews.models import Review, ReviewAction
from tests.reviews.helpers import morning, published

BASE = "https://mcqa.example.org"


def _run(db: Session, credential_id: int, owner_id: int, ends_on: date, **figures: int) -> Offering:
    offering = Offering.model_validate(
        {
            "credential_id": credential_id,
            "starts_on": ends_on - timedelta(days=60),
            "ends_on": ends_on,
            "participation_form": "online",
            "created_by_id": owner_id,
            "figures_recorded_at": utcnow() if figures else None,
            **figures,
        }
    )
    db.add(offering)
    db.flush()
    return offering


def test_a_monitoring_report_falls_due_after_every_offering(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=date(2027, 1, 15))
    _run(db, credential.id or 0, credential.owner_id, date(2027, 5, 31))
    assert jobs.offerings_ended(db, morning(date(2027, 6, 1)), policies=policies) == 1
    monitoring = service.scheduled_review(db, credential.id or 0, "monitoring")
    assert monitoring is not None
    assert (monitoring.due_on, monitoring.opens_on) == (date(2027, 7, 30), date(2027, 6, 30))  # 60 days after
    assert jobs.offerings_ended(db, morning(date(2027, 6, 2)), policies=policies) == 0  # already brought forward
    assert jobs.open_due(db, morning(date(2027, 6, 30)), policies=policies) >= 1
    assert db.get_one(Review, monitoring.id).status == "open"


def test_a_completion_rate_below_the_threshold_opens_a_full_review_once(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=date.today() - timedelta(days=200))
    today = date.today()
    _run(
        db,
        credential.id or 0,
        credential.owner_id,
        today - timedelta(days=5),
        enrolled=20,
        completed=8,
        passed=8,
        dropped_out=12,
    )
    assert jobs.open_triggered(db, utcnow(), policies=policies) == 1
    assert jobs.open_triggered(db, utcnow(), policies=policies) == 0
    (review,) = db.exec(select(Review).where(Review.credential_id == credential.id, Review.status == "open")).all()
    assert (review.kind, review.trigger) == ("full", "threshold")
    assert "Completion rate 40%" in review.reason
    told = db.exec(select(Notification).where(Notification.link == f"/reviews/{review.id}")).all()
    assert [n.kind for n in told] == ["review.opened"] and told[0].user_id == credential.owner_id


def test_an_action_owner_is_reminded_before_the_due_date_and_once_when_overdue(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=date(2027, 1, 15))
    review = db.exec(select(Review).where(Review.credential_id == credential.id)).first()
    assert review is not None
    action = ReviewAction(
        review_id=review.id or 0,
        credential_id=credential.id or 0,
        text="Publish the rubric",
        owner_id=credential.owner_id,
        due_on=date(2031, 3, 10),
    )
    db.add(action)
    db.flush()

    def sweep(day: date) -> int:
        return jobs.action_reminders(db, morning(day), policies=policies, base_url=BASE)

    assert sweep(date(2031, 3, 1)) == 0  # 9 days before: not yet (7)
    assert sweep(date(2031, 3, 4)) == 1
    assert sweep(date(2031, 3, 5)) == 0
    assert sweep(date(2031, 3, 11)) == 1
    assert sweep(date(2031, 3, 12)) == 0
    kinds = db.exec(select(Notification.subject).where(Notification.kind == "review.action_due")).all()
    assert [k for k in kinds if credential.title in k] == [
        f"Action due on 2031-03-10: {credential.title}",
        f"Action overdue: {credential.title}",
    ]
