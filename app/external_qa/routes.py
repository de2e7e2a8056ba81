"""JSON API of the institution's external QA record (ESG 1.10)."""

from __future__ import annotations

from app.db import SessionDep
from app.external_qa import service
from app.external_qa.models import ExternalQaPublic, ExternalQaUpdate
from app.routing import api_router
from app.security import AdminActor, CurrentActor

router = api_router(tags=["external quality assurance"])


@router.get("/external-qa", response_model=ExternalQaPublic)
def get_external_qa(session: SessionDep, _actor: CurrentActor) -> ExternalQaPublic:
    """The institution's external QA record and the "type of quality assurance" text it gives proposals and the
    catalogue; 404 while nothing is recorded."""
    return service.public(service.require_record(session))


@router.put("/external-qa", response_model=ExternalQaPublic)
def put_external_qa(data: ExternalQaUpdate, session: SessionDep, admin: AdminActor) -> ExternalQaPublic:
    """Record or change it (administrators). Every draft proposal takes the new text at once; published editions
    keep theirs. 422 names each field to correct."""
    record, _drafts = service.save(session, admin, data)
    return service.public(record)
