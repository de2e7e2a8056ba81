"""JSON API for notifications (the twins of the pages): my list, mark read, my delivery choice, the Outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.db import SessionDep
from app.notifications import service
from app.notifications.models import (
    MarkedRead,
    NotificationPage,
    NotificationPublic,
    OutboxMessageDetail,
    OutboxMessagePublic,
    OutboxStatus,
    PreferencesPublic,
    PreferencesUpdate,
)
from app.pagination import Page, PageDep
from app.routing import api_router
from app.security import AdminActor, CurrentActor, SettingsDep

router = api_router()


@router.get("/notifications", response_model=NotificationPage, tags=["notifications"])
def list_notifications(session: SessionDep, actor: CurrentActor, page: PageDep) -> NotificationPage:
    """My notifications, newest first, with the number still unread."""
    items, total = service.list_notifications(session, actor.id, offset=page.offset, limit=page.limit)
    return NotificationPage(
        items=[service.to_public(n) for n in items],
        total=total,
        offset=page.offset,
        limit=page.limit,
        unread=service.unread_count(session, actor.id),
    )


@router.post("/notifications/read", response_model=MarkedRead, tags=["notifications"])
def mark_all_read(session: SessionDep, actor: CurrentActor) -> MarkedRead:
    """Mark all my notifications read; returns how many were unread."""
    return MarkedRead(marked=service.mark_all_read(session, actor.id))


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic, tags=["notifications"])
def mark_read(notification_id: int, session: SessionDep, actor: CurrentActor) -> NotificationPublic:
    """Mark one of my notifications read (404 for anyone else's)."""
    return service.to_public(service.mark_read(session, actor.id, notification_id))


@router.get("/notifications/preferences", response_model=PreferencesPublic, tags=["notifications"])
def get_preferences(session: SessionDep, actor: CurrentActor, settings: SettingsDep) -> PreferencesPublic:
    return PreferencesPublic(delivery=service.get_delivery(session, actor.id), digest_hour_utc=settings.digest_hour)


@router.put("/notifications/preferences", response_model=PreferencesPublic, tags=["notifications"])
def set_preferences(
    data: PreferencesUpdate, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> PreferencesPublic:
    """Immediate mail, or one digest a day after the configured hour (UTC)."""
    delivery = service.set_delivery(session, actor.id, data.delivery, base_url=settings.base_url)
    return PreferencesPublic(delivery=delivery, digest_hour_utc=settings.digest_hour)


@router.get("/admin/outbox", response_model=Page[OutboxMessagePublic], tags=["administration"])
def list_outbox(
    session: SessionDep,
    _admin: AdminActor,
    page: PageDep,
    status: Annotated[OutboxStatus | None, Query()] = None,
) -> Page[OutboxMessagePublic]:
    """Every e-mail written, newest first (administrators)."""
    rows, total = service.list_outbox(session, status=status, offset=page.offset, limit=page.limit)
    return Page(items=[service.outbox_public(r) for r in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/admin/outbox/{message_id}", response_model=OutboxMessageDetail, tags=["administration"])
def get_outbox_message(message_id: int, session: SessionDep, _admin: AdminActor) -> OutboxMessageDetail:
    return service.outbox_detail(service.get_outbox_message(session, message_id))
