"""Two sweepers at the same moment, on real connections committing in parallel threads: every outbox message is
delivered exactly once and every digest written exactly once.

The sweepers call the jobs directly, without the sweep's advisory lock, so what keeps them apart is what each
job does itself: SELECT ... FOR UPDATE SKIP LOCKED and the compare-and-set claim (PostgreSQL), BEGIN IMMEDIATE and
the compare-and-set (SQLite). What these tests commit they delete afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.notifications import service
from app.notifications.jobs import send_digests, send_outbox
from app.notifications.models import DIGEST_KIND, Notification, NotificationPreference, OutboxMessage, OutboxStatus
from app.users.models import User
from tests.mailserver import SmtpServer

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
KIND = "tests.concurrency"
MESSAGES = 500
DIGEST_PEOPLE = 30


def run_together(engine: Engine, job: Callable[[Session], int], sweepers: int = 2) -> list[int]:
    """Run ``job`` in ``sweepers`` threads, each with its own session, released at the same moment."""
    barrier = threading.Barrier(sweepers)
    results: list[int] = [0] * sweepers
    errors: list[BaseException] = []

    def sweeper(i: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                results[i] = job(session)
                session.commit()
            except BaseException as exc:
                errors.append(exc)
                raise

    threads = [threading.Thread(target=sweeper, args=(i,)) for i in range(sweepers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[list[int]]:
    """User ids to remove afterwards, with everything the tests committed."""
    users: list[int] = []
    yield users
    with Session(engine) as session:
        session.execute(delete(Notification).where(col(Notification.user_id).in_(users)))
        session.execute(delete(NotificationPreference).where(col(NotificationPreference.user_id).in_(users)))
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.recipient_id).in_(users)))
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.kind) == KIND))
        session.execute(delete(User).where(col(User.id).in_(users)))
        session.commit()


def test_two_sweepers_deliver_each_of_500_messages_exactly_once(
    engine: Engine, smtp_server: SmtpServer, cleanup: list[int]
) -> None:
    with Session(engine) as session:
        session.add_all(
            OutboxMessage(
                to_address=f"person{i}@example.org",
                kind=KIND,
                subject=f"Message {i}",
                text_body=f"Message {i}",
                html_body=f"<p>Message {i}</p>",
                message_id=f"<{uuid.uuid4().hex}@test.example>",
                next_attempt_at=T0,
                created_at=T0,
            )
            for i in range(MESSAGES)
        )
        session.commit()
    mail = smtp_server.config()

    started = time.monotonic()
    handled = run_together(engine, lambda session: send_outbox(session, T0, mail=mail, batch=10))
    elapsed = time.monotonic() - started

    arrived = smtp_server.inbox.message_ids()
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == KIND)).all()
    assert len(arrived) == MESSAGES  # arrivals counted at the SMTP server
    assert len(set(arrived)) == MESSAGES  # ... and every one a different message
    assert set(arrived) == {r.message_id for r in rows}
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.sent, 1)}  # no row was ever claimed twice
    assert sum(handled) == MESSAGES
    print(f"\n{engine.dialect.name}: {MESSAGES} messages, sweepers handled {handled}, {elapsed:.2f} s")
    # Both sweepers run until nothing is due, so neither may finish while rows remain for the other to take;
    # on PostgreSQL they work side by side (SKIP LOCKED), on SQLite one writer at a time.
    assert all(n > 0 for n in handled) or engine.dialect.name == "sqlite"


def test_two_sweepers_write_each_digest_exactly_once(engine: Engine, cleanup: list[int]) -> None:
    day = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        people = [
            User(email=f"digest-{uuid.uuid4().hex[:10]}@example.org", name=f"Digest {i}") for i in range(DIGEST_PEOPLE)
        ]
        session.add_all(people)
        session.flush()
        ids = [p.id for p in people if p.id is not None]
        cleanup.extend(ids)
        session.add_all(NotificationPreference(user_id=uid, delivery="digest", last_digest_at=day) for uid in ids)
        session.flush()
        for n in (1, 2):
            service.notify(
                session,
                recipients=ids,
                kind="proposal.submitted",
                subject=f"Event {n}",
                text="Something happened.",
                link=f"/proposals/{n}",
                base_url="https://mcqa.uni.example",
                now=day + timedelta(hours=n),
            )
        session.commit()

    morning = datetime(2027, 3, 2, 7, 0, tzinfo=UTC)
    written = run_together(
        engine, lambda session: send_digests(session, morning, digest_hour=7, base_url="https://mcqa.uni.example")
    )

    with Session(engine) as session:
        digests = session.exec(
            select(OutboxMessage.recipient_id).where(
                col(OutboxMessage.recipient_id).in_(ids), OutboxMessage.kind == DIGEST_KIND
            )
        ).all()
        unsent = session.exec(
            select(Notification.id).where(
                col(Notification.user_id).in_(ids), col(Notification.outbox_message_id).is_(None)
            )
        ).all()
    assert sum(written) == DIGEST_PEOPLE
    assert sorted(d or 0 for d in digests) == sorted(ids)  # one each, nobody twice
    assert unsent == []
