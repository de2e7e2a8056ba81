"""JSON API of offerings, under the micro-credential they belong to: list, add, record figures, import a CSV file.
The twins of the offerings page."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import Query, UploadFile
from pydantic import BaseModel

from app.db import SessionDep, utcnow
from app.offerings import imports, service
from app.offerings.service import FiguresIn, OfferingIn, OfferingPublic
from app.routing import api_router
from app.security import CurrentActor

router = api_router(tags=["offerings"])


@router.get("/credentials/{credential_id}/offerings", response_model=list[OfferingPublic])
def list_offerings(credential_id: int, session: SessionDep, actor: CurrentActor) -> list[OfferingPublic]:
    """Every run of the micro-credential, earliest first, with its figures (owner and QA office)."""
    service.manageable(session, credential_id, actor)
    return [service.public(o) for o in service.offerings_of(session, credential_id)]


@router.post("/credentials/{credential_id}/offerings", response_model=OfferingPublic, status_code=201)
def add_offering(credential_id: int, data: OfferingIn, session: SessionDep, actor: CurrentActor) -> OfferingPublic:
    """A new run; 409 while the micro-credential is suspended or retired (no new intake)."""
    return service.public(service.add_offering(session, credential_id, actor, data))


@router.put("/credentials/{credential_id}/offerings/{offering_id}/figures", response_model=OfferingPublic)
def record_figures(
    credential_id: int, offering_id: int, data: FiguresIn, session: SessionDep, actor: CurrentActor
) -> OfferingPublic:
    """The figures of a run that has ended: enrolled, completed, passed, dropped out."""
    service.get_offering(session, credential_id, offering_id)
    return service.public(service.record_figures(session, offering_id, actor, data, today=utcnow().date()))


class ImportReportPublic(BaseModel):
    dry_run: bool
    imported: int
    counts: dict[str, int]
    skipped: list[str]
    rejected: list[str]
    refused: str | None
    report: list[str]


@router.post("/credentials/{credential_id}/offerings/import", response_model=ImportReportPublic)
def import_offerings(
    credential_id: int,
    file: UploadFile,
    session: SessionDep,
    actor: CurrentActor,
    dry_run: Annotated[bool, Query(description="Check the file and report, saving nothing")] = False,
) -> ImportReportPublic:
    """Runs from a CSV file (columns: starts_on, ends_on, capacity, language, participation_form and, for a run that
    has ended, enrolled, completed, passed, dropped_out), with a report per row: the good rows are kept."""
    service.manageable(session, credential_id, actor)
    text = io.StringIO(file.file.read().decode("utf-8", errors="replace"))
    report = imports.import_offerings(session, credential_id, actor, text, today=utcnow().date(), dry_run=dry_run)
    return ImportReportPublic(
        dry_run=report.dry_run,
        imported=report.created,
        counts=report.counts,
        skipped=[str(i) for i in report.skipped],
        rejected=[str(i) for i in report.rejected],
        refused=report.fatal,
        report=report.lines(),
    )
