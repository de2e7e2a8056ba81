"""What people see: the notifications page, the unread count in the navigation, the e-mail choice on "My account",
the administrators' Outbox, the JSON twins, and who may do what."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.notifications import service
from app.notifications.models import Delivery, Notification, NotificationPreference, OutboxMessage
from tests.conftest import api_headers, demo_user, login, make_user, post_form

BASE = "http://testserver"


def _tell(db: Session, user_id: int, n: int) -> Notification:
    [made] = service.notify(
        db,
        recipients=[user_id],
        kind="proposal.submitted",
        subject=f"Proposal {n} submitted",
        text=f"Proposal {n} waits for your council.",
        link=f"/proposals/{n}",
        base_url=BASE,
    )
    return made


def _nav_count(html: str) -> int:
    match = re.search(r'id="notification-count"[^>]*>(\d+)<', html)
    assert match, "no unread count in the navigation"
    return int(match.group(1))


def test_every_logged_in_page_shows_the_unread_count(client: TestClient, db: Session) -> None:
    user = demo_user(db, "lll2@example.org")  # no role, no committee chair: the count is for everyone
    login(client, "lll2@example.org")
    before = _nav_count(client.get("/").text)
    _tell(db, user.id or 0, 1)
    _tell(db, user.id or 0, 2)
    assert _nav_count(client.get("/").text) == before + 2
    assert _nav_count(client.get("/catalogue").text) == before + 2
    assert _nav_count(client.get("/account").text) == before + 2


def test_notifications_page_lists_newest_first_unread_marked_and_marks_read(client: TestClient, db: Session) -> None:
    user = make_user(db, password="correct-horse")
    first, second, third = (_tell(db, user.id or 0, n) for n in (1, 2, 3))
    login(client, user.email, "correct-horse")

    page = client.get("/notifications")
    assert page.status_code == 200
    text = page.text
    assert text.index("Proposal 3 submitted") < text.index("Proposal 2 submitted") < text.index("Proposal 1 submitted")
    assert text.count('class="notification unread"') == 3
    assert '<a href="/proposals/2">Proposal 2 submitted</a>' in text
    assert _nav_count(text) == 3

    # A plain form post (no JavaScript): redirect back with a message.
    done = post_form(client, f"/notifications/{second.id}/read")
    assert done.status_code == 303 and done.headers["location"].startswith("/notifications")
    after = client.get("/notifications").text
    assert after.count('class="notification unread"') == 2
    assert "Marked as read: Proposal 2 submitted" in after
    assert _nav_count(after) == 2

    # htmx: the list comes back with the navigation count swapped out of band.
    fragment = post_form(client, f"/notifications/{first.id}/read", headers={"hx-request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'id="notification-count" data-hx-swap-oob="true">1<' in fragment.text
    assert "toast" in fragment.headers["hx-trigger"]

    everything = post_form(client, "/notifications/read", headers={"hx-request": "true"})
    assert 'id="notification-count" data-hx-swap-oob="true">0<' in everything.text
    assert 'class="notification unread"' not in everything.text
    db.expire_all()
    assert db.get_one(Notification, third.id).read_at is not None


def test_nobody_can_mark_someone_elses_notification(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    theirs = _tell(db, owner.id or 0, 7)
    login(client, "academic@example.org")
    assert post_form(client, f"/notifications/{theirs.id}/read").status_code == 404
    api = client.post(f"/api/v1/notifications/{theirs.id}/read", headers=api_headers(client))
    assert api.status_code == 404
    assert post_form(client, "/notifications/999999/read").status_code == 404
    db.expire_all()
    assert db.get_one(Notification, theirs.id).read_at is None
    # Marking all read touches only one's own.
    client.post("/api/v1/notifications/read", headers=api_headers(client))
    db.expire_all()
    assert db.get_one(Notification, theirs.id).read_at is None


def test_notifications_need_a_login(client: TestClient) -> None:
    assert client.get("/notifications").headers["location"].startswith("/login")
    assert client.get("/api/v1/notifications").status_code == 401


def test_notifications_api(client: TestClient, db: Session) -> None:
    user = make_user(db, password="correct-horse")
    made = [_tell(db, user.id or 0, n) for n in (1, 2, 3)]
    login(client, user.email, "correct-horse")
    headers = api_headers(client)

    listed = client.get("/api/v1/notifications?limit=2", headers=headers).json()
    assert listed["total"] == 3 and listed["unread"] == 3
    assert [i["subject"] for i in listed["items"]] == ["Proposal 3 submitted", "Proposal 2 submitted"]
    assert listed["items"][0]["link"] == "/proposals/3" and listed["items"][0]["read_at"] is None

    # Cookie calls need the CSRF header, as the pages send it.
    assert client.post(f"/api/v1/notifications/{made[0].id}/read").status_code == 403
    one = client.post(f"/api/v1/notifications/{made[0].id}/read", headers=headers)
    assert one.status_code == 200 and one.json()["read_at"] is not None
    assert client.post("/api/v1/notifications/read", headers=headers).json() == {"marked": 2}
    assert client.get("/api/v1/notifications", headers=headers).json()["unread"] == 0


def test_email_choice_on_my_account_and_its_api_twin(client: TestClient, db: Session) -> None:
    user = make_user(db, password="correct-horse")
    login(client, user.email, "correct-horse")
    account = client.get("/account").text
    assert "E-mail notifications" in account
    assert re.search(r'value="immediate"\s+checked', account)
    assert "after 07:00 UTC" in account

    saved = post_form(client, "/account/notifications", {"delivery": "digest"}, headers={"hx-request": "true"})
    assert saved.status_code == 200
    assert re.search(r'value="digest"\s+checked', saved.text)
    assert "<html" not in saved.text
    assert service.get_delivery(db, user.id or 0) is Delivery.digest

    bad = post_form(client, "/account/notifications", {"delivery": "carrier-pigeon"}, headers={"hx-request": "true"})
    assert bad.status_code == 422
    assert "Choose one of the options." in bad.text
    assert service.get_delivery(db, user.id or 0) is Delivery.digest

    plain = post_form(client, "/account/notifications", {"delivery": "immediate"})
    assert plain.status_code == 303 and plain.headers["location"] == "/account"

    headers = api_headers(client)
    assert client.get("/api/v1/notifications/preferences", headers=headers).json() == {
        "delivery": "immediate",
        "digest_hour_utc": 7,
    }
    put = client.put("/api/v1/notifications/preferences", json={"delivery": "digest"}, headers=headers)
    assert put.status_code == 200 and put.json()["delivery"] == "digest"
    assert client.put("/api/v1/notifications/preferences", json={"delivery": "x"}, headers=headers).status_code == 422
    row = db.get(NotificationPreference, user.id)
    assert row is not None and row.delivery == "digest"


def test_admin_outbox_lists_and_shows_messages_while_no_mail_server_is_configured(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, name="Olga Outbox", email="olga@example.org")
    _tell(db, user.id or 0, 42)
    row = db.exec(select(OutboxMessage).where(OutboxMessage.recipient_id == user.id)).one()
    login(client, "admin@example.org")

    page = client.get("/admin/outbox")
    assert page.status_code == 200
    assert "No mail server is configured" in page.text
    assert "Olga Outbox &lt;olga@example.org&gt;" in page.text
    assert f'<a href="/admin/outbox/{row.id}">Proposal 42 submitted</a>' in page.text
    assert 'href="/admin/outbox" aria-current="page">Outbox' in page.text
    assert client.get("/admin/outbox?status=sent").text.count(f"/admin/outbox/{row.id}") == 0

    one = client.get(f"/admin/outbox/{row.id}")
    assert one.status_code == 200
    assert "Proposal 42 waits for your council." in one.text
    assert f"{BASE}/proposals/42" in one.text
    assert row.message_id.replace("<", "&lt;").replace(">", "&gt;") in one.text
    assert client.get("/admin/outbox/999999").status_code == 404

    headers = api_headers(client)
    listed = client.get("/api/v1/admin/outbox?status=pending", headers=headers).json()
    assert listed["items"][0]["id"] == row.id and listed["items"][0]["status"] == "pending"
    detail = client.get(f"/api/v1/admin/outbox/{row.id}", headers=headers).json()
    assert detail["to_address"] == "Olga Outbox <olga@example.org>" and "/proposals/42" in detail["text_body"]


def test_only_administrators_see_the_outbox(client: TestClient, db: Session) -> None:
    row_id = db.exec(select(OutboxMessage.id).order_by(col(OutboxMessage.id).desc())).first() or 1
    login(client, "qa@example.org")
    assert client.get("/admin/outbox").status_code == 403
    assert client.get(f"/admin/outbox/{row_id}").status_code == 403
    assert client.get("/api/v1/admin/outbox", headers=api_headers(client)).status_code == 403
    assert 'href="/admin/outbox"' not in client.get("/").text


def test_the_api_document_describes_every_notification_action(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/notifications"]) == {"get"}
    assert set(paths["/api/v1/notifications/read"]) == {"post"}
    assert set(paths["/api/v1/notifications/{notification_id}/read"]) == {"post"}
    assert set(paths["/api/v1/notifications/preferences"]) == {"get", "put"}
    assert set(paths["/api/v1/admin/outbox"]) == {"get"}
    assert set(paths["/api/v1/admin/outbox/{message_id}"]) == {"get"}
