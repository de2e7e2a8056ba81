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
csrf_middleware = asgi_csrf.asgi_csrf
