"""Notifications: the in-app list, each person's delivery preference, and the mail outbox.

An event that concerns people writes, in its own transaction, one ``notification`` per recipient and, for those
who want mail at once, one ``outbox_message``; people who chose a daily digest get their notifications collected
into one outbox message a day. The sender job delivers the outbox; the row is its own retry state.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from app.db import utcnow
from app.pagination import Page


class Delivery(StrEnum):
    """How a person receives notifications by mail (they always appear in the app)."""

    immediate = "immediate"
    digest = "digest"


DELIVERY_LABELS = {
    Delivery.immediate: "One e-mail per notification, as it happens",
    Delivery.digest: "One e-mail a day listing everything since the last one (daily digest)",
}


class OutboxStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt (or for a mail server to be configured)
    sent = "sent"
    failed = "failed"  # refused for good by the mail server (for example an unknown address); kept for the record


DIGEST_KIND = "digest"
# Partial indexes state their predicate literally; queries that should use them repeat it.
UNREAD_SQL = "read_at IS NULL"
PENDING_SQL = "status = 'pending'"


class OutboxMessage(SQLModel, table=True):
    """One e-mail to one person, written in the transaction of the event that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        # The sender's question, "what is due?", reads only pending rows in due order.
        Index(
            "ix_outbox_message_due",
            "next_attempt_at",
            "id",
            postgresql_where=text(PENDING_SQL),
            sqlite_where=text(PENDING_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    to_address: str = Field(max_length=254)
    kind: str = Field(max_length=64)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str
    message_id: str = Field(max_length=255, unique=True)  # the Message-ID header, fixed when written
    status: str = Field(default=OutboxStatus.pending.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Notification(SQLModel, table=True):
    """One item in a person's in-app list."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_newest", "user_id", "id"),
        # The unread count in every page's navigation: one small index, scanned for one user.
        Index("ix_notification_unread", "user_id", postgresql_where=text(UNREAD_SQL), sqlite_where=text(UNREAD_SQL)),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    kind: str = Field(max_length=64)
    subject: str = Field(max_length=300)
    body: str
    link: str = Field(max_length=500)  # a path in the app, such as /proposals/12
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
    # The mail that carried it (immediate or digest); empty while a digest has yet to collect it.
    outbox_message_id: int | None = Field(default=None, foreign_key="outbox_message.id", ondelete="SET NULL")


class NotificationPreference(SQLModel, table=True):
    """A person's choice; no row means immediate mail."""

    __tablename__ = "notification_preference"
    __table_args__ = (CheckConstraint("delivery IN ('immediate', 'digest')", name="delivery"),)

    user_id: int = Field(primary_key=True, foreign_key="user_account.id", ondelete="CASCADE")
    delivery: str = Field(default=Delivery.immediate.value, max_length=16)
    last_digest_at: datetime | None = None  # when the last digest was composed (the digest job's claim)
    updated_at: datetime = Field(default_factory=utcnow)


# --- API schemas ---------------------------------------------------------------------------------


class NotificationPublic(SQLModel):
    id: int
    kind: str
    subject: str
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread: int


class MarkedRead(SQLModel):
    marked: int


class PreferencesPublic(SQLModel):
    delivery: Delivery
    digest_hour_utc: int


class PreferencesUpdate(SQLModel):
    delivery: Delivery


class OutboxMessagePublic(SQLModel):
    id: int
    recipient_id: int | None
    to_address: str
    kind: str
    subject: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    message_id: str


class OutboxMessageDetail(OutboxMessagePublic):
    text_body: str
    html_body: str
