"""Structured logs (structlog): one line per request with its id, user, status and duration."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def configure_logging(level: str, *, json: bool) -> None:
    logging.basicConfig(format="%(message)s", level=level.upper())
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("mcqa")

# Set by app.response_cache on the requests it looks at: "hit" (answered from memory), "joined" (answered with what
# the same request arriving just before made meanwhile), "stored" or "not stored".
CACHE_SCOPE_KEY = "mcqa.cache"


class RequestLogMiddleware:
    """Logs method, path, status, duration and, for a cacheable request, what the response cache did with it
    (``cache``: the hit rate is the share of "hit"). Bodies (and so passwords) are never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:12]
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            state = scope.get("state") or {}
            actor = state.get("actor")
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                user_id=getattr(actor, "id", None),
                **({"cache": scope[CACHE_SCOPE_KEY]} if CACHE_SCOPE_KEY in scope else {}),
            )
            structlog.contextvars.clear_contextvars()
