"""No request can take the app down: bursts of error pages and of logins, then everyone is still served.

Two outages were found on a fresh `make run`: an error page that reopened the request's closed session and left
its transaction open (SQLite kept the write lock, PostgreSQL a connection idle in transaction), and parallel
logins whose database work ran on the event loop and blocked it. These tests drive a real uvicorn server
(real sessions, real pool) over a fresh database on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.db import BlockingCallOnEventLoop, SessionDep, get_session, make_engine
from app.demo import DEMO_PASSWORD
from app.handlers import RETRY_AFTER_SECONDS, database_unavailable
from app.main import create_app
from app.routing import all_routes
from app.settings import Settings
from tests.live import LiveServer, serve

# A liveness bound, not a speed target: the outages made every request wait 30 s or more (a lock held until the
# database's busy timeout). 10 s tells such a hang from a machine that is merely busy.
ANSWERED_WITHIN_SECONDS = 10.0
BURST = 30
DEMO_PEOPLE = [
    "admin@example.org",
    "qa@example.org",
    "academic@example.org",
    "council1@example.org",
    "lll1@example.org",
    "humanities@example.org",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("availability"), "availability") as live:
        yield live


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=60.0)


def _log_in(client: httpx.Client, email: str) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrftoken": client.cookies["csrftoken"]}
    )
    assert response.status_code == 303, response.text


def _assert_still_served(server: LiveServer) -> None:
    """An anonymous visitor and a login are answered at once, and no transaction is left open."""
    with httpx.Client(base_url=server.url, timeout=ANSWERED_WITHIN_SECONDS) as anonymous:
        assert anonymous.get("/catalogue").status_code == 200
        assert anonymous.get("/healthz").status_code == 200
    with httpx.Client(base_url=server.url, timeout=ANSWERED_WITHIN_SECONDS) as person:
        _log_in(person, "academic@example.org")
        assert person.get("/").status_code == 200
    _assert_no_open_transaction(server.database_url)


def _assert_no_open_transaction(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # Nobody may hold the write lock between requests: take it at once or fail.
        lite = sqlite3.connect(str(url.database), timeout=0.2, isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute("ROLLBACK")
        finally:
            lite.close()
        return
    engine = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            idle = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND state LIKE 'idle in transaction%'"),
                {"db": url.database},
            ).scalar_one()
    finally:
        engine.dispose()
    assert idle == 0, f"{idle} connection(s) left idle in transaction"


def test_error_pages_for_every_role_leave_nothing_open(server: LiveServer) -> None:
    for email in DEMO_PEOPLE:
        with _client(server) as client:
            _log_in(client, email)
            pages = {
                "/proposals/99999": 404,
                "/no-such-page": 404,
                "/admin/users": 200 if email == "admin@example.org" else 403,
                "/pipeline": 200 if email in ("admin@example.org", "qa@example.org") else 403,
            }
            for path, status in pages.items():
                assert client.get(path).status_code == status, (email, path)
                assert client.get(path, headers={"HX-Request": "true"}).status_code == status, (email, path)
            # A form post without its CSRF token is refused by the middleware, which renders its own page.
            assert client.post("/proposals/99999/submit", data={}).status_code == 403
            _assert_still_served(server)


def test_a_burst_of_error_pages_then_everyone_is_served(server: LiveServer) -> None:
    clients = [_client(server) for _ in range(BURST)]
    try:
        for number, client in enumerate(clients):
            _log_in(client, DEMO_PEOPLE[number % len(DEMO_PEOPLE)])

        def hit(client: httpx.Client) -> list[int]:
            return [client.get(path).status_code for path in ("/proposals/99999", "/no-such-page")]

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answers = list(pool.map(hit, clients))
    finally:
        for client in clients:
            client.close()
    assert all(codes == [404, 404] for codes in answers), answers
    _assert_still_served(server)


def test_a_burst_of_parallel_logins_then_everyone_is_served(server: LiveServer) -> None:
    """Thirty logins at once, unknown addresses and wrong passwords for one account: refused, not hung."""
    clients = [_client(server) for _ in range(BURST)]
    try:
        for client in clients:
            client.get("/login")

        def attempt(numbered: tuple[int, httpx.Client]) -> int:
            number, client = numbered
            email = f"nobody-{number}@example.org" if number % 2 else "council2@example.org"
            data = {"email": email, "password": "wrong", "csrftoken": client.cookies["csrftoken"]}
            return client.post("/login", data=data).status_code

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            codes = list(pool.map(attempt, enumerate(clients)))
    finally:
        for client in clients:
            client.close()
    # Refused as wrong (401) or, once an address has failed too often, throttled (429); never an error.
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) >= BURST // 2
    _assert_still_served(server)


# --- no database work on the event loop ----------------------------------------------------------


def _takes_the_session(dependant: Dependant) -> bool:
    """The callable is given the request's session (an async one would then query on the event loop). One that
    only depends on a plain `def` dependency using it, as `require_admin` on `current_actor`, is given that
    dependency's result, computed in the thread pool (a one-trip route resolves both in the handler's trip)."""
    return any(d.call is get_session for d in dependant.dependencies)


def _async_database_users(dependant: Dependant, where: str, call: Any = None) -> list[str]:
    """``call``: the handler as written, when FastAPI calls it through a wrapper (app.routing.OneTripRoute)."""
    found = []
    call = call or dependant.call
    if call is not None and asyncio.iscoroutinefunction(call) and _takes_the_session(dependant):
        found.append(f"{where}: {getattr(call, '__qualname__', call)}")
    for sub in dependant.dependencies:
        found += _async_database_users(sub, where)
    return found


def test_no_async_handler_or_dependency_takes_a_database_session(app) -> None:
    """Every route and dependency that takes the request's session is a plain `def` (run in the thread pool)."""
    offenders = []
    checked = 0
    # Every route, those in the route table too (app.routes holds the table, not its routes).
    for route in all_routes(app):
        if isinstance(route, APIRoute):
            checked += 1
            offenders += _async_database_users(
                route.dependant, f"{sorted(route.methods or ())} {route.path}", route.endpoint
            )
    assert offenders == []
    assert checked > 200  # the pages and the API, not only the few routes declared on the app itself


def test_the_checker_finds_an_async_handler_with_a_session(app) -> None:
    """The check above can fail: an `async def` endpoint taking a session is reported."""
    router = APIRouter()

    @router.get("/bad")
    async def bad(session: SessionDep) -> None:
        return None

    route = next(r for r in router.routes if isinstance(r, APIRoute))
    assert _async_database_users(route.dependant, "/bad") == [
        "/bad: test_the_checker_finds_an_async_handler_with_a_session.<locals>.bad"
    ]


def test_a_database_call_on_the_event_loop_is_refused(engine: Engine) -> None:
    """The engine refuses a statement from the event loop's thread instead of blocking every request."""

    async def on_the_loop() -> None:
        with Session(engine) as session:
            session.connection().execute(text("SELECT 1"))

    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(BlockingCallOnEventLoop, match="event loop"):
        pool.submit(asyncio.run, on_the_loop()).result()  # a thread of its own: the browser tests hold a loop here

    with Session(engine) as session:  # the same call from a plain thread works
        assert session.connection().execute(text("SELECT 1")).scalar_one() == 1


def test_healthz_reports_a_locked_database(tmp_path: Path) -> None:
    """/healthz answers 503 while another connection holds SQLite's write lock, and 200 once it is released."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import ROOT, Settings
    from tests.conftest import TEST_SECRET, migrate

    url = f"sqlite:///{tmp_path / 'health.db'}"
    migrate(url)
    settings = Settings(
        database_url=url, secret_key=TEST_SECRET, run_scheduler=False, policy_dir=ROOT / "policies", log_level="ERROR"
    )
    application = create_app(settings)
    holder = sqlite3.connect(str(tmp_path / "health.db"), isolation_level=None)
    try:
        with TestClient(application) as client:
            assert client.get("/healthz").status_code == 200
            holder.execute("BEGIN IMMEDIATE")
            locked = client.get("/healthz")
            assert locked.status_code == 503
            assert re.search("not writable", locked.text)
            holder.execute("ROLLBACK")
            assert client.get("/healthz").status_code == 200
    finally:
        holder.close()
        application.state.engine.dispose()


# --- a database that cannot serve -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "sqlite:////nonexistent-mcqa-dir/mcqa.db"],
    ids=["postgresql-unreachable", "sqlite-unopenable"],
)
def test_a_database_that_cannot_be_reached_gets_503_answers_not_500(url: str) -> None:
    """JSON for the API, a page (made without the database) for people, and when to try again; never a bare
    "Internal Server Error"."""
    app = create_app(Settings(database_url=url, secret_key="s" * 40, run_scheduler=False))
    with TestClient(app, raise_server_exceptions=False) as http:
        api = http.get("/api/v1/proposals/1", headers={"authorization": "Bearer mcqa_not_checked"})
        page = http.get("/awaiting", headers={"authorization": "Bearer mcqa_not_checked", "accept": "text/html"})
        login = http.get("/login")

    assert api.status_code == 503 and api.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert api.json()["detail"].startswith("The database cannot be reached or is too busy right now")
    for response in (page, login):
        assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
        assert "Please try again in a minute." in response.text and "<h1" in response.text


def _sqlite_error(tmp_path: Path, *, busy: bool) -> OperationalError:
    """A real error of SQLite's, as SQLAlchemy raises it: the file locked by another writer, or a missing table."""
    path = tmp_path / "errors.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("BEGIN IMMEDIATE" if busy else "SELECT * FROM no_such_table")
    finally:
        holder.close()
        other.close()
    return OperationalError("statement", {}, raised.value)


def test_only_a_database_that_cannot_serve_now_is_a_503(tmp_path: Path) -> None:
    """Locked past the busy timeout: 503, try again. A missing table is a fault of the app: still a 500."""
    assert database_unavailable(_sqlite_error(tmp_path, busy=True))
    assert not database_unavailable(_sqlite_error(tmp_path, busy=False))
