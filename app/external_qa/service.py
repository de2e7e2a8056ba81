"""Reading and changing the external QA record.

A change is audited with what it was before and after, and reaches the "type of quality assurance" element of every
draft proposal at once (the catalogue's current editions read the record when shown). Published editions keep the
text they were published with.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.db import utcnow
from app.errors import NotFound, PolicyViolation
from app.external_qa.models import (
    DECISION_LABELS,
    FIELD_LABELS,
    RECORD_ID,
    Decision,
    ExternalQaPublic,
    ExternalQaRecord,
    ExternalQaUpdate,
)
from app.external_qa.statement import get_record, statement
from app.proposals import service as proposals
from app.security import Actor

FIELDS = tuple(ExternalQaUpdate.model_fields)


def require_record(session: Session) -> ExternalQaRecord:
    record = get_record(session)
    if record is None:
        raise NotFound("No external quality assurance has been recorded yet.")
    return record


def public(record: ExternalQaRecord) -> ExternalQaPublic:
    return ExternalQaPublic(
        agency_name=record.agency_name,
        eqar_registered=record.eqar_registered,
        decision=Decision(record.decision),
        decision_label=DECISION_LABELS[Decision(record.decision)],
        decision_on=record.decision_on,
        next_review_on=record.next_review_on,
        deqar_report_id=record.deqar_report_id,
        deqar_report_url=record.deqar_report_url,
        updated_at=record.updated_at,
        quality_assurance=statement(record),
    )


def _check(data: ExternalQaUpdate) -> None:
    """Rules across fields (each field's own format is checked by ExternalQaUpdate)."""
    errors: dict[str, str] = {}
    if data.next_review_on <= data.decision_on:
        errors["next_review_on"] = "The next review must be after the decision date."
    if not data.eqar_registered and (data.deqar_report_id or data.deqar_report_url):
        errors["eqar_registered"] = (
            "DEQAR only holds reports of EQAR-registered agencies: tick 'EQAR-registered' or leave the DEQAR "
            "report ID and link empty."
        )
    if errors:
        raise PolicyViolation(" ".join(errors.values()), errors=errors)


def _values(record: ExternalQaRecord | None) -> dict[str, Any]:
    if record is None:
        return {}
    return {name: getattr(record, name) for name in FIELDS}


def form_values(record: ExternalQaRecord) -> dict[str, Any]:
    """The record as the form shows it (dates as YYYY-MM-DD, empty for nothing)."""
    return {name: "" if value is None else _json(value) for name, value in _values(record).items()}


def save(session: Session, actor: Actor, data: ExternalQaUpdate) -> tuple[ExternalQaRecord, int]:
    """Record the institution's external QA; returns the record and how many drafts took its new text."""
    _check(data)
    record = session.get(ExternalQaRecord, RECORD_ID, with_for_update=True)
    before = _values(record)
    after = data.model_dump()
    changed = [name for name in FIELDS if before.get(name) != after[name]]
    if record is not None and not changed:
        return record, 0
    if record is None:
        record = ExternalQaRecord(id=RECORD_ID, **after)
    else:
        for name in changed:
            setattr(record, name, after[name])
    record.updated_at = utcnow()
    record.updated_by_id = actor.id
    session.add(record)
    session.flush()
    drafts = proposals.refresh_quality_assurance(session, statement(record))
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="admin",
        entity_type="external_qa",
        entity_id=RECORD_ID,
        action="recorded" if not before else "changed",
        comment=_summary(changed, drafts),
        data={
            "fields": changed,
            "before": {name: _json(before.get(name)) for name in changed},
            "after": {name: _json(after[name]) for name in changed},
            "drafts_updated": drafts,
        },
    )
    session.flush()
    return record, drafts


def _summary(changed: list[str], drafts: int) -> str:
    fields = ", ".join(FIELD_LABELS[name] for name in changed)
    return f"{fields}; {drafts} draft{'s' if drafts != 1 else ''} took the new text"


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
