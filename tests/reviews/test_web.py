"""Periodic review on the web: the QA office's dashboard and CSV export, the review page (the owner's
self-evaluation with pre-filled figures, the QA office's outcome with actions), the owner's dashboard, the
history page, and the JSON twins under /api/v1."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import asdict
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.catalogue.models import Credential
from app.db import utcnow
from app.offerings.models import Offering
from app.policies import Policies
from app.reviews import queries, service
from app.reviews.models import Review, ReviewAction
from tests.conftest import api_headers, login, post_form
from tests.reviews.helpers import published

TODAY = date.today()


def _due_soon(db: Session, policies: Policies) -> tuple[Credential, Review]:
    """A micro-credential whose monitoring report opened today (due in 30 days), with one run's figures."""
    credential = published(db, policies, on=TODAY - timedelta(days=335))
    db.add(
        Offering(
            credential_id=credential.id or 0,
            starts_on=TODAY - timedelta(days=200),
            ends_on=TODAY - timedelta(days=100),
            participation_form="online",
            enrolled=24,
            completed=18,
            passed=17,
            dropped_out=6,
            figures_recorded_at=utcnow(),
            created_by_id=credential.owner_id,
        )
    )
    review = service.scheduled_review(db, credential.id or 0, "monitoring")
    assert review is not None
    service.open_review(db, review.id or 0, None, policies)
    return credential, review


def test_from_the_dashboard_to_an_outcome_with_actions(client: TestClient, db: Session, policies: Policies) -> None:
    credential, review = _due_soon(db, policies)
    login(client, "qa@example.org")
    board = client.get("/reviews")
    assert board.status_code == 200
    due_soon = board.text.split('id="due-soon-table"')[1].split("</table>")[0]
    assert f'href="/reviews/{review.id}"' in due_soon and credential.title in due_soon
    assert "Load per month" in board.text

    login(client, "academic@example.org")
    page = client.get(f"/reviews/{review.id}")
    figures = page.text.split('id="figures"')[1].split("</table>")[0]
    assert "<td>24</td><td>18</td>" in figures and "75%" in figures
    missing = post_form(client, f"/reviews/{review.id}/self-evaluation", {"narrative": "Good runs.", "then": "submit"})
    assert missing.status_code == 422 and "evidence of need" in missing.text and "Good runs." in missing.text
    assert db.get_one(Review, review.id).status == "open"
    sent = post_form(
        client,
        f"/reviews/{review.id}/self-evaluation",
        {
            "narrative": "Good runs.",
            "need_evidence": "Employers asked again.",
            "need_checked_on": str(TODAY),
            "then": "submit",
        },
    )
    assert sent.status_code == 303
    assert db.get_one(Review, review.id).status == "submitted"

    login(client, "qa@example.org")
    assert post_form(client, f"/reviews/{review.id}/assessment").status_code == 303
    no_action = post_form(
        client, f"/reviews/{review.id}/outcome", {"outcome": "continue_with_actions", "comment": "Sound."}
    )
    assert no_action.status_code == 422 and "at least one action" in no_action.text
    due = TODAY + timedelta(days=45)
    done = post_form(
        client,
        f"/reviews/{review.id}/outcome",
        {
            "outcome": "continue_with_actions",
            "comment": "Sound.",
            "action_text_1": "Refresh the case study",
            "action_due_1": str(due),
        },
    )
    assert done.status_code == 303
    (action,) = db.exec(select(ReviewAction).where(ReviewAction.review_id == review.id)).all()
    assert (action.text, action.due_on, action.owner_id) == ("Refresh the case study", due, credential.owner_id)

    login(client, "academic@example.org")
    home = client.get("/")
    assert f"Action on {credential.title}: Refresh the case study, due {due}" in home.text
    closed = post_form(client, f"/review-actions/{action.id}/close", {"note": "New case from GridCo."})
    assert closed.status_code == 303
    assert "Refresh the case study" not in client.get("/").text


def test_the_qa_office_opens_a_review_from_the_history_page(
    client: TestClient, db: Session, policies: Policies
) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=10))
    login(client, "qa@example.org")
    history = client.get(f"/credentials/{credential.id}/reviews")
    assert history.status_code == 200 and "Open a review now" in history.text and "Scheduled" in history.text
    bad = post_form(
        client, f"/credentials/{credential.id}/reviews", {"kind": "full", "due_on": str(TODAY + timedelta(days=20))}
    )
    assert bad.status_code == 422 and "This field is required." in bad.text
    opened = post_form(
        client,
        f"/credentials/{credential.id}/reviews",
        {"kind": "full", "due_on": str(TODAY + timedelta(days=20)), "reason": "Learner complaints"},
    )
    assert opened.status_code == 303
    review = db.exec(select(Review).where(Review.credential_id == credential.id, Review.status == "open")).one()
    assert (review.kind, review.reason) == ("full", "Learner complaints")


def test_csv_export_and_filters(client: TestClient, db: Session, policies: Policies) -> None:
    credential, review = _due_soon(db, policies)
    login(client, "qa@example.org")
    exported = client.get("/reviews/export.csv", params={"status": "open", "faculty": credential.org_unit_id})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert str(review.id) in [r["id"] for r in rows] and all(r["status"] == "open" for r in rows)
    filtered = client.get("/reviews", params={"kind": "full", "status": "open"})
    assert f'href="/reviews/{review.id}"' not in filtered.text


def test_the_api_twins(client: TestClient, db: Session, policies: Policies) -> None:
    credential, review = _due_soon(db, policies)
    login(client, "qa@example.org")
    history = client.get(f"/api/v1/credentials/{credential.id}/reviews", headers=api_headers(client))
    assert [(r["kind"], r["status"]) for r in history.json()] == [("monitoring", "open"), ("full", "scheduled")]
    listed = client.get(
        "/api/v1/reviews",
        params={"status": "open", "due_before": str(TODAY + timedelta(days=31)), "faculty": credential.org_unit_id},
        headers=api_headers(client),
    )
    assert review.id in [r["id"] for r in listed.json()["items"]]
    none_yet = client.get(
        "/api/v1/reviews", params={"status": "open", "due_before": str(TODAY)}, headers=api_headers(client)
    )
    assert review.id not in [r["id"] for r in none_yet.json()["items"]]
    opened = client.post(
        f"/api/v1/credentials/{credential.id}/reviews",
        json={"kind": "full", "reason": "Sector change", "due_on": str(TODAY + timedelta(days=30))},
        headers=api_headers(client),
    )
    assert opened.status_code == 201 and opened.json()["review"]["status"] == "open"

    login(client, "academic@example.org")
    headers = api_headers(client)
    detail = client.get(f"/api/v1/reviews/{review.id}", headers=headers).json()
    assert detail["figures"][0]["enrolled"] == 24 and "submit" in detail["allowed_events"]
    assert detail["learner_feedback"] == []
    saved = client.put(
        f"/api/v1/reviews/{review.id}/self-evaluation",
        json={"narrative": "Fine", "need_checked_on": str(TODAY)},
        headers=headers,
    )
    assert saved.status_code == 200
    assert client.post(f"/api/v1/reviews/{review.id}/submit", headers=headers).json()["review"]["status"] == "submitted"
    assert client.post(f"/api/v1/reviews/{review.id}/assessment", headers=headers).status_code == 403
    assert [r["id"] for r in client.get("/api/v1/reviews/mine", headers=headers).json()].count(review.id) == 1

    login(client, "qa@example.org")
    headers = api_headers(client)
    assert client.post(f"/api/v1/reviews/{review.id}/assessment", headers=headers).status_code == 200
    back = client.post(f"/api/v1/reviews/{review.id}/request-changes", json={"comment": "Add rates"}, headers=headers)
    assert back.json()["review"]["status"] == "open"


def test_strangers_see_no_reviews(client: TestClient, db: Session, policies: Policies) -> None:
    credential, review = _due_soon(db, policies)
    login(client, "council1@example.org")
    assert client.get(f"/reviews/{review.id}").status_code == 404
    assert client.get("/reviews").status_code == 403
    assert client.get(f"/api/v1/credentials/{credential.id}/reviews", headers=api_headers(client)).status_code == 404


def test_the_dashboard_counts_per_faculty_and_pages_each_list(
    client: TestClient, db: Session, policies: Policies
) -> None:
    opened = [_due_soon(db, policies)[1] for _ in range(3)]
    late = opened[0]
    late.due_on = TODAY - timedelta(days=3)  # open and past its due date: overdue
    db.add(late)
    db.flush()
    filters = queries.ReviewFilters()
    everything = queries.dashboard(db, filters, today=TODAY, pages=queries.DashboardPages(limit=200))
    totals = everything.totals
    # The counts made in SQL are the lengths of the lists they total.
    for listing, total in (
        (everything.due_soon, totals.due_soon),
        (everything.open, totals.open),
        (everything.overdue, totals.overdue),
    ):
        assert listing.total == total and len(listing.items) == min(total, 200)
    assert {r.id for r in everything.overdue.items} >= {late.id}
    assert all(r.overdue_days > 0 for r in everything.overdue.items)
    assert {r.id for r in everything.open.items} >= {r.id for r in opened}
    faculty = db.get_one(Credential, late.credential_id).org_unit_id
    (mine,) = [f for f in everything.by_faculty if f.faculty_id == faculty]
    only = queries.dashboard(db, queries.ReviewFilters(faculty=faculty), today=TODAY).totals
    assert (only.due_soon, only.open, only.overdue) == (mine.due_soon, mine.open, mine.overdue)
    assert sum(sum(months) for _, months in everything.timeline) >= 3

    login(client, "qa@example.org")
    board = client.get("/reviews", params={"limit": 1})
    assert board.status_code == 200
    table = board.text.split('id="open-table"')[1].split("</table>")[0]
    assert f"({totals.open})" in table and table.count('href="/reviews/') == 1
    assert 'href="/reviews?open_offset=1&limit=1#open-table" rel="next"' in html.unescape(board.text)
    faculty_row = board.text.split('id="by-faculty-table"')[1].split("</table>")[0]
    assert f'href="/reviews?faculty={faculty}"' in faculty_row
    summary = client.get("/api/v1/reviews/summary", headers=api_headers(client)).json()
    assert [f for f in summary["by_faculty"] if f["faculty_id"] == faculty] == [asdict(mine)]
    assert summary["load_per_month"] == [{"year": y, "months": m} for y, m in everything.timeline]
    second = client.get("/reviews", params={"limit": 1, "open_offset": 1, "kind": "monitoring"})
    pager = html.unescape(second.text.split('id="open-table"')[1].split("</nav>")[0])
    assert 'href="/reviews?kind=monitoring&open_offset=0&limit=1#open-table" rel="prev"' in pager
    assert "<span>2\u20132 of " in pager
