"""A periodic review in QA assessment, and answering its ESG checklist as the QA office."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from app.catalogue.models import Credential
from app.checklists import service as checklists
from app.policies import Policies
from app.reviews import service
from app.reviews.models import Review
from tests.reviews.helpers import SELF_EVALUATION, owner_of, published, qa

TODAY = date.today()


def opened(db: Session, policies: Policies) -> Review:
    """An open monitoring report of a freshly published standalone micro-credential (the QA office opened it)."""
    credential = published(db, policies, on=TODAY - timedelta(days=200))
    data = service.ReviewOpenIn(kind="monitoring", reason="Annual monitoring.", due_on=TODAY + timedelta(days=30))
    return service.qa_opens(db, credential.id or 0, qa(db), policies, data, today=TODAY)


def in_assessment(db: Session, policies: Policies, review: Review | None = None) -> Review:
    """``review`` (a new open one by default) submitted by its owner and taken into assessment."""
    review = review or opened(db, policies)
    owner = owner_of(db, db.get_one(Credential, review.credential_id))
    service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION)
    return service.start_assessment(db, review.id or 0, qa(db), policies)


def answer(db: Session, policies: Policies, review: Review, key: str, **given: Any) -> checklists.ItemView:
    values = {"status": "met", **given}
    return checklists.answer(
        db, review.id or 0, key, qa(db), policies, checklists.Answer(**values), subject_type=checklists.REVIEW
    )


def answer_mandatory(db: Session, policies: Policies, review: Review) -> list[str]:
    """Answer every mandatory review item met (with a reason, which overrides an automatic check that differs)."""
    found = service.review_checklist(db, review, qa(db), policies)
    keys = []
    for view in found.items:
        if view.item.mandatory and not view.answered:
            answer(db, policies, review, view.key, comment="Checked in the assessment.")
            keys.append(view.key)
    return keys
