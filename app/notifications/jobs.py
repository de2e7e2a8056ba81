"""Scheduled work for notifications: compose the daily digests, deliver the outbox.

Both are called by the sweep as ``job(session, now)`` with their configuration bound at start-up (app/jobs.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlmodel import Session, col

from app.logs import log
from app.notifications import service
from app.notifications.mail import DeliveryFailed, MailConfig, SmtpMailer, build_email
from app.notifications.models import Delivery, NotificationPreference, OutboxMessage, OutboxStatus
from app.scheduler import claim_due, claim_each

BATCH = 50
# A claimed message is someone's to send for this long. Should that process die mid-way, the message is due again
# afterwards (and may then reach the recipient twice, with the same Message-ID): SMTP offers nothing better.
SEND_LEASE = timedelta(minutes=10)
RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failed attempt: 1, 2, 4, 8 ... minutes, at most 6 hours.
    A message is never given up because the server is down: it waits, however long."""
    doublings = min(max(attempts - 1, 0), 20)
    return min(RETRY_FIRST * (1 << doublings), RETRY_LONGEST)


# What the sender needs of the rows it claimed, read as Core rows (no ORM object may hold a stale copy).
_CLAIMED = (
    select(
        col(OutboxMessage.id),
        col(OutboxMessage.to_address),
        col(OutboxMessage.subject),
        col(OutboxMessage.text_body),
        col(OutboxMessage.html_body),
        col(OutboxMessage.message_id),
        col(OutboxMessage.created_at),
        col(OutboxMessage.attempts),
    )
    .where(col(OutboxMessage.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(OutboxMessage.id))
)


def outbox_due(now: datetime) -> ColumnElement[bool]:
    """Messages waiting for an attempt at ``now`` (the predicate of the partial index ix_outbox_message_due)."""
    return (col(OutboxMessage.status) == OutboxStatus.pending.value) & (col(OutboxMessage.next_attempt_at) <= now)


def send_outbox(session: Session, now: datetime, *, mail: MailConfig, batch: int = BATCH) -> int:
    """``notifications.send_outbox``: deliver every due message. Returns how many were attempted.

    Without a mail server configured, nothing is touched: the messages wait, readable on the Outbox page.
    """
    if not mail.enabled:
        return 0
    attempted = 0
    due = outbox_due(now)
    with SmtpMailer(mail) as mailer:
        while True:
            ids = claim_due(
                session,
                OutboxMessage,
                due=due,
                claim={"next_attempt_at": now + SEND_LEASE, "attempts": col(OutboxMessage.attempts) + 1},
                order_by=[col(OutboxMessage.next_attempt_at)],
                limit=batch,
            )
            if not ids:
                return attempted
            rows = session.connection().execute(_CLAIMED, {"ids": ids}).all()
            # Commit the claim before the first message leaves: other sweepers now see these rows as taken, and
            # no transaction (on SQLite: the write lock) stays open during the SMTP conversation.
            session.commit()
            unreachable: DeliveryFailed | None = None
            for row_id, to, subject, text_body, html_body, message_id, created_at, attempts in rows:
                assert row_id is not None
                attempted += 1
                if unreachable is None:
                    try:
                        mailer.send(
                            build_email(
                                sender=mail.sender,
                                to=to,
                                subject=subject,
                                text_body=text_body,
                                html_body=html_body,
                                message_id=message_id,
                                created_at=created_at,
                            )
                        )
                    except DeliveryFailed as failure:
                        _record_failure(session, row_id, attempts, failure, now)
                        if failure.unreachable:
                            unreachable = failure  # the rest of the batch waits too, without trying
                    else:
                        _record_sent(session, row_id, now)
                else:
                    _record_failure(session, row_id, attempts, unreachable, now)
                session.commit()
            if unreachable is not None:
                log.warning("mail server unreachable; messages wait for the next attempt", error=unreachable.message)
                return attempted


def _record_sent(session: Session, row_id: int, now: datetime) -> None:
    session.connection().execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(status=OutboxStatus.sent.value, sent_at=now, last_error="")
    )


def _record_failure(session: Session, row_id: int, attempts: int, failure: DeliveryFailed, now: datetime) -> None:
    if failure.permanent:
        values: dict[str, object] = {"status": OutboxStatus.failed.value}
        log.warning("mail refused for good", outbox_message=row_id, error=failure.message)
    else:
        values = {"next_attempt_at": now + retry_delay(attempts)}
    session.connection().execute(
        update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(last_error=failure.message[:1000], **values)
    )


def digest_slot(now: datetime, hour: int) -> datetime:
    """The latest moment at or before ``now`` when digests were due (today's ``hour``, else yesterday's)."""
    slot = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(days=1)


def send_digests(session: Session, now: datetime, *, digest_hour: int, base_url: str, batch: int = BATCH) -> int:
    """``notifications.send_digests``: once a day per person who chose the digest, one outbox message listing
    every notification since the last one (none when there is nothing new). Returns how many were written.

    The claim (``last_digest_at = now``) and the message are written in one transaction, so a digest exists
    exactly once per person and day, however many processes sweep. The sender job delivers it.
    """
    slot = digest_slot(now, digest_hour)
    last = col(NotificationPreference.last_digest_at)
    due = (col(NotificationPreference.delivery) == Delivery.digest.value) & (last.is_(None) | (last < slot))

    def compose(user_id: int) -> bool:
        return service.compose_digest(session, user_id, base_url=base_url, now=now) is not None

    return claim_each(
        session,
        NotificationPreference,
        compose,
        job="notifications.send_digests",
        due=due,
        claim={"last_digest_at": now},
        batch=batch,
    )
