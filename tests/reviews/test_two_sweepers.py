"""Two sweepers at the same moment over many reviews that are due: each review opens once, each reminder,
escalation and overdue consequence is sent once, and intake is suspended once.

The sweepers call the jobs directly on real connections committing in parallel threads, without the sweep's
advisory lock: what keeps them apart is the jobs' own claims (SELECT ... FOR UPDATE SKIP LOCKED on the reviews,
the workflow core's compare-and-set, the unique insert of each alert). What the test commits it deletes afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.catalogue.models import Credential
from app.notifications.models import Notification, OutboxMessage
from app.org.models import OrgUnit
from app.policies import Policies
from app.reviews import jobs
from app.reviews.models import CredentialStanding, Review, ReviewAlert
from app.users.models import User
from tests.cleanup import forget_reviews_of
from tests.notifications.test_concurrency import run_together

NOW = datetime(2031, 6, 1, 6, 0, tzinfo=UTC)
TODAY = NOW.date()
BASE_URL = "https://mcqa.uni.example"
PER_GROUP = 40


def _review(credential_id: int, group: str, due_on: date, status: str) -> Review:
    return Review(
        credential_id=credential_id,
        kind="monitoring",
        trigger="schedule",
        trigger_key=f"two-sweepers:{group}:{credential_id}",
        status=status,
        opens_on=due_on - timedelta(days=30),
        due_on=due_on,
    )


@pytest.fixture
def due_reviews(engine: Engine) -> Iterator[dict[str, list[int]]]:
    groups = {
        "to_open": (TODAY + timedelta(days=20), "scheduled", "active"),  # opens today (30 days lead)
        "reminder": (TODAY + timedelta(days=3), "open", "under_review"),
        "suspend": (TODAY - timedelta(days=61), "open", "under_review"),
    }
    made: dict[str, list[int]] = {g: [] for g in groups}
    credentials: list[int] = []
    with Session(engine, expire_on_commit=False) as session:
        academic = session.exec(select(User.id).where(User.email == "academic@example.org")).one() or 0
        science = session.exec(select(OrgUnit.id).where(OrgUnit.code == "SCI")).one() or 0
        for group, (due_on, status, standing) in groups.items():
            for n in range(PER_GROUP):
                credential = Credential(
                    kind="standalone", org_unit_id=science, owner_id=academic, title=f"Swept {n}", current_version_no=1
                )
                session.add(credential)
                session.flush()
                cid = credential.id or 0
                credentials.append(cid)
                session.add(CredentialStanding(id=cid, status=standing))
                review = _review(cid, group, due_on, status)
                session.add(review)
                session.flush()
                made[group].append(review.id or 0)
        session.commit()
    yield made
    every = [r for ids in made.values() for r in ids]
    links = [f"/reviews/{r}" for r in every]
    with Session(engine) as session:
        mails = session.exec(select(Notification.outbox_message_id).where(col(Notification.link).in_(links))).all()
        session.execute(delete(Notification).where(col(Notification.link).in_(links)))
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_([m for m in mails if m is not None])))
        forget_reviews_of(session, credentials)
        session.execute(delete(Credential).where(col(Credential.id).in_(credentials)))
        session.commit()


def _sweep_once(session: Session, policies: Policies) -> int:
    opened = jobs.open_due(session, NOW, policies=policies)
    return opened + jobs.remind_and_escalate(session, NOW, policies=policies, base_url=BASE_URL)


@pytest.mark.postgres_only
def test_two_sweepers_open_remind_and_suspend_exactly_once(
    engine: Engine, policies: Policies, due_reviews: dict[str, list[int]]
) -> None:
    handled = run_together(engine, lambda session: _sweep_once(session, policies))

    every = [r for ids in due_reviews.values() for r in ids]
    with Session(engine) as session:
        opened = session.exec(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == "review", AuditEvent.action == "open", col(AuditEvent.entity_id).in_(every)
            )
        ).all()
        alerts = session.exec(
            select(ReviewAlert.review_id, ReviewAlert.step).where(col(ReviewAlert.review_id).in_(every))
        ).all()
        suspended = session.exec(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == "micro-credential", AuditEvent.action == "suspend"
            )
        ).all()
        statuses = Counter(session.exec(select(Review.status).where(col(Review.id).in_(every))).all())
        told = session.exec(
            select(Notification.user_id, Notification.kind, Notification.link).where(
                col(Notification.link).in_([f"/reviews/{r}" for r in every])
            )
        ).all()
    assert sorted(opened) == sorted(due_reviews["to_open"])  # each once
    assert statuses == {"open": 3 * PER_GROUP}
    expected = {
        **{(r, "reminder_3"): 1 for r in due_reviews["reminder"]},
        **{(r, step): 1 for r in due_reviews["suspend"] for step in ("escalation_1", "escalation_14", "escalation_30")},
        **{(r, "overdue_consequence"): 1 for r in due_reviews["suspend"]},
    }
    assert dict(Counter(alerts)) == expected
    assert len(suspended) == len(set(suspended)) >= PER_GROUP
    assert set(Counter(told).values()) == {1}  # nobody told twice about the same review and step
    assert sum(handled) == PER_GROUP + len(expected)
    # A second sweep finds nothing left to do.
    with Session(engine) as session:
        assert _sweep_once(session, policies) == 0
        session.commit()
