"""Pages of the checklist reports: a proposal's checklist report (print-friendly HTML and PDF, through app/pdf.py)
and the institution's ESG coverage matrix (page and CSV export) for the QA office."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from app import pdf
from app.approvals.access import STATE_LABELS
from app.checklists import coverage, reports, service
from app.checklists.policy import STANDARDS
from app.db import SessionDep
from app.pagination import PageDep
from app.policies import PoliciesDep
from app.proposals import elements as el
from app.routing import page_router
from app.security import CurrentActor, OverseerActor
from app.web import render

router = page_router()

REPORT = "checklists/report.html"


def _report_context(report: reports.Report) -> dict[str, Any]:
    pid = report.proposal.id
    return {
        "report": report,
        "status_labels": service.STATUS_LABELS,
        "pdf_url": f"/proposals/{pid}/checklist/report.pdf",
    }


@router.get("/proposals/{proposal_id}/checklist/report")
def report_page(
    request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    found = reports.report_of(session, proposal_id, actor, policies)
    return pdf.print_response(request, REPORT, _report_context(found))


@router.get("/proposals/{proposal_id}/checklist/report.pdf")
def report_pdf(
    request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    found = reports.report_of(session, proposal_id, actor, policies)
    name = f"ESG checklist {proposal_id} {found.proposal.title or 'untitled'}"
    return pdf.pdf_response(request, REPORT, {**_report_context(found), "pdf_url": ""}, name)


# --- the coverage matrix -------------------------------------------------------------------------------

Param = Annotated[str, Query(max_length=20)]


def coverage_filter(
    org_unit_id: Param = "",
    kind: Param = "",
    status: Param = "",
    year: Param = "",
    standard: Param = "",
    cell: Param = "",
) -> coverage.CoverageFilter:
    """The matrix's filters from the query string (a value that is not a choice is ignored)."""
    return coverage.CoverageFilter.parse(
        org_unit_id=org_unit_id, kind=kind, status=status, year=year, standard=standard, cell=cell
    )


CoverageFilterDep = Annotated[coverage.CoverageFilter, Depends(coverage_filter)]


@router.get("/checklists/coverage")
def coverage_page(
    request: Request,
    session: SessionDep,
    actor: OverseerActor,
    policies: PoliciesDep,
    page: PageDep,
    filters: CoverageFilterDep,
) -> Response:
    found = coverage.matrix(session, filters, policies, offset=page.offset, limit=page.limit)
    ctx = {
        "matrix": found,
        "filters": filters,
        "page": page,
        "standard_titles": STANDARDS,
        "cell_labels": {c.value: label for c, label in coverage.CELL_LABELS.items()},
        "cell_filters": coverage.CELL_FILTERS,
        "state_labels": STATE_LABELS,
        "kinds": el.KIND_LABELS,
    }
    return render(request, "checklists/coverage.html", ctx)


def _csv_lines(rows: Iterator[coverage.MatrixRow], standards: list[str]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["micro-credential", "proposal", "title", "faculty", "kind", "status", "started", *standards])
    for r in rows:
        writer.writerow(
            [
                r.credential_id,
                r.proposal_id,
                _cell_text(r.title),
                r.faculty,
                r.kind,
                r.status,
                r.created_at.date().isoformat(),
                *(r.cells[s].value for s in standards),
            ]
        )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _cell_text(text: str) -> str:
    """A title a spreadsheet would run as a formula is prefixed with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/checklists/coverage.csv")
def coverage_csv(
    session: SessionDep, actor: OverseerActor, policies: PoliciesDep, filters: CoverageFilterDep
) -> Response:
    """Every row the filters leave (not only one page), one column per standard."""
    lines = _csv_lines(coverage.all_rows(session, filters, policies), filters.standards)
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="esg-coverage.csv"'},
    )
