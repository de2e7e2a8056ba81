"""CSRF protection for every state-changing request, by asgi-csrf (signed double-submit cookie).

Forms send the token as the ``csrftoken`` field (first in the form); htmx and JSON calls send the ``x-csrftoken``
header (static/app.js adds it); requests with a bearer token or without any cookie (integrations) are not subject
to it, except the login form, which is always protected.

asgi-csrf 0.11 (the latest) parses multipart forms with ``FormParser(FileClass=...)``, an argument that
python-multipart 0.0.34 no longer accepts; ``_parse_multipart_form_data`` below is the same check written against
the current python-multipart API, installed in its place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asgi_csrf
from python_multipart import FormParser
from python_multipart.multipart import parse_options_header
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Scope, Send

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def _parse_multipart_form_data(boundary: bytes, receive: Receive) -> tuple[str | None, Receive]:
    """Read the body until the csrftoken field; a file part before it is refused. The body is replayed after."""
    messages: list[dict[str, Any]] = []

    async def replay_receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await receive()

    def on_field(field: Any) -> None:
        if field.field_name == b"csrftoken":
            raise asgi_csrf.TokenFound((field.value or b"").decode("utf-8"))

    def on_file(_file: Any) -> None:
        raise asgi_csrf.FileBeforeToken

    parser = FormParser("multipart/form-data", on_field, on_file, boundary=boundary)
    more_body = True
    try:
        while more_body:
            message = await receive()
            messages.append(message)
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
        parser.finalize()
    except asgi_csrf.TokenFound as found:
        return found.args[0], replay_receive
    return None, replay_receive


asgi_csrf._parse_multipart_form_data = _parse_multipart_form_data


def new_token(secret: str) -> str:
    """A fresh CSRF token, signed as asgi-csrf signs and checks its own."""
    return str(
        asgi_csrf.URLSafeSerializer(secret).dumps(asgi_csrf.make_secret(16), asgi_csrf.DEFAULT_SIGNING_NAMESPACE)
    )


def renew_token(response: Response, *, secret: str, cookie_name: str, secure: bool) -> None:
    """Replace the CSRF cookie (at login and logout): a token seen before the session changed is worth nothing."""
    response.set_cookie(cookie_name, new_token(secret), path="/", samesite="lax", secure=secure)


def csrf_middleware(app: ASGIApp, /, **options: Any) -> ASGIApp:
    """asgi-csrf, behind a check of the multipart header it would otherwise split blindly (an IndexError, a 500,
    for ``multipart/form-data`` without a boundary or written ``;boundary=``): a well-formed boundary is passed on
    in the one spelling asgi-csrf reads, a missing one is a 400."""
    protected = asgi_csrf.asgi_csrf(app, **options)

    async def guarded(scope: Scope, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        if scope["type"] == "http":
            headers = list(scope.get("headers") or [])
            if any(name == b"authorization" and value.startswith(b"Bearer ") for name, value in headers):
                # asgi-csrf lets bearer-token calls through unchecked anyway (a browser cannot send the header
                # cross-site), but would still mint and sign a token for each: pass them straight on.
                await app(scope, receive, send)
                return
            for i, (name, value) in enumerate(headers):
                if name != b"content-type":
                    continue
                kind, params = parse_options_header(value)
                if kind != b"multipart/form-data":
                    break
                boundary = params.get(b"boundary", b"")
                if not boundary:
                    response = JSONResponse(
                        {"title": "Bad request", "detail": "A multipart/form-data body needs a boundary."},
                        status_code=400,
                    )
                    await response(scope, receive, send)
                    return
                headers[i] = (name, b"multipart/form-data; boundary=" + boundary)
                scope = {**scope, "headers": headers}
                break
        await protected(scope, receive, send)

    return guarded
