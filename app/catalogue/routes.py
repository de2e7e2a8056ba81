"""JSON twins of the public catalogue pages: the same search and filters, and one entry with its editions.
No authentication: everything here is public information (ESG 1.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.catalogue import service as catalogue
from app.catalogue.service import CatalogueEntryPublic, CatalogueFilters, CatalogueSummary
from app.db import SessionDep
from app.pagination import Page, PageDep
from app.routing import api_router

router = api_router(tags=["catalogue"], public=True)


@router.get("/catalogue", response_model=Page[CatalogueSummary])
def list_catalogue(
    session: SessionDep, page: PageDep, filters: Annotated[CatalogueFilters, Query()]
) -> Page[CatalogueSummary]:
    """Published micro-credentials matching the search and filters, by title."""
    items, total = catalogue.search(session, filters, offset=page.offset, limit=page.limit)
    return Page(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/catalogue/{credential_id}", response_model=CatalogueEntryPublic)
def get_catalogue_entry(
    credential_id: int,
    session: SessionDep,
    version: Annotated[int | None, Query(ge=1, description="An earlier edition; the current one by default")] = None,
) -> CatalogueEntryPublic:
    """One published micro-credential: the elements of the current (or asked-for) edition and every edition."""
    return catalogue.entry_public(catalogue.get_entry(session, credential_id, version))
