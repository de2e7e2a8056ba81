"""The request path made cheaper (issue 11) keeps its guarantees: one transaction per request, committed when the
handler returns and rolled back when it raises; CSRF checks on cookie sessions, none minted for bearer calls."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.db import SessionDep, _ends_without_io
from app.errors import Conflict
from app.main import create_app
from app.org.models import OrgUnit
from app.security import hash_token, new_token
from app.settings import Settings
from app.users.models import ApiToken
from tests.conftest import demo_user, login


def _token(db: Session, email: str) -> str:
    token = new_token()
    db.add(ApiToken(user_id=demo_user(db, email).id or 0, name=f"t-{token[-6:]}", token_hash=hash_token(token)))
    db.flush()
    return token


def test_a_bearer_call_mints_no_csrf_cookie_and_needs_no_token(client: TestClient, db: Session) -> None:
    token = _token(db, "council1@example.org")
    with TestClient(client.app, follow_redirects=False) as integration:
        page = integration.get("/awaiting", headers={"authorization": f"Bearer {token}"})
        assert page.status_code == 200
        assert "set-cookie" not in page.headers
        assert "csrftoken" not in integration.cookies


def test_a_cookie_session_still_needs_its_csrf_token(client: TestClient) -> None:
    login(client, "council1@example.org")
    refused = client.post("/api/v1/auth/tokens", json={"name": "no token"}, headers={"accept": "application/json"})
    assert refused.status_code == 403
    assert "expired or did not come from this site" in refused.json()["detail"]


def test_a_cookie_with_a_bearer_header_is_answered_as_the_bearer(client: TestClient, db: Session) -> None:
    token = _token(db, "qa@example.org")
    login(client, "council1@example.org")
    me = client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.json()["email"] == "qa@example.org"


def test_the_request_session_commits_on_success_and_rolls_back_on_error(settings: Settings, engine: Engine) -> None:
    """The real session dependency (the shared test client replaces it): a handler's writes are committed when
    it returns, and none of them when it raises, even after a flush."""
    app = create_app(settings)
    codes = {"ok": f"OK{uuid.uuid4().hex[:6]}", "fail": f"NO{uuid.uuid4().hex[:6]}"}

    @app.get("/_test/write/{outcome}")
    def write(outcome: str, session: SessionDep) -> dict[str, str]:
        session.add(OrgUnit(code=codes[outcome], name=f"Unit {codes[outcome]}"))
        session.flush()
        if outcome == "fail":
            raise Conflict("Refused after a flush.")
        return {"code": codes[outcome]}

    try:
        with TestClient(app) as http:
            assert http.get("/_test/write/ok").status_code == 200
            assert http.get("/_test/write/fail", headers={"accept": "application/json"}).status_code == 409
        with Session(engine) as check:
            found = set(check.exec(select(OrgUnit.code).where(col(OrgUnit.code).in_(codes.values()))))
            assert found == {codes["ok"]}
            for unit in check.exec(select(OrgUnit).where(OrgUnit.code == codes["ok"])):
                check.delete(unit)
            check.commit()
    finally:
        app.state.engine.dispose()


@pytest.mark.postgres_only
def test_plain_reads_run_without_a_transaction_and_a_locking_read_starts_one(settings: Settings) -> None:
    """PostgreSQL: a request's transaction begins with its first statement that needs one (app.db)."""
    app = create_app(settings)

    @app.get("/_test/reads")
    def reads(session: SessionDep) -> dict[str, Any]:
        session.connection().execute(text("SELECT 1"))
        own = session.connection().execute(text("SELECT transaction_timestamp() = statement_timestamp()")).scalar()
        return {"each_statement_its_own_transaction": own}

    @app.get("/_test/locks")
    def locks(session: SessionDep) -> dict[str, Any]:
        session.connection().execute(text("SELECT 1"))
        session.get(OrgUnit, 1, with_for_update=True)
        xid = session.connection().execute(text("SELECT pg_current_xact_id_if_assigned()::text")).scalar()
        return {"xid": xid}

    try:
        with TestClient(app) as http:
            assert http.get("/_test/reads").json() == {"each_statement_its_own_transaction": True}
            # the row lock assigned a transaction id, still current at the next statement: one transaction
            assert http.get("/_test/locks").json()["xid"] is not None
    finally:
        app.state.engine.dispose()


@pytest.mark.postgres_only
def test_a_request_that_only_read_ends_without_a_word_to_the_server(settings: Settings, tmp_path: Any) -> None:
    """PostgreSQL: a request that only read is ended without a commit (app.db._ends_without_io), which is right
    only because nothing goes over the wire then; a request that wrote still commits."""
    app = create_app(settings)
    traces: dict[str, Any] = {}
    ends_without_io: dict[str, bool] = {}
    code = f"RD{uuid.uuid4().hex[:6]}"

    def trace(session: Session, name: str) -> None:
        dbapi = session.connection().connection.dbapi_connection
        assert dbapi is not None
        handle = (tmp_path / f"{name}.trace").open("w")
        dbapi.pgconn.trace(handle.fileno())  # libpq logs every protocol message from here on
        traces[name] = (dbapi, handle)
        ends_without_io[name] = _ends_without_io(session)

    @app.get("/_test/read-only")
    def read_only(session: SessionDep) -> dict[str, Any]:
        session.connection().execute(text("SELECT 1"))
        trace(session, "read")
        return {}

    @app.get("/_test/write")
    def write(session: SessionDep) -> dict[str, Any]:
        session.add(OrgUnit(code=code, name=f"Unit {code}"))
        session.flush()
        trace(session, "write")
        return {}

    @app.get("/_test/unflushed")
    def unflushed(session: SessionDep) -> dict[str, Any]:
        session.connection().execute(text("SELECT 1"))
        session.add(OrgUnit(code=code + "U", name=f"Unit {code}U"))  # left for the commit to flush
        ends_without_io["unflushed"] = _ends_without_io(session)
        return {}

    try:
        with TestClient(app) as http:
            for name in ("read", "write"):
                assert http.get(f"/_test/{'read-only' if name == 'read' else name}").status_code == 200
                dbapi, handle = traces[name]
                dbapi.pgconn.untrace()  # before the connection serves the next request
                handle.close()
            assert http.get("/_test/unflushed").status_code == 200
        assert ends_without_io == {"read": True, "write": False, "unflushed": False}
        assert (tmp_path / "read.trace").read_text() == ""
        assert '"COMMIT"' in (tmp_path / "write.trace").read_text()
        with Session(app.state.engine) as check:
            assert check.exec(select(OrgUnit).where(OrgUnit.code == code)).one()
            assert check.exec(select(OrgUnit).where(OrgUnit.code == code + "U")).one()  # flushed by the commit
            check.connection().execute(text("DELETE FROM org_unit WHERE code LIKE :c"), {"c": code + "%"})
            check.commit()
    finally:
        app.state.engine.dispose()


# --- PostgreSQL: what travels together (app.db: the lazy BEGIN and writes in flight) -------------------------


def _round_trips(trace: str) -> list[list[str]]:
    """The statements the client sent (their first line), grouped by round trip: each group ends with the Sync
    it then waited on, or is one statement of the simple protocol. A prepared statement is sent without its
    text: it shows as "(prepared)"."""
    trips: list[list[str]] = [[]]
    for line in trace.splitlines():
        message = re.match(r"[^\t]*\tF\t\d+\t(\w+)(.*)", line)
        if message is None:
            continue
        kind, rest = message.groups()
        if kind == "Parse":
            trips[-1].append(rest.split('"" "', 1)[-1].rstrip('" 0'))
        elif kind == "Bind" and (not trips[-1] or trips[-1][-1] == "(prepared)"):
            trips[-1].append("(prepared)")
        elif kind == "Sync":
            trips.append([])
        elif kind == "Query":  # the simple protocol (psycopg's own BEGIN, COMMIT): a round trip of its own
            trips += [[rest.strip().strip('"')], []]
    return [trip for trip in trips if trip]


@pytest.fixture
def traced_app(settings: Settings, tmp_path: Any) -> Iterator[tuple[Any, Callable[[], list[list[str]]]]]:
    """The app with one pooled connection (every request reuses it), whose protocol messages libpq logs."""
    app = create_app(settings.model_copy(update={"db_pool_size": 1}))
    path = tmp_path / "wire.trace"
    handle = path.open("w")

    @event.listens_for(app.state.engine.pool, "checkout")
    def _trace(dbapi: Any, *_args: Any) -> None:
        dbapi.pgconn.trace(handle.fileno())

    def trips() -> list[list[str]]:
        handle.flush()
        found = _round_trips(path.read_text())
        handle.truncate(0)
        handle.seek(0)
        return found

    try:
        yield app, trips
    finally:
        app.state.engine.dispose()
        handle.close()


def _audit_rows(engine: Engine, comment: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM audit_event WHERE comment = :c"), {"c": comment}).scalar_one()
        )


def _audit(session: Session, comment: str, actor_id: int | None = None) -> None:
    audit.record(session, actor_id=actor_id, entity_type="test", entity_id=1, action="test.pipelined", comment=comment)


@pytest.mark.postgres_only
def test_a_transaction_begins_with_its_first_write_and_the_audit_row_travels_with_the_commit(
    traced_app: tuple[Any, Callable[[], list[list[str]]]], engine: Engine
) -> None:
    """A locking read, then an audited change: two round trips, not four. The BEGIN goes with the statement that
    needs it, and the audit row, whose result nobody reads, goes with the COMMIT."""
    app, trips = traced_app
    comment = f"pipelined {uuid.uuid4().hex[:8]}"

    @app.post("/_test/audited")
    def audited(session: SessionDep) -> dict[str, Any]:
        session.get(OrgUnit, 1, with_for_update=True)
        _audit(session, comment)
        return {}

    with TestClient(app) as http:
        trips()
        assert http.post("/_test/audited").status_code == 200
        sent = trips()
    assert [[statement.split()[0] for statement in trip] for trip in sent] == [
        ["BEGIN", "SELECT"],
        ["INSERT", "COMMIT"],
    ]
    assert sent[1][0].startswith("INSERT INTO audit_event")
    assert _audit_rows(engine, comment) == 1


@pytest.mark.postgres_only
def test_a_write_in_flight_is_seen_by_the_next_statement_and_rolled_back_with_the_request(
    traced_app: tuple[Any, Callable[[], list[list[str]]]], engine: Engine
) -> None:
    app, trips = traced_app
    comment = f"in flight {uuid.uuid4().hex[:8]}"
    seen: list[int] = []

    @app.post("/_test/refused-after-write")
    def refused(session: SessionDep) -> dict[str, Any]:
        _audit(session, comment)
        count = "SELECT count(*) FROM audit_event WHERE comment = :c"
        seen.append(int(session.connection().execute(text(count), {"c": comment}).scalar_one()))
        raise Conflict("Refused after the write.")

    @app.post("/_test/audited")
    def audited(session: SessionDep) -> dict[str, Any]:
        _audit(session, comment + " kept")
        return {}

    with TestClient(app) as http:
        trips()
        assert http.post("/_test/refused-after-write", headers={"accept": "application/json"}).status_code == 409
        sent = trips()
        # The next request, on the same (only) connection, is served as if nothing had happened.
        assert http.post("/_test/audited").status_code == 200
    assert seen == [1]  # the count travelled with the INSERT, after it
    assert [statement.split()[0] for statement in sent[0]] == ["BEGIN", "INSERT", "SELECT"]
    assert _audit_rows(engine, comment) == 0
    assert _audit_rows(engine, comment + " kept") == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("then", ["commit", "read"])
def test_a_write_in_flight_that_fails_fails_its_request_and_nothing_is_saved(
    traced_app: tuple[Any, Callable[[], list[list[str]]]], engine: Engine, then: str
) -> None:
    """The server refuses a write that was sent without waiting (here: an audit row naming nobody who exists).
    The error comes back with the statement or the COMMIT it travelled with; the request fails, and the writes
    before it in the same transaction are not saved."""
    app, _trips = traced_app
    comment = f"refused {then} {uuid.uuid4().hex[:8]}"

    @app.post("/_test/bad-write")
    def bad_write(session: SessionDep) -> dict[str, Any]:
        _audit(session, comment)  # valid, and in flight
        _audit(session, comment, actor_id=2_000_000_000)  # no such user: refused by the foreign key
        if then == "read":
            session.connection().execute(text("SELECT 1"))
        return {}

    @app.post("/_test/audited")
    def audited(session: SessionDep) -> dict[str, Any]:
        _audit(session, comment + " kept")
        return {}

    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.post("/_test/bad-write", headers={"accept": "application/json"}).status_code == 500
        assert http.post("/_test/audited").status_code == 200
    assert _audit_rows(engine, comment) == 0
    assert _audit_rows(engine, comment + " kept") == 1
