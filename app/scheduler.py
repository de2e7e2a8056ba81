"""Scheduled work. Each process runs one in-memory APScheduler with one idempotent sweep.

The real schedule is data in the database (due dates, sent-at columns), never APScheduler's job store. Jobs live
beside their domain (``app/<domain>/jobs.py``), are listed explicitly at start-up (``app/jobs.py``) under dotted
names (``notifications.send_outbox``) and are called as ``job(session, now) -> rows handled``, where ``now`` may be a
simulated time (``python -m app.cli sweep --now ...``).

Three layers keep several processes from doing the same work twice:

1. the sweep takes a PostgreSQL advisory lock, so usually one process sweeps at a time and the others return at
   once (less wasted work; correctness does not rest on it);
2. a job selects due rows with ``FOR UPDATE SKIP LOCKED LIMIT n``, so two sweepers never wait for or take the
   same rows (PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE`` instead, see app/db.py);
3. each selected row is claimed with a compare-and-set ``UPDATE ... WHERE id = :id AND <still due>``: only a
   rowcount of 1 lets the job go on with that row. The claim must make the row not due any more. Work that has
   no row of its own to update (a reminder about a proposal) is claimed by inserting the row that records it,
   under a unique key that names the work (``insert_once``): one inserter wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, Engine, Select, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from app.db import table_of, utcnow
from app.logs import log

SWEEP_LOCK_KEY = 732_001
SelectT = TypeVar("SelectT", bound=Select[Any])
Job = Callable[[Session, datetime], int]


class ScheduledJob(NamedTuple):
    name: str  # dotted: "<domain>.<what it does>"
    run: Job


def sweep(engine: Engine, jobs: Sequence[ScheduledJob], *, now: datetime | None = None) -> dict[str, int] | None:
    """Run each job once, in order, each with its own session. Returns rows handled per job (a failed job is
    left out and logged), or None when another process holds the sweep lock."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("sweep(now=...) needs a timezone-aware datetime")
    done: dict[str, int] = {}
    with _sweep_lock(engine) as held:
        if not held:
            log.info("sweep skipped: another process is sweeping")
            return None
        for job in jobs:
            with Session(engine, expire_on_commit=False) as session:
                try:
                    done[job.name] = job.run(session, now)
                    session.commit()
                except Exception:
                    # One failing job must not stop the others; the log line carries the traceback.
                    session.rollback()
                    log.exception("sweep job failed", job=job.name)
    return done


@contextmanager
def _sweep_lock(engine: Engine) -> Iterator[bool]:
    """PostgreSQL: a session-level advisory lock on a connection of its own, so the jobs may commit as they go.

    A transaction-level lock would end with the jobs' first commit. The connection sits idle (no open
    transaction) while the jobs run; the lock is released explicitly, or by the server if the connection dies.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SWEEP_LOCK_KEY}).scalar_one())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SWEEP_LOCK_KEY})
                conn.commit()


def claim_due(
    session: Session,
    model: type[SQLModel],
    *,
    due: ColumnElement[bool],
    claim: Mapping[str, Any],
    order_by: Sequence[Any] = (),  # column expressions
    limit: int = 100,
) -> list[int]:
    """Claim up to ``limit`` rows of ``model`` (one-column primary key) that are ``due``, setting the ``claim``
    values on each; return the keys of the rows this caller won. Does not commit: the caller commits the claim (to
    make it visible before slow work such as sending mail) or does its work in the same transaction.

    ``claim`` must make ``due`` false (for example move ``next_attempt_at`` past ``now``), so a row is claimed
    once: the compare-and-set repeats ``due`` and counts only an update of exactly one row.
    """
    (key,) = table_of(model).primary_key.columns
    stmt = skip_locked(session, select(key).where(due).order_by(*order_by, key).limit(limit))
    candidates = list(session.connection().execute(stmt).scalars())
    return claim_ids(session, model, candidates, due=due, claim=claim)


def skip_locked(session: Session, stmt: SelectT, *, of: Any = None) -> SelectT:
    """``stmt`` as ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows another sweeper holds are passed over,
    and the rows returned stay locked until this transaction ends); unchanged on SQLite, where writers take turns."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=of)
    return stmt


def claim_ids(
    session: Session, model: type[SQLModel], ids: Sequence[int], *, due: ColumnElement[bool], claim: Mapping[str, Any]
) -> list[int]:
    """The compare-and-set half of :func:`claim_due`: claim each of ``ids`` that is still ``due``."""
    table = table_of(model)
    (key,) = table.primary_key.columns
    cas = update(table).where(key == bindparam("claim_id"), due).values(**claim)
    conn = session.connection()
    return [row_id for row_id in ids if conn.execute(cas, {"claim_id": row_id}).rowcount == 1]


def insert_once(session: Session, row: SQLModel) -> bool:
    """The other claim: insert the row that records a piece of work, whose unique key names the work. True when
    this caller inserted it; False when it exists (done before, or by another sweeper), and nothing else is undone.
    A concurrent insert of the same key waits for the other transaction and then fails, so one of them wins."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def handle_each(session: Session, ids: Sequence[int], handle: Callable[[int], bool], *, job: str) -> int:
    """Run ``handle(id)`` for each claimed id in its own savepoint: a failure is logged and undoes that item only
    (the claim stays). Returns how many items ``handle`` reported as done (True)."""
    done = 0
    for row_id in ids:
        try:
            with session.begin_nested():
                done += bool(handle(row_id))
        except Exception:
            log.exception("sweep item failed", job=job, id=row_id)
    return done


def claim_each(
    session: Session,
    model: type[SQLModel],
    handle: Callable[[int], bool],
    *,
    job: str,
    due: ColumnElement[bool],
    claim: Mapping[str, Any],
    order_by: Sequence[Any] = (),
    batch: int = 50,
) -> int:
    """Claim the due rows a batch at a time and handle each claimed row (``handle_each``), committing after each
    batch, until none is due. Returns how many ``handle`` reported as done."""
    done = 0
    while True:
        ids = claim_due(session, model, due=due, claim=claim, order_by=order_by, limit=batch)
        if not ids:
            return done
        done += handle_each(session, ids, handle, job=job)
        session.commit()


def start_scheduler(engine: Engine, jobs: Sequence[ScheduledJob], interval_seconds: int) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep,
        "interval",
        args=[engine, tuple(jobs)],
        seconds=interval_seconds,
        id="sweep",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=30,
    )
    scheduler.start()
    return scheduler
