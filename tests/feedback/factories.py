"""A published micro-credential with an ended offering and its survey, for the feedback tests."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlmodel import Session

from app.feedback import service
from app.feedback.models import Survey
from app.offerings import service as offerings
from app.offerings.models import Offering
from app.policies import Policies
from app.security import Actor, load_actor
from app.users.models import User
from tests.catalogue_factories import content, make_published, tag

ENDS = date(2027, 4, 30)
OPEN_DAY = date(2027, 5, 3)


def owner_of(db: Session, offering: Offering) -> Actor:
    from app.catalogue.models import Credential

    credential = db.get_one(Credential, offering.credential_id)
    return load_actor(db, db.get_one(User, credential.owner_id))


def owner_of_survey(db: Session, survey: Survey) -> Actor:
    return owner_of(db, db.get_one(Offering, survey.offering_id))


def make_offering(
    db: Session, *, language: str = "en", ends_on: date = ENDS, credential_id: int | None = None
) -> Offering:
    if credential_id is None:
        credential_id = make_published(db, content(title=f"Surveyed {tag()}")).id or 0
    from app.catalogue.models import Credential

    owner = load_actor(db, db.get_one(User, db.get_one(Credential, credential_id).owner_id))
    data = offerings.OfferingIn(
        starts_on=date(ends_on.year, 1, 1), ends_on=ends_on, language=language, participation_form="online"
    )
    return offerings.add_offering(db, credential_id, owner, data)


def open_survey(db: Session, policies: Policies, offering: Offering | None = None, **kw: Any) -> Survey:
    offering = offering or make_offering(db)
    owner = owner_of(db, offering)
    survey = service.create_survey(db, offering.id or 0, owner, policies, service.SurveyIn(**kw))
    return service.act(db, survey.id or 0, "open", owner, policies)


def likert_answers(survey: Survey, score: int) -> dict[str, Any]:
    return {q["key"]: score for q in survey.questions if q["kind"] == "likert"}


def fill(db: Session, survey: Survey, owner: Actor, scores: list[int], *, comment: str = "") -> None:
    """One invitation used per score, every Likert item answered with that score."""
    links = service.make_links(db, survey.id or 0, owner, len(scores), base_url="http://test")
    for link, score in zip(links, scores, strict=True):
        answers = likert_answers(survey, score) | ({"improve": comment} if comment else {})
        service.submit(db, link.rsplit("/", 1)[1], answers, today=survey.opens_on)


def random_scores(n: int, low: int = 3) -> list[int]:
    return [random.randint(low, 5) for _ in range(n)]
