"""Two sweepers at the same moment over many stages that are due: every reminder, escalation and "nobody may vote"
report is sent exactly once.

The sweepers call the jobs directly, on real connections committing in parallel threads, without the sweep's
advisory lock: what keeps them apart is what each job does itself (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED
on the proposals, the unique insert of each alert, the compare-and-set on an unsent alert; SQLite: one writer at a
time). What these tests commit they delete afterwards.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.approvals import jobs
from app.approvals.models import StageAlert
from app.audit.models import AuditEvent
from app.catalogue.models import Credential
from app.jobs import scheduled_jobs
from app.notifications.models import Notification, OutboxMessage
from app.org.models import Committee, OrgUnit
from app.policies import Policies
from app.proposals.models import Proposal
from app.scheduler import sweep
from app.settings import Settings
from app.users.models import User
from tests.cleanup import forget_reviews_of
from tests.notifications.test_concurrency import run_together

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BASE_URL = "https://mcqa.uni.example"
PER_WINDOW = 60  # stages in each of: the 7-day reminder, the 2-day reminder, overdue past both escalations
TAKEN_OVER = 30  # stages taken over by the QA office, with the report to it not sent yet
TITLE = "Two sweepers"


def _stage(credential: Credential, owner: int, unit: int, due_at: datetime, **values: object) -> Proposal:
    assert credential.id is not None
    return Proposal.model_validate(
        {
            "credential_id": credential.id,
            "kind": "standalone",
            "org_unit_id": unit,
            "owner_id": owner,
            "title": TITLE,
            "status": "faculty_council_review",
            "route": ["faculty_council", "lll_committee", "qa_office"],
            "current_body": "faculty_council",
            "review_round": 1,
            "submission_count": 1,
            "stage_entered_at": due_at - timedelta(days=21),
            "stage_due_at": due_at,
            **values,
        }
    )


def _id(value: int | None) -> int:
    assert value is not None
    return value


@pytest.fixture
def due_stages(engine: Engine) -> Iterator[dict[str, list[int]]]:
    """Committed proposals waiting at a faculty council, in each alert window at NOW; deleted afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        academic = _id(session.exec(select(User.id).where(User.email == "academic@example.org")).one())
        humanist = _id(session.exec(select(User.id).where(User.email == "humanities@example.org")).one())
        science = _id(session.exec(select(OrgUnit.id).where(OrgUnit.code == "SCI")).one())
        humanities = _id(session.exec(select(OrgUnit.id).where(OrgUnit.code == "HUM")).one())
        qa_office = session.exec(select(Committee.id).where(Committee.name == "QA Office")).one()
        made: dict[str, list[Proposal]] = {"reminder_7d": [], "reminder_2d": [], "overdue": [], "taken_over": []}
        windows = {
            "reminder_7d": NOW + timedelta(days=5),
            "reminder_2d": NOW + timedelta(days=1),
            "overdue": NOW - timedelta(days=8),
        }
        for window, due_at in windows.items():
            for _ in range(PER_WINDOW):
                credential = Credential(kind="standalone", org_unit_id=science, owner_id=academic)
                session.add(credential)
                session.flush()
                made[window].append(_stage(credential, academic, science, due_at))
        for _ in range(TAKEN_OVER):  # proposed by the Humanities council's only member: the QA office decides
            credential = Credential(kind="standalone", org_unit_id=humanities, owner_id=humanist)
            session.add(credential)
            session.flush()
            made["taken_over"].append(
                _stage(
                    credential,
                    humanist or 0,
                    humanities or 0,
                    NOW + timedelta(days=10),
                    deciding_committee_id=qa_office,
                )
            )
        session.add_all([p for group in made.values() for p in group])
        session.flush()
        for p in made["taken_over"]:
            assert p.id is not None
            session.add(StageAlert(proposal_id=p.id, review_round=1, body="faculty_council", step="no_eligible_voter"))
        session.commit()
        ids = {window: [p.id for p in group if p.id is not None] for window, group in made.items()}
        credentials = [p.credential_id for group in made.values() for p in group]
    yield ids
    every = [pid for group in ids.values() for pid in group]
    links = [f"/proposals/{pid}" for pid in every]
    with Session(engine) as session:
        mails = session.exec(select(Notification.outbox_message_id).where(col(Notification.link).in_(links))).all()
        session.execute(delete(Notification).where(col(Notification.link).in_(links)))
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_([m for m in mails if m is not None])))
        session.execute(
            delete(AuditEvent).where(col(AuditEvent.entity_type) == "proposal", col(AuditEvent.entity_id).in_(every))
        )
        session.execute(delete(StageAlert).where(col(StageAlert.proposal_id).in_(every)))
        session.execute(delete(Proposal).where(col(Proposal.id).in_(every)))
        forget_reviews_of(session, credentials)
        session.execute(delete(Credential).where(col(Credential.id).in_(credentials)))
        session.commit()


def _sweep_once(session: Session, policies: Policies) -> int:
    reported = jobs.report_no_eligible_voter(session, NOW, base_url=BASE_URL, batch=5)
    return reported + jobs.remind_and_escalate(session, NOW, policies=policies, base_url=BASE_URL, batch=5)


def test_two_sweepers_send_each_stage_alert_exactly_once(
    engine: Engine, settings: Settings, policies: Policies, due_stages: dict[str, list[int]]
) -> None:
    started = time.monotonic()
    handled = run_together(engine, lambda session: _sweep_once(session, policies))
    elapsed = time.monotonic() - started

    every = [pid for group in due_stages.values() for pid in group]
    with Session(engine) as session:
        alerts = session.exec(
            select(StageAlert.proposal_id, StageAlert.step, StageAlert.recipients).where(
                col(StageAlert.proposal_id).in_(every)
            )
        ).all()
        told = session.exec(
            select(Notification.user_id, Notification.kind, Notification.link).where(
                col(Notification.link).in_([f"/proposals/{pid}" for pid in every])
            )
        ).all()
    steps = Counter((pid, step) for pid, step, _ in alerts)
    expected = {
        **{(pid, "reminder_7d"): 1 for pid in due_stages["reminder_7d"]},
        **{(pid, "reminder_2d"): 1 for pid in due_stages["reminder_2d"]},
        **{(pid, "escalated_to_chair"): 1 for pid in due_stages["overdue"]},
        **{(pid, "escalated_to_qa"): 1 for pid in due_stages["overdue"]},
        **{(pid, "no_eligible_voter"): 1 for pid in due_stages["taken_over"]},
    }
    assert dict(steps) == expected  # the unique key allows no more; every due alert is there
    # Each person told once about each stage and step: three council members reminded, the chair, the QA officer.
    per_person = Counter(told)
    assert set(per_person.values()) == {1}
    kinds = Counter(kind for _, kind, _ in told)
    assert kinds == {
        "proposal.reminder": 3 * 2 * PER_WINDOW,
        "proposal.escalated_to_chair": PER_WINDOW,
        "proposal.escalated_to_qa": PER_WINDOW,
        "proposal.no_eligible_voter": TAKEN_OVER,
    }
    assert sum(handled) == len(expected)
    print(f"\n{engine.dialect.name}: {len(expected)} stage alerts, sweepers sent {handled}, {elapsed:.2f} s")
    # On PostgreSQL both sweepers work side by side (SKIP LOCKED); on SQLite one writer at a time.
    assert all(n > 0 for n in handled) or engine.dialect.name == "sqlite"

    # A later sweep (the application's jobs, in their order) finds nothing left to send about these stages.
    approvals = [job for job in scheduled_jobs(settings, policies) if job.name.startswith("approvals.")]
    assert sweep(engine, approvals, now=NOW + timedelta(hours=1)) == {
        "approvals.report_no_eligible_voter": 0,
        "approvals.remind_and_escalate": 0,
        "approvals.condition_reminders": 0,
    }
