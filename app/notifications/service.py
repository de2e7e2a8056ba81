"""Notifications: tell people, list and mark what they were told, their delivery choice, and the outbox.

Services flush, never commit: ``notify`` writes in the transaction of the event that calls it, so the in-app item
and the mail exist exactly when the event does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.utils import formataddr
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import func as sa_func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.db import utcnow
from app.errors import NotFound
from app.notifications.mail import absolute, new_message_id
from app.notifications.models import (
    DIGEST_KIND,
    Delivery,
    Notification,
    NotificationPreference,
    NotificationPublic,
    OutboxMessage,
    OutboxMessageDetail,
    OutboxMessagePublic,
    OutboxStatus,
)
from app.users.models import User
from app.web import templates

SUBJECT_MAX = 300


def notify(
    session: Session,
    *,
    recipients: Sequence[int],
    kind: str,
    subject: str,
    text: str,
    link: str,
    base_url: str,
    now: datetime | None = None,
) -> list[Notification]:
    """Tell each recipient (user ids; repeats and inactive accounts are left out) about an event.

    Writes an in-app notification for each, and an outbox message for each who wants mail at once; the digest
    job collects the others' notifications. ``kind`` names the event (``proposal.submitted``), ``link`` is the
    path of the page it concerns (``/proposals/12``), made absolute with ``base_url`` in the mail.
    """
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError(f"notify(link=...) takes a path in the app such as /proposals/12, not {link!r}")
    now = now or utcnow()
    wanted = list(dict.fromkeys(recipients))
    if not wanted:
        return []
    subject = subject.strip()[:SUBJECT_MAX]
    found = session.exec(
        select(User.id, User.name, User.email, NotificationPreference.delivery)
        .outerjoin(NotificationPreference, col(NotificationPreference.user_id) == User.id)
        .where(col(User.id).in_(wanted), col(User.is_active))
    ).all()
    order = {uid: i for i, uid in enumerate(wanted)}
    people = sorted(found, key=lambda p: order[p[0] or 0])
    mails: dict[int, OutboxMessage] = {}
    for user_id, name, email, delivery in people:
        assert user_id is not None
        if delivery != Delivery.digest.value:
            mails[user_id] = _outbox_message(
                recipient_id=user_id,
                to=formataddr((name, email)),
                kind=kind,
                subject=subject,
                text_body=_message_text(name, text, link, base_url),
                html_body=_message_html(name, subject, text, link, base_url),
                base_url=base_url,
                now=now,
            )
    session.add_all(mails.values())
    session.flush()
    made = [
        Notification(
            user_id=user_id,
            kind=kind,
            subject=subject,
            body=text,
            link=link,
            created_at=now,
            outbox_message_id=mails[user_id].id if user_id in mails else None,
        )
        for user_id, *_ in people
        if user_id is not None
    ]
    session.add_all(made)
    session.flush()
    return made


def _outbox_message(
    *,
    recipient_id: int | None,
    to: str,
    kind: str,
    subject: str,
    text_body: str,
    html_body: str,
    base_url: str,
    now: datetime,
) -> OutboxMessage:
    return OutboxMessage(
        recipient_id=recipient_id,
        to_address=to,
        kind=kind,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        message_id=new_message_id(base_url),
        next_attempt_at=now,
        created_at=now,
    )


def queue_mail(
    session: Session, *, to: str, kind: str, subject: str, text_body: str, base_url: str, send_at: datetime
) -> OutboxMessage:
    """One plain-text mail to an address that belongs to no account (a learner's survey invitation), sent by the
    outbox at ``send_at`` or later. The caller decides what of it may be kept (``withdraw_or_redact``)."""
    html = templates.env.get_template("notifications/email_plain.html").render(subject=subject, text=text_body)
    message = _outbox_message(
        recipient_id=None,
        to=to,
        kind=kind,
        subject=subject.strip()[:SUBJECT_MAX],
        text_body=text_body,
        html_body=html,
        base_url=base_url,
        now=send_at,
    )
    session.add(message)
    session.flush()
    return message


def withdraw_or_redact(session: Session, message_ids: Sequence[int], secret: str) -> None:
    """Forget what these messages could tell: delete the ones not sent yet, and blank what matches ``secret`` (a
    regular expression: a link's token) out of the others' bodies, so that no stored message leads back to it."""
    if not message_ids:
        return
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(message_ids))).all()
    for row in rows:
        if row.status == OutboxStatus.pending.value:
            session.delete(row)
        else:
            row.text_body = re.sub(secret, "[removed]", row.text_body)
            row.html_body = re.sub(secret, "[removed]", row.html_body)
            session.add(row)
    session.flush()


def _footer(base_url: str) -> str:
    account = absolute(base_url, "/account")
    return f"You receive this e-mail from MC-QA. Choose immediate mail or a daily digest: {account}"


def _message_text(name: str, text: str, link: str, base_url: str) -> str:
    url = absolute(base_url, link)
    return f"Hello {name},\n\n{text.strip()}\n\nOpen it in MC-QA: {url}\n\n-- \n{_footer(base_url)}\n"


def _message_html(name: str, subject: str, text: str, link: str, base_url: str) -> str:
    return templates.env.get_template("notifications/email_message.html").render(
        name=name,
        subject=subject,
        text=text.strip(),
        url=absolute(base_url, link),
        account_url=absolute(base_url, "/account"),
    )


def compose_digest(session: Session, user_id: int, *, base_url: str, now: datetime) -> OutboxMessage | None:
    """One outbox message listing every notification of ``user_id`` no mail has carried yet (None if none)."""
    person = session.exec(select(User.name, User.email).where(User.id == user_id, col(User.is_active))).first()
    if person is None:
        return None
    items = list(
        session.exec(
            select(Notification)
            .where(Notification.user_id == user_id, col(Notification.outbox_message_id).is_(None))
            .order_by(col(Notification.id))
        )
    )
    if not items:
        return None
    name, email = person
    count = f"{len(items)} notification{'s' if len(items) != 1 else ''}"
    subject = f"MC-QA daily digest: {count}"
    lines = [f"Hello {name},", "", f"{count} since your last digest:", ""]
    for item in items:
        lines += [
            f"* {item.subject} ({item.created_at:%Y-%m-%d %H:%M} UTC)",
            *(f"  {line}" for line in item.body.strip().splitlines()),
            f"  {absolute(base_url, item.link)}",
            "",
        ]
    lines += ["-- ", _footer(base_url)]
    html = templates.env.get_template("notifications/email_digest.html").render(
        name=name,
        subject=subject,
        count=count,
        items=[(i, absolute(base_url, i.link)) for i in items],
        account_url=absolute(base_url, "/account"),
    )
    message = _outbox_message(
        recipient_id=user_id,
        to=formataddr((name, email)),
        kind=DIGEST_KIND,
        subject=subject,
        text_body="\n".join(lines) + "\n",
        html_body=html,
        base_url=base_url,
        now=now,
    )
    session.add(message)
    session.flush()
    for item in items:
        item.outbox_message_id = message.id
        session.add(item)
    session.flush()
    return message


# --- the in-app list -----------------------------------------------------------------------------

# Built once and run as Core: every page of every logged-in person asks it.
_UNREAD_COUNT = (
    sa_select(sa_func.count())
    .select_from(Notification)
    .where(col(Notification.user_id) == bindparam("uid"), col(Notification.read_at).is_(None))
)


def unread_count(session: Session, user_id: int) -> int:
    return int(session.connection().execute(_UNREAD_COUNT, {"uid": user_id}).scalar_one())


def to_public(item: Notification) -> NotificationPublic:
    assert item.id is not None
    return NotificationPublic(
        id=item.id,
        kind=item.kind,
        subject=item.subject,
        text=item.body,
        link=item.link,
        created_at=item.created_at,
        read_at=item.read_at,
    )


def list_notifications(
    session: Session, user_id: int, *, offset: int = 0, limit: int = 25
) -> tuple[list[Notification], int]:
    """Newest first."""
    total = session.exec(select(func.count()).select_from(Notification).where(Notification.user_id == user_id)).one()
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(col(Notification.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime | None = None) -> Notification:
    """Mark one of the person's own notifications read (someone else's is "not found", not "forbidden")."""
    item = session.get(Notification, notification_id)
    if item is None or item.user_id != user_id:
        raise NotFound("There is no such notification among yours.")
    if item.read_at is None:
        item.read_at = now or utcnow()
        session.add(item)
        session.flush()
    return item


def mark_all_read(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """One UPDATE, however many there are; notifications already loaded in this session see the change too."""
    stmt = (
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session="evaluate")
    )
    return int(session.exec(stmt).rowcount)


# --- preferences ---------------------------------------------------------------------------------


def get_delivery(session: Session, user_id: int) -> Delivery:
    row = session.get(NotificationPreference, user_id)
    return Delivery(row.delivery) if row is not None else Delivery.immediate


def set_delivery(
    session: Session, user_id: int, delivery: Delivery, *, base_url: str, now: datetime | None = None
) -> Delivery:
    """Immediate mail or the daily digest. Leaving the digest sends what waited for it at once, in one last
    digest: no later digest would carry it, and immediate mail only carries what comes from now on."""
    now = now or utcnow()
    row = session.get(NotificationPreference, user_id)
    before = Delivery(row.delivery) if row is not None else Delivery.immediate
    if row is None:
        row = NotificationPreference(user_id=user_id)
    if before is not Delivery.digest and delivery is Delivery.digest:
        row.last_digest_at = now  # the first digest comes at the next digest hour, not at the next sweep
    row.delivery = delivery.value
    row.updated_at = now
    session.add(row)
    if before is not delivery:
        audit.record(
            session,
            actor_id=user_id,
            entity_type="user",
            entity_id=user_id,
            action="notifications.delivery_changed",
            data={"from": before.value, "to": delivery.value},
        )
    # The preference row is written (and on PostgreSQL locked) before the waiting items are read: the digest job,
    # which claims that row first, cannot collect the same items meanwhile.
    session.flush()
    if before is Delivery.digest and delivery is not Delivery.digest:
        compose_digest(session, user_id, base_url=base_url, now=now)
    return delivery


# --- the outbox (administrators) -----------------------------------------------------------------


def list_outbox(
    session: Session, *, status: OutboxStatus | None = None, offset: int = 0, limit: int = 25
) -> tuple[list[OutboxMessage], int]:
    """Newest first."""
    stmt = select(OutboxMessage)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status.value)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(OutboxMessage.id).desc()).offset(offset).limit(limit))
    return list(rows), total


def outbox_counts(session: Session) -> dict[OutboxStatus, int]:
    counts = dict.fromkeys(OutboxStatus, 0)
    for status, n in session.exec(select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))).all():
        counts[OutboxStatus(status)] = n
    return counts


def get_outbox_message(session: Session, message_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"There is no outbox message with id {message_id}.")
    return row


def outbox_public(row: OutboxMessage) -> OutboxMessagePublic:
    return OutboxMessagePublic.model_validate(_outbox_fields(row))


def outbox_detail(row: OutboxMessage) -> OutboxMessageDetail:
    return OutboxMessageDetail.model_validate(_outbox_fields(row))


def _outbox_fields(row: OutboxMessage) -> dict[str, Any]:
    return row.model_dump()
