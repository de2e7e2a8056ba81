"""JSON twins of the checklist reports: a proposal's checklist report and the ESG coverage matrix."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.checklists import coverage, reports
from app.checklists.report_pages import CoverageFilterDep
from app.db import SessionDep
from app.pagination import Page, PageDep
from app.policies import PoliciesDep
from app.routing import api_router
from app.security import CurrentActor, OverseerActor

router = api_router(tags=["checklists"])


class ReportItemOut(BaseModel):
    key: str
    standard: str
    title: str = Field(description="The item's text as answered (the current text while unanswered)")
    guidance: str
    mandatory: bool
    body: str
    status: Literal["unanswered", "met", "partly_met", "not_met", "not_applicable"]
    in_checklist: bool = Field(description="False: answered, then removed from the checklist")
    item_version: str = Field(description="The item's version answered (the current one while unanswered)")
    policy_version: str = Field(description="The checklist's version when answered (empty while unanswered)")
    outdated: bool = Field(description="The item has changed since it was answered")
    comment: str
    evidence_text: str
    evidence_links: list[str]
    files: list[str] = Field(description="Names of the evidence files")
    condition_text: str
    condition_due_on: date | None
    answered_by: str | None = Field(description="The name of who answered")
    answered_at: datetime | None
    automatic: dict[str, Any] | None = Field(description="The automatic check's result: {status, reasons, matches}")
    automatic_when: Literal["", "answered", "now"] = Field(
        description="'answered': as it stood when answered; 'now': the check today (unanswered items)"
    )


class ReportOut(BaseModel):
    proposal_id: int
    title: str
    faculty: str
    kind: str
    status: str
    policy_version: str = Field(description="The checklist's version now")
    counts: dict[str, int] = Field(description="Items per status")
    items: list[ReportItemOut]


@router.get(
    "/proposals/{proposal_id}/checklist/report",
    response_model=ReportOut,
    summary="The checklist report of a proposal",
)
def get_report(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ReportOut:
    """Every item as answered (text, evidence, who and when, the automatic check's reasoning then, the versions of
    the item and checklist it was answered under), including items since removed from the checklist. The same
    content as the printable report at /proposals/{id}/checklist/report (and .pdf)."""
    found = reports.report_of(session, proposal_id, actor, policies)
    p = found.proposal
    return ReportOut(
        proposal_id=proposal_id,
        title=p.title,
        faculty=found.faculty,
        kind=p.kind,
        status=p.status,
        policy_version=found.policy_version,
        counts=found.counts,
        items=[ReportItemOut.model_validate(i, from_attributes=True) for i in found.items],
    )


class CoverageRowOut(BaseModel):
    credential_id: int
    proposal_id: int = Field(description="The latest proposal of the micro-credential, whose checklist the row shows")
    title: str
    faculty: str
    kind: str
    status: str
    created_at: datetime
    cells: dict[str, Literal["met", "partly_met", "not_met", "missing", "not_applicable", "none"]] = Field(
        description="Per standard: the worst answer; missing when a mandatory item is unanswered or none is "
        "answered; none when no item of the standard applies"
    )


@router.get(
    "/checklists/coverage",
    response_model=Page[CoverageRowOut],
    summary="The ESG coverage matrix (QA office)",
)
def get_coverage(
    session: SessionDep, actor: OverseerActor, policies: PoliciesDep, page: PageDep, filters: CoverageFilterDep
) -> Page[CoverageRowOut]:
    """Standards 1.1 to 1.10 by micro-credential, filtered as the page (faculty, kind, status, year, standard and
    the cell of that standard), title order."""
    found = coverage.matrix(session, filters, policies, offset=page.offset, limit=page.limit)
    return Page[CoverageRowOut](
        items=[CoverageRowOut.model_validate(r, from_attributes=True) for r in found.rows],
        total=found.total,
        offset=page.offset,
        limit=page.limit,
    )
