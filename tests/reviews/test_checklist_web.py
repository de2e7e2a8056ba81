"""A review's ESG checklist on the web: the review page's checklist section (progress, what stops the outcome, the
link to answer it), the checklist page shared with proposals (plain form and htmx saves, the owner reading it), the
refused outcome on the page, the snapshot shown after it, and the JSON twins under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.policies import Policies
from tests.conftest import api_headers, checklist_gate, login, post_form
from tests.reviews.checklist_helpers import answer, answer_mandatory, in_assessment, opened

QA = "qa@example.org"
OWNER = "academic@example.org"  # the owner of the micro-credentials tests publish
HTMX = {"hx-request": "true"}


def test_the_qa_office_answers_from_the_review_page(client: TestClient, db: Session, policies: Policies) -> None:
    review = in_assessment(db, policies)
    login(client, QA)
    page = client.get(f"/reviews/{review.id}")
    section = page.text.split('id="review-checklist"')[1].split("</section>")[0]
    total = section.split('id="checklist-progress">0 of ')[1].split("<")[0]
    assert int(total) > 10
    assert f'href="/reviews/{review.id}/checklist" id="open-checklist">Answer the ESG checklist' in section

    listed = client.get(f"/reviews/{review.id}/checklist")
    assert listed.status_code == 200
    assert f'<a href="/reviews/{review.id}" id="back-to-subject">' in listed.text
    assert f'action="/reviews/{review.id}/checklist/learner-survey"' in listed.text
    assert 'name="file"' not in listed.text and "condition of approval" not in listed.text
    assert "The QA office answers the review items while the review is in QA assessment" in listed.text

    saved = post_form(client, f"/reviews/{review.id}/checklist/learner-survey", {"status": "met"})
    assert (
        saved.status_code == 303 and saved.headers["location"] == f"/reviews/{review.id}/checklist#item-learner-survey"
    )
    swapped = post_form(
        client,
        f"/reviews/{review.id}/checklist/appeals-route",
        {"status": "partly_met", "comment": "Only for enrolled students."},
        headers=HTMX,
    )
    assert swapped.status_code == 200 and 'id="saved-appeals-route"' in swapped.text
    assert 'id="progress-overall">2 of' in swapped.text and 'data-hx-swap-oob="true"' in swapped.text
    refused = post_form(
        client, f"/reviews/{review.id}/checklist/appeals-route", {"status": "not_applicable"}, headers=HTMX
    )
    assert refused.status_code == 422 and "a reason is required" in refused.text
    assert 'id="checklist-progress">2 of' in client.get(f"/reviews/{review.id}").text


def test_the_owner_reads_the_review_checklist(client: TestClient, db: Session, policies: Policies) -> None:
    review = in_assessment(db, policies)
    answer(db, policies, review, "learner-survey", evidence_text="Survey results attached to the report.")
    login(client, OWNER)
    page = client.get(f"/reviews/{review.id}")
    assert 'id="open-checklist">Read the ESG checklist' in page.text
    listed = client.get(f"/reviews/{review.id}/checklist")
    assert (
        'id="read-only"' in listed.text
        and f'<form method="post" action="/reviews/{review.id}/checklist' not in listed.text
    )
    assert "Survey results attached to the report." in listed.text
    assert post_form(client, f"/reviews/{review.id}/checklist/learner-survey", {"status": "not_met"}).status_code == 403
    login(client, "council1@example.org")  # sees no review of this micro-credential
    assert client.get(f"/reviews/{review.id}/checklist").status_code == 404


def test_the_page_refuses_the_outcome_and_shows_the_snapshot(
    client: TestClient, db: Session, policies: Policies, shipped_policies: Policies, app: Any
) -> None:
    review = in_assessment(db, policies)
    app.state.policies = shipped_policies
    try:
        login(client, QA)
        page = client.get(f"/reviews/{review.id}")
        missing = page.text.split('id="checklist-missing"')[1].split("</div>")[0]
        assert f'href="/reviews/{review.id}/checklist#item-review-actions-closed"' in missing
        outcome = {"outcome": "continue", "comment": "All well."}
        refused = post_form(client, f"/reviews/{review.id}/outcome", outcome)
        assert refused.status_code == 422
        assert "The outcome cannot be recorded yet: these mandatory items of the review checklist are unanswered" in (
            refused.text
        )
        assert "1.9 Actions from the last review are tracked to closure and communicated to learners" in refused.text
        answer_mandatory(db, shipped_policies, review)
        answer(db, shipped_policies, review, "learner-survey", status="not_met", comment="No survey was run.")
        page = client.get(f"/reviews/{review.id}")
        assert 'id="checklist-missing"' not in page.text
        assert "so the outcome must be continue with actions, revise, suspend or retire" in page.text
        again = post_form(client, f"/reviews/{review.id}/outcome", outcome)
        assert again.status_code == 422 and "these items are not met" in again.text
        with_actions = {
            "outcome": "continue_with_actions",
            "comment": "Run the learner survey.",
            "action_text_1": "Run an anonymous survey after each offering",
            "action_due_1": "2099-01-31",
        }
        assert post_form(client, f"/reviews/{review.id}/outcome", with_actions).status_code == 303
        closed = client.get(f"/reviews/{review.id}")
        snapshot = closed.text.split('id="checklist-snapshot"')[1].split("</table>")[0]
        assert (
            "An anonymous learner survey is run after every offering" in snapshot and "No survey was run." in snapshot
        )
        assert 'id="open-checklist">Read the ESG checklist' in closed.text
    finally:
        app.state.policies = policies


def test_the_api_twins(client: TestClient, db: Session, policies: Policies, app: Any) -> None:
    review = opened(db, policies)
    url = f"/api/v1/reviews/{review.id}/checklist"
    login(client, QA)
    headers = api_headers(client)
    early = client.put(f"{url}/learner-survey", json={"status": "met"}, headers=headers)
    assert early.status_code == 409 and "once the review is in QA assessment" in early.json()["detail"]
    in_assessment(db, policies, review)
    got = client.get(url, headers=headers)
    assert got.status_code == 200
    body = got.json()
    assert (body["subject_type"], body["subject_id"], body["review_id"], body["proposal_id"]) == (
        "review",
        review.id,
        review.id,
        None,
    )
    keys = [i["key"] for i in body["items"]]
    assert "learner-survey" in keys and "duplication" not in keys and body["answered"] == 0
    hours = next(i for i in body["items"] if i["key"] == "ects-hours")
    assert hours["automatic"]["status"] == "met" and hours["can_answer"] is True
    put = client.put(
        f"{url}/ects-hours",
        json={"status": "met", "evidence_links": ["https://example.org/report"]},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["status"] == "met" and put.json()["automatic_when_answered"]["status"] == "met"
    condition = client.put(
        f"{url}/learner-survey",
        json={"status": "not_met", "condition_text": "Run it", "condition_due_on": "2099-01-01"},
        headers=headers,
    )
    assert condition.status_code == 422
    assert client.put(f"{url}/duplication", json={"status": "met"}, headers=headers).status_code == 404
    assert client.get(url, headers=headers).json()["answered"] == 1

    login(client, OWNER)
    headers = api_headers(client)
    read = client.get(url, headers=headers).json()
    assert read["answered"] == 1 and not any(i["can_answer"] for i in read["items"])
    refused = client.put(f"{url}/learner-survey", json={"status": "met"}, headers=headers)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]

    login(client, QA)
    headers = api_headers(client)
    app.state.policies = checklist_gate(policies, True)
    try:
        outcome = {"outcome": "continue", "comment": "Fine."}
        blocked = client.post(f"/api/v1/reviews/{review.id}/outcome", json=outcome, headers=headers)
        assert blocked.status_code == 422 and "1.9 Actions from the last review" in blocked.json()["detail"]
    finally:
        app.state.policies = policies
    closed = client.post(f"/api/v1/reviews/{review.id}/outcome", json=outcome, headers=headers).json()
    snapshot = {row["key"]: row["status"] for row in closed["checklist"]}
    assert snapshot["ects-hours"] == "met" and snapshot["learner-survey"] == "unanswered"
    late = client.put(f"{url}/learner-survey", json={"status": "met"}, headers=headers)
    assert late.status_code == 409 and "outcome of this review is recorded" in late.json()["detail"]
    login(client, "council1@example.org")
    assert client.get(url, headers=api_headers(client)).status_code == 404
