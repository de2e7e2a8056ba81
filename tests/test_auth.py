"""Login, logout, sessions, CSRF, throttling, bearer tokens and error pages."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.db import utcnow
from app.main import create_app
from app.settings import Mode, Settings
from app.users.models import ApiToken, LoginAttempt, User
from tests.conftest import api_headers, csrf_token, login, post_form


def test_login_dashboard_logout(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/login"
    login(client, "admin@example.org")
    page = client.get("/")
    assert page.status_code == 200
    assert "Welcome, Ada Admin" in page.text
    response = post_form(client, "/logout")
    assert response.status_code == 303
    assert client.get("/").headers["location"] == "/login"
    assert "You have been logged out." in client.get("/login").text


def test_session_cookie_flags(client: TestClient) -> None:
    response = client.post(
        "/login", data={"email": "admin@example.org", "password": "demo", "csrftoken": csrf_token(client)}
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "mcqa_session" in v)
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_secure_cookie_when_configured(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cookie_secure": True}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        page = c.get("/login")
        assert page.status_code == 200
        token = c.cookies["__Host-csrftoken"]  # the prefix: HTTPS only, this host only, Path=/
        response = c.post("/login", data={"email": "admin@example.org", "password": "demo", "csrftoken": token})
        assert response.status_code == 303
        set_cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
        session_cookie = next(v for v in set_cookies if v.startswith("__Host-mcqa_session="))
        assert "secure" in session_cookie.lower()
        assert "path=/" in session_cookie.lower()
        assert "domain" not in session_cookie.lower()
        csrf_cookie = next(v for v in set_cookies if v.startswith("__Host-csrftoken="))
        assert "secure" in csrf_cookie.lower()
        assert "path=/" in csrf_cookie.lower()
        assert c.cookies["__Host-csrftoken"] != token  # renewed at login
        assert "csrftoken" not in c.cookies and "mcqa_session" not in c.cookies
        assert c.get("/api/v1/me").json()["email"] == "admin@example.org"
    app.state.engine.dispose()


def test_csrf_token_is_renewed_at_login_and_logout(client: TestClient) -> None:
    before = csrf_token(client)
    login(client, "admin@example.org")
    at_login = csrf_token(client)
    assert at_login != before
    # The old token no longer passes.
    assert client.post("/api/v1/users", json={}, headers={"x-csrftoken": before}).status_code == 403
    assert 'content="' + at_login in client.get("/").text
    post_form(client, "/logout")
    assert csrf_token(client) not in (before, at_login)
    login(client, "admin@example.org")
    assert client.post("/api/v1/auth/logout", headers=api_headers(client)).status_code == 204
    assert csrf_token(client) not in (before, at_login)


def test_wrong_password_is_refused_and_recorded(client: TestClient, db: Session) -> None:
    response = post_form(client, "/login", {"email": "admin@example.org", "password": "nope"})
    assert response.status_code == 401
    assert "The e-mail address or password is not correct." in response.text
    assert 'value="admin@example.org"' in response.text  # what was typed is kept
    failures = db.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == "admin@example.org", col(LoginAttempt.succeeded).is_(False))
    ).one()
    assert failures == 1


def test_login_is_throttled_after_repeated_failures(client: TestClient, settings: Settings) -> None:
    for _ in range(settings.login_max_failures):
        assert post_form(client, "/login", {"email": "qa@example.org", "password": "wrong"}).status_code == 401
    # Even the right password is refused now: guessing must not continue.
    response = post_form(client, "/login", {"email": "qa@example.org", "password": "demo"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.text
    assert client.get("/").headers["location"] == "/login"
    # Another address is not affected.
    login(client, "academic@example.org")


def test_inactive_user_cannot_log_in(client: TestClient, db: Session) -> None:
    user = db.exec(select(User).where(User.email == "lll2@example.org")).one()
    user.is_active = False
    db.add(user)
    db.flush()
    assert post_form(client, "/login", {"email": "lll2@example.org", "password": "demo"}).status_code == 401


def test_post_without_csrf_token_is_refused_and_changes_nothing(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = db.exec(select(func.count()).select_from(User)).one()
    data = {"email": "new@example.org", "name": "New", "is_active": "true"}
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    wrong = client.post("/admin/users/new", data={**data, "csrftoken": "forged"})
    assert wrong.status_code == 403
    assert db.exec(select(func.count()).select_from(User)).one() == before
    ok = client.post("/admin/users/new", data={**data, "csrftoken": csrf_token(client)})
    assert ok.status_code == 303
    assert db.exec(select(func.count()).select_from(User)).one() == before + 1


def test_htmx_and_json_requests_send_the_token_as_a_header(client: TestClient) -> None:
    login(client, "admin@example.org")
    body = {"email": "json@example.org", "name": "Jay Son", "roles": ["academic"]}
    assert client.post("/api/v1/users", json=body).status_code == 403
    response = client.post("/api/v1/users", json=body, headers=api_headers(client))
    assert response.status_code == 201
    assert response.json()["roles"] == ["academic"]


def test_login_form_itself_is_csrf_protected(app) -> None:
    with TestClient(app, follow_redirects=False) as fresh:
        response = fresh.post("/login", data={"email": "admin@example.org", "password": "demo"})
        assert response.status_code == 403


def test_bearer_token_for_integrations(client: TestClient, db: Session) -> None:
    login(client, "qa@example.org")
    issued = client.post("/api/v1/auth/tokens", json={"name": "reporting"}, headers=api_headers(client))
    assert issued.status_code == 201
    token = issued.json()["token"]
    stored = db.exec(select(ApiToken).where(ApiToken.name == "reporting")).one()
    assert token not in stored.token_hash  # only a hash is kept

    with TestClient(client.app, follow_redirects=False) as integration:  # no cookies at all
        headers = {"authorization": f"Bearer {token}"}
        me = integration.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["email"] == "qa@example.org"
        assert me.json()["committees"][0]["kind"] == "qa_office"
        # Writes with a bearer token need no CSRF token; a QA officer is not an administrator.
        denied = integration.post("/api/v1/org-units", json={"code": "X", "name": "X"}, headers=headers)
        assert denied.status_code == 403
        assert "administrators" in denied.json()["detail"]

        assert (
            client.delete(f"/api/v1/auth/tokens/{issued.json()['id']}", headers=api_headers(client)).status_code == 204
        )
        revoked = integration.get("/api/v1/me", headers=headers)
        assert revoked.status_code == 401
        assert "revoked" in revoked.json()["detail"]
        assert integration.get("/api/v1/me", headers={"authorization": "Bearer made-up"}).status_code == 401


def test_a_tokens_last_use_is_written_at_most_once_an_hour(client: TestClient, db: Session) -> None:
    """Every write is a commit, and every commit empties the pages kept in memory: a token in steady use writes its
    last use once an hour, not on every call."""
    login(client, "qa@example.org")
    issued = client.post("/api/v1/auth/tokens", json={"name": "hourly"}, headers=api_headers(client)).json()
    headers = {"authorization": f"Bearer {issued['token']}"}
    stored = db.get_one(ApiToken, issued["id"])
    assert stored.last_used_at is None

    def use() -> datetime | None:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        db.refresh(stored)
        return stored.last_used_at

    first = use()
    assert first is not None
    for minutes_ago, written in ((59, False), (61, True)):
        earlier = utcnow() - timedelta(minutes=minutes_ago)
        stored.last_used_at = earlier
        db.add(stored)
        db.flush()
        seen = use()
        assert (seen != earlier) is written, (minutes_ago, seen, earlier)


def test_token_page_issues_and_revokes(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    page = post_form(client, "/account/tokens", {"name": "my script"}, headers={"hx-request": "true"})
    assert page.status_code == 200
    assert "Copy it now" in page.text
    assert "toast" in page.headers["hx-trigger"]
    empty = post_form(client, "/account/tokens", {"name": ""}, headers={"hx-request": "true"})
    assert empty.status_code == 422
    assert "This field is required." in empty.text
    token = db.exec(select(ApiToken).where(ApiToken.name == "my script")).one()
    post_form(client, f"/account/tokens/{token.id}/revoke", headers={"hx-request": "true"})
    db.refresh(token)
    assert token.revoked_at is not None
    assert db.exec(select(func.count()).select_from(ApiToken).where(col(ApiToken.revoked_at).is_(None))).one() == 0


def test_error_pages_and_json_errors(client: TestClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert "<main" in missing.text
    assert client.get("/api/v1/nothing").json()["detail"]
    assert client.get("/api/v1/me").status_code == 401
    login(client, "academic@example.org")
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403
    assert "Not allowed" in forbidden.text
    assert client.get("/api/v1/users", headers={"accept": "application/json"}).status_code == 403


def test_anonymous_page_redirects_to_login_with_next(client: TestClient) -> None:
    response = client.get("/admin/users?q=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users%3Fq%3Dx"
    htmx = client.get("/admin/users", headers={"hx-request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/login?next=")


def test_login_redirects_only_to_local_paths(client: TestClient) -> None:
    data = {"email": "admin@example.org", "password": "demo", "next": "//evil.example/"}
    assert post_form(client, "/login", data).headers["location"] == "/"


def test_passwords_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    post_form(client, "/login", {"email": "admin@example.org", "password": "s3cret-Pa55"})
    login(client, "admin@example.org")
    post_form(client, "/admin/users/new", {"email": "pw@example.org", "name": "P W", "password": "another-s3cret"})
    assert "s3cret" not in caplog.text


def test_production_refuses_default_secret_key() -> None:
    with pytest.raises(ValueError, match="MCQA_SECRET_KEY"):
        Settings(mode=Mode.production, cookie_secure=True)
    assert Settings(mode=Mode.production, secret_key="x" * 40, cookie_secure=True).mode is Mode.production


def test_production_refuses_insecure_cookies_unless_overridden() -> None:
    with pytest.raises(ValueError, match="MCQA_COOKIE_SECURE"):
        Settings(mode=Mode.production, secret_key="x" * 40)
    allowed = Settings(mode=Mode.production, secret_key="x" * 40, allow_insecure_cookies=True)
    assert allowed.session_cookie_name == "mcqa_session"
    assert Settings(mode=Mode.demo).csrf_cookie_name == "csrftoken"  # demo and development over plain HTTP


def test_healthz_checks_the_database(app, settings: Settings) -> None:
    with TestClient(app) as c:
        response = c.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    broken = create_app(settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}))
    with TestClient(broken) as c:
        assert c.get("/healthz").status_code == 503


def test_not_found_page_keeps_the_logged_in_header(app) -> None:
    with TestClient(app, follow_redirects=False) as c:
        login(c, "academic@example.org")
        page = c.get("/no/such/page")
        assert page.status_code == 404
        assert "Log out" in page.text
        assert "Alex Academic" in page.text
