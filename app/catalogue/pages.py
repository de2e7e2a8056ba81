"""Public catalogue pages (ESG 1.8): search with filters (live through htmx, or a plain GET form) and one
entry per credential with its editions. No login needed; a logged-in visitor still sees their header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.catalogue import service as catalogue
from app.catalogue.service import CatalogueFilters
from app.db import SessionDep, utcnow
from app.feedback import service as feedback
from app.offerings import service as offerings
from app.pagination import PageDep
from app.policies import Policies, PoliciesDep
from app.proposals.elements import CHOICES, KIND_LABELS
from app.proposals.policy import CredentialPolicy
from app.reviews import standing
from app.routing import page_router
from app.security import Actor, OptionalActor
from app.web import is_htmx, render

router = page_router()


def offerings_panel(session: Session, entry: catalogue.CatalogueEntry, actor: Actor | None) -> dict[str, Any]:
    """The entry's lifecycle (active, under review, suspended, retired) and upcoming offerings, and whether this
    visitor manages them (its owner, the QA office)."""
    status = standing.status_of(session, entry.id)
    manages = actor is not None and (actor.id == entry.credential.owner_id or actor.oversees_approvals)
    return {
        "lifecycle": status,
        "lifecycle_label": standing.label_of(status),
        "upcoming": offerings.upcoming(session, entry.id, today=utcnow().date()),
        "manages": manages,
    }


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


def eqf_options(policies: Policies, chosen: int | None) -> list[tuple[int, str]]:
    """The EQF levels the institution offers (credentials.yaml), and the one in the address if it is another."""
    levels = set(policies.of(CredentialPolicy).eqf_levels)
    if chosen is not None:
        levels.add(chosen)
    return [(level, f"Level {level}") for level in sorted(levels)]


@router.get("/catalogue")
def catalogue_page(
    request: Request,
    session: SessionDep,
    _actor: OptionalActor,
    page: PageDep,
    policies: PoliciesDep,
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
        "eqf_options": eqf_options(policies, filters.eqf_level),
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
        **offerings_panel(session, entry, _actor),
        "feedback_changes": feedback.changes_for_catalogue(session, credential_id, policies),
    }
    return render(request, "catalogue/detail.html", ctx)
