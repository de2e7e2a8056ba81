"""The proposal pages and their JSON twins over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, func, select

from app import limits
from app.approvals.voting import Choice
from app.audit import service as audit
from app.audit import timeline as audit_timeline
from app.policies import Policies
from app.proposals import views
from app.proposals.elements import Kind
from app.proposals.models import Comment, Proposal
from tests.conftest import actor_for, api_headers, field_error, login, make_user, post_form
from tests.proposals.factories import approved_with_condition, complete_content, new_proposal, submitted, vote


def form_data(content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "standalone", "org_unit_id": "1"}
    for key, value in content.items():
        data[key] = "\n".join(value) if key in ("learning_outcomes", "awarding_bodies") else value
    data["languages"] = ", ".join(content.get("languages", []))
    data.update(extra)
    return data


def count(db: Session, model: type) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_academic_creates_a_draft_through_the_form(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    page = client.get("/proposals/new")
    assert page.status_code == 200
    assert "Example University" in page.text  # awarding body defaults from institution policy
    response = post_form(client, "/proposals/new", form_data(complete_content(), lo_1=["project"]))
    assert response.status_code == 303
    proposal = db.exec(select(Proposal).order_by(Proposal.id.desc())).first()  # type: ignore[union-attr]
    assert proposal is not None
    assert proposal.title == "Applied Data Analytics for Energy"
    assert proposal.content["learning_outcomes"][1] == "Design a dashboard for operational decisions"
    assert proposal.content["lo_assessment"] == {"1": ["project"]}
    assert proposal.content["awarding_bodies"] == ["Example University"]
    detail = client.get(response.headers["location"])
    assert "Submit for approval" in detail.text
    assert "Mandatory elements complete: 100%" in detail.text


def test_invalid_form_keeps_input_and_saves_nothing(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    before = count(db, Proposal)
    data = form_data(complete_content(title="Kept title", ects="45", hours="abc"))
    response = post_form(client, "/proposals/new", data)
    assert response.status_code == 422
    assert field_error(response.text, "ects") == "Must be between 1 and 30 ECTS."
    assert "whole number" in field_error(response.text, "hours")
    assert 'value="Kept title"' in response.text
    assert 'value="45"' in response.text
    assert count(db, Proposal) == before


def test_inline_check_returns_the_field_fragment(client: TestClient) -> None:
    login(client, "academic@example.org")
    headers = {"hx-request": "true"}
    bad = post_form(client, "/proposals/check?field=ects", {"kind": "standalone", "ects": "45"}, headers=headers)
    assert bad.status_code == 422
    assert "<html" not in bad.text
    assert field_error(bad.text, "ects") == "Must be between 1 and 30 ECTS."
    assert 'value="45"' in bad.text
    assert 'id="completeness"' in bad.text and 'data-hx-swap-oob="true"' in bad.text
    warn = post_form(client, "/proposals/check?field=ects", {"kind": "standalone", "ects": "20"}, headers=headers)
    assert warn.status_code == 200
    assert "recommended 5-15 ECTS" in warn.text
    outcome = post_form(
        client,
        "/proposals/check?field=learning_outcomes",
        {"kind": "standalone", "learning_outcomes": "Understand AI"},
        headers=headers,
    )
    assert outcome.status_code == 422
    assert "cannot be observed" in outcome.text
    assert 'id="field-lo_assessment"' in outcome.text  # the matrix follows the outcomes


def test_submitting_an_incomplete_proposal_lists_what_is_missing(
    client: TestClient, db: Session, policies: Policies
) -> None:
    content = complete_content()
    del content["need"]
    proposal = new_proposal(db, policies, content=content)
    login(client, "academic@example.org")
    response = post_form(client, f"/proposals/{proposal.id}/submit", headers={"hx-request": "true"})
    assert response.status_code == 422
    assert "missing: Need it answers" in response.text
    assert 'id="decision-panel"' in response.text and "<html" not in response.text
    db.refresh(proposal)
    assert proposal.status == "draft"


def test_vote_through_the_page_and_awaiting_count(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "council1@example.org")
    assert 'id="awaiting-count">1<' in client.get("/").text
    awaiting = client.get("/awaiting")
    assert proposal.title in awaiting.text
    page = client.get(f"/proposals/{proposal.id}")
    assert "Record my vote" in page.text
    assert 'aria-current="step"' in page.text
    refused = post_form(
        client, f"/proposals/{proposal.id}/votes", {"choice": "reject", "comment": ""}, headers={"hx-request": "true"}
    )
    assert refused.status_code == 422
    assert "comment is required" in refused.text
    ok = post_form(client, f"/proposals/{proposal.id}/votes", {"choice": "approve"})
    assert ok.status_code == 303
    assert 'id="awaiting-count">0<' in client.get("/").text
    assert "you voted: Approve" in client.get(f"/proposals/{proposal.id}").text


def test_proposer_cannot_vote_and_outsiders_cannot_see(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}")
    assert "Record my vote" not in page.text
    assert "Withdraw this proposal" in page.text
    assert post_form(client, f"/proposals/{proposal.id}/votes", {"choice": "approve"}).status_code == 403
    login(client, "humanities@example.org")
    assert client.get(f"/proposals/{proposal.id}").status_code == 404


def test_comments_are_threaded_and_edits_keep_history(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "council1@example.org")
    post_form(client, f"/proposals/{proposal.id}/comments", {"body": "Which employers?"})
    first = db.exec(select(Comment).where(Comment.proposal_id == proposal.id)).one()
    login(client, "academic@example.org")
    post_form(client, f"/proposals/{proposal.id}/comments", {"body": "GridCo and VoltNet.", "parent_id": first.id})
    assert post_form(client, f"/comments/{first.id}/edit", {"body": "mine now"}).status_code == 403
    login(client, "council1@example.org")
    post_form(client, f"/comments/{first.id}/edit", {"body": "Which employers, exactly?"})
    empty = post_form(client, f"/comments/{first.id}/edit", {"body": " "})
    assert empty.status_code == 422
    page = client.get(f"/proposals/{proposal.id}").text
    assert "Which employers, exactly?" in page
    assert "Earlier versions (1)" in page and "Which employers?" in page
    assert "GridCo and VoltNet." in page
    assert count(db, Comment) >= 2


def test_pipeline_filters_and_permissions(client: TestClient, db: Session, policies: Policies) -> None:
    a = submitted(db, policies, content=complete_content(title="Pipeline Alpha"))
    b = new_proposal(db, policies, content=complete_content(title="Pipeline Beta"))
    login(client, "academic@example.org")
    assert client.get("/pipeline").status_code == 403
    login(client, "qa@example.org")
    page = client.get("/pipeline?q=Pipeline")
    assert a.title in page.text and b.title in page.text
    filtered = client.get(
        "/pipeline?q=Pipeline&status=faculty_council_review",
        headers={"hx-request": "true", "hx-target": "pipeline-results"},
    )
    assert a.title in filtered.text and b.title not in filtered.text
    assert "<html" not in filtered.text
    api = client.get("/api/v1/pipeline?q=Pipeline&status=draft", headers=api_headers(client)).json()
    assert [row["title"] for row in api["items"]] == ["Pipeline Beta"]


def test_open_conditions_show_in_pipeline(client: TestClient, db: Session, policies: Policies) -> None:
    proposal, condition = approved_with_condition(
        db, policies, "Publish grading scheme", content=complete_content(title="Conditional one")
    )
    login(client, "qa@example.org")
    page = client.get("/pipeline?open_conditions=1")
    assert "Conditional one" in page.text
    login(client, "academic@example.org")
    assert "Publish grading scheme" in client.get(f"/proposals/{proposal.id}").text
    post_form(client, f"/conditions/{condition.id}/met", {"evidence": "Online since May"})
    login(client, "qa@example.org")
    post_form(client, f"/conditions/{condition.id}/confirm")
    db.refresh(condition)
    assert condition.status == "confirmed"


def test_a_refused_condition_action_says_why_beside_its_form_and_keeps_what_was_typed(
    client: TestClient, db: Session, policies: Policies
) -> None:
    """Too long or empty, the evidence is refused with the reason beside that condition's form, the text kept: as
    a page without JavaScript, as the conditions section for htmx. Nothing changes; a good report then goes through."""
    proposal, condition = approved_with_condition(db, policies, "Publish the grading scheme")
    login(client, "academic@example.org")
    typed = "e" * (limits.EVIDENCE + 1)
    page = post_form(client, f"/conditions/{condition.id}/met", {"evidence": typed, "condition_id": condition.id})
    assert page.status_code == 422
    assert f'value="{typed}"' in page.text
    assert field_error(page.text, f"evidence-{condition.id}").startswith("Must be at most")
    htmx = post_form(
        client,
        f"/conditions/{condition.id}/met",
        {"evidence": "   ", "condition_id": condition.id},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 422 and htmx.text.lstrip().startswith('<section id="conditions"')
    assert field_error(htmx.text, f"evidence-{condition.id}") == "Required."
    db.refresh(condition)
    assert condition.status == "open"
    done = post_form(client, f"/conditions/{condition.id}/met", {"evidence": "Online since May"})
    assert done.status_code == 303 and done.headers["location"] == f"/proposals/{proposal.id}"
    db.refresh(condition)
    assert condition.status == "met"
    assert post_form(client, "/conditions/999999/met", {"evidence": "x"}).status_code == 404
    login(client, "qa@example.org")
    reason = "r" * (limits.REASON + 1)
    refused = post_form(
        client, f"/conditions/{condition.id}/send-back", {"comment": reason, "condition_id": condition.id}
    )
    assert refused.status_code == 422 and f'value="{reason}"' in refused.text
    assert field_error(refused.text, f"comment-{condition.id}").startswith("Must be at most")


def test_a_conditions_transitions_appear_in_its_proposals_timeline(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal, condition = approved_with_condition(db, policies, "Publish the grading scheme")
    login(client, "academic@example.org")
    post_form(client, f"/conditions/{condition.id}/met", {"evidence": "Online since May"})
    login(client, "qa@example.org")
    post_form(client, f"/conditions/{condition.id}/send-back", {"comment": "The link is broken"})

    page = client.get(f"/proposals/{proposal.id}").text
    timeline = page.split('id="timeline"')[1]
    sent_back = timeline.index("Condition “Publish the grading scheme”: send back</strong>")
    reported = timeline.index("Condition “Publish the grading scheme”: report met</strong>")
    decided = timeline.index("(Faculty council review → ")
    assert sent_back < reported < decided  # newest first, the condition's rows among the proposal's
    assert "(Reported met → Open)" in timeline and "(Open → Reported met)" in timeline
    assert "“The link is broken”" in timeline and "“Online since May”" in timeline
    trail = client.get(f"/api/v1/proposals/{proposal.id}/audit", headers=api_headers(client)).json()
    assert [e["action"] for e in trail if e["entity_type"] == "condition"] == ["report_met", "send_back"]
    assert [e["id"] for e in trail] == sorted(e["id"] for e in trail)


def test_the_api_gives_a_long_audit_trail_page_by_page(client: TestClient, db: Session, policies: Policies) -> None:
    """The audit trail through the API: oldest first, at most ``limit`` entries, a Link header to the next page
    (the entries after the last one given) while more follow; all pages together are the whole trail, the
    conditions' entries among the proposal's, each entry once."""
    proposal, condition = approved_with_condition(db, policies, "Publish the grading scheme")
    assert proposal.id is not None and condition.id is not None
    for n in range(5):
        audit.record(db, actor_id=None, entity_type="proposal", entity_id=proposal.id, action=f"note {n}")
    audit.record(db, actor_id=None, entity_type="condition", entity_id=condition.id, action="condition note")
    db.commit()
    login(client, "council1@example.org")
    headers = api_headers(client)
    url = f"/api/v1/proposals/{proposal.id}/audit"
    whole = client.get(url, headers=headers)
    assert "link" not in whole.headers  # all of it fits the default page
    everything = [e["id"] for e in whole.json()]
    assert everything == sorted(everything) and len(everything) > 8
    assert "condition note" in [e["action"] for e in whole.json()]

    pages: list[list[int]] = []
    next_url: str | None = f"{url}?limit=3"
    while next_url is not None:
        answer = client.get(next_url, headers=headers)
        assert answer.status_code == 200
        pages.append([e["id"] for e in answer.json()])
        link = answer.headers.get("link")
        next_url = link.split(">")[0].lstrip("<") if link else None
        if next_url is not None:
            assert link is not None and link.endswith('; rel="next"') and f"after={pages[-1][-1]}" in next_url
    assert [len(page) for page in pages[:-1]] == [3] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 3
    assert [i for page in pages for i in page] == everything
    after_last = client.get(f"{url}?after={everything[-1]}", headers=headers)
    assert after_last.json() == [] and "link" not in after_last.headers
    for bad in ("limit=0", "limit=1001", "after=-1", "after=x"):
        refused = client.get(f"{url}?{bad}", headers=headers)
        assert refused.status_code == 422, bad


def test_a_long_timeline_shows_its_newest_entries_and_a_link_to_all(
    client: TestClient, db: Session, policies: Policies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_timeline, "SHOWN", 3)
    proposal = submitted(db, policies)
    assert proposal.id is not None
    for n in range(4):
        audit.record(db, actor_id=None, entity_type="proposal", entity_id=proposal.id, action=f"note {n}")
    db.commit()
    total = len(views.timeline(db, proposal.id).entries)
    login(client, "council1@example.org")

    page = client.get(f"/proposals/{proposal.id}").text.split('id="timeline"')[1].split("</section>")[0]
    assert page.count("<li>") == 3 and "note 3" in page and "note 1" in page and "note 0" not in page
    assert f'<a href="?timeline=all#timeline">Show all {total} events</a>' in page
    assert f"({total - 3} earlier events are not shown)" in page

    everything = client.get(f"/proposals/{proposal.id}?timeline=all").text.split('id="timeline"')[1]
    everything = everything.split("</section>")[0]
    assert everything.count("<li>") == total and "note 0" in everything and "Show all" not in everything


def test_a_refused_comment_re_renders_only_the_comments(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "academic@example.org")
    refused = post_form(client, f"/proposals/{proposal.id}/comments", {"body": " "}, headers={"hx-request": "true"})
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith('<section id="comments"')
    assert 'id="decision-panel"' not in refused.text and "<html" not in refused.text


def _statements_run(db: Session, run: Any) -> list[str]:
    """The statements ``run()`` sends, each on one line."""
    seen: list[str] = []
    engine = db.get_bind()

    def listener(*args: Any) -> None:
        seen.append(" ".join(args[2].split()))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def _statements(db: Session, run: Any) -> int:
    return len(_statements_run(db, run))


def test_list_pages_use_a_fixed_number_of_queries(client: TestClient, db: Session, policies: Policies) -> None:
    for i in range(12):
        submitted(db, policies, content=complete_content(title=f"Bulk {i}"))
    login(client, "council1@example.org")
    small = _statements(db, lambda: client.get("/awaiting?limit=2"))
    large = _statements(db, lambda: client.get("/awaiting?limit=12"))
    assert small == large
    login(client, "qa@example.org")
    small = _statements(db, lambda: client.get("/pipeline?limit=2"))
    large = _statements(db, lambda: client.get("/pipeline?limit=12"))
    assert small == large
    login(client, "academic@example.org")
    assert _statements(db, lambda: client.get("/proposals?limit=2")) == _statements(
        db, lambda: client.get("/proposals?limit=12")
    )


def test_the_proposal_page_reads_the_proposal_once_with_who_decides_it(
    client: TestClient, db: Session, policies: Policies
) -> None:
    """Checking who may see the proposal and showing who decides it take one read of its row, not two."""
    proposal = submitted(db, policies)
    title = proposal.title
    login(client, "council1@example.org")
    db.expunge_all()  # as in a request of its own: nothing of the proposal in the session yet
    pages = []
    seen = _statements_run(db, lambda: pages.append(client.get(f"/proposals/{proposal.id}")))
    [page] = pages
    assert page.status_code == 200 and title in page.text
    reads = [s for s in seen if s.startswith("SELECT proposal.id, proposal.credential_id") and "proposal.id =" in s]
    assert len(reads) == 1, reads
    assert "committee" in reads[0]  # the deciding committee came with it


def test_the_proposal_page_reads_names_conditions_and_lookups_once_each(
    client: TestClient, db: Session, policies: Policies
) -> None:
    """The voters' and the proposers' names come in one query, the proposal's conditions with those carried over
    from earlier editions in one, and the programme and module names in one."""
    proposal = submitted(db, policies, kind=Kind.unbundled)
    vote(db, policies, proposal, "council1@example.org", Choice.request_changes, comment="More on assessment.")
    db.commit()
    login(client, "council2@example.org")
    db.expunge_all()
    pages = []
    seen = _statements_run(db, lambda: pages.append(client.get(f"/proposals/{proposal.id}")))
    [page] = pages
    assert page.status_code == 200
    assert "Carla Chair" in page.text and "Alex Academic" in page.text  # a voter and the proposer, by name
    names = [s for s in seen if s.startswith("SELECT user_account.id, user_account.name FROM user_account")]
    assert len(names) == 1, names
    assert len([s for s in seen if " FROM condition " in f"{s} " and s.startswith("SELECT condition.id")]) == 1
    lookups = [s for s in seen if "FROM programme" in s or "FROM module" in s]
    assert len(lookups) == 1 and "FROM programme" in lookups[0] and "FROM module" in lookups[0], lookups


def test_api_twins_walk_the_whole_path(client: TestClient, db: Session) -> None:
    def as_user(email: str) -> dict[str, str]:
        login(client, email)
        return api_headers(client)

    headers = as_user("academic@example.org")
    created = client.post(
        "/api/v1/proposals", json={"kind": "unbundled", "elements": {"title": "Api only"}}, headers=headers
    )
    assert created.status_code == 201
    body = created.json()
    assert body["allowed_actions"] == ["edit", "submit", "withdraw"]
    assert "parent_module_id" in body["missing"]
    pid = body["id"]
    refused = client.post(f"/api/v1/proposals/{pid}/submit", headers=headers)
    assert refused.status_code == 422
    assert "missing" in refused.json()["detail"]
    programmes = client.get("/api/v1/programmes", headers=headers).json()
    cs = next(p for p in programmes if p["code"] == "BSC-CS")
    elements = complete_content(title="Api only", parent_programme_id=cs["id"], parent_module_id=cs["modules"][0]["id"])
    patched = client.patch(f"/api/v1/proposals/{pid}", json={"elements": elements}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["completeness"] == 100
    bad = client.patch(f"/api/v1/proposals/{pid}", json={"elements": {**elements, "ects": 45}}, headers=headers)
    assert bad.status_code == 422
    assert "ects" in bad.json()["errors"]
    assert client.post(f"/api/v1/proposals/{pid}/submit", headers=headers).json()["status"] == "faculty_council_review"

    for email in ("council1@example.org", "council2@example.org"):
        result = client.post(f"/api/v1/proposals/{pid}/votes", json={"choice": "approve"}, headers=as_user(email))
        assert result.status_code == 200, result.text
    assert result.json()["proposal_status"] == "qa_office_review"
    assert result.json()["decision"]["outcome"] == "approve"
    headers = as_user("qa@example.org")
    assert client.get("/api/v1/awaiting", headers=headers).json()["total"] >= 1
    changes = client.post(
        f"/api/v1/proposals/{pid}/votes", json={"choice": "request_changes", "comment": "Fix it"}, headers=headers
    )
    assert changes.json()["proposal_status"] == "changes_requested"
    comment = client.post(f"/api/v1/proposals/{pid}/comments", json={"body": "See the vote."}, headers=headers)
    assert comment.status_code == 201

    headers = as_user("academic@example.org")
    client.patch(f"/api/v1/proposals/{pid}", json={"elements": {**elements, "partners": "GridCo"}}, headers=headers)
    asked = client.get(f"/api/v1/proposals/{pid}/changes-requested", headers=headers).json()
    assert asked["round_label"] == "QA office, round 1"
    [point] = asked["points"]
    assert (point["comment"], point["choice"]) == ("Fix it", "Request changes")
    unanswered = client.post(f"/api/v1/proposals/{pid}/submit", headers=headers)
    assert unanswered.status_code == 422
    assert f"response-{point['key']}" in unanswered.json()["errors"]
    answered = client.post(
        f"/api/v1/proposals/{pid}/submit", json={"responses": {point["key"]: "Fixed."}}, headers=headers
    )
    assert answered.json()["status"] == "qa_office_review"
    assert client.get(f"/api/v1/proposals/{pid}/changes-requested", headers=headers).json() is None
    rounds = client.get(f"/api/v1/proposals/{pid}/rounds", headers=headers).json()
    assert [r["label"] for r in rounds] == ["Faculty council, round 1", "QA office, round 1", "QA office, round 2"]
    assert [v["voter_name"] for v in rounds[0]["votes"]] == ["Carla Chair", "Chris Council"]
    versions = client.get(f"/api/v1/proposals/{pid}/versions", headers=headers).json()
    assert [v["version_no"] for v in versions] == [1, 2]
    headers = as_user("qa@example.org")
    client.post(f"/api/v1/proposals/{pid}/votes", json={"choice": "approve"}, headers=headers)
    final = client.get(f"/api/v1/proposals/{pid}", headers=headers).json()
    assert final["status"] == "published"
    trail = client.get(f"/api/v1/proposals/{pid}/audit", headers=headers).json()
    assert [e["to_state"] for e in trail if e["from_state"]] == [
        "submitted",
        "faculty_council_review",
        "qa_office_review",
        "changes_requested",
        "submitted",
        "qa_office_review",
        "approved",
        "published",
    ]
    assert client.get("/api/v1/proposals/999999", headers=headers).status_code == 404

    headers = as_user("academic@example.org")
    revision = client.post(f"/api/v1/credentials/{final['credential_id']}/revisions", headers=headers)
    assert revision.status_code == 201
    assert revision.json()["revision_no"] == 2
    assert client.post(f"/api/v1/credentials/{final['credential_id']}/revisions", headers=headers).status_code == 409


def test_every_page_action_has_a_json_twin_in_openapi(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/api/v1/proposals",
        "/api/v1/proposals/check",
        "/api/v1/proposals/{proposal_id}",
        "/api/v1/proposals/{proposal_id}/submit",
        "/api/v1/proposals/{proposal_id}/withdraw",
        "/api/v1/proposals/{proposal_id}/publish",
        "/api/v1/proposals/{proposal_id}/votes",
        "/api/v1/proposals/{proposal_id}/comments",
        "/api/v1/comments/{comment_id}",
        "/api/v1/conditions/{condition_id}/met",
        "/api/v1/conditions/{condition_id}/confirm",
        "/api/v1/credentials/{credential_id}/revisions",
        "/api/v1/awaiting",
        "/api/v1/pipeline",
        "/api/v1/users",
        "/api/v1/committees",
        "/api/v1/programmes",
        "/api/v1/auth/tokens",
    ]:
        assert path in paths, path


def test_withdraw_from_the_page(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "academic@example.org")
    response = post_form(client, f"/proposals/{proposal.id}/withdraw", {"comment": "Not this year"})
    assert response.status_code == 303
    db.refresh(proposal)
    assert proposal.status == "withdrawn"
    assert "Withdrawn" in client.get(f"/proposals/{proposal.id}").text
    assert actor_for(db, "academic@example.org").is_academic


def test_changing_the_kind_updates_which_elements_are_required(client: TestClient) -> None:
    login(client, "academic@example.org")
    headers = {"hx-request": "true"}
    unbundled = post_form(client, "/proposals/check?field=kind", {"kind": "unbundled"}, headers=headers)
    assert unbundled.status_code == 200
    programme = unbundled.text.split('id="el-parent_programme_id"')[1].split('id="el-')[0]
    assert 'data-hx-swap-oob="true"' in unbundled.text
    assert 'aria-required="true"' in programme
    evidence = unbundled.text.split('id="el-labour_market_evidence"')[1].split('id="el-')[0]
    assert 'aria-required="true"' not in evidence
    standalone = post_form(client, "/proposals/check?field=kind", {"kind": "standalone"}, headers=headers)
    evidence = standalone.text.split('id="el-labour_market_evidence"')[1].split('id="el-')[0]
    assert 'aria-required="true"' in evidence


def test_pipeline_search_treats_wildcards_literally(client: TestClient, db: Session, policies: Policies) -> None:
    submitted(db, policies, content=complete_content(title="Rate 100% online"))
    submitted(db, policies, content=complete_content(title="Rate 1000 online"))
    login(client, "qa@example.org")
    rows = client.get("/api/v1/pipeline?q=100%25", headers=api_headers(client)).json()["items"]
    assert [r["title"] for r in rows] == ["Rate 100% online"]


def test_one_rule_for_the_pipeline_link_and_page(client: TestClient, db: Session, policies: Policies) -> None:
    """A QA-office member who is not a QA officer sees the pipeline, and its link; a council member sees neither."""
    from app.org import service as org
    from app.org.models import Committee, CommitteeKind, MemberSet

    member = make_user(db, password="correct-horse")
    qa_office = db.exec(select(Committee).where(Committee.kind == CommitteeKind.qa_office.value)).one()
    org.set_member(db, qa_office, MemberSet(user_id=member.id or 0), by=None, policies=policies)
    login(client, member.email, "correct-horse")
    assert 'href="/pipeline"' in client.get("/").text
    assert client.get("/pipeline").status_code == 200
    assert client.get("/api/v1/pipeline", headers=api_headers(client)).status_code == 200

    post_form(client, "/logout")
    login(client, "council1@example.org")
    assert 'href="/pipeline"' not in client.get("/").text
    assert client.get("/pipeline").status_code == 403
    assert client.get("/api/v1/pipeline", headers=api_headers(client)).status_code == 403
