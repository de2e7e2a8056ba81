"""Surveys: made for an offering in its language, run through the workflow core, links used once, mailed
invitations forgotten once used, results only above the anonymity threshold, the loop closed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from app.feedback import service
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.feedback.service import LinkRefused, LinkState
from app.notifications.models import OutboxMessage
from app.policies import Policies
from app.security import load_actor
from app.workflows import core
from tests.conftest import actor_for, make_user
from tests.feedback.factories import (
    OPEN_DAY,
    fill,
    likert_answers,
    make_offering,
    open_survey,
    owner_of,
    owner_of_survey,
)


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_a_survey_follows_the_offerings_language_and_records_the_questionnaire(db: Session, policies: Policies) -> None:
    dutch = make_offering(db, language="nl")
    owner = owner_of(db, dutch)
    survey = service.create_survey(
        db,
        dutch.id or 0,
        owner,
        policies,
        service.SurveyIn(owner_questions=[service.OwnerQuestionIn(text="Was the lab useful?", kind="likert")]),
    )
    assert survey.status == "draft" and survey.language == "nl"
    assert survey.questionnaire_version.startswith("feedback@")
    assert survey.questions[0]["text"].startswith("De leerresultaten")
    assert survey.owner_questions() == [
        {
            "key": "own_1",
            "kind": "likert",
            "group": "owner",
            "group_title": "",
            "esg": None,
            "text": "Was the lab useful?",
        }
    ]
    assert (survey.opens_on, survey.closes_on) == (date(2027, 4, 30), date(2027, 5, 14))

    french = make_offering(db, language="fr")
    fallback = service.create_survey(db, french.id or 0, owner_of(db, french), policies, service.SurveyIn())
    assert fallback.language == "en"
    with pytest.raises(Conflict, match="already has"):
        service.create_survey(db, french.id or 0, owner_of(db, french), policies, service.SurveyIn())


def test_owner_questions_are_limited_by_policy_and_strangers_are_refused(db: Session, policies: Policies) -> None:
    offering = make_offering(db)
    too_many = [service.OwnerQuestionIn(text=f"Question {i}?") for i in range(4)]
    with pytest.raises(PolicyViolation, match="At most 3"):
        service.create_survey(
            db, offering.id or 0, owner_of(db, offering), policies, service.SurveyIn(owner_questions=too_many)
        )
    with pytest.raises(PermissionDenied):
        service.create_survey(db, offering.id or 0, load_actor(db, make_user(db)), policies, service.SurveyIn())
    with pytest.raises(NotFound):
        service.create_survey(db, 10**9, owner_of(db, offering), policies, service.SurveyIn())


def test_the_lifecycle_runs_through_the_core_with_audit_rows(db: Session, policies: Policies) -> None:
    offering = make_offering(db)
    qa = actor_for(db, "qa@example.org")
    survey = service.create_survey(db, offering.id or 0, qa, policies, service.SurveyIn())
    stranger = load_actor(db, make_user(db))
    with pytest.raises(NotFound):
        service.act(db, survey.id or 0, "open", stranger, policies)
    with pytest.raises(PolicyViolation, match="close on or after"):
        service.act(db, survey.id or 0, "open", qa, policies, opens_on=date(2027, 5, 2), closes_on=date(2027, 5, 1))
    service.act(db, survey.id or 0, "open", qa, policies, opens_on=date(2027, 5, 2), closes_on=date(2027, 5, 20))
    assert (survey.status, survey.opens_on, survey.closes_on) == ("open", date(2027, 5, 2), date(2027, 5, 20))
    with pytest.raises(Conflict, match="is open, so it cannot be opened"):
        service.act(db, survey.id or 0, "open", qa, policies)
    with pytest.raises(Conflict, match="cannot be released"):
        service.act(db, survey.id or 0, "release", qa, policies)
    service.act(db, survey.id or 0, "close", qa, policies)
    service.act(db, survey.id or 0, "release", owner_of(db, offering), policies)
    audit = db.exec(
        select(AuditEvent.action, AuditEvent.actor_role, AuditEvent.policy_version)
        .where(AuditEvent.entity_type == "survey", AuditEvent.entity_id == survey.id)
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(a, r) for a, r, _v in audit] == [("open", "QA office"), ("close", "QA office"), ("release", "owner")]
    assert all((v or "").startswith("feedback@") for _a, _r, v in audit)


def test_a_link_takes_one_set_of_answers_and_says_why_it_cannot(db: Session, policies: Policies) -> None:
    offering = make_offering(db)
    owner = owner_of(db, offering)
    draft = service.create_survey(db, offering.id or 0, owner, policies, service.SurveyIn())
    (link,) = service.make_links(db, draft.id or 0, owner, 1, base_url="http://test")
    assert link.startswith("http://test/feedback/fb_")
    token = _token(link)
    stored = db.exec(select(SurveyInvitation.token_hash).where(SurveyInvitation.survey_id == draft.id)).one()
    assert token not in stored and len(stored) == 64
    assert service.resolve(db, token, today=OPEN_DAY).state is LinkState.not_open
    service.act(db, draft.id or 0, "open", owner, policies)
    assert service.resolve(db, token, today=date(2027, 4, 29)).state is LinkState.not_open
    assert service.resolve(db, token, today=date(2027, 5, 15)).state is LinkState.expired
    assert service.resolve(db, "fb_nothing", today=OPEN_DAY).state is LinkState.unknown

    service.submit(db, token, likert_answers(draft, 4) | {"improve": "More labs"}, today=OPEN_DAY)
    with pytest.raises(LinkRefused) as second:
        service.submit(db, token, likert_answers(draft, 1), today=OPEN_DAY)
    assert second.value.link.state is LinkState.used and second.value.status == 409
    rows = db.exec(select(SurveyResponse).where(SurveyResponse.survey_id == draft.id)).all()
    assert [r.answers["improve"] for r in rows] == ["More labs"]
    assert service.response_count(db, draft.id or 0) == 1

    (unused,) = service.make_links(db, draft.id or 0, owner, 1, base_url="http://test")
    service.act(db, draft.id or 0, "close", owner, policies)
    assert service.resolve(db, _token(unused), today=OPEN_DAY).state is LinkState.closed


def test_answers_out_of_range_or_unknown_are_refused_and_nothing_is_used(db: Session, policies: Policies) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    (link,) = service.make_links(db, survey.id or 0, owner, 1, base_url="http://test")
    with pytest.raises(PolicyViolation, match="Choose 1 to 5") as bad:
        service.submit(db, _token(link), {"outcomes_clear": 7}, today=OPEN_DAY)
    assert bad.value.errors == {"outcomes_clear": "Choose 1 to 5, or not applicable."}
    with pytest.raises(PolicyViolation, match="no question 'hack'"):
        service.submit(db, _token(link), {"hack": 1}, today=OPEN_DAY)
    with pytest.raises(PolicyViolation, match="at most 4,000"):
        service.submit(db, _token(link), {"best": "x" * 4001}, today=OPEN_DAY)
    assert service.resolve(db, _token(link), today=OPEN_DAY).state is LinkState.ready
    service.submit(db, _token(link), {"outcomes_clear": "na", "support": "2"}, today=OPEN_DAY)
    answers = db.exec(select(SurveyResponse.answers).where(SurveyResponse.survey_id == survey.id)).one()
    assert answers == {"outcomes_clear": "na", "support": 2}


def test_mailed_links_keep_no_address_and_are_forgotten_once_used(db: Session, policies: Policies) -> None:
    survey = open_survey(db, policies)
    offering_owner = owner_of_survey(db, survey)
    pasted = "ann@example.org, bob@example.org\nann@example.org"
    now = datetime(2027, 4, 30, 12, tzinfo=UTC)
    sent = service.mail_links(
        db, survey.id or 0, offering_owner, service.parse_addresses(pasted), policies, base_url="http://t", now=now
    )
    assert sent == 2 and (survey.invited_count, survey.mailed_count) == (2, 2)
    mails = db.exec(
        select(OutboxMessage).where(col(OutboxMessage.kind).startswith("feedback."), OutboxMessage.created_at >= now)
    ).all()
    ann = [m for m in mails if m.to_address == "ann@example.org"]
    assert sorted(m.kind for m in ann) == ["feedback.invitation", "feedback.reminder", "feedback.reminder"]
    reminder_due = sorted(m.next_attempt_at for m in ann if m.kind == "feedback.reminder")
    assert [d.date() for d in reminder_due] == [date(2027, 5, 5), date(2027, 5, 10)]
    invitation_mail = next(m for m in ann if m.kind == "feedback.invitation")
    token = next(w for w in invitation_mail.text_body.split() if "/feedback/fb_" in w).rsplit("/", 1)[1]
    invitation_mail.status = "sent"  # the sender delivered it
    db.add(invitation_mail)
    db.flush()

    service.submit(db, token, likert_answers(survey, 5), today=OPEN_DAY)

    left = {m.id: m for m in db.exec(select(OutboxMessage).where(OutboxMessage.to_address == "ann@example.org"))}
    assert list(left) == [invitation_mail.id]  # the reminders were withdrawn
    assert token not in left[invitation_mail.id].text_body and "[removed]" in left[invitation_mail.id].text_body
    assert token not in left[invitation_mail.id].html_body
    assert all(i.reminder_ids == [] for i in db.exec(select(SurveyInvitation).where(SurveyInvitation.used)))
    bob = db.exec(select(OutboxMessage).where(OutboxMessage.to_address == "bob@example.org")).all()
    assert len(bob) == 3  # bob has not answered: his reminders stay

    service.act(db, survey.id or 0, "close", offering_owner, policies)
    bob_left = db.exec(select(OutboxMessage).where(OutboxMessage.to_address == "bob@example.org")).all()
    assert bob_left == []  # nothing was sent yet: withdrawn at closing
    with pytest.raises(PolicyViolation, match="not an e-mail address"):
        service.parse_addresses("ann@example.org nonsense")


def test_results_stay_hidden_below_the_threshold_per_survey_and_per_question(db: Session, policies: Policies) -> None:
    survey = open_survey(db, policies)
    from app.offerings.models import Offering

    owner = owner_of(db, db.get_one(Offering, survey.offering_id))
    fill(db, survey, owner, [4, 4, 5, 3], comment="More labs")
    res = service.results(db, survey.id or 0, owner, policies)
    assert (res.shown, res.responses, res.invited) == (False, 4, 4)
    assert res.response_rate == 1.0
    service.act(db, survey.id or 0, "close", owner, policies)
    res = service.results(db, survey.id or 0, owner, policies)
    assert not res.shown and all(q.mean is None and not q.comments for q in res.questions)
    with pytest.raises(Conflict, match="Fewer than 5 learners answered"):
        service.results_csv(res)


def test_results_above_the_threshold_with_comparisons(db: Session, policies: Policies) -> None:
    first = make_offering(db, ends_on=date(2026, 4, 30))
    owner = owner_of(db, first)
    earlier = open_survey(db, policies, first)
    fill(db, earlier, owner, [2, 2, 2, 2, 2])
    service.act(db, earlier.id or 0, "close", owner, policies)

    later = make_offering(db, credential_id=first.credential_id)
    survey = open_survey(db, policies, later)
    fill(db, survey, owner, [4, 4, 5, 5, 3, 3], comment="More labs")
    (extra,) = service.make_links(db, survey.id or 0, owner, 1, base_url="x")
    service.submit(db, _token(extra), {"outcomes_clear": "na"}, today=OPEN_DAY)
    service.act(db, survey.id or 0, "close", owner, policies)

    res = service.results(db, survey.id or 0, owner, policies)
    assert res.shown and res.responses == 7
    outcomes = next(q for q in res.questions if q.key == "outcomes_clear")
    assert (outcomes.n, outcomes.not_applicable, outcomes.counts) == (6, 1, {1: 0, 2: 0, 3: 2, 4: 2, 5: 2})
    assert outcomes.mean == pytest.approx(4.0) and outcomes.median == 4
    assert outcomes.earlier_mean == pytest.approx(2.0)
    assert outcomes.faculty_mean is not None
    improve = next(q for q in res.questions if q.key == "improve")
    assert improve.comments == ("More labs",) * 6
    best = next(q for q in res.questions if q.key == "best")
    assert best.hidden and best.comments == ()
    csv_text = service.results_csv(res)
    assert csv_text.splitlines()[1].startswith("The learning outcomes were clear to me from the start.,")
    assert service.below_thresholds(res, policies) == []
    earlier_res = service.results(db, earlier.id or 0, owner, policies)
    assert any("mean 2.00 is below 3" in r for r in service.below_thresholds(earlier_res, policies))


def test_the_owner_responds_the_qa_office_sees_it_and_the_review_and_catalogue_get_it(
    db: Session, policies: Policies
) -> None:
    survey = open_survey(db, policies)
    from app.offerings.models import Offering

    offering = db.get_one(Offering, survey.offering_id)
    owner = owner_of(db, offering)
    fill(db, survey, owner, [2, 2, 3, 2, 2])
    data = service.ResponseIn(owner_response="We hear you.", action_plan="Two more lab sessions.")
    with pytest.raises(Conflict, match="once the survey is closed"):
        service.respond(db, survey.id or 0, owner, data)
    service.act(db, survey.id or 0, "close", owner, policies)
    service.respond(db, survey.id or 0, owner, data)
    assert service.changes_for_catalogue(db, offering.credential_id, policies) == []
    with pytest.raises(PermissionDenied):
        service.mark_seen(db, survey.id or 0, owner)
    service.mark_seen(db, survey.id or 0, actor_for(db, "qa@example.org"))
    (change,) = service.changes_for_catalogue(db, offering.credential_id, policies)
    assert change.action_plan == "Two more lab sessions."

    (summary,) = service.summary_for_review(db, offering.credential_id, date(2027, 1, 1), policies)
    assert (summary.responses, summary.shown, summary.action_plan, summary.response_seen) == (
        5,
        True,
        "Two more lab sessions.",
        True,
    )
    assert summary.group_means["Teaching and assessment"] == pytest.approx(2.2)
    assert summary.review_flags and all("below" in f for f in summary.review_flags)
    assert service.summary_for_review(db, offering.credential_id, date(2028, 1, 1), policies) == []


def test_the_sweep_opens_a_survey_when_an_offering_ends_and_closes_it_on_its_date(
    db: Session, policies: Policies
) -> None:
    offering = make_offering(db, ends_on=date(2027, 6, 30))
    assert service.open_at_offering_end(db, datetime(2027, 6, 29, 8, tzinfo=UTC), policies) >= 0
    assert service.surveys_of_offering(db, offering.id or 0) == []
    service.open_at_offering_end(db, datetime(2027, 6, 30, 8, tzinfo=UTC), policies)
    (survey,) = service.surveys_of_offering(db, offering.id or 0)
    assert (survey.status, survey.opens_on, survey.closes_on) == ("open", date(2027, 6, 30), date(2027, 7, 14))
    service.open_at_offering_end(db, datetime(2027, 7, 1, 8, tzinfo=UTC), policies)
    assert len(service.surveys_of_offering(db, offering.id or 0)) == 1
    service.close_due(db, datetime(2027, 7, 14, 23, tzinfo=UTC), policies)
    assert db.get_one(Survey, survey.id).status == "open"
    service.close_due(db, datetime(2027, 7, 15, 0, 5, tzinfo=UTC), policies)
    assert db.get_one(Survey, survey.id).status == "closed"
    roles = db.exec(
        select(AuditEvent.actor_role).where(AuditEvent.entity_type == "survey", AuditEvent.entity_id == survey.id)
    ).all()
    assert roles == ["system", "system"]
    assert core.SYSTEM is None


def test_a_submission_is_two_statements_and_a_closed_surveys_answers_are_read_once(
    db: Session, policies: Policies
) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    (link,) = service.make_links(db, survey.id or 0, owner, 1, base_url="x")
    fill(db, survey, owner, [3, 4, 4, 5, 5])
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        service.submit(db, _token(link), likert_answers(survey, 2), today=OPEN_DAY)
        assert statements == ["UPDATE survey_invitation SET", "INSERT INTO survey_response"]
        service.act(db, survey.id or 0, "close", owner, policies)
        statements.clear()
        first = service.results(db, survey.id or 0, owner, policies)
        assert any("survey_response" in s for s in statements)  # counted once ...
        statements.clear()
        again = service.results(db, survey.id or 0, owner, policies)
        assert not any("survey_response" in s for s in statements)  # ... then remembered: it cannot change
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert first.responses == again.responses == 6
    outcomes = next(q for q in again.questions if q.key == "outcomes_clear")
    assert (outcomes.n, outcomes.median) == (6, 4.0) and outcomes.mean == pytest.approx(23 / 6)
