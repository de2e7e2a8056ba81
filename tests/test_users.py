"""Account administration through the pages and the JSON API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.audit.models import AuditEvent
from app.users.models import User, UserRole
from tests.conftest import api_headers, field_error, login, post_form


def _count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(User)).one()


def test_admin_creates_account_through_the_form(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    assert "New account" in client.get("/admin/users/new").text
    response = post_form(
        client,
        "/admin/users/new",
        {
            "email": "Dana@Example.org",
            "name": "Dana Doe",
            "password": "long-enough",
            "roles": ["academic"],
            "is_active": "true",
        },
    )
    assert response.status_code == 303
    user = db.exec(select(User).where(User.email == "dana@example.org")).one()
    assert user.is_active
    assert [r.role for r in db.exec(select(UserRole).where(UserRole.user_id == user.id))] == ["academic"]
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)).one()
    assert audit.action == "user.created"
    assert "Account for dana@example.org created." in client.get(response.headers["location"]).text


def test_bad_input_is_explained_keeps_values_and_saves_nothing(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = _count(db)
    response = post_form(
        client, "/admin/users/new", {"email": "not-an-email", "name": "Kept Name", "password": "short"}
    )
    assert response.status_code == 422
    assert "not a valid email" in field_error(response.text, "email").lower()
    assert "at least 8" in field_error(response.text, "password")
    assert 'value="Kept Name"' in response.text
    assert 'value="not-an-email"' in response.text
    duplicate = post_form(client, "/admin/users/new", {"email": "qa@example.org", "name": "Again"})
    assert duplicate.status_code == 422
    assert field_error(duplicate.text, "email") == "This e-mail is already in use."
    assert _count(db) == before


def test_admin_edits_roles_and_deactivates(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    user = db.exec(select(User).where(User.email == "lll2@example.org")).one()
    response = post_form(
        client,
        f"/admin/users/{user.id}",
        {"name": "Liam L.", "roles": ["academic", "qa_officer"], "is_active": "false"},
    )
    assert response.status_code == 303
    db.refresh(user)
    assert user.name == "Liam L."
    assert not user.is_active
    roles = sorted(r.role for r in db.exec(select(UserRole).where(UserRole.user_id == user.id)))
    assert roles == ["academic", "qa_officer"]


def test_admin_cannot_lock_themselves_out(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    admin = db.exec(select(User).where(User.email == "admin@example.org")).one()
    response = post_form(
        client, f"/admin/users/{admin.id}", {"name": "Ada", "roles": ["academic"], "is_active": "true"}
    )
    assert response.status_code == 422
    assert "remove your own administrator role" in response.text
    assert db.exec(select(UserRole.role).where(UserRole.user_id == admin.id)).all() == ["admin"]


def test_users_api_crud_search_and_pagination(client: TestClient) -> None:
    login(client, "admin@example.org")
    headers = api_headers(client)
    created = client.post(
        "/api/v1/users",
        json={"email": "api@example.org", "name": "Api Person", "roles": ["qa_officer"]},
        headers=headers,
    )
    assert created.status_code == 201
    uid = created.json()["id"]
    assert (
        client.post("/api/v1/users", json={"email": "api@example.org", "name": "X"}, headers=headers).status_code == 409
    )
    bad = client.post("/api/v1/users", json={"email": "nope", "name": ""}, headers=headers)
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"email", "name"}

    patched = client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=headers)
    assert patched.json()["is_active"] is False
    assert patched.json()["roles"] == ["qa_officer"]
    assert client.get("/api/v1/users/999999", headers=headers).status_code == 404

    page1 = client.get("/api/v1/users?limit=4", headers=headers).json()
    page2 = client.get("/api/v1/users?limit=4&offset=4", headers=headers).json()
    assert page1["total"] == page2["total"] >= 10
    assert len(page1["items"]) == 4
    assert not {u["id"] for u in page1["items"]} & {u["id"] for u in page2["items"]}
    found = client.get("/api/v1/users?q=council", headers=headers).json()
    assert {u["email"] for u in found["items"]} == {f"council{i}@example.org" for i in (1, 2, 3)}


def test_live_search_returns_only_the_results_fragment(client: TestClient) -> None:
    login(client, "admin@example.org")
    response = client.get("/admin/users?q=lll", headers={"hx-request": "true", "hx-target": "user-results"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "lll1@example.org" in response.text
    assert "admin@example.org" not in response.text
