"""The demo showcase (app.demo_showcase) on a fresh database, loaded by ``app.cli demo --if-empty`` as ``make run``
does: a living institution, checked through the app's own queries and pages rather than by counting rows.

The showcase is not in the shared test database (tests count things there); these tests load it into their own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.approvals import access, history, queries
from app.approvals import service as approvals
from app.approvals.models import Vote
from app.approvals.policy import ApprovalPolicy
from app.audit.models import AuditEvent
from app.catalogue import service as catalogue
from app.catalogue.service import CatalogueFilters
from app.cli import main
from app.db import make_engine, utcnow
from app.demo import DEMO_PASSWORD, load_demo
from app.demo_showcase import load_showcase
from app.external_qa.statement import get_record, statement
from app.main import create_app
from app.policies import load_policies
from app.proposals import service, views
from app.proposals.diff import diff_contents
from app.proposals.display import load_lookups
from app.proposals.models import Comment, Proposal
from app.security import Actor, load_actor
from app.settings import ROOT, Settings, get_settings
from app.users.models import User
from tests.conftest import TEST_SECRET, fresh_database_url, migrate

DECIDERS = [
    "council1@example.org",
    "council2@example.org",
    "council3@example.org",
    "lll1@example.org",
    "lll2@example.org",
    "qa@example.org",
    "humanities@example.org",
]


@dataclass(frozen=True)
class Loaded:
    url: str
    engine: Engine


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A fresh, migrated database with the demo loaded by the command line, as ``make run`` loads it."""
    url, drop = fresh_database_url(tmp_path_factory.mktemp("showcase"), "showcase")
    migrate(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCQA_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            assert main(["demo", "--if-empty"]) == 0
        finally:
            get_settings.cache_clear()
    engine = make_engine(url)
    yield Loaded(url, engine)
    engine.dispose()
    drop()


@pytest.fixture
def session(loaded: Loaded) -> Iterator[Session]:
    with Session(loaded.engine) as s:
        yield s
        s.rollback()


def actor(session: Session, email: str) -> Actor:
    return load_actor(session, session.exec(select(User).where(User.email == email)).one())


def proposals(session: Session) -> list[Proposal]:
    """Every showcase proposal, from its owners' "My proposals" lists."""
    seen: dict[int, Proposal] = {}
    for email in ("academic@example.org", "council2@example.org", "humanities@example.org", "historian@example.org"):
        rows, total = service.my_proposals(session, actor(session, email), limit=100)
        assert len(rows) == total
        seen.update({p.id: p for p in rows if p.id is not None})
    return list(seen.values())


def test_every_committee_member_and_the_qa_officer_has_proposals_awaiting_them(session: Session) -> None:
    tallies = 0
    for email in DECIDERS:
        member = actor(session, email)
        rows, total = queries.awaiting(session, member, offset=0, limit=25, now=utcnow())
        assert total >= 1, f"{email} has nothing awaiting a decision"
        assert queries.awaiting_count(session, member) == total
        tallies += sum(1 for r in rows if r.votes_cast > 0)
        for row in rows:  # never their own proposal
            proposal = access.get_proposal(session, row.id, member)
            assert member.id not in access.load_ctx(session, proposal).proposer_ids
    assert tallies >= 4, "some proposals should already have votes from others, so tallies show"


def test_proposals_in_review_have_been_there_for_a_while_one_is_due_soon_and_one_is_overdue(
    session: Session,
) -> None:
    """The review stages began days and weeks before the showcase was loaded (``app.db.as_of``), not all at once:
    the pipeline shows different days in stage, a decision due within the reminder window and an overdue one,
    and each proposal's timeline runs forward in time."""
    page = queries.pipeline(session, queries.PipelineFilter(), offset=0, limit=100, now=utcnow())
    in_review = [r for r in page.rows if r.status.endswith("_review")]
    days = {r.days_in_stage for r in in_review}
    assert len(days) >= 5 and max(days) >= 20, days
    assert any(r.overdue_days > 0 for r in in_review)
    assert any(r.due_at is not None and 0 < (r.due_at - utcnow()).days < 7 for r in in_review)
    for row in in_review:
        moments = session.exec(
            select(AuditEvent.at)
            .where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == row.id)
            .order_by(col(AuditEvent.id))
        ).all()
        assert moments == sorted(moments), row.title
    # Outside the showcase, the clock is the real one again.
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 60


def test_proposals_at_every_stage_in_both_kinds_and_faculties(session: Session) -> None:
    qa = actor(session, "qa@example.org")
    page = queries.pipeline(session, queries.PipelineFilter(), offset=0, limit=100, now=utcnow())
    for status in ("draft", "faculty_council_review", "lll_committee_review", "qa_office_review", "changes_requested"):
        assert page.counts.get(status, 0) >= 1, status
    assert "approved" not in page.counts  # the shipped policy publishes on approval
    everything = proposals(session)
    statuses = {p.status for p in everything}
    assert {"published", "rejected", "withdrawn"} <= statuses
    assert {p.kind for p in everything} == {"standalone", "unbundled"}
    assert len({p.org_unit_id for p in everything}) == 2
    # The owners' lists and the QA officer's view agree: the QA office sees every proposal.
    for p in everything:
        assert p.id is not None
        access.get_proposal(session, p.id, qa)
    assert sum(1 for p in everything if p.status == "draft") >= 2  # one just started, one nearly ready


def test_catalogue_has_published_credentials_with_two_editions(session: Session) -> None:
    items, total = catalogue.search(session, CatalogueFilters(), limit=100)
    assert total >= 5
    assert {i.kind.value for i in items} == {"standalone", "unbundled"}
    assert len({i.faculty for i in items}) == 2
    entries = [catalogue.get_entry(session, i.id) for i in items]
    revised = [e for e in entries if len(e.editions) >= 2]
    assert revised, "one credential should be in its second edition"
    entry = revised[0]
    assert entry.edition.change_type == "minor"
    assert entry.edition.changes  # "changes since the last edition"
    assert entry.diffs()
    first = catalogue.get_entry(session, entry.id, version_no=1)
    assert first.edition.to_text  # the first edition was in force until the second one
    assert first.shown.content != entry.shown.content


def test_the_external_qa_record_was_renewed_drafts_and_current_entries_say_so(session: Session) -> None:
    record = get_record(session)
    assert record is not None and record.deqar_report_id  # the renewal, with its report in DEQAR
    renewed = statement(record)
    drafts = [p for p in proposals(session) if p.status == "draft"]
    assert drafts and all(p.content["quality_assurance"] == renewed for p in drafts)
    items, _ = catalogue.search(session, CatalogueFilters(), limit=100)
    for item in items:
        entry = catalogue.get_entry(session, item.id)
        assert entry.public_elements().quality_assurance == renewed
        # Published before the renewal: the edition itself keeps the review it was approved under.
        assert entry.shown.content["quality_assurance"] != renewed
        assert "positive with conditions" in entry.shown.content["quality_assurance"]


def test_conditions_open_and_met_are_due_in_the_future(session: Session) -> None:
    page = queries.pipeline(
        session, queries.PipelineFilter(with_open_conditions=True), offset=0, limit=100, now=utcnow()
    )
    conditions = approvals.conditions_of(session, [r.id for r in page.rows])
    published = {r.id for r in page.rows if r.status == "published"}
    by_status = {c.status: c for cs in conditions.values() for c in cs if c.proposal_id in published}
    assert by_status["open"].due_on > date.today()
    assert by_status["met"].due_on > date.today()
    assert by_status["met"].evidence
    # A confirmed one too, on a published credential that no longer shows as having open conditions.
    statuses = {c.status for p in proposals(session) if p.id for c in views.conditions(session, p.id)}
    assert "confirmed" in statuses


def test_a_proposal_sent_back_and_resubmitted_has_a_redline_and_reviewers_comments(session: Session) -> None:
    lookups = load_lookups(session)
    resubmitted = [p for p in proposals(session) if p.id and len(views.versions(session, p.id)) >= 2]
    assert resubmitted
    proposal = resubmitted[0]
    assert proposal.id is not None
    assert proposal.status == "faculty_council_review"
    versions = views.versions(session, proposal.id)
    changes = diff_contents(versions[-2].content, versions[-1].content, lookups)
    assert {"learning_outcomes", "assessment_description"} <= {d.name for d in changes}
    sent_back = [d for d in history.decisions(session, proposal.id) if d.outcome == "request_changes"]
    assert sent_back and sent_back[0].comment
    # A revision under review shows its changes against the published edition.
    revisions = [p for p in proposals(session) if p.revision_no > 1 and p.status != "published"]
    assert revisions
    published = catalogue.published_content(session, revisions[0].credential_id)
    assert published is not None
    assert diff_contents(published, revisions[0].content, lookups)


def test_threaded_comments_on_several_proposals(session: Session) -> None:
    threaded = [
        p for p in proposals(session) if p.id and any(node.replies for node in views.comment_tree(session, p.id))
    ]
    assert len(threaded) >= 3


def test_demo_if_empty_again_changes_nothing(loaded: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    def counts() -> list[int]:
        with Session(loaded.engine) as s:
            return [
                s.exec(select(func.count()).select_from(t)).one() for t in (User, Proposal, Vote, Comment, AuditEvent)
            ]

    before = counts()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCQA_DATABASE_URL", loaded.url)
        get_settings.cache_clear()
        try:
            capsys.readouterr()
            assert main(["demo", "--if-empty"]) == 0
            assert "demo data not loaded" in capsys.readouterr().out
            assert main(["demo"]) == 1
        finally:
            get_settings.cache_clear()
    assert counts() == before


def test_every_showcase_page_renders_for_the_people_who_see_it(loaded: Loaded) -> None:
    """Each demo person's pages over the showcase: what a newcomer clicks first after ``make run``."""
    with Session(loaded.engine) as s:  # read first: on SQLite an open transaction would block the app's writes
        everything = proposals(s)
        credential_ids = [item.id for item in catalogue.search(s, CatalogueFilters(), limit=100)[0]]
        visible = {
            email: (member.in_qa_office, {p.id: access.can_view(s, p, member) for p in everything})
            for email in ["academic@example.org", *DECIDERS]
            for member in [actor(s, email)]
        }
    settings = Settings(
        database_url=loaded.url,
        secret_key=TEST_SECRET,
        run_scheduler=False,
        policy_dir=ROOT / "policies",
        log_level="WARNING",
    )
    app = create_app(settings)
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert client.get("/catalogue").status_code == 200
            for credential_id in credential_ids:
                assert client.get(f"/catalogue/{credential_id}").status_code == 200
            for email, (in_qa_office, can_view) in visible.items():
                client.cookies.clear()
                client.get("/login")
                response = client.post(
                    "/login",
                    data={"email": email, "password": DEMO_PASSWORD, "csrftoken": client.cookies["csrftoken"]},
                )
                assert response.status_code == 303, email
                for path in ("/", "/awaiting", "/proposals"):
                    assert client.get(path).status_code == 200, (email, path)
                if in_qa_office:
                    assert client.get("/pipeline").status_code == 200
                    assert client.get("/pipeline?open_conditions=1").status_code == 200
                for pid in [pid for pid, may in can_view.items() if may]:
                    assert client.get(f"/proposals/{pid}").status_code == 200, (email, pid)
    finally:
        app.state.engine.dispose()


def test_when_approval_does_not_publish_one_proposal_waits_for_the_qa_office(
    tmp_path: Path,
) -> None:
    policy_dir = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policy_dir)
    approval = policy_dir / "approval.yaml"
    approval.write_text(
        approval.read_text().replace("publish_on_approval: true", "publish_on_approval: false"), encoding="utf-8"
    )
    policies = load_policies(policy_dir)
    assert policies.of(ApprovalPolicy).publish_on_approval is False
    url, drop = fresh_database_url(tmp_path, "showcase_manual")
    try:
        migrate(url)
        engine = make_engine(url)
        try:
            with Session(engine) as s:
                load_demo(s, policies)
                load_showcase(s, policies)
                s.commit()
                page = queries.pipeline(s, queries.PipelineFilter(), offset=0, limit=100, now=utcnow())
                assert page.counts.get("approved") == 1
                _, total = catalogue.search(s, CatalogueFilters())
                assert total >= 5
        finally:
            engine.dispose()
    finally:
        drop()


def test_reviews_dashboard_shows_a_due_an_open_and_an_overdue_review_with_figures(session: Session) -> None:
    from app.offerings.models import Offering
    from app.reviews import queries as review_queries

    board = review_queries.dashboard(session, review_queries.ReviewFilters(), today=date.today())
    assert any(r.status == "scheduled" for r in board.due_soon.items)  # due soon, not open yet
    assert any(r.status == "open" and not r.overdue_days for r in board.open.items)
    assert any(r.kind == "full" for r in board.overdue.items)
    with_figures = session.exec(select(Offering).where(Offering.enrolled.is_not(None))).all()  # type: ignore[union-attr]
    assert len(with_figures) >= 3


def test_a_review_in_qa_assessment_has_part_of_its_checklist_answered(session: Session) -> None:
    from app.checklists.models import ChecklistResponse
    from app.reviews.models import Review

    (review,) = session.exec(select(Review).where(Review.status == "in_assessment")).all()
    answers = session.exec(
        select(ChecklistResponse).where(
            ChecklistResponse.subject_type == "review", ChecklistResponse.subject_id == review.id
        )
    ).all()
    assert len(answers) == 4 and {a.status for a in answers} >= {"met", "partly_met"}
