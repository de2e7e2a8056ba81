"""Deadlines per body: the due date of a stage, reminders before it, escalation after it, each alert once; and
reminders about conditions. Jobs run at simulated moments (``now``), on both databases."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from functools import partial

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals import jobs
from app.approvals.models import StageAlert
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.notifications.models import Notification
from app.policies import Policies
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.users.models import User
from tests.conftest import actor_for, login
from tests.proposals.factories import allowing_route_members, complete_content, resubmit, submitted, vote

BASE_URL = "https://mcqa.uni.example"
COUNCIL = ["council1@example.org", "council2@example.org", "council3@example.org"]


def remind(db: Session, policies: Policies, now: datetime) -> int:
    return jobs.remind_and_escalate(db, now, policies=policies, base_url=BASE_URL)


def told(db: Session, proposal: Proposal, kind: str) -> Counter[str]:
    """Who was notified of ``kind`` about this proposal, and how often."""
    rows = db.exec(
        select(User.email)
        .join(Notification, col(Notification.user_id) == User.id)
        .where(Notification.kind == kind, col(Notification.link).startswith(f"/proposals/{proposal.id}"))
    ).all()
    return Counter(rows)


def alerts(db: Session, proposal: Proposal) -> list[tuple[int, str, str, int]]:
    rows = db.exec(select(StageAlert).where(StageAlert.proposal_id == proposal.id).order_by(col(StageAlert.id))).all()
    return [(a.review_round, a.body, a.step, a.recipients) for a in rows]


def due(proposal: Proposal) -> datetime:
    assert proposal.stage_due_at is not None
    return proposal.stage_due_at


def test_each_stage_is_due_after_its_bodys_decision_days(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    assert proposal.status == "faculty_council_review"
    assert due(proposal) == proposal.stage_entered_at + timedelta(days=21)
    for email in COUNCIL[:2]:
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "lll_committee_review"
    assert due(proposal) == proposal.stage_entered_at + timedelta(days=21)
    for email in ("lll1@example.org", "lll2@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "qa_office_review"
    assert due(proposal) == proposal.stage_entered_at + timedelta(days=14)
    vote(db, policies, proposal, "qa@example.org", Choice.request_changes, comment="Add the rubric.")
    assert proposal.status == "changes_requested"
    assert proposal.stage_due_at is None  # nobody is deciding


def test_reminders_at_the_offsets_to_members_who_have_not_voted_then_chair_then_qa_office(
    db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)  # the chair has voted; no decision yet
    deadline = due(proposal)

    assert remind(db, policies, deadline - timedelta(days=8)) == 0
    assert remind(db, policies, deadline - timedelta(days=7)) == 1
    assert told(db, proposal, "proposal.reminder") == {"council2@example.org": 1, "council3@example.org": 1}
    assert remind(db, policies, deadline - timedelta(days=7)) == 0  # nothing twice
    assert remind(db, policies, deadline - timedelta(days=3)) == 0

    vote(db, policies, proposal, "council2@example.org", Choice.reject, comment="Not at this level.")
    assert proposal.status == "faculty_council_review"  # one each way: waits for the third member
    assert remind(db, policies, deadline - timedelta(days=2)) == 1
    assert told(db, proposal, "proposal.reminder") == {"council2@example.org": 1, "council3@example.org": 2}
    assert remind(db, policies, deadline - timedelta(hours=1)) == 0

    # Overdue: first the chair, then (seven days on) the QA office; each once however often the sweep runs.
    assert remind(db, policies, deadline + timedelta(minutes=1)) == 1
    assert told(db, proposal, "proposal.escalated_to_chair") == {"council1@example.org": 1}
    assert told(db, proposal, "proposal.escalated_to_qa") == {}
    assert remind(db, policies, deadline + timedelta(days=6)) == 0
    assert remind(db, policies, deadline + timedelta(days=7)) == 1
    assert told(db, proposal, "proposal.escalated_to_qa") == {"qa@example.org": 1}
    for later in (7, 8, 30):
        assert remind(db, policies, deadline + timedelta(days=later)) == 0
    assert told(db, proposal, "proposal.escalated_to_chair") == {"council1@example.org": 1}
    assert [step for _, _, step, _ in alerts(db, proposal)] == [
        "reminder_7d",
        "reminder_2d",
        "escalated_to_chair",
        "escalated_to_qa",
    ]
    history = db.exec(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "proposal",
            AuditEvent.entity_id == proposal.id,
            col(AuditEvent.action).startswith("deadline."),
        )
    ).all()
    assert history == [
        "deadline.reminder_7d",
        "deadline.reminder_2d",
        "deadline.escalated_to_chair",
        "deadline.escalated_to_qa",
    ]


def test_a_sweep_that_was_down_sends_the_latest_reminder_only_and_escalates_in_order(
    db: Session, policies: Policies
) -> None:
    early, late = submitted(db, policies), submitted(db, policies)
    assert remind(db, policies, due(early) - timedelta(hours=1)) == 2  # one reminder each, not two
    assert [step for _, _, step, _ in alerts(db, early)] == ["reminder_2d"]
    assert remind(db, policies, due(late) + timedelta(days=10)) == 4  # chair, then QA office, for each
    assert [step for _, _, step, _ in alerts(db, late)] == ["reminder_2d", "escalated_to_chair", "escalated_to_qa"]
    escalations = db.exec(
        select(Notification.kind)
        .where(Notification.link == f"/proposals/{late.id}", col(Notification.kind).startswith("proposal.escalated"))
        .order_by(col(Notification.id))
    ).all()
    assert escalations == ["proposal.escalated_to_chair", "proposal.escalated_to_qa"]


def test_nothing_about_a_stage_that_has_ended(db: Session, policies: Policies) -> None:
    sent_back = submitted(db, policies)
    deadline = due(sent_back)
    for email in COUNCIL[:2]:
        vote(db, policies, sent_back, email, Choice.request_changes, comment="Rework the outcomes.")
    assert sent_back.status == "changes_requested"

    moved_on = submitted(db, policies, content=complete_content(title="Moved on"))
    for email in COUNCIL[:2]:
        vote(db, policies, moved_on, email, Choice.approve)
    assert moved_on.status == "lll_committee_review"
    assert moved_on.review_round == 2

    remind(db, policies, deadline + timedelta(days=30))
    assert alerts(db, sent_back) == []
    assert told(db, sent_back, "proposal.escalated_to_chair") == {}
    # Only the lifelong-learning committee's stage (round 2) is chased; the council's ended with its decision.
    assert {(round_, body) for round_, body, _, _ in alerts(db, moved_on)} == {(2, "lll_committee")}
    assert told(db, moved_on, "proposal.escalated_to_chair") == {"lll1@example.org": 1}


def test_a_resubmission_is_a_new_stage_with_its_own_reminders(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    first_due = due(proposal)
    assert remind(db, policies, first_due - timedelta(days=7)) == 1
    for email in COUNCIL[:2]:
        vote(db, policies, proposal, email, Choice.request_changes, comment="Rework the outcomes.")
    assert proposal.id is not None
    resubmit(db, policies, proposal)
    assert proposal.status == "faculty_council_review" and proposal.review_round == 2
    assert remind(db, policies, due(proposal) - timedelta(days=7)) == 1
    assert told(db, proposal, "proposal.reminder") == dict.fromkeys(COUNCIL, 2)
    assert [(r, step) for r, _, step, _ in alerts(db, proposal)] == [(1, "reminder_7d"), (2, "reminder_7d")]


def test_the_proposal_page_and_the_pipeline_show_when_a_stage_is_due(
    client: TestClient, db: Session, policies: Policies
) -> None:
    on_time = submitted(db, policies, content=complete_content(title="On time"))
    late = submitted(db, policies, content=complete_content(title="Running late"))
    late.stage_due_at = late.stage_entered_at - timedelta(days=3, hours=1)  # as if it had waited four weeks
    db.add(late)
    db.flush()

    login(client, "qa@example.org")
    page = client.get(f"/proposals/{on_time.id}").text
    stage_due = re.search(r'<dd id="stage-due">(.*?)</dd>', page, re.S)
    assert stage_due is not None
    assert f"{due(on_time):%Y-%m-%d}</time>" in stage_due.group(1)
    assert "overdue" not in stage_due.group(1)
    page = client.get(f"/proposals/{late.id}").text
    assert "overdue by 4 days" in page

    pipeline = client.get("/pipeline").text
    assert '<th scope="col">Due</th>' in pipeline
    rows = {
        title: row for row, title in re.findall(r"(<tr[^>]*>\s*<td[^>]*><a [^>]*>([^<]*)</a>.*?</tr>)", pipeline, re.S)
    }
    assert 'class="overdue"' in rows["Running late"] and "overdue by 4 days" in rows["Running late"]
    assert 'class="overdue"' not in rows["On time"] and f"{due(on_time):%Y-%m-%d}" in rows["On time"]
    rows_json = client.get("/api/v1/pipeline", headers={"accept": "application/json"}).json()["items"]
    by_title = {r["title"]: r for r in rows_json}
    assert by_title["Running late"]["overdue_days"] == 4
    assert by_title["On time"]["overdue_days"] == 0 and by_title["On time"]["due_at"]
    login(client, "council2@example.org")
    assert "overdue by 4 days" in client.get("/awaiting").text


def test_conditions_due_soon_and_overdue_are_each_told_once(db: Session, policies: Policies) -> None:
    policies = allowing_route_members(policies)
    council3 = actor_for(db, "council3@example.org")
    proposal = submitted(db, policies, kind=Kind.unbundled, co_proposers=[council3.id])
    due_on = date.today() + timedelta(days=20)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    vote(
        db,
        policies,
        proposal,
        "qa@example.org",
        Choice.approve_with_conditions,
        conditions=[{"text": "Publish the rubric.", "due_on": due_on}],
    )
    assert proposal.status == "published"
    run = partial(jobs.condition_reminders, db, policies=policies, base_url=BASE_URL)

    def at(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time()).replace(tzinfo=proposal.stage_entered_at.tzinfo)

    assert run(at(due_on - timedelta(days=8))) == 0
    assert run(at(due_on - timedelta(days=7))) == 1
    assert run(at(due_on - timedelta(days=3))) == 0
    assert told(db, proposal, "condition.due_soon") == {"academic@example.org": 1, "council3@example.org": 1}
    assert run(at(due_on)) == 0  # due today is not overdue yet
    assert run(at(due_on + timedelta(days=1))) == 1
    assert run(at(due_on + timedelta(days=9))) == 0
    assert told(db, proposal, "condition.overdue") == {"academic@example.org": 1, "council3@example.org": 1}
