"""Public catalogue pages (ESG 1.8): search with filters (live through htmx, or a plain GET form) and one
entry per credential with its editions. No login needed; a logged-in visitor still sees their header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.catalogue import service as catalogue
from app.catalogue.service import CatalogueFilters
from app.db import SessionDep
from app.feedback import service as feedback
from app.pagination import PageDep
from app.policies import PoliciesDep
from app.proposals.elements import CHOICES, KIND_LABELS
from app.security import OptionalActor
from app.web import is_htmx, render

router = APIRouter()
RESULTS_ID = "catalogue-results"


def _form_values(filters: CatalogueFilters) -> dict[str, Any]:
    """The filters as the form shows them: '5' rather than '5.0', enum values rather than members."""
    values: dict[str, Any] = {}
    for name, value in filters.model_dump().items():
        if value is None:
            values[name] = ""
        elif isinstance(value, float):
            values[name] = f"{value:g}"
        else:
            values[name] = getattr(value, "value", value)
    return values


@router.get("/catalogue")
def catalogue_page(
    request: Request,
    session: SessionDep,
    _actor: OptionalActor,
    page: PageDep,
    filters: Annotated[CatalogueFilters, Query()],
) -> Response:
    items, total = catalogue.search(session, filters, offset=page.offset, limit=page.limit)
    query = filters.query_string()
    fragment = is_htmx(request) and request.headers.get("hx-target") == RESULTS_ID
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "filters": filters,
        "values": _form_values(filters),
        "faculty_options": [] if fragment else catalogue.faculty_options(session),
        "eqf_options": [(level, f"Level {level}") for level in catalogue.EQF_LEVELS],
        "participation_options": list(CHOICES["participation_form"].items()),
        "kind_options": [(kind.value, label) for kind, label in KIND_LABELS.items()],
        "base_url": "/catalogue" + (f"?{query}" if query else ""),
        "fragment": fragment,
    }
    return render(request, "catalogue/index.html", ctx, block="results" if fragment else None)


@router.get("/catalogue/{credential_id}")
def catalogue_entry_page(
    request: Request,
    credential_id: int,
    session: SessionDep,
    _actor: OptionalActor,
    policies: PoliciesDep,
    version: Annotated[int | None, Query(ge=1, description="An earlier edition")] = None,
) -> Response:
    entry = catalogue.get_entry(session, credential_id, version)
    ctx = {
        "entry": entry,
        "sections": entry.sections(),
        "diffs": entry.diffs(),
        "feedback_changes": feedback.changes_for_catalogue(session, credential_id, policies),
    }
    return render(request, "catalogue/detail.html", ctx)
