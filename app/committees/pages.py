"""HTML pages of committee tools: substitutes ("My substitutes"), watching a proposal, and the CSV exports of
"Awaiting my decision" and the pipeline. Handlers are thin: parse, call one service, render or redirect."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.approvals import access, queries
from app.approvals import service as approvals
from app.approvals.pages import PipelineFilterDep
from app.committees import delegation, watching
from app.db import SessionDep, utcnow
from app.errors import DomainError, PermissionDenied
from app.forms import PostedForm, domain_errors, parse_form
from app.org.models import Committee
from app.policies import PoliciesDep
from app.routing import page_router
from app.security import Actor, CurrentActor, OverseerActor
from app.users.models import User
from app.web import redirect, render

router = page_router()


# --- substitutes ----------------------------------------------------------------------------------


class DelegationForm(BaseModel):
    substitute_id: int
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=300)
    member_id: int | None = None


@dataclass(frozen=True)
class Refused:
    errors: dict[str, str]
    status: int


def attempt(session: Session, action: Callable[[], object]) -> Refused | None:
    """Run a service call in a savepoint: on refusal nothing is saved, and the page gets its errors and status
    (422 for a plain bad request) to re-render the form with what was typed."""
    try:
        with session.begin_nested():
            action()
    except DomainError as exc:
        return Refused(domain_errors(exc), exc.status_code if exc.status_code != 400 else 422)
    return None


def valid_dates(values: dict[str, Any], *names: str) -> dict[str, Any]:
    """What was typed, less date fields that are not dates (a date input can only show a real date)."""
    cleaned = dict(values)
    for name in names:
        try:
            date.fromisoformat(str(cleaned.get(name) or ""))
        except ValueError:
            cleaned[name] = ""
    return cleaned


def _people(session: Session) -> list[tuple[int, str]]:
    rows = session.exec(select(User.id, User.name, User.email).where(col(User.is_active)).order_by(col(User.name)))
    return [(uid, f"{name} ({email})") for uid, name, email in rows if uid is not None]


def _delegations_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    today = utcnow().date()
    ctx = {
        "delegations": delegation.delegations_of(session, actor, everyone=actor.is_admin),
        "people": _people(session),
        "values": valid_dates(values, "starts_on", "ends_on")
        if values
        else {"starts_on": today.isoformat(), "ends_on": today.isoformat()},
        "errors": errors or {},
    }
    return render(request, "committees/delegations.html", ctx, status=status)


@router.get("/delegations")
def delegations(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _delegations_page(request, session, actor)


@router.post("/delegations")
def name_substitute(request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor) -> Response:
    result = parse_form(DelegationForm, posted)
    if result.data is None:
        return _delegations_page(request, session, actor, values=result.values, errors=result.errors, status=422)
    data = result.data
    made: list[int] = []
    refused = attempt(
        session,
        lambda: made.append(
            delegation.name_substitute(
                session,
                actor,
                member_id=data.member_id or actor.id,
                substitute_id=data.substitute_id,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                reason=data.reason,
            ).id
            or 0
        ),
    )
    if refused is not None:
        return _delegations_page(
            request, session, actor, values=result.values, errors=refused.errors, status=refused.status
        )
    view = delegation.get_delegation(session, made[0], actor)
    return redirect(request, "/delegations", message=f"{view.substitute_name} stands in for {view.member_name}.")


@router.post("/delegations/{delegation_id}/end")
def end_delegation(request: Request, delegation_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    delegation.end_delegation(session, delegation_id, actor)
    return redirect(request, "/delegations", message="The substitute arrangement has ended.")


# --- watching ------------------------------------------------------------------------------------


@router.post("/proposals/{proposal_id}/watch")
def watch(request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    watching.watch(session, proposal_id, actor)
    return redirect(
        request, f"/proposals/{proposal_id}", message="You watch this proposal: you will hear of each step."
    )


@router.post("/proposals/{proposal_id}/unwatch")
def unwatch(request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    watching.unwatch(session, proposal_id, actor)
    return redirect(request, f"/proposals/{proposal_id}", message="You no longer watch this proposal.")


# --- an administrator hands a stuck stage to another committee ----------------------------------------


class ReassignForm(BaseModel):
    committee_id: int
    reason: str = Field(min_length=1, max_length=4000)


def _reassign_page(
    request: Request,
    session: Session,
    proposal_id: int,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    if not actor.is_admin:
        raise PermissionDenied("Only an administrator can hand a stage to another committee.")
    proposal = access.get_proposal(session, proposal_id, actor)
    ctx = access.load_ctx(session, proposal)
    committees = session.exec(select(Committee).order_by(col(Committee.name))).all()
    return render(
        request,
        "committees/reassign.html",
        {
            "proposal": proposal,
            "deciding": ctx.committee.name if ctx.committee else None,
            "committees": [(c.id, c.name) for c in committees if c.id != (ctx.committee.id if ctx.committee else None)],
            "values": values or {},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/proposals/{proposal_id}/reassign")
def reassign_form(request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return _reassign_page(request, session, proposal_id, actor)


@router.post("/proposals/{proposal_id}/reassign")
def reassign(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    result = parse_form(ReassignForm, posted)
    if result.data is None:
        return _reassign_page(
            request, session, proposal_id, actor, values=result.values, errors=result.errors, status=422
        )
    data = result.data
    refused = attempt(
        session,
        lambda: approvals.reassign(
            session, proposal_id, actor, policies, committee_id=data.committee_id, reason=data.reason
        ),
    )
    if refused is not None:
        return _reassign_page(
            request, session, proposal_id, actor, values=result.values, errors=refused.errors, status=refused.status
        )
    return redirect(request, f"/proposals/{proposal_id}", message="The stage is handed to the committee you chose.")


# --- CSV exports ---------------------------------------------------------------------------------

EXPORT_BATCH = 200
CSV_HEADER = [
    "id",
    "title",
    "kind",
    "status",
    "body",
    "decided_by",
    "faculty",
    "proposer",
    "days_in_stage",
    "due_at",
    "overdue_days",
    "votes_cast",
    "open_conditions",
    "link",
]


def _csv_lines(rows: Iterable[queries.Row], base: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                r.id,
                r.title,
                r.kind,
                access.STATE_LABELS.get(r.status, r.status),
                r.current_body or "",
                r.decided_by or "",
                r.faculty,
                r.owner_name,
                r.days_in_stage,
                r.due_at.isoformat() if r.due_at else "",
                r.overdue_days,
                r.votes_cast,
                r.open_conditions,
                f"{base}/proposals/{r.id}",
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _paged(fetch: Any) -> Iterator[queries.Row]:
    """Every row, read in batches with the page's own query (the same filters and order as the page)."""
    offset = 0
    while True:
        rows = fetch(offset)
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH


def csv_response(rows: Iterator[queries.Row], request: Request, name: str) -> StreamingResponse:
    # Read now, in the request's session (the stream runs after the handler returns and the session closes).
    data = list(rows)
    base = str(request.base_url).rstrip("/")
    stamp = utcnow().strftime("%Y%m%d")
    return StreamingResponse(
        _csv_lines(data, base),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


def awaiting_rows(session: Session, actor: Actor) -> Iterator[queries.Row]:
    now = utcnow()
    return _paged(lambda offset: queries.awaiting(session, actor, offset=offset, limit=EXPORT_BATCH, now=now)[0])


def pipeline_rows(session: Session, filters: queries.PipelineFilter) -> Iterator[queries.Row]:
    now = utcnow()
    return _paged(lambda offset: queries.pipeline(session, filters, offset=offset, limit=EXPORT_BATCH, now=now).rows)


@router.get("/awaiting.csv")
def awaiting_csv(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return csv_response(awaiting_rows(session, actor), request, "awaiting")


@router.get("/pipeline.csv")
def pipeline_csv(
    request: Request,
    session: SessionDep,
    actor: OverseerActor,
    filters: PipelineFilterDep,
) -> Response:
    return csv_response(pipeline_rows(session, filters), request, "pipeline")
