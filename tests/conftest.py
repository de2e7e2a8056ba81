"""Test fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL) with demo data,
one rolled-back transaction per test, an HTTP client, and small factories.

Every test sees the demo organisation (accounts, committees, programmes) and leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlmodel import Session, select

from app import listeners
from app.cli import alembic_config
from app.db import get_session, make_engine
from app.demo import DEMO_PASSWORD, load_demo
from app.main import create_app
from app.policies import Policies, load_policies
from app.security import Actor, hash_password, load_actor
from app.settings import ROOT, Settings
from app.users.models import Role, User, UserRole
from tests.mailserver import SmtpServer

TEST_SECRET = "test-secret-key-not-for-production"


# --- CI: a skipped test proves nothing -----------------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped:
        print(f"\nCI refuses skipped tests ({len(_skipped)}): " + ", ".join(_skipped))
        session.exitstatus = 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` run in the PostgreSQL pass (make test runs both) and are left out, not
    skipped, on SQLite, where what they test (advisory locks, row locks) does not exist."""
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        return
    left_out = [item for item in items if item.get_closest_marker("postgres_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]


# --- databases -----------------------------------------------------------------------------------


def fresh_database_url(tmp_dir: Path, label: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the configured server (or a new SQLite file) and a function to drop it."""
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server.startswith("postgresql"):
        path = tmp_dir / f"{label}-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: None
    name = f"mcqa_{label}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def migrate(url: str, revision: str = "head") -> None:
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def fresh_demo_database(tmp_dir: Path, label: str) -> tuple[str, Callable[[], None]]:
    """A new database, migrated, with the demo organisation committed; and a function to drop it."""
    url, drop = fresh_database_url(tmp_dir, label)
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo(session, load_policies(ROOT / "policies"))
        session.commit()
    engine.dispose()
    return url, drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = fresh_demo_database(tmp_path_factory.mktemp("db"), "test")
    yield url
    drop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session", autouse=True)
def _listeners() -> None:
    """The app's listeners (notifications) for services called directly by tests, as the app installs them."""
    listeners.install(Settings(secret_key=TEST_SECRET))


def checklist_gate(policies: Policies, enforced: bool) -> Policies:
    """The policies with the ESG checklist's gate on a body's decision switched on or off (esg_part1.yaml)."""
    from app.checklists.policy import ChecklistPolicy

    checklist = policies.of(ChecklistPolicy)
    name = next(name for name, policy in policies.files.items() if policy is checklist)
    return Policies(files={**policies.files, name: checklist.model_copy(update={"gate_decisions": enforced})})


@pytest.fixture(scope="session")
def shipped_policies() -> Policies:
    """The policies as shipped (the checklist gates decisions)."""
    return load_policies(ROOT / "policies")


@pytest.fixture(scope="session")
def policies(shipped_policies: Policies) -> Policies:
    """The shipped policies, except that the ESG checklist does not gate decisions: tests of approval approve without
    answering it first. The checklist's own tests (tests/checklists) use ``shipped_policies``."""
    return checklist_gate(shipped_policies, False)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        run_scheduler=False,
        policy_dir=ROOT / "policies",
        log_level="WARNING",
        # Tests read rows their own open transaction wrote, which a cache keyed on committed data cannot see;
        # tests/test_catalogue_cache.py and tests/test_page_cache.py run the caches on committed data.
        catalogue_cache=False,
        page_cache_seconds=0,
    )


@pytest.fixture(scope="session")
def app(settings: Settings, policies: Policies):
    application = create_app(settings)
    application.state.policies = policies  # the checklist does not gate decisions (see ``policies``)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture
def client(app, db: Session) -> Iterator[TestClient]:
    def _session(request: Request) -> Iterator[Session]:
        request.state.db = db
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with TestClient(app, follow_redirects=False) as c:
        yield c
    app.dependency_overrides.clear()


# --- factories and helpers -----------------------------------------------------------------------


def make_user(
    db: Session,
    *,
    email: str | None = None,
    name: str = "Test Person",
    roles: tuple[Role, ...] = (),
    password: str = "correct-horse",
    org_unit_id: int | None = None,
    active: bool = True,
) -> User:
    user = User(
        email=email or f"user-{uuid.uuid4().hex[:8]}@example.org",
        name=name,
        password_hash=hash_password(password),
        is_active=active,
        org_unit_id=org_unit_id,
    )
    db.add(user)
    db.flush()
    for role in roles:
        db.add(UserRole(user_id=user.id or 0, role=role.value))
    db.flush()
    return user


def demo_user(db: Session, email: str) -> User:
    return db.exec(select(User).where(User.email == email)).one()


def actor_for(db: Session, email: str) -> Actor:
    return load_actor(db, demo_user(db, email))


def csrf_token(client: TestClient) -> str:
    if "csrftoken" not in client.cookies:
        client.get("/login")
    return str(client.cookies["csrftoken"])


def login(client: TestClient, email: str, password: str = DEMO_PASSWORD) -> None:
    response = client.post("/login", data={"email": email, "password": password, "csrftoken": csrf_token(client)})
    assert response.status_code == 303, response.text


def post_form(client: TestClient, url: str, data: Mapping[str, object] | None = None, **kwargs: Any):
    """POST a form the way the browser does: with the CSRF token field."""
    payload = {**(data or {}), "csrftoken": csrf_token(client)}
    return client.post(url, data=payload, **kwargs)


def api_headers(client: TestClient) -> dict[str, str]:
    """Headers for a cookie-authenticated JSON call, as the htmx pages send them."""
    return {"x-csrftoken": csrf_token(client), "accept": "application/json"}


def field_error(html: str, field: str) -> str:
    match = re.search(rf'id="e-{field}">([^<]*)<', html)
    return match.group(1) if match else ""


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server that keeps every message it accepts (``smtp_server.inbox.messages``)."""
    server = SmtpServer()
    server.start()
    yield server
    server.inbox.gate.set()
    server.stop()
