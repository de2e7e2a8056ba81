"""HTML pages: login and logout, the account page with API tokens, and user administration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import csrf, demo
from app.db import SessionDep
from app.errors import DomainError, TooManyAttempts
from app.forms import PostedForm, domain_errors, parse_form
from app.notifications.pages import preferences_context
from app.org import service as org_service
from app.pagination import PageDep
from app.policies import PoliciesDep
from app.routing import page_router
from app.security import (
    SESSION_USER_KEY,
    AdminActor,
    CurrentActor,
    OptionalActor,
    SettingsDep,
    authenticate,
    end_sessions,
    start_session,
)
from app.settings import Mode, Settings
from app.users import service
from app.users.forms import LoginForm, NewUserForm, PasswordForm, UserForm
from app.users.models import ROLE_LABELS, TokenCreate
from app.web import redirect, render, with_toast

router = page_router()


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_page(
    request: Request,
    session: Session,
    settings: Settings,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    """The login form; in demo mode it lists the demo accounts and what each may do."""
    accounts = demo.demo_accounts(session) if settings.mode is Mode.demo else []
    ctx = {"values": values, "errors": errors, "demo_accounts": accounts, "demo_password": demo.DEMO_PASSWORD}
    return render(request, "auth/login.html", ctx, status=status)


@router.get("/login")
def login_page(
    request: Request, session: SessionDep, settings: SettingsDep, actor: OptionalActor, next: str | None = None
) -> Response:
    if actor is not None:
        return redirect(request, _safe_next(next))
    return _login_page(request, session, settings, {"next": next or ""}, {})


@router.post("/login")
def login(request: Request, posted: PostedForm, session: SessionDep, settings: SettingsDep) -> Response:
    form = parse_form(LoginForm, posted)
    values = {"email": form.values.get("email", ""), "next": form.values.get("next", "")}
    if form.data is None:
        return _login_page(request, session, settings, values, form.errors, status=422)
    ip = request.client.host if request.client else ""
    try:
        user = authenticate(session, form.data.email, form.data.password, ip, settings)
    except TooManyAttempts as exc:
        return _login_page(request, session, settings, values, {"__all__": exc.message}, status=429)
    if user is None:
        message = "The e-mail address or password is not correct."
        return _login_page(request, session, settings, values, {"__all__": message}, status=401)
    start_session(request, user)
    return _with_new_csrf_token(redirect(request, _safe_next(form.data.next)), settings)


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: OptionalActor, settings: SettingsDep) -> Response:
    # Ends every session of the person: a copy of this cookie, wherever it went, stops working too.
    if actor is not None and SESSION_USER_KEY in request.session:
        end_sessions(session, actor.id)
    request.session.clear()
    return _with_new_csrf_token(redirect(request, "/login", message="You have been logged out."), settings)


def _with_new_csrf_token(response: Response, settings: SettingsDep) -> Response:
    csrf.renew_token(
        response, secret=settings.secret_key, cookie_name=settings.csrf_cookie_name, secure=settings.cookie_secure
    )
    return response


def _account_context(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, **extra: object
) -> dict[str, Any]:
    tokens = service.list_tokens(session, actor)
    ctx = {"tokens": tokens, "issued": None, "errors": {}, "password_errors": {}, "password_values": {}, **extra}
    return preferences_context(session, actor, settings.digest_hour, **ctx)


@router.get("/account")
def account(request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep) -> Response:
    return render(request, "auth/account.html", _account_context(session, actor, settings))


@router.post("/account/password")
def account_change_password(
    request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> Response:
    form = parse_form(PasswordForm, posted)
    if form.data is not None:
        try:
            user = service.change_password(session, actor, form.data.to_change())
        except DomainError as exc:
            form.errors = domain_errors(exc)
        else:
            start_session(request, user)  # this browser stays logged in; every other session has ended
            message = "Password changed. Every other session has been logged out"
            message += ", and your API tokens revoked." if form.data.revoke_tokens else "; your API tokens still work."
            return redirect(request, "/account", message=message)
    values = {"revoke_tokens": form.values.get("revoke_tokens")}  # passwords are never sent back
    ctx = _account_context(session, actor, settings, password_errors=form.errors, password_values=values)
    return render(request, "auth/account.html", ctx, status=422)


@router.post("/account/tokens")
def account_issue_token(request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor) -> Response:
    form = parse_form(TokenCreate, posted)
    if form.data is not None:
        try:
            issued = service.issue_token(session, actor, form.data.name)
        except DomainError as exc:
            form.errors = domain_errors(exc)
    if form.errors:
        tokens = service.list_tokens(session, actor)
        ctx = {"tokens": tokens, "issued": None, "errors": form.errors, "values": form.values}
        return render(request, "auth/account.html", ctx, status=422, block="tokens")
    tokens = service.list_tokens(session, actor)
    response = render(request, "auth/account.html", {"tokens": tokens, "issued": issued, "errors": {}}, block="tokens")
    return with_toast(response, "Token created. Copy it now: it is shown only once.")


@router.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(request: Request, token_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    service.revoke_token(session, actor, token_id)
    tokens = service.list_tokens(session, actor)
    response = render(request, "auth/account.html", {"tokens": tokens, "issued": None, "errors": {}}, block="tokens")
    return with_toast(response, "Token revoked.")


# --- administration ------------------------------------------------------------------------------


def _user_form_context(session: SessionDep, **extra: object) -> dict[str, object]:
    org_options = [(u.id, u.name) for u in org_service.list_org_units(session)]
    return {"role_labels": ROLE_LABELS, "org_options": org_options, **extra}


@router.get("/admin/users")
def admin_users(
    request: Request,
    session: SessionDep,
    _admin: AdminActor,
    page: PageDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    users, total = service.list_users(session, q=q, offset=page.offset, limit=page.limit)
    ctx = {"users": service.to_public(session, users), "total": total, "page": page, "q": q}
    ctx["org_names"] = {u.id: u.name for u in org_service.list_org_units(session)}
    block = "results" if request.headers.get("hx-target") == "user-results" else None
    return render(request, "admin/users.html", ctx, block=block)


@router.get("/admin/users/new")
def admin_user_new(request: Request, session: SessionDep, _admin: AdminActor) -> Response:
    ctx = _user_form_context(session, user=None, values={"is_active": "true", "roles": []}, errors={})
    return render(request, "admin/user_form.html", ctx)


@router.post("/admin/users/new")
def admin_user_create(request: Request, posted: PostedForm, session: SessionDep, admin: AdminActor) -> Response:
    form = parse_form(NewUserForm, posted, multi=frozenset({"roles"}))
    if form.data is not None:
        try:
            user = service.create_user(session, form.data.to_create(), by=admin)
        except DomainError as exc:
            form.errors = domain_errors(exc)
        else:
            return redirect(request, f"/admin/users/{user.id}", message=f"Account for {user.email} created.")
    ctx = _user_form_context(session, user=None, values=form.values, errors=form.errors)
    return render(request, "admin/user_form.html", ctx, status=422)


@router.get("/admin/users/{user_id}")
def admin_user_edit(request: Request, user_id: int, session: SessionDep, _admin: AdminActor) -> Response:
    user = service.to_public(session, [service.get_user(session, user_id)])[0]
    values = {**user.model_dump(), "is_active": "true" if user.is_active else "false"}
    return render(request, "admin/user_form.html", _user_form_context(session, user=user, values=values, errors={}))


@router.post("/admin/users/{user_id}")
def admin_user_update(
    request: Request, posted: PostedForm, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    user = service.get_user(session, user_id)
    form = parse_form(UserForm, posted, multi=frozenset({"roles"}))
    if form.data is not None:
        try:
            service.update_user(session, user, form.data.to_update(), by=admin, policies=policies)
        except DomainError as exc:
            form.errors = domain_errors(exc)
        else:
            return redirect(request, "/admin/users", message=f"Account {user.email} saved.")
    public = service.to_public(session, [user])[0]
    ctx = _user_form_context(session, user=public, values={**form.values, "email": user.email}, errors=form.errors)
    return render(request, "admin/user_form.html", ctx, status=422)
