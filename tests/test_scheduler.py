"""The sweep and the claim helper every job uses, on both databases.

Delivery exactly once with two sweepers at the same time is tested in tests/notifications/test_concurrency.py;
here: the sweep runs the listed jobs at the given time and isolates a failing one, the compare-and-set claims a
row once, and on PostgreSQL the advisory lock and SKIP LOCKED really take part (tests that would fail without).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app import scheduler
from app.notifications.jobs import SEND_LEASE, outbox_due, send_outbox
from app.notifications.models import OutboxMessage
from tests.mailserver import SmtpServer

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_sweep_runs_each_job_at_the_given_time_and_survives_a_failing_one(engine: Engine) -> None:
    seen: list[tuple[str, datetime]] = []

    def counts(session: Session, now: datetime) -> int:
        seen.append(("counts", now))
        return 3

    def breaks(session: Session, now: datetime) -> int:
        seen.append(("breaks", now))
        raise RuntimeError("boom")

    def after(session: Session, now: datetime) -> int:
        seen.append(("after", now))
        return 0

    jobs = (
        scheduler.ScheduledJob("tests.counts", counts),
        scheduler.ScheduledJob("tests.breaks", breaks),
        scheduler.ScheduledJob("tests.after", after),
    )
    assert scheduler.sweep(engine, jobs, now=T0) == {"tests.counts": 3, "tests.after": 0}
    assert seen == [("counts", T0), ("breaks", T0), ("after", T0)]


def test_sweep_refuses_a_naive_time(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        scheduler.sweep(engine, (), now=datetime(2027, 3, 1, 9, 0))


def test_the_application_lists_its_jobs_explicitly(settings) -> None:
    from app.jobs import scheduled_jobs
    from app.policies import load_policies

    names = [job.name for job in scheduled_jobs(settings, load_policies(settings.policy_dir))]
    assert names == [
        "approvals.report_no_eligible_voter",
        "approvals.remind_and_escalate",
        "approvals.condition_reminders",
        "reviews.offerings_ended",
        "reviews.open_due",
        "reviews.open_triggered",
        "reviews.remind_and_escalate",
        "reviews.action_reminders",
        "catalogue.apply_due_editions",
        "feedback.open_at_offering_end",
        "feedback.close_due",
        "notifications.send_digests",
        "notifications.send_outbox",
    ]
    assert all(name.count(".") == 1 for name in names)


def _message(**values: object) -> OutboxMessage:
    defaults: dict[str, object] = {
        "to_address": "someone@example.org",
        "kind": "tests.scheduler",
        "subject": "Hello",
        "text_body": "Hello",
        "html_body": "<p>Hello</p>",
        "message_id": f"<{uuid.uuid4().hex}@test.example>",
        "next_attempt_at": T0,
        "created_at": T0,
    }
    return OutboxMessage.model_validate({**defaults, **values})


def test_claim_is_a_compare_and_set_a_row_is_won_once(db: Session) -> None:
    rows = [_message() for _ in range(3)]
    db.add_all(rows)
    db.flush()
    ids = [r.id for r in rows if r.id is not None]
    claim = {"next_attempt_at": T0 + SEND_LEASE, "attempts": col(OutboxMessage.attempts) + 1}

    won = scheduler.claim_due(db, OutboxMessage, due=outbox_due(T0), claim=claim)
    assert won == ids
    # A second sweeper holding the same (now stale) selection wins nothing: the update repeats "still due".
    assert scheduler.claim_ids(db, OutboxMessage, ids, due=outbox_due(T0), claim=claim) == []
    assert scheduler.claim_due(db, OutboxMessage, due=outbox_due(T0), claim=claim) == []
    attempts = db.exec(select(OutboxMessage.attempts).where(col(OutboxMessage.id).in_(ids))).all()
    assert attempts == [1, 1, 1]
    # Once the lease is over the rows are due again (a sweeper died mid-way): claimed a second time, once.
    later = T0 + SEND_LEASE
    assert scheduler.claim_due(db, OutboxMessage, due=outbox_due(later), claim=claim) == ids


def test_handle_each_undoes_only_the_failing_item(db: Session) -> None:
    rows = [_message() for _ in range(3)]
    db.add_all(rows)
    db.flush()
    ids = [r.id for r in rows if r.id is not None]

    def handle(row_id: int) -> bool:
        db.connection().execute(update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(subject="handled"))
        if row_id == ids[1]:
            raise RuntimeError("this one breaks")
        return True

    assert scheduler.handle_each(db, ids, handle, job="tests.handle") == 2
    subjects = db.exec(
        select(OutboxMessage.subject).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id))
    )
    assert subjects.all() == ["handled", "Hello", "handled"]


# --- PostgreSQL: the advisory lock and SKIP LOCKED ------------------------------------------------


@pytest.fixture
def committed_messages(engine: Engine) -> Iterator[list[int]]:
    """Five due messages committed for real (sweeps use their own connections); deleted afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        rows = [_message(kind="tests.locks") for _ in range(5)]
        session.add_all(rows)
        session.commit()
        ids = [r.id for r in rows if r.id is not None]
    yield ids
    with Session(engine) as session:
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.kind) == "tests.locks"))
        session.commit()


@pytest.mark.postgres_only
def test_claim_skips_rows_another_sweeper_has_locked(engine: Engine, committed_messages: list[int]) -> None:
    locked, *free = committed_messages
    claim = {"next_attempt_at": T0 + SEND_LEASE}
    with engine.connect() as other:
        other_tx = other.begin()
        other.execute(sa_select(col(OutboxMessage.id)).where(col(OutboxMessage.id) == locked).with_for_update())
        with Session(engine) as session:
            session.connection().execute(text("SET LOCAL lock_timeout = '300ms'"))
            # Without SKIP LOCKED this select would wait for `other` (and here give up after 300 ms) ...
            with pytest.raises(OperationalError, match="lock timeout"):
                session.connection().execute(
                    sa_select(col(OutboxMessage.id))
                    .where(outbox_due(T0))
                    .order_by(col(OutboxMessage.id))
                    .with_for_update()
                )
            session.rollback()
            session.connection().execute(text("SET LOCAL lock_timeout = '300ms'"))
            # ... the claim helper passes the locked row by and takes the others at once.
            won = scheduler.claim_due(session, OutboxMessage, due=outbox_due(T0), claim=claim)
            assert won == free
            session.rollback()
        other_tx.rollback()


def test_a_second_sweep_while_the_first_is_delivering_sends_nothing_again(
    engine: Engine, committed_messages: list[int], smtp_server: SmtpServer
) -> None:
    mail = smtp_server.config()
    jobs = (scheduler.ScheduledJob("notifications.send_outbox", lambda s, now: send_outbox(s, now, mail=mail)),)
    smtp_server.inbox.gate.clear()  # the first sweep will wait inside its first delivery, holding the lock
    results: dict[str, dict[str, int] | None] = {}
    first = threading.Thread(target=lambda: results.update(first=scheduler.sweep(engine, jobs, now=T0)))
    first.start()
    try:
        assert smtp_server.inbox.first_arrived.wait(10)
        results["second"] = scheduler.sweep(engine, jobs, now=T0)
    finally:
        smtp_server.inbox.gate.set()
        first.join(30)
    if engine.dialect.name == "postgresql":
        assert results["second"] is None  # the advisory lock is held: it returned at once
    else:
        assert results["second"] == {"notifications.send_outbox": 0}  # SQLite: it ran, but every row was claimed
    assert results["first"] == {"notifications.send_outbox": 5}
    assert len(smtp_server.inbox.messages) == 5
    # The lock was released: the next sweep runs (and finds nothing left to send).
    assert scheduler.sweep(engine, jobs, now=T0 + timedelta(hours=1)) == {"notifications.send_outbox": 0}
