"""The checklist page (htmx and plain form posts), its JSON API and the decision panel's gate."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.checklists.models import ChecklistResponse
from app.policies import Policies
from tests.checklists.helpers import QA, at_qa_office
from tests.conftest import api_headers, checklist_gate, field_error, login, post_form
from tests.proposals.factories import LETTER, submitted

HTMX = {"hx-request": "true"}


def test_api_lists_the_items_that_apply_and_answers_one(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies)
    login(client, QA)
    got = client.get(f"/api/v1/proposals/{proposal.id}/checklist", headers=api_headers(client))
    assert got.status_code == 200
    body = got.json()
    keys = [i["key"] for i in body["items"]]
    assert "learner-survey" not in keys  # a periodic review item
    assert body["answered"] == 0 and body["total"] == len(keys)
    assert {s["standard"] for s in body["standards"]} == {f"1.{n}" for n in range(1, 11)}
    hours = next(i for i in body["items"] if i["key"] == "ects-hours")
    assert hours["body"] == "qa_office" and hours["mandatory"] and hours["status"] == "unanswered"
    assert hours["automatic"]["status"] == "met" and "hours per ECTS" in hours["automatic"]["reasons"][0]
    assert hours["can_answer"] is True
    put = client.put(
        f"/api/v1/proposals/{proposal.id}/checklist/ects-hours",
        json={"status": "met", "evidence_text": "160 h for 6 ECTS.", "evidence_links": ["https://example.org/x"]},
        headers=api_headers(client),
    )
    assert put.status_code == 200, put.text
    answered = put.json()
    assert answered["status"] == "met" and answered["evidence"]["links"] == ["https://example.org/x"]
    assert answered["automatic_when_answered"]["status"] == "met"
    assert answered["answered_version"] == answered["item_version"]
    again = client.get(f"/api/v1/proposals/{proposal.id}/checklist", headers=api_headers(client)).json()
    assert again["answered"] == 1


def test_api_refusals(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies)
    url = f"/api/v1/proposals/{proposal.id}/checklist"
    login(client, "academic@example.org")  # the proposer
    assert client.get(url, headers=api_headers(client)).json()["items"][0]["can_answer"] is False
    refused = client.put(f"{url}/ects-hours", json={"status": "met"}, headers=api_headers(client))
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    login(client, QA)
    assert client.put(f"{url}/ects-hours", json={"status": "maybe"}, headers=api_headers(client)).status_code == 422
    assert client.put(f"{url}/nothing", json={"status": "met"}, headers=api_headers(client)).status_code == 404
    reason = client.put(f"{url}/qa-policy-scope", json={"status": "not_applicable"}, headers=api_headers(client))
    assert reason.status_code == 422 and "reason is required" in reason.json()["detail"]
    assert client.get("/api/v1/proposals/999999/checklist", headers=api_headers(client)).status_code == 404
    login(client, "humanities@example.org")  # an academic of another faculty: cannot see it
    assert client.get(url, headers=api_headers(client)).status_code == 404


def test_the_checklist_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/proposals/{proposal_id}/checklist" in paths
    put = paths["/api/v1/proposals/{proposal_id}/checklist/{key}"]["put"]
    assert put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ChecklistItemOut")


def test_page_saves_an_item_with_htmx_and_swaps_the_progress(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    login(client, QA)
    page = client.get(f"/proposals/{proposal.id}/checklist")
    assert page.status_code == 200
    assert 'id="item-qa-policy-scope"' in page.text and "0 of" in page.text
    saved = post_form(
        client,
        f"/proposals/{proposal.id}/checklist/qa-policy-scope",
        {"status": "met", "evidence_text": "Section 4"},
        headers=HTMX,
    )
    assert saved.status_code == 200
    assert saved.text.count('id="item-qa-policy-scope"') == 1
    assert "answered by Quinn Auditor on " in saved.text
    assert (
        'id="checklist-progress" class="panel checklist-progress" aria-labelledby="progress-heading" data-hx-swap-oob="true"'
        in saved.text
    )
    assert '<strong id="progress-overall">1 of' in saved.text
    assert 'id="saved-qa-policy-scope"' in saved.text and "toast" in saved.headers["hx-trigger"]


def test_page_without_javascript_and_errors_keep_what_was_typed(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    login(client, QA)
    url = f"/proposals/{proposal.id}/checklist/qa-policy-scope"
    plain = post_form(client, url, {"status": "met"})
    assert plain.status_code == 303 and plain.headers["location"].endswith("/checklist#item-qa-policy-scope")
    refused = post_form(client, url, {"status": "not_applicable", "evidence_text": "Typed before the error"})
    assert refused.status_code == 422
    assert "Typed before the error" in refused.text
    assert field_error(refused.text, "qa-policy-scope-comment") == "Required for not applicable."
    htmx = post_form(
        client, url, {"status": "not_met", "condition_text": "Fix", "condition_due_on": "soon"}, headers=HTMX
    )
    assert htmx.status_code == 422 and "Give the condition&#39;s due date as a date." in htmx.text
    row = db.exec(select(ChecklistResponse).where(ChecklistResponse.item_key == "qa-policy-scope")).one()
    assert row.status == "met"  # the refused posts changed nothing


def test_an_answer_can_attach_a_file_under_the_attachment_rules(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    login(client, QA)
    url = f"/proposals/{proposal.id}/checklist/qa-policy-scope"
    token = client.cookies["csrftoken"]
    sent = client.post(
        url, data={"csrftoken": token, "status": "met"}, files={"file": ("policy.pdf", LETTER, "application/pdf")}
    )
    assert sent.status_code == 303, sent.text
    row = db.exec(select(ChecklistResponse).where(ChecklistResponse.item_key == "qa-policy-scope")).one()
    assert len(row.attachment_ids) == 1
    page = client.get(f"/proposals/{proposal.id}/checklist")
    assert "policy.pdf" in page.text
    wrong = client.post(
        url, data={"csrftoken": token, "status": "met"}, files={"file": ("x.exe", b"MZ", "application/x-msdownload")}
    )
    assert wrong.status_code == 422 and "Files of this type cannot be attached" in wrong.text


def test_decision_panel_lists_what_is_missing_before_anyone_votes(
    client: TestClient, db: Session, policies: Policies, app
) -> None:
    proposal = submitted(db, policies)
    app.state.policies = checklist_gate(policies, True)
    try:
        login(client, "council1@example.org")
        page = client.get(f"/proposals/{proposal.id}")
        assert "The faculty council cannot approve until its ESG checklist is complete" in page.text
        assert "1.5 A named teaching team is in place and external teachers are vetted (unanswered)" in page.text
        assert f'href="/proposals/{proposal.id}/checklist"' in page.text
        refused = post_form(client, f"/proposals/{proposal.id}/votes", {"choice": "approve"}, headers=HTMX)
        assert refused.status_code == 422 and "The faculty council cannot approve yet" in refused.text
    finally:
        app.state.policies = policies


def test_proposer_reads_the_checklist(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}/checklist")
    assert (
        page.status_code == 200
        and 'id="read-only"' in page.text
        and '<form method="post" action="/proposals' not in page.text
    )
    refused = post_form(client, f"/proposals/{proposal.id}/checklist/qa-policy-scope", {"status": "met"})
    assert refused.status_code == 403
