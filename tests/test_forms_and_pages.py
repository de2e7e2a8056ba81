"""Forms and pages as people meet them: the login page lists the demo accounts in demo mode only, and a person's
API token names are unique."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import demo
from app.security import app_settings
from app.settings import Mode, Settings
from tests.conftest import api_headers, login, post_form


def test_the_login_page_lists_the_demo_accounts_with_their_roles(client: TestClient, settings: Settings) -> None:
    assert settings.mode is Mode.demo
    page = client.get("/login").text
    section = page[page.index('id="demo-accounts-heading"') :]
    assert "Every account's password is <code>demo</code>" in section
    assert "<code>qa@example.org</code>: Quinn Auditor, qa officer; chair of the QA Office" in section
    assert "<code>council1@example.org</code>: Carla Chair, academic; chair of the Science Faculty Council" in section
    assert "<code>lll2@example.org</code>: Liam Learner, member of the Lifelong-Learning Committee" in section


def test_outside_demo_mode_the_login_page_lists_no_accounts(
    app: FastAPI, client: TestClient, db: Session, settings: Settings
) -> None:
    assert demo.demo_accounts(db)  # they exist, yet are not shown
    app.dependency_overrides[app_settings] = lambda: settings.model_copy(update={"mode": Mode.production})
    page = client.get("/login")
    assert page.status_code == 200
    assert "Demo accounts" not in page.text


def test_token_names_are_unique_per_person(client: TestClient) -> None:
    login(client, "academic@example.org")
    first = client.post("/api/v1/auth/tokens", json={"name": "Nightly export"}, headers=api_headers(client))
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/auth/tokens", json={"name": "nightly export "}, headers=api_headers(client))
    assert again.status_code == 422
    assert "already have a token named" in again.json()["detail"]
    page = post_form(client, "/account/tokens", {"name": "Nightly export"}, headers={"hx-request": "true"})
    assert page.status_code == 422
    assert "choose another name, or revoke that token first" in page.text
    assert 'value="Nightly export"' in page.text
    login(client, "qa@example.org")  # another person may use the same name
    other = client.post("/api/v1/auth/tokens", json={"name": "Nightly export"}, headers=api_headers(client))
    assert other.status_code == 201
