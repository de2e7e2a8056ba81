"""Sessions end when they should: logout, a password change and an administrator's reset end every session issued
before (a copied cookie stops working); API tokens survive a password change unless the person chooses otherwise."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.demo import DEMO_PASSWORD
from app.users.models import ApiToken
from tests.conftest import api_headers, demo_user, login, make_user, post_form

ACCOUNT = "academic@example.org"


def _copied_cookie(client: TestClient) -> TestClient:
    """Another browser holding a copy of this client's session cookie (as an attacker who captured it would)."""
    other = TestClient(client.app, follow_redirects=False)
    other.cookies.set("mcqa_session", client.cookies["mcqa_session"])
    return other


def _me(c: TestClient) -> int:
    return c.get("/api/v1/me", headers={"accept": "application/json"}).status_code


def test_a_copied_cookie_is_refused_after_logout(client: TestClient) -> None:
    login(client, ACCOUNT)
    thief = _copied_cookie(client)
    assert _me(thief) == 200
    assert post_form(client, "/logout").status_code == 303
    assert _me(thief) == 401
    assert thief.get("/account").headers["location"].startswith("/login")
    login(client, ACCOUNT)  # logging in again works
    assert _me(client) == 200
    assert _me(thief) == 401


def test_logout_ends_every_session_of_the_person(client: TestClient) -> None:
    login(client, ACCOUNT)
    with TestClient(client.app, follow_redirects=False) as laptop:
        login(laptop, ACCOUNT)
        assert _me(laptop) == 200
        post_form(client, "/logout")
        assert _me(laptop) == 401


def test_json_logout_ends_sessions(client: TestClient) -> None:
    login(client, ACCOUNT)
    thief = _copied_cookie(client)
    assert client.post("/api/v1/auth/logout", headers=api_headers(client)).status_code == 204
    assert _me(client) == 401
    assert _me(thief) == 401


def test_password_change_ends_other_sessions_and_keeps_tokens(client: TestClient, db: Session) -> None:
    user = make_user(db, password="old-password-1")
    login(client, user.email, "old-password-1")
    token = client.post("/api/v1/auth/tokens", json={"name": "script"}, headers=api_headers(client)).json()["token"]
    thief = _copied_cookie(client)
    response = post_form(
        client, "/account/password", {"current_password": "old-password-1", "new_password": "new-password-2"}
    )
    assert response.status_code == 303, response.text
    assert _me(client) == 200  # the browser that changed it stays logged in
    assert "your API tokens still work" in client.get("/account").text
    assert _me(thief) == 401
    with TestClient(client.app) as integration:
        assert integration.get("/api/v1/me", headers={"authorization": f"Bearer {token}"}).status_code == 200
    entry = db.exec(select(AuditEvent).where(AuditEvent.action == "user.password_changed")).one()
    assert entry.entity_id == user.id
    # The new password works, the old one does not.
    with TestClient(client.app, follow_redirects=False) as fresh:
        bad = post_form(fresh, "/login", {"email": user.email, "password": "old-password-1"})
        assert bad.status_code == 401
        login(fresh, user.email, "new-password-2")


def test_password_change_revokes_tokens_when_chosen(client: TestClient, db: Session) -> None:
    user = make_user(db, password="old-password-1")
    login(client, user.email, "old-password-1")
    token = client.post("/api/v1/auth/tokens", json={"name": "script"}, headers=api_headers(client)).json()["token"]
    data = {"current_password": "old-password-1", "new_password": "new-password-2", "revoke_tokens": "true"}
    assert post_form(client, "/account/password", data).status_code == 303
    with TestClient(client.app) as integration:
        assert integration.get("/api/v1/me", headers={"authorization": f"Bearer {token}"}).status_code == 401
    tokens = db.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert tokens and all(t.revoked_at is not None for t in tokens)


def test_password_change_page_refuses_a_wrong_current_password(client: TestClient) -> None:
    login(client, ACCOUNT)
    response = post_form(client, "/account/password", {"current_password": "nope", "new_password": "new-password-2"})
    assert response.status_code == 422
    assert "This is not your current password." in response.text
    assert "new-password-2" not in response.text
    short = post_form(client, "/account/password", {"current_password": DEMO_PASSWORD, "new_password": "short"})
    assert short.status_code == 422
    assert _me(client) == 200


def test_json_password_change_with_a_flag(client: TestClient, db: Session) -> None:
    user = make_user(db, password="old-password-1")
    login(client, user.email, "old-password-1")
    issued = client.post("/api/v1/auth/tokens", json={"name": "script"}, headers=api_headers(client)).json()
    thief = _copied_cookie(client)
    bearer = {"authorization": f"Bearer {issued['token']}"}
    with TestClient(client.app) as integration:
        body = {"current_password": "old-password-1", "new_password": "new-password-2"}
        assert integration.post("/api/v1/auth/password", json=body, headers=bearer).status_code == 204
        assert _me(thief) == 401
        assert integration.get("/api/v1/me", headers=bearer).status_code == 200  # tokens survive by default
        wrong = integration.post("/api/v1/auth/password", json={**body, "current_password": "x"}, headers=bearer)
        assert wrong.status_code == 422
        again = {"current_password": "new-password-2", "new_password": "new-password-3", "revoke_tokens": True}
        assert client.post("/api/v1/auth/password", json=again, headers=api_headers(client)).status_code == 401
        login(client, user.email, "new-password-2")
        assert client.post("/api/v1/auth/password", json=again, headers=api_headers(client)).status_code == 204
        assert _me(client) == 200  # the session making the call is renewed
        assert integration.get("/api/v1/me", headers=bearer).status_code == 401
    assert db.exec(select(ApiToken).where(col(ApiToken.revoked_at).is_(None), ApiToken.user_id == user.id)).all() == []


def test_admin_password_reset_ends_the_persons_sessions(client: TestClient, db: Session) -> None:
    person = make_user(db, password="old-password-1")
    with TestClient(client.app, follow_redirects=False) as theirs:
        login(theirs, person.email, "old-password-1")
        assert _me(theirs) == 200
        login(client, "admin@example.org")
        renamed = client.patch(f"/api/v1/users/{person.id}", json={"name": "Renamed"}, headers=api_headers(client))
        assert renamed.status_code == 200
        assert _me(theirs) == 200  # other edits leave sessions alone
        data = {"name": "Renamed", "password": "reset-password-9", "is_active": "true"}
        assert post_form(client, f"/admin/users/{person.id}", data).status_code == 303
        assert _me(theirs) == 401
    assert _me(client) == 200
    assert demo_user(db, person.email).session_generation >= 1
