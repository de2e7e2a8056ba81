"""Adding offerings to a published micro-credential and recording their figures once they have ended.

Who may: the micro-credential's owner, and the QA office. Pages, the API and CSV upload call these functions.
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from app.catalogue.models import Credential
from app.db import utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from app.offerings.models import Offering
from app.proposals.elements import Participation
from app.security import Actor


class OfferingIn(BaseModel):
    """A new run: its dates, capacity, language and mode."""

    model_config = ConfigDict(extra="forbid")

    starts_on: date = Field(title="Start date")
    ends_on: date = Field(title="End date")
    capacity: int | None = Field(default=None, ge=1, le=100_000, title="Capacity")
    language: str = Field(default="en", pattern=r"^[a-z]{2}$", title="Language (two-letter code, e.g. en)")
    participation_form: Participation = Field(title="Mode")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("The end date must be on or after the start date.")
        return self


class FiguresIn(BaseModel):
    """What happened in a run that has ended."""

    model_config = ConfigDict(extra="forbid")

    enrolled: int = Field(ge=0, le=100_000, title="Enrolled")
    completed: int = Field(ge=0, le=100_000, title="Completed")
    passed: int = Field(ge=0, le=100_000, title="Passed")
    dropped_out: int = Field(ge=0, le=100_000, title="Dropped out")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.completed > self.enrolled:
            raise ValueError("More learners completed than enrolled.")
        if self.passed > self.completed:
            raise ValueError("More learners passed than completed.")
        if self.completed + self.dropped_out > self.enrolled:
            raise ValueError("Completed and dropped out together exceed the number enrolled.")
        return self


def _credential_for(session: Session, credential_id: int, actor: Actor) -> Credential:
    credential = session.get(Credential, credential_id)
    if credential is None or not credential.current_version_no:
        raise NotFound("No published micro-credential with this number.")
    if credential.owner_id != actor.id and not actor.in_qa_office:
        raise PermissionDenied("Only the micro-credential's owner or the QA office may manage its offerings.")
    return credential


def add_offering(session: Session, credential_id: int, actor: Actor, data: OfferingIn) -> Offering:
    _credential_for(session, credential_id, actor)
    offering = Offering(credential_id=credential_id, created_by_id=actor.id, **data.model_dump())
    session.add(offering)
    session.flush()
    return offering


def record_figures(session: Session, offering_id: int, actor: Actor, figures: FiguresIn, *, today: date) -> Offering:
    offering = session.get(Offering, offering_id)
    if offering is None:
        raise NotFound("No offering with this number.")
    _credential_for(session, offering.credential_id, actor)
    if offering.ends_on > today:
        raise PolicyViolation(f"Figures can be recorded once the offering has ended ({offering.ends_on:%d %B %Y}).")
    if offering.capacity is not None and figures.enrolled > offering.capacity:
        raise Conflict(f"{figures.enrolled} enrolled is more than the capacity of {offering.capacity}.")
    for name, value in figures.model_dump().items():
        setattr(offering, name, value)
    offering.figures_recorded_at = utcnow()
    session.flush()
    return offering


def offerings_of(session: Session, credential_id: int) -> list[Offering]:
    """Every run of a micro-credential, earliest first."""
    stmt = select(Offering).where(col(Offering.credential_id) == credential_id).order_by(col(Offering.starts_on))
    return list(session.exec(stmt))
