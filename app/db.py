"""Engine, metadata conventions and the one-transaction-per-request session dependency."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, Table, event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, create_engine

# Deterministic constraint names, so Alembic migrations are reproducible on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_BUSY_TIMEOUT_MS = 30_000


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, for Core statements (SQLModel does not type ``__table__``)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


# A moment that stands for "now" while set: the demo showcase writes its history as of days past (``as_of``).
_AS_OF: ContextVar[datetime | None] = ContextVar("mcqa_as_of", default=None)


def utcnow() -> datetime:
    """Now, in UTC: the clock every record, deadline and audit row reads (inside ``as_of``, that moment)."""
    moment = _AS_OF.get()
    return datetime.now(UTC) if moment is None else moment


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """What is done inside happens at ``moment``: what it writes and the deadlines it sets read that time (the demo
    showcase's proposals entered their stages days ago). Never set while serving requests."""
    token = _AS_OF.set(moment)
    try:
        yield
    finally:
        _AS_OF.reset(token)


def make_engine(url: str, *, pool_size: int = 5, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _make_sqlite_transactional(engine)
    else:
        # No pre-ping: it costs a round trip on every checkout. A connection the server dropped fails one request
        # and SQLAlchemy then replaces the whole pool (a disconnect invalidates every pooled connection).
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, **kwargs)
    event.listen(engine, "before_cursor_execute", _before_each_statement)
    if engine.dialect.name == "postgresql":
        _send_in_pipelines(engine)
    return engine


def _before_each_statement(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *_args: Any) -> None:
    """The checks, the lazy BEGIN and the pipeline before every statement: one listener, not three (every
    statement pays for each listener it passes through)."""
    _refuse_on_event_loop()
    _refuse_unstorable_values(conn, cursor, statement, parameters)
    if conn.dialect.name == "postgresql":
        _begin_before_first_write(conn, statement)
        if _in_flight(context):
            _open_pipeline(conn)


# The widest integer column of each database: SQLite's INTEGER, PostgreSQL's (the app's) INTEGER.
_INTEGER_BOUNDS = {"sqlite": 2**63, "postgresql": 2**31}


def _refuse_unstorable_values(conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
    """Refuse, before the query, a value no column can hold, from any path, query, form or JSON field: an integer
    beyond the database's range (an overflow error, a 500) or text with a NUL character (PostgreSQL refuses it;
    SQLite would store it)."""
    bound = _INTEGER_BOUNDS.get(conn.dialect.name, 2**63)
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        values = row.values() if isinstance(row, dict) else (row or ())
        for value in values:
            if isinstance(value, str):
                if "\x00" in value:
                    raise UnstorableValue("Text may not contain NUL characters (\\0).")
            elif isinstance(value, int) and not isinstance(value, bool) and not -bound <= value < bound:
                raise UnstorableValue(f"{value} is out of range: numbers here are below {bound:,}.")


class UnstorableValue(ValueError):
    """A request value the database cannot hold; answered with 422 (see app.main)."""


class BlockingCallOnEventLoop(RuntimeError):
    """A database call from the event loop's thread: it would stop every other request while it waits."""


def _refuse_on_event_loop(*_args: Any) -> None:
    """Database work belongs in sync handlers and dependencies, which FastAPI runs in its thread pool.

    One ``async def`` handler waiting for a connection or a lock blocks the loop that the other requests need
    to finish and release theirs: the whole server hangs. Failing loudly here turns that outage into one
    failed request and a clear error, in tests and in production alike.
    """
    loop = asyncio._get_running_loop()
    # A coroutine is executing on this thread (not merely a loop that exists here, as Playwright's sync API
    # leaves one in the test process's main thread).
    if loop is not None and asyncio.current_task(loop) is not None:
        raise BlockingCallOnEventLoop(
            "A database call ran on the event loop. Make the handler or dependency a plain `def` "
            "(read a posted form with app.forms.PostedForm)."
        )


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, issue BEGIN: SAVEPOINTs work and writers take the lock up front.

    This is the recipe from the SQLAlchemy SQLite dialect documentation ("Serializable isolation /
    Savepoints / Transactional DDL"); BEGIN IMMEDIATE makes a compare-and-set on a status column safe
    when two requests race on the embedded database.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


# --- PostgreSQL: a transaction only from the first write ---------------------------------------------

LAZY_TRANSACTION = "mcqa_lazy_transaction"
# In a SELECT, what needs the request's transaction: row locks, transaction-level advisory locks, sequences.
_NEEDS_TRANSACTION = ("FOR UPDATE", "FOR SHARE", "FOR NO KEY", "FOR KEY SHARE", "ADVISORY", "XACT", "NEXTVAL", "SETVAL")


@lru_cache(maxsize=4096)
def _is_plain_read(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    if head != "SELECT":
        return False
    upper = statement.upper()
    return not any(word in upper for word in _NEEDS_TRANSACTION)


def lazy_transactions(engine: Engine) -> Engine:
    """The request sessions' engine. On PostgreSQL, plain reads run without BEGIN and COMMIT (two round trips of
    a typical page's five) and the transaction starts with the first statement that is not a plain read (a
    write, a locking read), then covers the rest of the request and is committed or rolled back at its end as
    before. Under READ COMMITTED, PostgreSQL's default and ours, every statement takes its own snapshot inside a
    transaction too, so what a request reads does not change; its writes stay atomic. SQLite: the engine as is."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT", **{LAZY_TRANSACTION: True})


def _begin_before_first_write(conn: Any, statement: str) -> None:
    if not conn.get_execution_options().get(LAZY_TRANSACTION) or _is_plain_read(statement):
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and dbapi.pgconn.transaction_status == TransactionStatus.IDLE:
        # The connection stays in psycopg's autocommit mode (psycopg would send its BEGIN alone and wait for it):
        # the BEGIN is sent here, with this statement, and psycopg's commit() or rollback() ends the transaction.
        _open_pipeline(conn)
        dbapi.cursor().execute("BEGIN")


# --- PostgreSQL: statements whose results nobody waits for travel with the next one -------------------------
#
# Each statement costs a round trip: the client sends it and waits for its result. psycopg's pipeline mode sends
# statements without waiting and reads their results at the next sync. Two uses, for any statement of any request:
# - the BEGIN that starts a transaction (above) goes with the statement that needs it, instead of alone;
# - a write marked ``IN_FLIGHT`` (the audit row, a vote's new choice: an INSERT or UPDATE whose result and row
#   count nobody reads) is sent and not waited for; it travels with the next statement that is waited for, or
#   with the COMMIT.
# The server runs them in the order sent, so every later statement of the transaction sees them, and an error in
# one of them fails the statement or the commit it travelled with: the request fails and is rolled back whole.
# On SQLite, which has no round trips, statements run one by one as before.
IN_FLIGHT = "mcqa_in_flight"  # execution option: send this write without waiting for its result
_PIPELINE = "mcqa_pipeline"  # in the DBAPI connection's info: the pipeline open on it


def _in_flight(context: Any) -> bool:
    return context is not None and bool(context.execution_options.get(IN_FLIGHT))


def _open_pipeline(conn: Any) -> None:
    info = conn.connection.info
    if _PIPELINE not in info:
        pipeline = conn.connection.dbapi_connection.pipeline()
        pipeline.__enter__()
        info[_PIPELINE] = pipeline


def _sync_pipeline(info: dict[str, Any], *, quietly: bool = False) -> None:
    """Send what is queued and read every result (raising the first error), then leave pipeline mode."""
    pipeline = info.pop(_PIPELINE, None)
    if pipeline is None:
        return
    try:
        pipeline.__exit__(None, None, None)
    except Exception:
        if not quietly:
            raise


def _send_in_pipelines(engine: Engine) -> None:
    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        # A statement whose result is read: wait for it (and for what travelled with it) before SQLAlchemy reads
        # its rows or row count.
        if _PIPELINE in conn.connection.info and not _in_flight(context):
            _sync_pipeline(conn.connection.info)

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        # The COMMIT goes with the writes still in flight, in the same round trip; psycopg's own commit that
        # follows then has nothing to do. An error is raised as SQLAlchemy raises it for any statement.
        info = conn.connection.info
        if _PIPELINE not in info:
            return
        try:
            conn.connection.dbapi_connection.cursor().execute("COMMIT")
            _sync_pipeline(info)
        except conn.dialect.loaded_dbapi.Error as exc:
            _sync_pipeline(info, quietly=True)
            raise DBAPIError.instance("COMMIT", None, exc, conn.dialect.loaded_dbapi.Error) from exc

    # A rollback, or a statement that failed while others were in flight: their results are not wanted.
    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        if not conn.invalidated:
            _sync_pipeline(conn.connection.info, quietly=True)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        conn = context.connection
        if conn is not None and not conn.invalidated:
            _sync_pipeline(conn.connection.info, quietly=True)

    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi: Any, record: Any, _state: Any) -> None:
        _sync_pipeline(record.info, quietly=True)


def check_writable(engine: Engine, timeout_seconds: float) -> None:
    """Start a write transaction and end it at once; raise when the database cannot give one in time.

    A health check that only reads would answer 200 while writers are locked out (an abandoned SQLite
    transaction holds the write lock for ever), so this one asks for what requests need: a write.
    """
    millis = int(timeout_seconds * 1000)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute(f"PRAGMA busy_timeout={millis}")
            try:
                with conn.begin():  # BEGIN IMMEDIATE: takes the write lock, or waits at most the timeout
                    conn.exec_driver_sql("SELECT 1")
            finally:
                raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        else:
            with conn.begin():
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {millis}")
                conn.exec_driver_sql("SELECT pg_current_xact_id()")  # assigns a transaction id: a writer


def read_only(engine: Engine) -> Engine:
    """The same engine for reads that must not wait for a writer (SQLite: a deferred transaction in WAL mode)."""
    return engine.execution_options(read_only=True)


TRIP_DEPENDENCY = "mcqa_trip_dependency"
C = TypeVar("C", bound=Callable[..., Any])


def trip_dependency(call: C) -> C:
    """Mark a plain ``def`` request dependency (or a generator, ended like a context manager) to be resolved in
    the handler's own trip to the thread pool, with the handler and the commit, instead of by FastAPI before it
    (``app.routing.OneTripRoute``): the request's session and who is asking. Its own dependencies must be such
    dependencies too, or the request."""
    setattr(call, TRIP_DEPENDENCY, True)
    return call


@trip_dependency
def get_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: commit when the handler returns, roll back when it raises.

    ``request.state.db`` lends the session to page-wide context (navigation badges) while the handler
    renders; it is cleared when the session closes, so nothing can reopen a transaction that nobody ends
    (an error page renders after this teardown and opens its own short session, see app.web).

    A one-trip route (``app.routing``) opens, uses and ends it in the handler's thread: one trip to the thread
    pool per request. On PostgreSQL, a request that only read (no transaction was begun, see
    ``lazy_transactions``) ends without a word to the server.
    """
    session = Session(request.app.state.request_engine, expire_on_commit=False)
    under_version(session, request)
    request.state.db = session
    try:
        yield session
        if not _ends_without_io(session):
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        request.state.db = None


def _ends_without_io(session: Session) -> bool:
    """True when ending the session sends nothing to the database: nothing left to flush, and no connection
    taken or only PostgreSQL connections of ``lazy_transactions`` outside a transaction (only plain reads ran:
    psycopg's rollback and the pool's reset on return are then local no-ops; tests/test_request_path.py checks
    the wire)."""
    if session.new or session.deleted or session.dirty:
        return False
    transaction = session.get_transaction()
    if transaction is None:
        return True
    for connection, *_ in transaction._connections.values():
        if not connection.get_execution_options().get(LAZY_TRANSACTION):
            return False
        dbapi = None if connection.invalidated else connection.connection.dbapi_connection
        if dbapi is None or dbapi.pgconn.transaction_status != TransactionStatus.IDLE:
            return False
    return True


_MEMO = "mcqa_memo"
T = TypeVar("T")


def session_memo(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per session transaction until its next flush (a write may change it): a figure that
    several parts of one page show (the navigation's count and a panel's) is read once."""
    memo: dict[Hashable, Any] = session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = compute()
    return cast(T, memo[key])


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget_memo(session: Session, *_args: Any) -> None:
    """A write, or the end of a transaction (or savepoint), may change what was read."""
    session.info.pop(_MEMO, None)


# --- figures remembered across requests, under the database version ----------------------------------

# Where the page cache (app.response_cache) leaves the database version it read as the request arrived: every
# commit, by anyone, changes it.
DB_VERSION_SCOPE_KEY = "mcqa.db_version"
_VERSION = "mcqa_db_version"
_WROTE = "mcqa_wrote"  # set on a session's first write (mark_written)
_VERSION_MEMO: OrderedDict[Hashable, Any] = OrderedDict()
_VERSION_MEMO_SIZE = 4096
_VERSION_MEMO_LOCK = threading.Lock()


def under_version(session: Session, request: Request) -> None:
    """Let ``version_memo`` remember what this request's session reads under the version read as it arrived."""
    if (version := request.scope.get(DB_VERSION_SCOPE_KEY)) is not None:
        session.info[_VERSION] = version


def version_memo(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per database version in this process, for every request that reads under it (the
    navigation's count of proposals awaiting a person's decision, on each page they open); ``session_memo`` where
    there is no version (no page cache, or a request that is not a cacheable GET) or this session has written.

    ``key`` must hold everything the figure depends on besides the data (the person and their seats, not the
    time: a figure that changes with the clock alone must not be remembered here). A request that began before a
    commit may get a figure read after it, never one from before a commit it could see."""
    version = session.info.get(_VERSION)
    if version is None or session.info.get(_WROTE):
        return session_memo(session, key, compute)
    full = (version, key)
    with _VERSION_MEMO_LOCK:
        if full in _VERSION_MEMO:
            _VERSION_MEMO.move_to_end(full)
            return cast(T, _VERSION_MEMO[full])
    value = session_memo(session, key, compute)
    if not session.info.get(_WROTE):
        with _VERSION_MEMO_LOCK:
            _VERSION_MEMO[full] = value
            while len(_VERSION_MEMO) > _VERSION_MEMO_SIZE:
                _VERSION_MEMO.popitem(last=False)
    return value


@event.listens_for(Session, "after_flush")
def mark_written(session: Session, *_args: Any) -> None:
    """A session that has written reads its own changes: nothing it reads is remembered for others. Called on
    every flush, and by what writes through Core (the audit log)."""
    session.info[_WROTE] = True


# scope="function": the commit happens before the response is sent, so a failed commit is a failed request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
