"""Decisions a proposer can act on: who asked for what, by name; answers per point on resubmission, shown beside the
redline; rounds counted per body; the stage bar and the route before submission; major or minor at once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from app.approvals import history
from app.approvals.history import ReviewResponse
from app.approvals.voting import Choice
from app.catalogue import service as catalogue
from app.catalogue.models import Credential
from app.errors import PolicyViolation
from app.org.models import Module
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from tests.conftest import actor_for, api_headers, login, post_form
from tests.proposals.factories import answers, new_proposal, resubmit, submitted, vote

COUNCIL = ("council1@example.org", "council2@example.org")


def sent_back_by_council(db: Session, policies: Policies) -> Proposal:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, COUNCIL[0], Choice.request_changes, comment="Name the employers.")
    vote(db, policies, proposal, COUNCIL[1], Choice.request_changes, comment="Outcome 3 is not assessable.")
    assert proposal.status == "changes_requested"
    return proposal


def test_changes_requested_lists_every_point_by_name_with_its_round(db: Session, policies: Policies) -> None:
    proposal = sent_back_by_council(db, policies)
    sent_back = history.changes_requested(db, proposal)
    assert sent_back is not None
    assert sent_back.round.label == "Faculty council, round 1"
    assert [(p.who, p.choice, p.comment) for p in sent_back.points] == [
        ("Carla Chair", "Request changes", "Name the employers."),
        ("Chris Council", "Request changes", "Outcome 3 is not assessable."),
    ]
    assert history.changes_requested(db, submitted(db, policies)) is None  # only while waiting for changes


def test_resubmitting_needs_an_answer_to_every_point_and_keeps_them(db: Session, policies: Policies) -> None:
    proposal = sent_back_by_council(db, policies)
    academic = actor_for(db, "academic@example.org")
    assert proposal.id is not None
    keys = list(answers(db, proposal))
    with pytest.raises(PolicyViolation, match="1 of 2 is not answered") as refused:
        service.submit(db, proposal.id, academic, policies, {keys[0]: "Added GridCo and VoltNet."})
    assert list(refused.value.errors) == [f"response-{keys[1]}"]
    assert "Chris Council" in refused.value.errors[f"response-{keys[1]}"]
    assert proposal.status == "changes_requested"

    service.submit(db, proposal.id, academic, policies, {keys[0]: "Added GridCo.", keys[1]: "  Reworded it. "})
    assert proposal.status == "faculty_council_review"
    stored = db.exec(select(ReviewResponse).where(ReviewResponse.proposal_id == proposal.id)).all()
    assert [(r.text, r.version_no) for r in stored] == [("Added GridCo.", 2), ("Reworded it.", 2)]
    shown = history.answers_with(db, proposal, 2)
    assert [(a.point.who, a.point.comment, a.response) for a in shown] == [
        ("Carla Chair", "Name the employers.", "Added GridCo."),
        ("Chris Council", "Outcome 3 is not assessable.", "Reworded it."),
    ]


def test_an_answer_longer_than_the_limit_is_refused(db: Session, policies: Policies) -> None:
    proposal = sent_back_by_council(db, policies)
    assert proposal.id is not None
    long = dict.fromkeys(answers(db, proposal), "x" * (history.RESPONSE_MAX + 1))
    with pytest.raises(PolicyViolation) as refused:
        service.submit(db, proposal.id, actor_for(db, "academic@example.org"), policies, long)
    assert all("at most 4,000 characters" in message for message in refused.value.errors.values())


def test_rounds_count_per_body_and_keep_earlier_votes(db: Session, policies: Policies) -> None:
    proposal = sent_back_by_council(db, policies)
    resubmit(db, policies, proposal)
    assert history.body_round(db, proposal) == "Faculty council, round 2"
    for email in COUNCIL:
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "lll_committee_review"
    rounds = history.rounds(db, proposal)
    assert [r.label for r in rounds] == [
        "Faculty council, round 1",
        "Faculty council, round 2",
        "Lifelong-learning committee, round 1",
    ]
    assert [(nv.voter, nv.vote.comment) for nv in rounds[0].votes] == [
        ("Carla Chair", "Name the employers."),
        ("Chris Council", "Outcome 3 is not assessable."),
    ]
    assert rounds[0].decision is not None and rounds[0].decision.outcome == "request_changes"
    assert rounds[1].decision is not None and rounds[1].decision.outcome == "approve"
    assert rounds[2].decision is None  # the committee has not decided yet


def test_the_route_before_submission_comes_from_the_submission_s_own_function(db: Session, policies: Policies) -> None:
    draft = new_proposal(db, policies)
    assert service.route_of(db, draft, policies) == ["faculty_council", "lll_committee", "qa_office"]
    unbundled = submitted(db, policies, kind=Kind.unbundled)
    assert service.route_of(db, unbundled, policies) == ["faculty_council", "qa_office"]


def published_revision(db: Session, policies: Policies) -> Proposal:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    for email in (*COUNCIL, "qa@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "published"
    return service.open_revision(db, proposal.credential_id, actor_for(db, "academic@example.org"), policies)


def test_a_revision_is_major_as_soon_as_a_major_field_changes(db: Session, policies: Policies) -> None:
    revision = published_revision(db, policies)
    academic = actor_for(db, "academic@example.org")
    assert revision.id is not None
    assert (revision.change_type, service.route_of(db, revision, policies)) == ("minor", ["qa_office"])
    service.update_proposal(db, revision.id, academic, policies, dict(revision.content, ects=5, hours=130))
    assert revision.change_type == "major"
    assert service.route_of(db, revision, policies) == ["faculty_council", "qa_office"]
    service.update_proposal(db, revision.id, academic, policies, dict(revision.content, ects=6, hours=160))
    assert revision.change_type == "minor"  # back as published: minor again


# --- pages -------------------------------------------------------------------------------------


def test_the_proposer_sees_every_reason_by_name_and_answers_them(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = sent_back_by_council(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}").text
    top = page.index('id="changes-requested"')
    assert top < page.index('id="workflow-heading"')  # at the top
    section = page[top : page.index("</section>", top)]
    assert "Changes requested: Faculty council, round 1" in section
    assert "Carla Chair" in section and "Name the employers." in section
    assert "Chris Council" in section and "Outcome 3 is not assessable." in section
    assert "next:" not in page
    assert "Changes requested by the faculty council." in page
    stages = re.findall(r'class="step step-(\w+)"', page)
    assert stages == ["done", "done", "stopped", "todo", "todo", "todo", "todo"]
    keys = list(answers(db, proposal))
    assert all(f'name="response-{key}"' in page for key in keys)

    refused = post_form(client, f"/proposals/{proposal.id}/submit", {f"response-{keys[0]}": "Added GridCo."})
    assert refused.status_code == 422
    assert "1 of 2 is not answered" in refused.text
    assert f'href="#f-response-{keys[1]}">Your response to Chris Council</a>' in refused.text
    assert "Added GridCo." in refused.text  # what was typed is kept

    data = {f"response-{keys[0]}": "Added GridCo.", f"response-{keys[1]}": "Reworded outcome 3."}
    assert post_form(client, f"/proposals/{proposal.id}/submit", data).status_code == 303
    db.refresh(proposal)
    assert proposal.status == "faculty_council_review"


def test_the_council_sees_the_answers_beside_the_redline(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = sent_back_by_council(db, policies)
    academic = actor_for(db, "academic@example.org")
    assert proposal.id is not None
    service.update_proposal(db, proposal.id, academic, policies, dict(proposal.content, partners="GridCo"))
    keys = list(answers(db, proposal))
    service.submit(db, proposal.id, academic, policies, {keys[0]: "Named GridCo.", keys[1]: "Kept: it is assessed."})
    login(client, COUNCIL[0])
    page = client.get(f"/proposals/{proposal.id}").text
    block = page[page.index('class="redline-with-answers has-answers"') :]
    block = block[: block.index("</aside>")]
    assert 'id="redline-1"' in block and "GridCo" in block
    assert "The proposer's response to the points raised" in block
    assert "Name the employers." in block and "Named GridCo." in block
    assert "Kept: it is assessed." in block
    assert "Votes so far: Faculty council, round 2" in page
    rounds = page[page.index('id="rounds"') :]
    assert "Faculty council, round 1: Request changes" in rounds and "Name the employers." in rounds


def test_a_draft_shows_the_route_it_will_take(client: TestClient, db: Session, policies: Policies) -> None:
    draft = new_proposal(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{draft.id}").text
    assert 'id="route-planned"' in page
    labels = re.findall(r'<span class="step-label">([^<]+)</span>', page)
    assert labels[2:5] == ["Faculty council review", "Lifelong-learning committee review", "QA office review"]


def test_a_minor_revision_shows_the_qa_office_only(client: TestClient, db: Session, policies: Policies) -> None:
    revision = published_revision(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{revision.id}").text
    labels = re.findall(r'<span class="step-label">([^<]+)</span>', page)
    assert labels == ["Draft", "Submitted", "QA office review", "Approved", "Published"]
    assert '<span id="change-type">minor change</span>' in page


def test_the_revision_form_marks_major_fields_and_says_major_or_minor_as_one_types(
    client: TestClient, db: Session, policies: Policies
) -> None:
    revision = published_revision(db, policies)
    login(client, "academic@example.org")
    form = client.get(f"/proposals/{revision.id}/edit").text
    assert "this revision is a <strong>minor change</strong>: it goes to QA office." in form
    hints = dict(re.findall(r'<p class="hint" id="h-(\w+)">([^<]*)</p>', form))
    assert "Major: changing it" in hints["ects"] and "Major: changing it" in hints["eqf_level"]
    assert "Major" not in hints.get("title", "")
    assert f'name="revision_id" value="{revision.id}"' in form

    typed = {k: v for k, v in revision.content.items() if isinstance(v, str | int | float)}
    typed.update(kind="unbundled", revision_id=str(revision.id), ects="5", hours="130")
    check = post_form(client, "/proposals/check?field=ects", typed)
    assert check.status_code == 200
    notice = check.text[check.text.index('id="change-type-notice"') :]
    assert 'data-hx-swap-oob="true"' in notice[:200]
    assert "<strong>major change</strong>: it goes to Faculty council, then QA office." in notice
    db.refresh(revision)
    assert revision.change_type == "minor"  # nothing saved by a check


def test_checking_a_proposal_one_may_not_see_is_refused(client: TestClient, db: Session, policies: Policies) -> None:
    revision = published_revision(db, policies)
    login(client, "humanities@example.org")
    check = post_form(client, "/proposals/check?field=title", {"kind": "unbundled", "revision_id": str(revision.id)})
    assert check.status_code == 404


# --- voting rules in sight ---------------------------------------------------------------------


def test_the_vote_panel_shows_the_rule_quorum_votes_and_what_each_outcome_needs(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, COUNCIL[0], Choice.approve)
    login(client, COUNCIL[1])
    page = client.get(f"/proposals/{proposal.id}").text
    panel = page[page.index('id="vote-rule"') :]
    panel = panel[: panel.index("</div>")]
    assert "How the faculty council decides (Faculty council, round 1)" in panel
    assert "Majority: more than half of the votes cast" in panel and "tie broken by the chair" in panel
    assert '<dd id="votes-cast">1 of 3 eligible members</dd>' in panel
    assert '<dd id="quorum">2 votes</dd>' in panel
    assert "<li>Approve: 1 more vote</li>" in panel
    assert "<li>Request changes: 2 more votes</li>" in panel
    api = client.get(f"/api/v1/proposals/{proposal.id}/voting").json()
    assert api["voted"] == 1 and api["eligible"] == 3 and api["quorum"] == 2
    assert api["needed"] == {"approve": 1, "request_changes": 2, "reject": 2}


def test_a_tie_is_broken_by_the_chair_and_the_decision_says_so(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, COUNCIL[1], Choice.reject, comment="Not at this level.")
    vote(db, policies, proposal, "council3@example.org", Choice.approve)
    result = vote(db, policies, proposal, COUNCIL[0], Choice.request_changes, comment="Rework the outcomes.")
    assert result.decision is not None
    assert result.decision.tally["reason"] == "tie broken by the chair"
    assert proposal.status == "changes_requested"
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}").text
    assert "tie broken by the chair" in page[page.index('id="changes-requested"') :]


# --- editions and revisions --------------------------------------------------------------------


def test_opening_a_second_revision_leads_to_the_open_one(client: TestClient, db: Session, policies: Policies) -> None:
    revision = published_revision(db, policies)
    login(client, "academic@example.org")
    again = post_form(client, f"/credentials/{revision.credential_id}/revisions")
    assert again.status_code == 303
    assert again.headers["location"] == f"/proposals/{revision.id}"
    page = client.get(again.headers["location"])
    assert "Revision 2 is already open: continue it here." in page.text
    count = db.exec(select(Proposal).where(Proposal.credential_id == revision.credential_id)).all()
    assert len(count) == 2


def test_a_superseded_edition_offers_no_actions_and_its_open_conditions_carry_over(
    client: TestClient, db: Session, policies: Policies
) -> None:
    first = submitted(db, policies, kind=Kind.unbundled)
    conditions = [{"text": "Publish the rubric", "due_on": "2031-01-31"}]
    vote(db, policies, first, COUNCIL[0], Choice.approve_with_conditions, conditions=conditions)
    vote(db, policies, first, COUNCIL[1], Choice.approve)
    vote(db, policies, first, "qa@example.org", Choice.approve)
    assert first.status == "published"
    academic = actor_for(db, "academic@example.org")
    revision = service.open_revision(db, first.credential_id, academic, policies)
    assert revision.id is not None
    service.update_proposal(db, revision.id, academic, policies, dict(revision.content, further_information="Spring."))
    service.submit(db, revision.id, academic, policies)
    vote(db, policies, revision, "qa@example.org", Choice.approve)
    assert revision.status == "published"

    login(client, "academic@example.org")
    old = client.get(f"/proposals/{first.id}").text
    assert 'id="superseded"' in old and "superseded by edition 2" in old
    assert "Open a revision" not in old
    assert "Report as met" not in old and "carried over to edition 2" in old
    current = client.get(f"/proposals/{revision.id}").text
    assert "Publish the rubric" in current and "carried over from an earlier edition" in current
    assert "Report as met" in current
    trail = client.get(f"/api/v1/proposals/{first.id}/audit", headers={}).json()
    assert any(e["action"] == "condition.carried_over" and "edition 2" in e["comment"] for e in trail)


def test_my_proposals_lists_one_row_per_micro_credential_and_the_dashboard_agrees(
    client: TestClient, db: Session, policies: Policies
) -> None:
    login(client, "academic@example.org")
    before = client.get("/api/v1/my-micro-credentials?limit=100").json()["total"]
    revision = published_revision(db, policies)  # edition 1 published, revision 2 open as a draft
    listing = client.get("/api/v1/my-micro-credentials?limit=100").json()
    assert listing["total"] == before + 1
    row = next(r for r in listing["items"] if r["credential_id"] == revision.credential_id)
    assert row["open_proposal_id"] == revision.id and row["status"] == "draft"
    assert row["current_proposal_id"] is not None

    page = client.get("/proposals?limit=100").text
    assert page.count(f'<a href="/proposals/{revision.id}">') == 2  # title and "under way", in one row
    assert f'<a href="/proposals/{row["current_proposal_id"]}">Published</a> (revision 1)' in page

    summary = service.my_summary(db, actor_for(db, "academic@example.org"))
    published_mine = db.exec(
        select(Proposal.credential_id).where(Proposal.owner_id == revision.owner_id, Proposal.status == "published")
    ).all()
    assert summary.get("published", 0) == len(set(published_mine))  # one per micro-credential in the catalogue
    dashboard = client.get("/").text
    assert f"<li><strong>{summary['published']}</strong> published</li>" in dashboard


def test_an_approved_revision_takes_effect_on_the_date_the_proposer_set_and_the_last_body_confirmed(
    client: TestClient, db: Session, policies: Policies
) -> None:
    revision = published_revision(db, policies)
    academic = actor_for(db, "academic@example.org")
    assert revision.id is not None
    with pytest.raises(PolicyViolation, match="after today"):
        service.set_effective_date(db, revision.id, academic, policies, date.today())
    intake = date.today() + timedelta(days=40)
    login(client, "academic@example.org")
    saved = post_form(client, f"/proposals/{revision.id}/effective-date", {"effective_on": intake.isoformat()})
    assert saved.status_code == 303
    db.refresh(revision)
    assert revision.effective_on == intake
    content = dict(revision.content, further_information="From the autumn intake.")
    service.update_proposal(db, revision.id, academic, policies, content)
    service.submit(db, revision.id, academic, policies)

    login(client, "qa@example.org")
    panel = client.get(f"/proposals/{revision.id}").text
    assert f"Approving confirms that the changes take effect on {intake.isoformat()}" in panel
    result = vote(db, policies, revision, "qa@example.org", Choice.approve)
    assert result.decision is not None and f"takes effect on {intake.isoformat()}" in result.decision.tally["reason"]
    assert revision.status == "published"

    credential = db.get(Credential, revision.credential_id)
    assert credential is not None and credential.current_version_no == 1  # the current edition stays until then
    entry = client.get(f"/catalogue/{credential.id}").text
    assert f'Changes from <time datetime="{intake.isoformat()}">{intake.isoformat()}</time>' in entry
    api = client.get(f"/api/v1/catalogue/{credential.id}").json()
    assert api["version_no"] == 1 and api["changes_from"].startswith(intake.isoformat())

    day_before = datetime.combine(intake, time.min, tzinfo=UTC) - timedelta(seconds=1)
    assert catalogue.apply_due_editions(db, day_before) == 0
    assert catalogue.apply_due_editions(db, day_before + timedelta(days=1)) == 1
    db.refresh(credential)
    assert credential.current_version_no == 2
    assert catalogue.apply_due_editions(db, day_before + timedelta(days=2)) == 0  # once only
    assert "Changes from" not in client.get(f"/catalogue/{credential.id}").text


def test_only_a_revision_can_take_effect_later(client: TestClient, db: Session, policies: Policies) -> None:
    draft = new_proposal(db, policies)
    login(client, "academic@example.org")
    later = (date.today() + timedelta(days=10)).isoformat()
    headers = api_headers(client)
    refused = client.put(f"/api/v1/proposals/{draft.id}/effective-date", json={"effective_on": later}, headers=headers)
    assert refused.status_code == 422
    assert "only a revision" in refused.json()["detail"]


def test_the_redline_names_the_modules_on_both_sides_and_the_page_loads_only_those(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    vote(db, policies, proposal, COUNCIL[0], Choice.request_changes, comment="Wrong module.")
    vote(db, policies, proposal, COUNCIL[1], Choice.request_changes, comment="Wrong module.")
    assert proposal.id is not None and proposal.status == "changes_requested"
    other = db.exec(select(Module).where(Module.code == "CS330")).one()
    owner = actor_for(db, "academic@example.org")
    service.update_proposal(db, proposal.id, owner, policies, {**proposal.content, "parent_module_id": other.id})
    resubmit(db, policies, proposal)
    db.commit()

    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    login(client, "academic@example.org")
    event.listen(db.get_bind(), "before_cursor_execute", record)
    try:
        page = client.get(f"/proposals/{proposal.id}")
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", record)
    assert page.status_code == 200
    redline = page.text.split("Changes in submission 2 against submission 1", 1)[1]
    assert "Machine Learning (CS320)" in redline and "Cybersecurity Essentials (CS330)" in redline
    # the names the page needs, not every module of the institution
    module_reads = [s for s in statements if "FROM module" in s]
    assert module_reads and all("WHERE module.id IN" in " ".join(s.split()) for s in module_reads)
