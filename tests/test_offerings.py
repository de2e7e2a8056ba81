"""Offerings: who may add a run to a published micro-credential, what is refused, and recording its figures."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from app.catalogue.models import Credential
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from app.offerings import service
from app.offerings.models import Offering
from app.security import load_actor
from app.users.models import User
from tests.catalogue_factories import content, make_published, tag
from tests.cleanup import forget_published
from tests.conftest import actor_for, make_user

RUN = service.OfferingIn(
    starts_on=date(2027, 2, 1), ends_on=date(2027, 4, 30), capacity=30, participation_form="online"
)
FIGURES = service.FiguresIn(enrolled=28, completed=24, passed=22, dropped_out=4)


def _published(db: Session) -> Credential:
    return make_published(db, content(title=f"Offered {tag()}"))


def test_the_owner_adds_runs_and_records_figures_once_a_run_has_ended(db: Session) -> None:
    credential = _published(db)
    owner = load_actor(db, db.get_one(User, credential.owner_id))
    later = service.add_offering(
        db,
        credential.id or 0,
        owner,
        RUN.model_copy(update={"starts_on": date(2027, 9, 1), "ends_on": date(2027, 11, 30)}),
    )
    first = service.add_offering(db, credential.id or 0, owner, RUN)

    assert [o.id for o in service.offerings_of(db, credential.id or 0)][-2:] == [first.id, later.id]
    with pytest.raises(PolicyViolation, match="once the offering has ended"):
        service.record_figures(db, first.id or 0, owner, FIGURES, today=date(2027, 4, 29))

    service.record_figures(db, first.id or 0, owner, FIGURES, today=date(2027, 5, 1))
    stored = db.get_one(Offering, first.id)
    assert (stored.enrolled, stored.completed, stored.passed, stored.dropped_out) == (28, 24, 22, 4)
    assert stored.completion_rate == pytest.approx(24 / 28)
    assert stored.has_figures


def test_only_the_owner_or_the_qa_office_manage_offerings(db: Session) -> None:
    credential = _published(db)
    stranger = load_actor(db, make_user(db))
    with pytest.raises(PermissionDenied):
        service.add_offering(db, credential.id or 0, stranger, RUN)
    qa = actor_for(db, "qa@example.org")
    assert service.add_offering(db, credential.id or 0, qa, RUN).id is not None


def test_a_draft_that_was_never_published_has_no_offerings(db: Session) -> None:
    draft = Credential(kind="standalone", org_unit_id=_published(db).org_unit_id, owner_id=make_user(db).id or 0)
    db.add(draft)
    db.flush()
    with pytest.raises(NotFound):
        service.add_offering(db, draft.id or 0, actor_for(db, "qa@example.org"), RUN)


def test_impossible_runs_and_figures_are_refused_in_words(db: Session) -> None:
    with pytest.raises(ValidationError, match="end date must be on or after the start date"):
        service.OfferingIn(starts_on=date(2027, 5, 1), ends_on=date(2027, 4, 1), participation_form="online")
    with pytest.raises(ValidationError, match="More learners passed than completed"):
        service.FiguresIn(enrolled=10, completed=5, passed=6, dropped_out=0)
    with pytest.raises(ValidationError, match="exceed the number enrolled"):
        service.FiguresIn(enrolled=10, completed=8, passed=8, dropped_out=3)

    credential = _published(db)
    qa = actor_for(db, "qa@example.org")
    offering = service.add_offering(db, credential.id or 0, qa, RUN)
    with pytest.raises(Conflict, match="more than the capacity of 30"):
        service.record_figures(
            db, offering.id or 0, qa, FIGURES.model_copy(update={"enrolled": 31}), today=date(2027, 6, 1)
        )
    assert db.get_one(Offering, offering.id).enrolled is None


def test_two_people_recording_figures_at_once_do_not_overwrite_each_other(engine: Engine) -> None:
    with Session(engine) as setup:
        credential = _published(setup)
        credential_id = credential.id or 0
        qa = actor_for(setup, "qa@example.org")
        offering_id = service.add_offering(setup, credential_id, qa, RUN).id or 0
        setup.commit()
    try:
        # The second person opened the form before the first saved (SQLite lets one writer in at a time, so the
        # second read ends its transaction; the row it holds keeps the version it read).
        with Session(engine, expire_on_commit=False) as second:
            b = second.get_one(Offering, offering_id)
            second.commit()
            with Session(engine) as first:
                first.get_one(Offering, offering_id).enrolled = 20
                first.commit()
            b.enrolled = 25
            second.add(b)
            with pytest.raises(StaleDataError):
                second.commit()
        with Session(engine) as check:
            assert check.get_one(Offering, offering_id).enrolled == 20
    finally:
        with Session(engine) as cleanup:  # the committed micro-credential and everything on it
            forget_published(cleanup, [credential_id])
            cleanup.commit()
