"""Login: no account enumeration by timing, and the failure limit holds when wrong passwords arrive all at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, func, select

from app import security
from app.db import make_engine
from app.errors import TooManyAttempts
from app.settings import Settings
from app.users.models import LoginAttempt
from tests.conftest import make_user, post_form

CONCURRENT = 12


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash a login verifies against."""
    calls: list[str] = []
    real = security.verify_password
    lock = threading.Lock()

    def spy(password_hash: str, password: str) -> bool:
        with lock:
            calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(security, "verify_password", spy)
    return calls


def test_unknown_address_costs_a_password_check(client: TestClient, verify_calls: list[str]) -> None:
    response = post_form(client, "/login", {"email": "nobody-here@example.org", "password": "guess"})
    assert response.status_code == 401
    assert len(verify_calls) == 1
    assert verify_calls[0].startswith("$argon2")  # a real argon2 hash, as slow as a real account's


def test_inactive_or_passwordless_account_costs_a_password_check(
    client: TestClient, db: Session, verify_calls: list[str]
) -> None:
    inactive = make_user(db, active=False)
    passwordless = make_user(db)
    passwordless.password_hash = ""
    db.add(passwordless)
    db.flush()
    for email in (inactive.email, passwordless.email):
        assert post_form(client, "/login", {"email": email, "password": "correct-horse"}).status_code == 401
    assert len(verify_calls) == 2
    assert all(h.startswith("$argon2") for h in verify_calls)


def test_known_address_checks_its_own_hash(client: TestClient, db: Session, verify_calls: list[str]) -> None:
    user = make_user(db)
    assert post_form(client, "/login", {"email": user.email, "password": "wrong"}).status_code == 401
    assert verify_calls == [user.password_hash]


@pytest.fixture
def pool(database_url: str) -> Iterator[Engine]:
    """Real connections, one per concurrent attempt, committing as the app does."""
    engine = make_engine(database_url, pool_size=CONCURRENT)
    yield engine
    engine.dispose()


def test_login_limit_holds_under_concurrent_wrong_passwords(
    pool: Engine, settings: Settings, verify_calls: list[str]
) -> None:
    email = f"burst-{uuid.uuid4().hex[:8]}@example.org"
    start = threading.Barrier(CONCURRENT)

    def attempt(_: int) -> str:
        with Session(pool) as session:
            start.wait()
            try:
                user = security.authenticate(session, email, "wrong", "127.0.0.1", settings)
            except TooManyAttempts:
                session.rollback()
                return "refused"
            session.commit()
            return "checked" if user is None else "accepted"

    try:
        with ThreadPoolExecutor(CONCURRENT) as workers:
            outcomes = list(workers.map(attempt, range(CONCURRENT)))
        assert outcomes.count("checked") == settings.login_max_failures
        assert outcomes.count("refused") == CONCURRENT - settings.login_max_failures
        assert len(verify_calls) == settings.login_max_failures
        with Session(pool) as session:
            recorded = session.exec(
                select(func.count()).select_from(LoginAttempt).where(col(LoginAttempt.email) == email)
            ).one()
        assert recorded == settings.login_max_failures
    finally:
        with Session(pool) as session:
            session.exec(delete(LoginAttempt).where(col(LoginAttempt.email) == email))
            session.commit()
