"""The offerings page of a published micro-credential (its owner and the QA office): its runs with their figures,
a form to add a run, a figures form for each run that has ended, and a CSV upload with a report per row.

A refused write re-renders the page with status 422, what was typed and the reason; each write runs in a
savepoint, so nothing is half saved.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from app.db import SessionDep, utcnow
from app.forms import PostedForm, attempt, parse_form
from app.imports import ImportReport
from app.offerings import imports, service
from app.offerings.service import FiguresIn, OfferingIn
from app.proposals.elements import CHOICES
from app.reviews import standing
from app.routing import page_router
from app.security import Actor, CurrentActor
from app.web import redirect, render

router = page_router()


def _page(
    request: Request,
    session: Session,
    credential_id: int,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    figures_for: int | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> Response:
    credential = service.manageable(session, credential_id, actor)
    status_value = standing.status_of(session, credential_id)
    ctx = {
        "credential": credential,
        "offerings": service.offerings_of(session, credential_id),
        "today": utcnow().date(),
        "standing": status_value,
        "standing_label": standing.label_of(status_value),
        "intake_refusal": standing.intake_refusal(session, credential_id),
        "participation_options": list(CHOICES["participation_form"].items()),
        "values": values or {"language": "en"},
        "errors": errors or {},
        "figures_for": figures_for,
        "report": report,
        "columns": ",".join(imports.COLUMNS),
    }
    return render(request, "offerings/index.html", ctx, status=status)


@router.get("/credentials/{credential_id}/offerings")
def offerings_page(request: Request, credential_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return _page(request, session, credential_id, actor)


@router.post("/credentials/{credential_id}/offerings")
def add_offering(
    request: Request, posted: PostedForm, credential_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    form = parse_form(OfferingIn, posted)
    data = form.data
    if data is not None:
        result = attempt(session, lambda: service.add_offering(session, credential_id, actor, data))
        if not isinstance(result, dict):
            return redirect(request, f"/credentials/{credential_id}/offerings", message="Offering added.")
        form.errors = result
    return _page(request, session, credential_id, actor, values=form.values, errors=form.errors, status=422)


@router.post("/credentials/{credential_id}/offerings/{offering_id}/figures")
def record_figures(
    request: Request,
    posted: PostedForm,
    credential_id: int,
    offering_id: int,
    session: SessionDep,
    actor: CurrentActor,
) -> Response:
    service.get_offering(session, credential_id, offering_id)
    form = parse_form(FiguresIn, posted)
    figures = form.data
    if figures is not None:
        today = utcnow().date()
        result = attempt(session, lambda: service.record_figures(session, offering_id, actor, figures, today=today))
        if not isinstance(result, dict):
            return redirect(request, f"/credentials/{credential_id}/offerings", message="Figures recorded.")
        form.errors = result
    return _page(
        request,
        session,
        credential_id,
        actor,
        values=form.values,
        errors={f"figures_{k}" if k != "__all__" else k: v for k, v in form.errors.items()},
        figures_for=offering_id,
        status=422,
    )


@router.post("/credentials/{credential_id}/offerings/import")
def import_offerings(
    request: Request, posted: PostedForm, credential_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    service.manageable(session, credential_id, actor)
    upload = posted.get("file")
    data = upload.file.read() if isinstance(upload, UploadFile) else b""
    report = imports.import_offerings(
        session, credential_id, actor, io.StringIO(data.decode("utf-8", errors="replace")), today=utcnow().date()
    )
    status = 200 if report.exit_code == 0 else 422
    return _page(request, session, credential_id, actor, report=report, status=status)
