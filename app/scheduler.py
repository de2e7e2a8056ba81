"""Scheduled work. Each process runs one in-memory APScheduler with one idempotent sweep.

The real schedule is data in the database (due dates, sent-at columns). The sweep takes a PostgreSQL
advisory lock so only one process sweeps at a time; each job selects due rows itself and marks them with
a compare-and-set, so running a sweep twice, or in two processes, changes nothing the second time.
Domains register their jobs in ``JOBS`` under dotted names (``reviews.open_due_cycles``).
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.logs import log

SWEEP_LOCK_KEY = 732_001
Job = Callable[[Session], int]
JOBS: dict[str, Job] = {}


def register(name: str) -> Callable[[Job], Job]:
    def decorator(func: Job) -> Job:
        JOBS[name] = func
        return func

    return decorator


def sweep(engine: Engine) -> dict[str, int]:
    """Run every registered job once, each in its own transaction. Returns rows handled per job."""
    done: dict[str, int] = {}
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            locked = session.connection().execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY})
            if not locked.scalar_one():
                return done
        for name, job in JOBS.items():
            try:
                with session.begin_nested():
                    done[name] = job(session)
            except Exception:
                # One failing job must not stop the others; the log line carries the traceback.
                log.exception("sweep job failed", job=name)
        session.commit()
    return done


def start_scheduler(engine: Engine, interval_seconds: int) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep,
        "interval",
        args=[engine],
        seconds=interval_seconds,
        id="sweep",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=30,
    )
    scheduler.start()
    return scheduler
