"""The request path made cheaper (issue 11) keeps its guarantees: one transaction per request, committed when the
handler returns and rolled back when it raises; CSRF checks on cookie sessions, none minted for bearer calls."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

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
