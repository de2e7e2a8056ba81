"""Exception handlers: a domain error (``app.errors``), an HTTP error, a stale write or an invalid request becomes
JSON for the API, a toast for htmx, or the error page."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import UnstorableValue
from app.errors import DomainError, NotAuthenticated, PolicyViolation, wants_json
from app.logs import log
from app.web import redirect, render_error


class ErrorBody(BaseModel):
    """What the API answers with every 4xx: the same shape for a refused action and for invalid input."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="A short heading, e.g. 'Not allowed'")
    detail: str = Field(description="What went wrong and what to do, in a sentence or two")
    errors: dict[str, str] = Field(
        default_factory=dict,
        description="Per field (dotted path for nested fields): what is wrong with it; sent only when non-empty",
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a router: each status with the ErrorBody schema."""
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


ERROR_DESCRIPTIONS = {
    401: "Not logged in: no valid session cookie or bearer token",
    403: "Logged in, but not allowed to do this",
    404: "Nothing at this address, or not visible to the caller",
    409: "Not possible in the current state, or changed by someone else meanwhile",
    413: "The request body is larger than the server accepts",
    422: "Invalid input: the fields in `errors` need correcting",
    503: "The database cannot be reached or is too busy: nothing was done; try again after `Retry-After` seconds",
}
API_ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)
# Anonymous reading: no login, nothing to refuse or conflict with.
PUBLIC_API_ERRORS = error_responses(404, 413, 422, 503)


def _error_response(
    request: Request, status: int, title: str, message: str, errors: dict[str, Any], *, database: bool = True
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"detail": message, "title": title}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    return render_error(request, status=status, title=title, message=message, database=database)


# SQLite's codes for a database that is there but cannot serve now (locked past the busy timeout, unopenable, a
# failing or full disk). Its other "operational" errors (no such table, a syntax error) are faults: a 500.
_SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
}
RETRY_AFTER_SECONDS = 30


def database_unavailable(exc: Exception) -> bool:
    """The database cannot serve now, and may again soon: PostgreSQL refusing or dropping connections ("too many
    clients", a restart), a lock or serialization conflict, the pool's wait for a connection timing out; SQLite
    locked or its file unopenable."""
    if isinstance(exc, PoolTimeout):
        return True
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_UNAVAILABLE
    return isinstance(exc, OperationalError)  # psycopg: connection and concurrency failures, never a bad query


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

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    def _unavailable(request: Request, exc: Exception) -> Response:
        """503, as JSON for the API and as a page (rendered without the database) for people, instead of a bare
        "Internal Server Error"; the request's transaction was rolled back."""
        if not database_unavailable(exc):
            raise exc
        log.warning("database.unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}"[:500])
        message = (
            "The database cannot be reached or is too busy right now, so nothing was done. "
            "Please try again in a minute."
        )
        response = _error_response(request, 503, "Please try again shortly", message, {}, database=False)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = {".".join(str(p) for p in _field_path(err["loc"])) or "request": err["msg"] for err in exc.errors()}
        message = "Some fields are not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        return _error_response(request, 422, "Please correct the input", message, errors)
