"""Application factory: settings, policies, database, middleware, routers, scheduler."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import api_docs, listeners, routing, web
from app.catalogue.cache import catalogue_cache
from app.csrf import csrf_middleware
from app.db import check_writable, lazy_transactions, make_engine
from app.errors import wants_json
from app.handlers import install_handlers
from app.jobs import scheduled_jobs
from app.logs import RequestLogMiddleware, configure_logging, log
from app.policies import load_policies
from app.response_cache import page_cache
from app.scheduler import start_scheduler
from app.settings import ROOT, Mode, Settings, get_settings

HEALTH_TIMEOUT_SECONDS = 2.0
CSRF_MESSAGE = "This form has expired or did not come from this site. Reload the page and try again."


async def _csrf_failed(scope: Scope, send: Send, _message_id: Any) -> None:
    request = Request(scope)
    response: Response
    if wants_json(request):
        response = JSONResponse({"title": "Not allowed", "detail": CSRF_MESSAGE}, status_code=403)
    else:
        # The error page may read the database (the header's counts): off the event loop.
        response = await routing.in_trip_thread(
            partial(web.render_error, request, status=403, title="Not allowed", message=CSRF_MESSAGE)
        )

    async def _no_body() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    await response(scope, _no_body, send)


# Only the app's own origin for scripts, styles, images, forms and requests; never framed. htmx runs under it
# because its config (templates/base.html) turns off eval, inline scripts, its injected indicator style and the
# copying of style attributes when it settles a swap (an inline style, refused).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    """Headers every response carries; a route that sets its own Content-Security-Policy (/api/docs) keeps it."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = {
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
        }
        if hsts:  # only behind HTTPS: a browser that saw it refuses plain HTTP to this host for a year
            self.headers["strict-transport-security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLimitsMiddleware:
    """A body larger than ``max_bytes`` is refused with 413, whether announced (Content-Length) or streamed; a 405
    says which methods the address does take (``Allow``), from every route at that path."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: list[Any]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(413, f"The request body may be at most {self.max_bytes:,} bytes.")
            return message

        async def send_with_allow(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 405:
                    headers = MutableHeaders(scope=message)
                    headers["allow"] = ", ".join(self._allowed(scope))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_allow)
        except _BodyTooLarge:
            if not started:
                await self._too_large()(scope, receive, send)

    def _too_large(self) -> JSONResponse:
        """The 413 answer, made only when needed (every request passes here)."""
        return JSONResponse(
            {"title": "Too large", "detail": f"The request body may be at most {self.max_bytes:,} bytes."},
            status_code=413,
        )

    def _allowed(self, scope: Scope) -> list[str]:
        methods = {
            method
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in self.routes)
        }
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


class _BodyTooLarge(StarletteHTTPException):
    """An HTTP error, so that a handler reading the body answers 413 through the app's error handler."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    policies = load_policies(settings.policy_dir)  # a bad policy file stops start-up here
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        routing.use_request_threads(settings.request_threads)
        scheduler = None
        if settings.run_scheduler:
            scheduler = start_scheduler(engine, scheduled_jobs(settings, policies), settings.scheduler_interval_seconds)
        log.info("started", mode=settings.mode.value, database=engine.dialect.name, policies=policies.versions)
        # Objects made at start-up (modules, templates, compiled statements) live as long as the process:
        # keep them out of the garbage collector's work, which otherwise pauses requests to re-scan them.
        gc.collect()
        gc.freeze()
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        engine.dispose()

    app = FastAPI(
        title="MC-QA: quality assurance of micro-credentials",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by app.api_docs, without a CDN
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.router.route_class = routing.OneTripRoute  # the app's own few routes too (app.routing)
    app.state.settings = settings
    web.templates.env.auto_reload = settings.mode is Mode.development  # re-read edited templates only in development
    app.state.policies = policies
    app.state.engine = engine
    app.state.request_engine = lazy_transactions(engine)
    install_handlers(app)

    listeners.install(settings)
    api_docs.install(app)

    app.add_middleware(
        csrf_middleware,
        signing_secret=settings.secret_key,
        always_protect={"/login"},
        cookie_name=settings.csrf_cookie_name,
        cookie_secure=settings.cookie_secure,
        send_csrf_failed=_csrf_failed,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=settings.session_cookie_name,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    # Outside the session and CSRF layers, which a page served from memory never needs: a person's own pages
    # (while the database is unchanged), and outside those the public catalogue (app.response_cache).
    app.add_middleware(
        page_cache,
        engine=engine,
        session_cookie=settings.session_cookie_name,
        max_age=settings.page_cache_seconds,
        max_megabytes=settings.page_cache_megabytes,
    )
    if settings.catalogue_cache:
        app.add_middleware(catalogue_cache, engine=engine, session_cookie=settings.session_cookie_name)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    # Outside the CSRF check, which reads the body first.
    app.add_middleware(RequestLimitsMiddleware, max_bytes=settings.max_request_bytes, routes=app.router.routes)
    app.add_middleware(RequestLogMiddleware)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")

    from app.approvals import pages as approval_pages
    from app.approvals import routes as approval_routes
    from app.catalogue import pages as catalogue_pages
    from app.catalogue import routes as catalogue_routes
    from app.checklists import pages as checklist_pages
    from app.checklists import report_pages, report_routes
    from app.checklists import routes as checklist_routes
    from app.committees import agenda_pages, agenda_routes
    from app.committees import pages as committee_pages
    from app.committees import routes as committee_routes
    from app.dashboard import pages as dashboard_pages
    from app.external_qa import pages as external_qa_pages
    from app.external_qa import routes as external_qa_routes
    from app.feedback import pages as feedback_pages
    from app.feedback import routes as feedback_routes
    from app.notifications import pages as notification_pages
    from app.notifications import routes as notification_routes
    from app.offerings import pages as offering_pages
    from app.offerings import routes as offering_routes
    from app.org import pages as org_pages
    from app.org import routes as org_routes
    from app.proposals import pages as proposal_pages
    from app.proposals import routes as proposal_routes
    from app.reviews import pages as review_pages
    from app.reviews import routes as review_routes
    from app.users import pages as user_pages
    from app.users import routes as user_routes

    # No router is included (see app.routing): their routes go into one indexed table. Busiest first within
    # each part, though the index leaves each request only a few routes to try.
    routing.install(
        app,
        [
            proposal_pages.router,
            approval_pages.router,
            catalogue_pages.router,
            dashboard_pages.router,
            user_pages.router,
            org_pages.router,
            external_qa_pages.router,
            notification_pages.router,
            committee_pages.router,
            agenda_pages.router,
            feedback_pages.router,
            checklist_pages.router,
            offering_pages.router,
            review_pages.router,
            report_pages.router,
            approval_routes.router,
            proposal_routes.router,
            checklist_routes.router,
            user_routes.router,
            org_routes.router,
            external_qa_routes.router,
            notification_routes.router,
            committee_routes.router,
            agenda_routes.router,
            feedback_routes.router,
            offering_routes.router,
            review_routes.router,
            report_routes.router,
            catalogue_routes.router,
        ],
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """200 when a write transaction can start within a short time; 503 otherwise (locked, unreachable, or
        anyio's thread pool exhausted). Checked in that pool, not in the request trips' few threads (app.routing):
        under load those are busy by design, and a health check waiting its turn behind them would take a busy
        worker for a broken one."""
        try:
            with anyio.fail_after(HEALTH_TIMEOUT_SECONDS):
                await anyio.to_thread.run_sync(check_writable, engine, HEALTH_TIMEOUT_SECONDS, abandon_on_cancel=True)
        except TimeoutError:
            log.error("health check timed out", seconds=HEALTH_TIMEOUT_SECONDS)
            return JSONResponse({"status": "error", "database": "not writable in time"}, status_code=503)
        except Exception as exc:
            log.error("health check failed", error=str(exc))
            return JSONResponse({"status": "error", "database": "not writable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> RedirectResponse:
        """Where browsers look when a page names no icon (pages name /static/favicon.svg): there, for a day."""
        return RedirectResponse("/static/favicon.svg", status_code=301, headers={"cache-control": "max-age=86400"})

    return app
