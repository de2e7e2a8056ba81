"""Small helpers for review tests: a published micro-credential with its standing, the owner and the QA office."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from app.catalogue.models import Credential
from app.policies import Policies
from app.reviews import service
from app.security import Actor, load_actor
from app.users.models import User
from tests.catalogue_factories import content, make_published, tag
from tests.conftest import actor_for


def published(db: Session, policies: Policies, *, on: date, kind: str = "standalone") -> Credential:
    overrides = {"parent_programme_id": None} if kind == "standalone" else {}
    credential = make_published(db, content(title=f"Reviewed {tag()}", **overrides), kind=kind)
    service.schedule_first_reviews(db, credential.id or 0, on, policies)
    return credential


def owner_of(db: Session, credential: Credential) -> Actor:
    return load_actor(db, db.get_one(User, credential.owner_id))


def qa(db: Session) -> Actor:
    return actor_for(db, "qa@example.org")


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)


SELF_EVALUATION = service.SelfEvaluationIn(
    narrative="The runs went well; completion is steady.",
    need_evidence="Two employers confirmed their need again.",
    need_checked_on=date(2027, 1, 1),
    action_plan="Keep the project brief up to date.",
)
