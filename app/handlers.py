"""Exception handlers: a domain error (``app.errors``), an HTTP error, a stale write or an invalid request becomes
JSON for the API, a toast for htmx, or the error page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import UnstorableValue
from app.errors import DomainError, NotAuthenticated, PolicyViolation, wants_json
from app.web import redirect, render_error


def _error_response(request: Request, status: int, title: str, message: str, errors: dict[str, Any]) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"detail": message, "title": title}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    return render_error(request, status=status, title=title, message=message)


def _field_path(loc: Any) -> list[Any]:
    """The field's path without where it came from: ("body", "body") is the field "body" of the JSON body."""
    parts = list(loc)
    return parts[1:] if parts and parts[0] in ("body", "query", "path", "header", "cookie") else parts


def install_handlers(app: FastAPI) -> None:
    """Plain ``def`` handlers: Starlette runs them in the thread pool, so an error page may read the database."""

    @app.exception_handler(DomainError)
    def _domain(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotAuthenticated) and not wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(request, f"/login?next={quote(target)}")
        return _error_response(request, exc.status_code, exc.title, exc.message, exc.errors)

    @app.exception_handler(UnstorableValue)
    def _unstorable(request: Request, exc: UnstorableValue) -> Response:
        """A value the database cannot store (a number out of its range, a NUL character): the person's input."""
        refused = PolicyViolation(str(exc))
        return _error_response(request, refused.status_code, refused.title, refused.message, refused.errors)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Method not allowed", 403: "Not allowed"}
        message = exc.detail if isinstance(exc.detail, str) else "The request could not be served."
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address. It may have been moved, or the link is wrong."
        return _error_response(request, exc.status_code, titles.get(exc.status_code, "Error"), message, {})

    @app.exception_handler(StaleDataError)
    def _stale(request: Request, exc: StaleDataError) -> Response:
        message = "Someone else changed this at the same moment. Reload the page to see the change, then try again."
        return _error_response(request, 409, "Changed meanwhile", message, {})

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = {".".join(str(p) for p in _field_path(err["loc"])) or "request": err["msg"] for err in exc.errors()}
        message = "Some fields are not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        return _error_response(request, 422, "Please correct the input", message, errors)
