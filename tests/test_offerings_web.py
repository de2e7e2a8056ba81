"""Offerings on the web: the owner's page (add a run, record figures, upload a CSV file with a report per row), the
JSON API under /api/v1/credentials/{id}/offerings, and the catalogue entry showing upcoming runs and the lifecycle."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.catalogue.models import Credential
from app.offerings.models import Offering
from app.reviews import service as reviews
from app.reviews.access import STANDING
from app.workflows import core
from app.workflows.core import SYSTEM
from tests.catalogue_factories import content, make_published, tag
from tests.conftest import api_headers, login, post_form

TODAY = date.today()
SOON = TODAY + timedelta(days=40)


def _published(db: Session) -> Credential:
    return make_published(db, content(title=f"Offered {tag()}"))


def _runs(db: Session, credential: Credential) -> list[Offering]:
    return list(db.exec(select(Offering).where(Offering.credential_id == credential.id)))


def test_the_owner_adds_a_run_on_the_page_and_the_catalogue_shows_it(client: TestClient, db: Session) -> None:
    credential = _published(db)
    login(client, "academic@example.org")
    page = client.get(f"/credentials/{credential.id}/offerings")
    assert page.status_code == 200 and "Add an offering" in page.text

    bad = post_form(
        client,
        f"/credentials/{credential.id}/offerings",
        {"starts_on": SOON.isoformat(), "ends_on": TODAY.isoformat(), "participation_form": "online", "language": "en"},
    )
    assert bad.status_code == 422
    assert "end date must be on or after" in bad.text and f'value="{SOON.isoformat()}"' in bad.text
    assert _runs(db, credential) == []

    good = post_form(
        client,
        f"/credentials/{credential.id}/offerings",
        {
            "starts_on": SOON.isoformat(),
            "ends_on": (SOON + timedelta(days=60)).isoformat(),
            "capacity": "25",
            "participation_form": "online",
            "language": "en",
        },
    )
    assert good.status_code == 303
    entry = client.get(f"/catalogue/{credential.id}")
    assert "Upcoming offerings" in entry.text and SOON.isoformat() in entry.text and "25 places" in entry.text
    assert 'id="lifecycle">Active' in entry.text and "Manage offerings" in entry.text


def test_figures_are_recorded_once_a_run_has_ended_and_checked(client: TestClient, db: Session) -> None:
    credential = _published(db)
    run = Offering(
        credential_id=credential.id or 0,
        starts_on=TODAY - timedelta(days=90),
        ends_on=TODAY - timedelta(days=1),
        participation_form="online",
        created_by_id=credential.owner_id,
    )
    db.add(run)
    db.flush()
    login(client, "academic@example.org")
    url = f"/credentials/{credential.id}/offerings/{run.id}/figures"
    bad = post_form(client, url, {"enrolled": "10", "completed": "12", "passed": "5", "dropped_out": "0"})
    assert bad.status_code == 422 and "More learners completed than enrolled" in bad.text
    ok = post_form(client, url, {"enrolled": "20", "completed": "15", "passed": "14", "dropped_out": "5"})
    assert ok.status_code == 303
    db.refresh(run)
    assert (run.enrolled, run.completed, run.passed, run.dropped_out) == (20, 15, 14, 5)


def test_a_csv_upload_keeps_the_good_rows_and_reports_each_bad_one(client: TestClient, db: Session) -> None:
    credential = _published(db)
    login(client, "academic@example.org")
    ended = TODAY - timedelta(days=30)
    csv = (
        "starts_on,ends_on,capacity,language,participation_form,enrolled,completed,passed,dropped_out\n"
        f"{SOON},{SOON + timedelta(days=30)},20,en,online,,,,\n"
        f"{ended - timedelta(days=60)},{ended},30,nl,blended,28,20,18,8\n"
        f"{SOON},{SOON - timedelta(days=3)},20,en,online,,,,\n"
        f"{SOON},{SOON},20,en,by pigeon,,,,\n"
        f"{ended - timedelta(days=60)},{ended},30,en,online,28,,,\n"
    )
    response = client.post(
        f"/credentials/{credential.id}/offerings/import",
        files={"file": ("runs.csv", csv.encode(), "text/csv")},
        data={"csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 422
    assert "Imported 2 rows" in response.text
    assert "line 4:" in response.text and "line 5:" in response.text and "line 6: enrolled, completed" in response.text
    runs = sorted(_runs(db, credential), key=lambda o: o.starts_on)
    assert [(o.language, o.enrolled) for o in runs] == [("nl", 28), ("en", None)]


def test_the_api_twins_list_add_figures_and_import(client: TestClient, db: Session) -> None:
    credential = _published(db)
    login(client, "academic@example.org")
    base = f"/api/v1/credentials/{credential.id}/offerings"
    made = client.post(
        base,
        json={"starts_on": str(SOON), "ends_on": str(SOON + timedelta(days=9)), "participation_form": "onsite"},
        headers=api_headers(client),
    )
    assert made.status_code == 201, made.text
    assert made.json()["participation_form"] == "onsite" and made.json()["enrolled"] is None
    early = client.put(
        f"{base}/{made.json()['id']}/figures",
        json={"enrolled": 5, "completed": 5, "passed": 5, "dropped_out": 0},
        headers=api_headers(client),
    )
    assert early.status_code == 422 and "once the offering has ended" in early.text
    listed = client.get(base, headers=api_headers(client))
    assert [o["id"] for o in listed.json()] == [made.json()["id"]]
    report = client.post(
        f"{base}/import?dry_run=true",
        files={"file": ("x.csv", b"starts_on,ends_on\n", "text/csv")},
        headers=api_headers(client),
    )
    assert report.status_code == 200 and "missing required column participation_form" in report.json()["refused"]


def test_no_new_run_while_suspended_and_retired_leaves_the_current_list(client: TestClient, db: Session) -> None:
    credential = _published(db)
    policies = client.app.state.policies  # type: ignore[attr-defined]
    standing = reviews.ensure_standing(db, credential.id or 0)
    core.run(db, STANDING, standing.id, "suspend", SYSTEM, policies, comment="test", reason="outcome")
    login(client, "academic@example.org")
    page = client.get(f"/credentials/{credential.id}/offerings")
    assert "no new offering can open" in page.text and "Add offering</button>" not in page.text
    refused = client.post(
        f"/api/v1/credentials/{credential.id}/offerings",
        json={"starts_on": str(SOON), "ends_on": str(SOON), "participation_form": "online"},
        headers=api_headers(client),
    )
    assert refused.status_code == 409 and "suspended" in refused.json()["detail"]
    assert "(no new intake)" in client.get(f"/catalogue/{credential.id}").text

    core.run(db, STANDING, standing.id, "retire", SYSTEM, policies, comment="test")
    listed = client.get("/api/v1/catalogue", params={"q": credential.title.lower(), "limit": 100})
    assert listed.json()["total"] == 0
    assert client.get(f"/catalogue/{credential.id}").status_code == 200  # its history page stays


def test_a_stranger_cannot_see_or_manage_offerings(client: TestClient, db: Session) -> None:
    credential = _published(db)
    login(client, "council1@example.org")
    assert client.get(f"/credentials/{credential.id}/offerings").status_code == 403
    assert client.get(f"/api/v1/credentials/{credential.id}/offerings", headers=api_headers(client)).status_code == 403
