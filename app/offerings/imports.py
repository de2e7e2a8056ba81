"""Offerings from a CSV file, one run per row, with a per-row report (app/imports.py's machinery).

Columns: ``starts_on,ends_on,capacity,language,participation_form`` and, for a run that has ended,
``enrolled,completed,passed,dropped_out`` (all four or none). Each row is written through the same service the
form uses (``add_offering``, then ``record_figures``) in its own savepoint: a bad row is reported with its line
number and leaves nothing behind; the good rows are kept.
"""

from __future__ import annotations

from datetime import date
from typing import TextIO

from sqlmodel import Session

from app.imports import ImportReport, RowRejected, _all_or_rows, _import_row, _rows
from app.offerings import service
from app.security import Actor

COLUMNS = (
    "starts_on",
    "ends_on",
    "capacity",
    "language",
    "participation_form",
    "enrolled",
    "completed",
    "passed",
    "dropped_out",
)
REQUIRED = ("starts_on", "ends_on", "participation_form")
FIGURES = COLUMNS[5:]


def import_offerings(
    session: Session, credential_id: int, actor: Actor, stream: TextIO, *, today: date, dry_run: bool = False
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    with _all_or_rows(session, report):
        for line, raw in _rows(stream, COLUMNS, REQUIRED, report):

            def write(raw: dict[str, str | None] = raw) -> list[str]:
                given = {k: v for k, v in raw.items() if v is not None}
                figures = {k: given.pop(k) for k in FIGURES if k in given}
                if figures and len(figures) != len(FIGURES):
                    raise RowRejected("enrolled, completed, passed and dropped_out go together: give all four or none")
                run = service.OfferingIn.model_validate(given)
                offering = service.add_offering(session, credential_id, actor, run)
                if figures:
                    numbers = service.FiguresIn.model_validate(figures)
                    service.record_figures(session, offering.id or 0, actor, numbers, today=today)
                    return ["offering", "figures"]
                return ["offering"]

            _import_row(session, report, line, write)
    return report
