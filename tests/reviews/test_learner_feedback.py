"""Learner feedback flows into the periodic review: the self-evaluation shows what learners said since the last
review, and results below feedback.yaml's review triggers open a full review on their own (once)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.feedback import service as feedback
from app.feedback.models import Survey
from app.offerings.models import Offering
from app.policies import Policies
from app.reviews import jobs, service
from app.reviews.models import Review
from tests.conftest import actor_for, api_headers, login
from tests.feedback.factories import fill, open_survey, owner_of


def _closed_survey(db: Session, policies: Policies, scores: list[int]) -> tuple[Offering, int]:
    survey = open_survey(db, policies)
    offering = db.get_one(Offering, survey.offering_id)
    owner = owner_of(db, offering)
    fill(db, survey, owner, scores)
    feedback.act(db, survey.id or 0, "close", owner, policies)
    feedback.respond(
        db, survey.id or 0, owner, feedback.ResponseIn(owner_response="We hear you.", action_plan="More labs.")
    )
    return offering, survey.id or 0


def test_the_review_shows_what_learners_said_since_the_last_review(
    client: TestClient, db: Session, policies: Policies
) -> None:
    offering, survey_id = _closed_survey(db, policies, [2, 2, 3, 2, 2])
    today = offering.ends_on + timedelta(days=30)
    review = service.qa_opens(
        db,
        offering.credential_id,
        actor_for(db, "qa@example.org"),
        policies,
        service.ReviewOpenIn(kind="monitoring", reason="After the run", due_on=today + timedelta(days=30)),
        today=today,
    )

    (summary,) = service.learner_feedback_summary(db, review, policies)
    assert (summary.survey_id, summary.responses, summary.shown) == (survey_id, 5, True)
    assert summary.action_plan == "More labs." and summary.review_flags

    login(client, "qa@example.org")
    page = client.get(f"/reviews/{review.id}").text
    assert "What learners said" in page and "More labs." in page and summary.review_flags[0] in page
    detail = client.get(f"/api/v1/reviews/{review.id}", headers=api_headers(client)).json()
    assert [s["survey_id"] for s in detail["learner_feedback"]] == [survey_id]
    assert detail["learner_feedback"][0]["group_means"]["Teaching and assessment"] == 2.2


def test_feedback_below_the_triggers_opens_a_full_review_once(db: Session, policies: Policies) -> None:
    offering, survey_id = _closed_survey(db, policies, [1, 2, 2, 1, 2])
    closes_on = db.get_one(Survey, survey_id).closes_on
    now = datetime.combine(closes_on + timedelta(days=1), time(6), UTC)

    assert jobs.open_triggered(db, now, policies=policies) == 1
    assert jobs.open_triggered(db, now + timedelta(days=1), policies=policies) == 0  # once, and one is open anyway
    (review,) = db.exec(
        select(Review).where(Review.credential_id == offering.credential_id, col(Review.trigger) == "threshold")
    ).all()
    assert review.kind == "full" and review.status == "open"
    assert review.trigger_key == f"threshold:feedback:survey:{survey_id}"
    assert review.reason.startswith("Learner feedback on the offering of")


def test_good_feedback_opens_no_review(db: Session, policies: Policies) -> None:
    offering, survey_id = _closed_survey(db, policies, [5, 4, 5, 5, 4])
    closes_on = db.get_one(Survey, survey_id).closes_on
    now = datetime.combine(closes_on + timedelta(days=1), time(6), UTC)
    assert jobs.open_triggered(db, now, policies=policies) == 0
    assert db.exec(select(Review).where(Review.credential_id == offering.credential_id)).all() == []
