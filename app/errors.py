"""Domain errors carry their HTTP meaning; ``app.handlers`` renders them for the API, for htmx and for pages.

A leaf: it imports nothing from the app, so any module may raise these errors without pulling in the web layer.
"""

from __future__ import annotations

from starlette.requests import Request


class DomainError(Exception):
    status_code = 400
    title = "Request refused"

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Please log in"


class PermissionDenied(DomainError):
    status_code = 403
    title = "Not allowed"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class TransitionNotAllowed(Conflict):
    title = "Action not possible now"


class PolicyViolation(DomainError):
    status_code = 422
    title = "Please correct the input"


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept
