"""The administrators' page of the institution's external QA record (ESG 1.10)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app.audit.timeline import shown, timeline
from app.db import SessionDep
from app.errors import DomainError
from app.external_qa import service
from app.external_qa.models import DECISION_LABELS, RECORD_ID, ExternalQaUpdate
from app.external_qa.statement import current_statement, get_record
from app.forms import PostedForm, domain_errors, parse_form
from app.policies import Policies, PoliciesDep
from app.routing import page_router
from app.security import AdminActor
from app.web import redirect, render

router = page_router()
PATH = "/admin/external-qa"


def _page(
    request: Request,
    session: Session,
    policies: Policies,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    ctx = {
        "record": get_record(session),
        "statement": current_statement(session, policies),
        "decision_options": [(d.value, label) for d, label in DECISION_LABELS.items()],
        "values": values,
        "errors": errors,
        "timeline": timeline(session, [("external_qa", RECORD_ID)], newest=shown(request)),
    }
    return render(request, "external_qa/record.html", ctx, status=status)


@router.get(PATH)
def external_qa_page(request: Request, session: SessionDep, policies: PoliciesDep, _admin: AdminActor) -> Response:
    record = get_record(session)
    values = service.form_values(record) if record is not None else {}
    return _page(request, session, policies, values, {})


@router.post(PATH)
def external_qa_save(
    request: Request, posted: PostedForm, session: SessionDep, policies: PoliciesDep, admin: AdminActor
) -> Response:
    form = parse_form(ExternalQaUpdate, posted)
    if form.data is not None:
        try:
            with session.begin_nested():
                record, drafts = service.save(session, admin, form.data)
        except DomainError as exc:
            form.errors = domain_errors(exc)
        else:
            plural = "s" if drafts != 1 else ""
            message = f"External quality assurance by {record.agency_name} recorded; {drafts} draft{plural} updated."
            return redirect(request, PATH, message=message)
    return _page(request, session, policies, form.values, form.errors, status=422)
