"""The sweep runs every registered job once per call, isolates a failing job, and works on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import scheduler


@pytest.fixture
def jobs() -> Iterator[dict[str, scheduler.Job]]:
    saved = dict(scheduler.JOBS)
    scheduler.JOBS.clear()
    yield scheduler.JOBS
    scheduler.JOBS.clear()
    scheduler.JOBS.update(saved)


def test_sweep_runs_each_job_and_survives_a_failing_one(engine: Engine, jobs: dict[str, scheduler.Job]) -> None:
    calls: list[str] = []

    @scheduler.register("tests.counts")
    def counts(session: Session) -> int:
        calls.append("counts")
        return 3

    @scheduler.register("tests.breaks")
    def breaks(session: Session) -> int:
        calls.append("breaks")
        raise RuntimeError("boom")

    @scheduler.register("tests.after")
    def after(session: Session) -> int:
        calls.append("after")
        return 0

    done = scheduler.sweep(engine)
    assert done == {"tests.counts": 3, "tests.after": 0}
    assert calls == ["counts", "breaks", "after"]
    assert scheduler.sweep(engine) == done  # running again is harmless
