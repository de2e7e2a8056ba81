"""HTMX and template plumbing in one place: rendering, fragments, redirects, toasts, error pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

from app.catalogue.cache import PUBLIC_SCOPE_KEY
from app.settings import ROOT
from app.text import in_sentence

templates = Jinja2Blocks(directory=str(ROOT / "templates"))
templates.env.globals["app_name"] = "MC-QA"
templates.env.filters["in_sentence"] = in_sentence
# Form macros as a global, so a block rendered alone (an htmx fragment) can use them without an import.
templates.env.globals["f"] = templates.env.get_template("_components/forms.html").module
FLASH_KEY = "_flash"
# Functions adding page-wide context (e.g. a count in the navigation); domains register theirs at import.
ContextHook = Callable[[Request], dict[str, Any]]
CONTEXT_HOOKS: list[ContextHook] = []


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def csrf_token(request: Request) -> str:
    if request.scope.get(PUBLIC_SCOPE_KEY):  # a page shared between visitors (app.catalogue.cache): no token
        return ""
    getter = request.scope.get("csrftoken")
    return str(getter()) if getter else ""


def page_context(request: Request) -> dict[str, Any]:
    flashes: list[str] = []
    if "session" in request.scope:
        flashes = request.session.pop(FLASH_KEY, [])
    ctx = {
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf_token(request),
        "flashes": flashes,
        "path": request.url.path,
    }
    for hook in CONTEXT_HOOKS:
        ctx.update(hook(request))
    return ctx


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page, or only one of its named blocks (the fragment htmx asked for)."""
    ctx = {**page_context(request), **(context or {})}
    if block is not None:
        response = templates.TemplateResponse(request, name, ctx, status_code=status, block_name=block)
    else:
        response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Vary"] = "HX-Request"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def render_error(request: Request, *, status: int, title: str, message: str, database: bool = True) -> Response:
    """The error page (or an htmx toast). Call it from a thread, never from the event loop.

    It usually runs after the request's session has closed (the handler raised), so it opens its own short
    read-only session for the header's context and closes it before returning: an error page must never
    leave a transaction open (on SQLite that would hold the write lock; on PostgreSQL a connection idle in
    transaction). ``database=False``: the page for a database that cannot be reached reads nothing from it.
    """
    if getattr(request.state, "db", None) is not None:  # rendered by a handler whose session is still open
        return _render_error(request, status=status, title=title, message=message)
    engine = getattr(request.app.state, "engine", None)
    if engine is None or not database:
        return _render_error(request, status=status, title=title, message=message)
    from sqlmodel import Session

    from app.db import read_only, under_version

    with Session(read_only(engine)) as session:
        under_version(session, request)
        request.state.db = session
        try:
            if not hasattr(request.state, "actor"):
                _load_actor_for_error_page(request, session)
            return _render_error(request, status=status, title=title, message=message)
        finally:
            request.state.db = None


def _render_error(request: Request, *, status: int, title: str, message: str) -> Response:
    if is_htmx(request):
        return render(request, "_partials/toast.html", {"kind": "error", "message": message}, status=status)
    return render(request, "errors/error.html", {"status": status, "title": title, "message": message}, status=status)


def _load_actor_for_error_page(request: Request, session: Any) -> None:
    """An error raised before authentication (an unknown address) still shows the logged-in header."""
    from app.security import SESSION_GENERATION_KEY, SESSION_USER_KEY, load_actor
    from app.users.models import User

    uid = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    if uid is None:
        return
    user = session.get(User, uid)
    current = (
        user is not None
        and user.is_active
        and request.session.get(SESSION_GENERATION_KEY) == user.session_generation  # an ended session is no one
    )
    request.state.actor = load_actor(session, user) if current else None


def flash(request: Request, message: str) -> None:
    """Queue a message for the next full page (used after a plain, non-htmx form post)."""
    request.session.setdefault(FLASH_KEY, [])
    request.session[FLASH_KEY] = [*request.session[FLASH_KEY], message]


def redirect(request: Request, url: str, *, message: str | None = None) -> Response:
    """303 after a POST; htmx follows HX-Redirect instead of swapping the redirect target."""
    if message:
        flash(request, message)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def with_toast(response: Response, message: str, *, events: dict[str, Any] | None = None) -> Response:
    """Attach a success toast (and any domain events such as ``credential.approved``) for htmx to raise."""
    triggers: dict[str, Any] = {"toast": {"message": message}, **(events or {})}
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response
