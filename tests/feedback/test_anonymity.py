"""Anonymity by design: no stored response can be joined back to its invitation or its learner's address (the
schema and the rows), and of two simultaneous submissions of one link exactly one is accepted (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import Session, col, select

from app.feedback import service
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.feedback.service import LinkRefused
from app.notifications.models import OutboxMessage
from app.offerings.models import Offering
from app.policies import Policies
from app.security import hash_token
from tests.cleanup import forget_published
from tests.feedback.factories import likert_answers, make_offering, open_survey, owner_of, owner_of_survey


def test_the_schema_gives_a_response_nothing_to_join_on(engine: Engine) -> None:
    schema = inspect(engine)
    columns = {c["name"]: c for c in schema.get_columns("survey_response")}
    assert set(columns) == {"id", "survey_id", "answers"}  # no time, no invitation, no address, no counter
    foreign = schema.get_foreign_keys("survey_response")
    assert [(fk["constrained_columns"], fk["referred_table"]) for fk in foreign] == [(["survey_id"], "survey")]
    assert not any(
        fk["referred_table"] == "survey_response" for t in schema.get_table_names() for fk in schema.get_foreign_keys(t)
    )
    invitation = {c["name"] for c in schema.get_columns("survey_invitation")}
    assert invitation == {"id", "survey_id", "token_hash", "used", "reminder_ids"}  # no address, no time of use
    # The only column the two share is the survey: every response of a survey matches every invitation of it.
    assert set(columns) & invitation == {"id", "survey_id"}
    assert "INTEGER" not in str(columns["id"]["type"]).upper()  # a random key, not a counter


def test_the_rows_cannot_be_joined_back(db: Session, policies: Policies) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    now = datetime(2027, 4, 30, 12, tzinfo=UTC)
    addresses = [f"learner{i}@example.org" for i in range(6)]
    service.mail_links(db, survey.id or 0, owner, addresses, policies, base_url="http://t", now=now)
    mails = db.exec(select(OutboxMessage).where(col(OutboxMessage.to_address).in_(addresses))).all()
    tokens = {
        m.to_address: next(w for w in m.text_body.split() if "/feedback/fb_" in w).rsplit("/", 1)[1]
        for m in mails
        if m.kind == "feedback.invitation"
    }
    for m in mails:
        m.status = "sent" if m.kind == "feedback.invitation" else m.status
        db.add(m)
    db.flush()
    answered = addresses[:5]
    for i, address in enumerate(answered):
        service.submit(db, tokens[address], likert_answers(survey, 1 + i % 5), today=survey.opens_on)
    service.act(db, survey.id or 0, "close", owner, policies)

    responses = db.exec(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)).all()
    invitations = db.exec(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id)).all()
    assert len(responses) == 5 and sum(i.used for i in invitations) == 5
    hashes = {i.token_hash for i in invitations}
    for response in responses:
        stored = repr(response.model_dump())
        # No value of a response is a value of an invitation (key, token hash) or an address.
        assert not any(str(i.id) == response.id or i.token_hash in stored for i in invitations)
        assert not any(a in stored for a in addresses)
        assert len(response.id) == 36 and response.id.count("-") == 4
    # Nothing stored leads from an address to its link any more: the mails no longer carry the tokens,
    # the reminders are gone, and the invitations list no messages.
    left = db.exec(select(OutboxMessage).where(col(OutboxMessage.to_address).in_(addresses))).all()
    assert {m.kind for m in left} == {"feedback.invitation"}
    for m in left:
        assert not any(t in m.text_body or t in m.html_body for t in tokens.values())
        assert not any(h in m.text_body for h in hashes)
    assert all(i.reminder_ids == [] for i in invitations)
    # The survey kept the count of addresses, not the addresses.
    assert db.get_one(Survey, survey.id).mailed_count == 6
    assert not any(a in repr(db.get_one(Survey, survey.id).model_dump()) for a in addresses)
    assert {hash_token(t) for t in tokens.values()} == hashes


@pytest.mark.postgres_only
def test_two_simultaneous_submissions_of_one_link_store_one_response(engine: Engine, policies: Policies) -> None:
    with Session(engine, expire_on_commit=False) as setup:
        offering = make_offering(setup)
        survey = open_survey(setup, policies, offering)
        (link,) = service.make_links(setup, survey.id or 0, owner_of(setup, offering), 1, base_url="http://t")
        setup.commit()
    token = link.rsplit("/", 1)[1]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(score: int) -> None:
        with Session(engine) as session:
            service.resolve(session, token, today=survey.opens_on)  # both see the link unused
            barrier.wait()
            try:
                service.submit(session, token, likert_answers(survey, score), today=survey.opens_on)
                session.commit()
                outcomes.append("accepted")
            except LinkRefused as refused:
                session.rollback()
                outcomes.append(refused.link.state.value)

    threads = [threading.Thread(target=submit, args=(s,)) for s in (2, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(outcomes) == ["accepted", "used"]
        with Session(engine) as check:
            assert service.response_count(check, survey.id or 0) == 1
    finally:
        _delete_survey(engine, survey.id or 0, offering.id or 0)


def _delete_survey(engine: Engine, survey_id: int, offering_id: int) -> None:
    from app.audit.models import AuditEvent

    with Session(engine) as session:
        rows: list[Any] = [
            *session.exec(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)),
            *session.exec(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey_id)),
            *session.exec(
                select(AuditEvent).where(AuditEvent.entity_type == "survey", AuditEvent.entity_id == survey_id)
            ),
        ]
        for row in rows:
            session.delete(row)
        session.flush()
        session.delete(session.get_one(Survey, survey_id))
        session.flush()
        credential_id = session.get_one(Offering, offering_id).credential_id
        forget_published(session, [credential_id])  # the offering and the micro-credential make_offering published
        session.commit()
