"""HTML pages: my notifications (mark one or all read), the delivery choice on "My account", the unread count in
the navigation, and the administrators' Outbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.db import SessionDep
from app.forms import PostedForm, parse_form
from app.notifications import service
from app.notifications.models import DELIVERY_LABELS, OutboxStatus, PreferencesUpdate
from app.pagination import PageDep, PageParams
from app.routing import page_router
from app.security import Actor, AdminActor, CurrentActor, SettingsDep
from app.web import CONTEXT_HOOKS, is_htmx, redirect, render, with_toast

router = page_router()


def _unread_badge(request: Request) -> dict[str, Any]:
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return {}
    known = getattr(request.state, "unread_count", None)  # the notifications page has just counted them
    # Otherwise the count read with the actor's facts, in the same round trip (app.security.load_actor).
    return {"unread_count": known if known is not None else actor.unread_notifications}


CONTEXT_HOOKS.append(_unread_badge)


# --- my notifications ----------------------------------------------------------------------------


def _list_context(request: Request, session: Session, actor: Actor, page: PageParams) -> dict[str, Any]:
    items, total = service.list_notifications(session, actor.id, offset=page.offset, limit=page.limit)
    request.state.unread_count = service.unread_count(session, actor.id)
    query = f"offset={page.offset}&limit={page.limit}"
    return {"items": items, "total": total, "page": page, "query": query}


@router.get("/notifications")
def notifications(request: Request, session: SessionDep, actor: CurrentActor, page: PageDep) -> Response:
    return render(request, "notifications/index.html", _list_context(request, session, actor, page))


def _after_marking(request: Request, session: Session, actor: Actor, page: PageParams, message: str) -> Response:
    if not is_htmx(request):
        return redirect(request, f"/notifications?offset={page.offset}&limit={page.limit}", message=message)
    ctx = {**_list_context(request, session, actor, page), "oob_count": True}
    return with_toast(render(request, "notifications/index.html", ctx, block="list"), message)


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, notification_id: int, session: SessionDep, actor: CurrentActor, page: PageDep
) -> Response:
    item = service.mark_read(session, actor.id, notification_id)
    return _after_marking(request, session, actor, page, f"Marked as read: {item.subject}")


@router.post("/notifications/read")
def mark_all_read(request: Request, session: SessionDep, actor: CurrentActor, page: PageDep) -> Response:
    marked = service.mark_all_read(session, actor.id)
    return _after_marking(request, session, actor, page, f"{marked} marked as read." if marked else "Nothing unread.")


# --- the delivery choice on "My account" ---------------------------------------------------------


def preferences_context(session: Session, actor: Actor, digest_hour: int, **extra: Any) -> dict[str, Any]:
    """What the account page's "E-mail notifications" block needs (also used by the account page itself)."""
    return {
        "delivery": service.get_delivery(session, actor.id).value,
        "delivery_labels": DELIVERY_LABELS,
        "digest_hour": digest_hour,
        "pref_errors": {},
        **extra,
    }


@router.post("/account/notifications")
def set_delivery(
    request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> Response:
    form = parse_form(PreferencesUpdate, posted)
    if form.data is None:
        ctx = preferences_context(session, actor, settings.digest_hour, pref_errors=form.errors)
        return render(request, "auth/account.html", ctx, status=422, block="notification_preferences")
    service.set_delivery(session, actor.id, form.data.delivery, base_url=settings.base_url)
    message = (
        f"You will get one e-mail a day, after {settings.digest_hour:02d}:00 UTC."
        if form.data.delivery.value == "digest"
        else "You will get an e-mail for each notification."
    )
    if not is_htmx(request):
        return redirect(request, "/account", message=message)
    ctx = preferences_context(session, actor, settings.digest_hour)
    return with_toast(render(request, "auth/account.html", ctx, block="notification_preferences"), message)


# --- the outbox (administrators) -----------------------------------------------------------------


@router.get("/admin/outbox")
def outbox(
    request: Request,
    session: SessionDep,
    _admin: AdminActor,
    settings: SettingsDep,
    page: PageDep,
    status: Annotated[OutboxStatus | None, Query()] = None,
) -> Response:
    rows, total = service.list_outbox(session, status=status, offset=page.offset, limit=page.limit)
    ctx = {
        "rows": rows,
        "total": total,
        "page": page,
        "status": status.value if status else "",
        "counts": service.outbox_counts(session),
        "mail_enabled": bool(settings.smtp_host),
    }
    return render(request, "notifications/outbox.html", ctx)


@router.get("/admin/outbox/{message_id}")
def outbox_message(
    request: Request, message_id: int, session: SessionDep, _admin: AdminActor, settings: SettingsDep
) -> Response:
    row = service.get_outbox_message(session, message_id)
    return render(request, "notifications/outbox_message.html", {"m": row, "mail_enabled": bool(settings.smtp_host)})
