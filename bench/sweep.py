"""``sweep_empty`` and ``sweep_due``: the review sweep over 100,000 published micro-credentials (PostgreSQL).

Each micro-credential has its standing and two scheduled reviews (a monitoring report due within the next 100 to
465 days and a full review three years out), inserted in bulk. ``sweep_empty`` runs the review jobs at a moment
when nothing is due (median of several runs; target: under 50 ms). ``sweep_due`` makes some monitoring reports
open today (0.5%, then 1% of the micro-credentials) and times the sweep that opens them (each through the workflow
core: lock, audit row, standing, notice to the owner): the time grows with the number due, not with the number of
micro-credentials, because every job starts from a date index. The plans of the jobs' selecting queries are
printed with EXPLAIN.

``python -m bench.sweep`` runs it on a fresh database of the server in ``TEST_DATABASE_URL``; ``bench.run`` calls
``measure`` on its own database after the HTTP scenarios.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import Engine, make_url, text
from sqlmodel import Session, col, select

from app.cli import alembic_config
from app.db import make_engine
from app.demo import load_demo
from app.org.models import OrgUnit
from app.policies import Policies, load_policies
from app.reviews import jobs
from app.reviews.models import Review
from app.scheduler import skip_locked
from app.settings import ROOT
from app.users.models import User
from app.workflows.reviews import ReviewStatus

CREDENTIALS = 100_000
NOW = datetime(2031, 3, 2, 6, 0, tzinfo=UTC)
TARGET_EMPTY_MS = 50.0
BASE_URL = "https://bench.invalid"


def fill(engine: Engine, credentials: int) -> None:
    """Bulk-insert ``credentials`` more published micro-credentials with their standing and two scheduled reviews
    each."""
    today = NOW.date()
    with Session(engine) as session:
        owner = session.exec(select(User.id).order_by(col(User.id))).first()
        unit = session.exec(select(OrgUnit.id).order_by(col(OrgUnit.id))).first()
        after = session.execute(text("SELECT coalesce(max(id), 0) FROM credential")).scalar_one()
        params: dict[str, Any] = {"n": credentials, "owner": owner, "unit": unit, "today": today, "after": after}
        session.execute(
            text(
                "INSERT INTO credential (kind, org_unit_id, owner_id, created_at, current_version_no, title, "
                "search_text, published_at) SELECT 'standalone', :unit, :owner, now(), 1, 'Swept ' || g, '', now() "
                "FROM generate_series(1, :n) g"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO credential_standing (id, status, changed_at, lock_version) "
                "SELECT id, 'active', now(), 1 FROM credential WHERE id > :after"
            ),
            params,
        )
        for kind, due in (
            ("monitoring", "CAST(:today AS date) + 100 + (id % 365)"),
            ("full", "CAST(:today AS date) + 1000"),
        ):
            session.execute(
                text(
                    "INSERT INTO review (credential_id, kind, trigger, trigger_key, reason, status, opens_on, due_on, "
                    "narrative, need_evidence, action_plan, figures, assessment, created_at, lock_version) "
                    f"SELECT id, '{kind}', 'schedule', 'bench:{kind}:' || id, '', 'scheduled', {due} - 30, {due}, "
                    "'', '', '', '[]', '', now(), 1 FROM credential WHERE id > :after"
                ),
                params,
            )
        session.commit()
    # As after any bulk load: statistics, visibility and hint bits set now, and the pages written out, rather than
    # by the first sweep that reads them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))


def _sweep(engine: Engine, policies: Policies) -> tuple[float, int]:
    """One run of every review job at NOW; returns (milliseconds, rows handled)."""
    started = time.perf_counter()
    handled = 0
    with Session(engine, expire_on_commit=False) as session:
        handled += jobs.offerings_ended(session, NOW, policies=policies)
        handled += jobs.open_due(session, NOW, policies=policies)
        handled += jobs.open_triggered(session, NOW, policies=policies)
        handled += jobs.remind_and_escalate(session, NOW, policies=policies, base_url=BASE_URL)
        handled += jobs.action_reminders(session, NOW, policies=policies, base_url=BASE_URL)
        session.commit()
    return (time.perf_counter() - started) * 1000, handled


def _median_empty(engine: Engine, policies: Policies, runs: int) -> float:
    timed = [_sweep(engine, policies) for _ in range(runs)]
    assert all(n == 0 for _, n in timed), "nothing should be due"
    return statistics.median(ms for ms, _ in timed)


def _make_due(engine: Engine, count: int) -> None:
    """``count`` more scheduled monitoring reports open today (their due date 30 days out)."""
    with Session(engine) as session:
        session.execute(
            text(
                "UPDATE review SET opens_on = :today, due_on = CAST(:today AS date) + 30 WHERE id IN ("
                "SELECT id FROM review WHERE status = 'scheduled' AND kind = 'monitoring' AND opens_on > :today "
                "ORDER BY id LIMIT :n)"
            ),
            {"today": NOW.date(), "n": count},
        )
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE review"))


def plans(engine: Engine) -> list[str]:
    """EXPLAIN of the selecting queries of ``open_due`` and ``remind_and_escalate`` at NOW."""
    today = NOW.date()
    with Session(engine) as session:
        queries = {
            "reviews.open_due": select(Review.id).where(
                col(Review.status) == ReviewStatus.scheduled.value, col(Review.opens_on) <= today, col(Review.id) > 0
            ),
            "reviews.remind_and_escalate": select(Review.id).where(
                col(Review.status) == ReviewStatus.open.value,
                col(Review.due_on) <= today + timedelta(days=14),
                col(Review.id) > 0,
            ),
        }
        out = []
        for name, stmt in queries.items():
            locked = skip_locked(session, stmt.order_by(col(Review.id)).limit(50))
            sql = str(locked.compile(engine, compile_kwargs={"literal_binds": True}))
            rows = session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}")).scalars().all()
            out.append(f"{name}:\n  " + "\n  ".join(rows))
        session.rollback()
    return out


def measure(url: str, *, credentials: int = CREDENTIALS, runs: int = 7) -> list[dict[str, Any]]:
    """Fill the database at ``url`` and time the sweep; returns rows for bench/results.json."""
    engine = make_engine(url)
    policies = load_policies(ROOT / "policies")
    try:
        # The same empty sweep over 1% of the micro-credentials and over all of them, measured alternately so that
        # the load of the machine weighs on both alike: the two should not differ beyond noise.
        fill(engine, credentials // 100)
        small = _median_empty(engine, policies, runs)
        fill(engine, credentials - credentials // 100)
        empty_ms = _median_empty(engine, policies, runs)
        print(f"sweep_empty over {credentials // 100:,} micro-credentials: median {small:.1f} ms")
        print(f"sweep_empty over {credentials:,} micro-credentials: median {empty_ms:.1f} ms "
              f"({'under' if empty_ms < TARGET_EMPTY_MS else 'OVER'} the {TARGET_EMPTY_MS:.0f} ms target)")  # fmt: skip
        print("\n".join(plans(engine)))
        rows: list[dict[str, Any]] = [
            {"name": "sweep_empty", "credentials": credentials, "due": 0, "ms": round(empty_ms, 1)}
        ]
        for share in (0.005, 0.01):
            due = int(credentials * share)
            _make_due(engine, due)
            ms, handled = _sweep(engine, policies)
            assert handled == due, (handled, due)
            print(f"sweep_due with {due:,} due of {credentials:,}: {ms:.0f} ms ({ms / due:.2f} ms per review opened)")
            rows.append(
                {
                    "name": "sweep_due",
                    "credentials": credentials,
                    "due": due,
                    "ms": round(ms, 1),
                    "ms_per_due": round(ms / due, 2),
                }
            )
        return rows
    finally:
        engine.dispose()


def main() -> int:
    server_url = os.environ.get("TEST_DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        print("bench.sweep needs TEST_DATABASE_URL=postgresql+psycopg://...", file=sys.stderr)
        return 2
    name = f"mcqa_sweep_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        cfg = alembic_config(url)
        cfg.attributes["configure_logger"] = False
        command.upgrade(cfg, "head")
        engine = make_engine(url)
        with Session(engine) as session:
            load_demo(session, load_policies(ROOT / "policies"))
            session.commit()
        engine.dispose()
        credentials = int(os.environ.get("BENCH_SWEEP_CREDENTIALS") or CREDENTIALS)
        for row in measure(url, credentials=credentials):
            print(row)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
