"""HTML pages of approval: "Awaiting my decision" (and its count in the navigation) and the QA office's pipeline.
Handlers are thin: parse, call one query, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.approvals import access, queries
from app.db import SessionDep, utcnow
from app.pagination import PageDep
from app.proposals import elements as el
from app.routing import page_router
from app.security import Actor, CurrentActor, OverseerActor
from app.web import CONTEXT_HOOKS, render

router = page_router()


def _awaiting_badge(request: Request) -> dict[str, Any]:
    actor: Actor | None = getattr(request.state, "actor", None)
    session: Session | None = getattr(request.state, "db", None)
    if actor is None or session is None or not actor.memberships:
        return {}
    return {"awaiting_count": queries.awaiting_count(session, actor)}


CONTEXT_HOOKS.append(_awaiting_badge)


# --- lists ---------------------------------------------------------------------------------------


@router.get("/awaiting")
def awaiting(request: Request, session: SessionDep, actor: CurrentActor, page: PageDep) -> Response:
    rows, total = queries.awaiting(session, actor, offset=page.offset, limit=page.limit, now=utcnow())
    return render(
        request,
        "approvals/awaiting.html",
        {"rows": rows, "total": total, "page": page, "labels": access.STATE_LABELS},
    )


def pipeline_filter(
    status: Annotated[str, Query(max_length=40)] = "",
    org_unit_id: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    open_conditions: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
) -> queries.PipelineFilter:
    """The pipeline's filters from the page's query (the page and its CSV export read the same)."""
    return queries.PipelineFilter(
        status=status if status in access.STATE_LABELS else None,
        org_unit_id=int(org_unit_id) if org_unit_id.isdigit() else None,
        kind=kind if kind in el.Kind.__members__ else None,
        with_open_conditions=open_conditions in ("1", "true", "on"),
        q=q,
    )


PipelineFilterDep = Annotated[queries.PipelineFilter, Depends(pipeline_filter)]


@router.get("/pipeline")
def pipeline(
    request: Request,
    session: SessionDep,
    actor: OverseerActor,
    page: PageDep,
    filters: PipelineFilterDep,
) -> Response:
    result = queries.pipeline(session, filters, offset=page.offset, limit=page.limit, now=utcnow())
    ctx = {
        "rows": result.rows,
        "total": result.total,
        "page": page,
        "counts": result.counts,
        "labels": access.STATE_LABELS,
        "filters": filters,
        "faculties": result.faculties,
        "kinds": el.KIND_LABELS,
        "query": request.url.query,
    }
    block = "results" if request.headers.get("hx-target") == "pipeline-results" else None
    return render(request, "approvals/pipeline.html", ctx, block=block)
