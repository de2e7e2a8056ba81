"""Published micro-credentials inserted directly (credential + proposal already "published" + editions), as
``service.publish`` leaves them, bypassing the approval workflow: for tests of what comes after publication."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from app.catalogue.models import Credential, CredentialVersion
from app.catalogue.service import search_text_of
from app.org.models import OrgUnit
from app.proposals import elements as el
from app.proposals.elements import changed_fields
from app.proposals.models import Proposal
from tests.conftest import demo_user


def tag() -> str:
    return "zq" + uuid.uuid4().hex[:8]


def content(**overrides: Any) -> dict[str, Any]:
    """Realistic, valid element values (as JSON, like Proposal.content), with overrides."""
    values: dict[str, Any] = {
        "title": "Energy Data Analytics",
        "awarding_bodies": ["University of Example"],
        "issuer_country": "BE",
        "issuer_region": "Flanders",
        "learning_outcomes": [
            "Analyse energy consumption data with Python",
            "Evaluate forecasting models for electricity demand",
        ],
        "ects": 5,
        "hours": 140,
        "eqf_level": 6,
        "qf_ehea_cycle": "first",
        "assessment_types": ["project", "written_exam"],
        "assessment_description": "A group project on real smart-meter data and a short written exam.",
        "lo_assessment": {"1": ["project"], "2": ["project", "written_exam"]},
        "participation_form": "blended",
        "supervision": "supervised_with_id",
        "quality_assurance": "Internal QA of the University of Example, institutionally accredited.",
        "target_group": "Engineers and analysts working in the energy sector.",
        "need": "Utilities report a shortage of staff who can work with smart-meter data.",
        "labour_market_evidence": "Letters from two grid operators.",
        "stackability": "standalone",
        "languages": ["English"],
        "planned_start": "2025-09-15",
        "planned_end": "2025-12-19",
        "capacity": 30,
        "fee_eur": 450,
    }
    values.update(overrides)
    return el.Elements.model_validate(values).model_dump(mode="json")


def faculty_id(db: Session, code: str) -> int:
    return db.exec(select(OrgUnit.id).where(OrgUnit.code == code)).one() or 0


def make_published(
    db: Session,
    *editions: dict[str, Any],
    kind: str = "standalone",
    faculty: str = "SCI",
    change_types: tuple[str, ...] = (),
) -> Credential:
    """A credential with one published edition per content given (oldest first), as ``service.publish`` leaves
    it: a published proposal per edition, editions with their dates and changes, the catalogue mirror columns."""
    owner = demo_user(db, "academic@example.org")
    unit = faculty_id(db, faculty)
    credential = Credential(kind=kind, org_unit_id=unit, owner_id=owner.id or 0)
    db.add(credential)
    db.flush()
    assert credential.id is not None
    start = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    previous: CredentialVersion | None = None
    for number, values in enumerate(editions, start=1):
        change_type = "new" if number == 1 else (change_types[number - 2] if change_types else "major")
        proposal = Proposal(
            credential_id=credential.id,
            revision_no=number,
            change_type=change_type,
            kind=kind,
            org_unit_id=unit,
            owner_id=owner.id or 0,
            title=values.get("title") or "",
            content=values,
            status="published",
            decided_at=start,
        )
        db.add(proposal)
        db.flush()
        effective_from = start + timedelta(days=90 * (number - 1))
        if previous is not None:
            previous.effective_to = effective_from
            db.add(previous)
        version = CredentialVersion(
            credential_id=credential.id,
            version_no=number,
            proposal_id=proposal.id or 0,
            content=values,
            change_type=change_type,
            changes=changed_fields(previous.content, values) if previous else [],
            effective_from=effective_from,
        )
        db.add(version)
        previous = version
    assert previous is not None
    current = el.Elements.model_validate(previous.content)
    credential.current_version_no = len(editions)
    credential.title = current.title or ""
    credential.ects = current.ects
    credential.eqf_level = current.eqf_level
    credential.participation_form = current.participation_form.value if current.participation_form else None
    credential.search_text = search_text_of(previous.content)
    credential.published_at = previous.effective_from
    db.add(credential)
    db.flush()
    return credential
