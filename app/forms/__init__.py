"""Form handling: validate a posted form with a pydantic model, keep what the user typed, explain errors.

A handler takes the posted form as a ``PostedForm`` parameter and calls ``parse_form(Model, posted)``.
On success ``result.data`` is the model; on failure the handler re-renders the same template with
``result.values`` and ``result.errors`` (status 422), so nothing the user typed is lost and every message
sits next to its field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.errors import DomainError

T = TypeVar("T", bound=BaseModel)
T2 = TypeVar("T2")


async def posted_form(request: Request) -> FormData:
    """Read the request body without blocking: the handler itself stays a plain ``def``.

    Reading a body needs ``await``; using the database must not happen on the event loop (one blocked call
    stops every request). So the body is read here, in an async dependency, and handlers that touch the
    database are sync functions that FastAPI runs in its thread pool.
    """
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]

_MESSAGES = {
    "missing": "This field is required.",
    "string_too_short": "Must be at least {min_length} characters.",
    "string_too_long": "Must be at most {max_length} characters.",
    "too_short": "Give at least {min_length}.",
    "value_error": "{msg}",
    "int_parsing": "Enter a whole number.",
    "float_parsing": "Enter a number.",
    "greater_than_equal": "Enter {ge} or more.",
    "less_than_equal": "Enter {le} or less.",
    "greater_than": "Enter a number above {gt}.",
    "less_than": "Enter a number below {lt}.",
    "string_pattern_mismatch": "This is not in the form asked for: see the hint above the field.",
    "date_from_datetime_parsing": "Enter a date, for example 2027-09-01.",
    "date_parsing": "Enter a date, for example 2027-09-01.",
    "bool_parsing": "Choose yes or no.",
    "list_type": "Give a list.",
    "dict_type": "This is not in the form asked for.",
    "enum": "Choose one of the options.",
    "literal_error": "Choose one of the options.",
}


def humanise(err: Mapping[str, Any]) -> str:
    if err["type"] == "string_too_short" and (err.get("ctx") or {}).get("min_length") == 1:
        return "This field is required."
    template = _MESSAGES.get(err["type"])
    if template is None:
        return str(err["msg"])
    # Numbers as people write them: 0, not 0.0.
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in dict(err.get("ctx") or {}).items()}
    msg = str(err["msg"]).removeprefix("Value error, ")
    try:
        return template.format(msg=msg, **ctx)
    except (KeyError, IndexError):
        return msg


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "__all__"
        errors.setdefault(name, humanise(err))
    return errors


@dataclass
class FormResult(Generic[T]):
    data: T | None
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None


def domain_errors(exc: DomainError) -> dict[str, str]:
    """A refused service call as form errors: the message on top, field messages next to their fields."""
    return {"__all__": exc.message, **exc.errors}


def attempt(session: Session, write: Callable[[], T2]) -> T2 | dict[str, str]:
    """Run a form's write in a savepoint: its result, or (refused, nothing left behind) the errors to show next to
    the fields, a validation error's per field and a domain refusal's on top."""
    try:
        with session.begin_nested():
            return write()
    except ValidationError as exc:
        return errors_by_field(exc)
    except DomainError as exc:
        return domain_errors(exc)


def form_values(form: Any, multi: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Flatten a multidict, keeping lists for multi-valued fields and dropping the CSRF token."""
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrftoken":
            continue
        values[key] = form.getlist(key) if key in multi else form.get(key)
    return values


def parse_form(model: type[T], form: Any, *, multi: frozenset[str] = frozenset()) -> FormResult[T]:
    values = form_values(form, multi)
    # An empty input means "not given": the model's default applies, or "This field is required."
    cleaned = {k: v for k, v in values.items() if v != ""}
    for name in multi:
        cleaned.setdefault(name, [])
    try:
        return FormResult(data=model.model_validate(cleaned), values=values)
    except ValidationError as exc:
        return FormResult(data=None, values=values, errors=errors_by_field(exc))
