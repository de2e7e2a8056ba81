"""What other domains ask about a micro-credential's standing (read-only, no imports beyond the tables, so the
offerings service can ask without an import cycle)."""

from __future__ import annotations

from sqlmodel import Session

from app.reviews.models import CredentialStanding
from app.workflows.reviews import STANDING_LABELS, StandingStatus

NO_INTAKE = frozenset({StandingStatus.suspended.value, StandingStatus.retired.value})


def status_of(session: Session, credential_id: int) -> str:
    """The micro-credential's lifecycle status; "active" for one published before reviews were scheduled."""
    row = session.get(CredentialStanding, credential_id)
    return row.status if row is not None else StandingStatus.active.value


def label_of(status: str) -> str:
    return STANDING_LABELS[status]


def intake_refusal(session: Session, credential_id: int) -> str | None:
    """Why no new offering may open now (suspended or retired), or None when intake is open."""
    status = status_of(session, credential_id)
    if status == StandingStatus.suspended.value:
        return "This micro-credential is suspended: no new offering can open until its review is closed."
    if status == StandingStatus.retired.value:
        return "This micro-credential is retired: it takes no new offerings."
    return None
