"""Two app instances (as two workers) over one committed database of their own: for the response caches, which
work on committed data only (the shared test app reads each test's uncommitted rows)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db import make_engine
from app.main import create_app
from app.settings import ROOT, Settings
from tests.conftest import TEST_SECRET, fresh_demo_database


@dataclass
class Site:
    engine: Engine
    worker_a: TestClient
    worker_b: TestClient
    settings: Settings
    app_a: FastAPI  # worker a's app (its engine, its state)


@contextmanager
def two_workers(tmp_dir: Path, label: str, *, follow_redirects: bool = True) -> Iterator[Site]:
    url, drop = fresh_demo_database(tmp_dir, label)
    engine = make_engine(url)
    settings = Settings(
        database_url=url, secret_key=TEST_SECRET, run_scheduler=False, policy_dir=ROOT / "policies", log_level="WARNING"
    )
    apps = [create_app(settings), create_app(settings)]
    try:
        with (
            TestClient(apps[0], follow_redirects=follow_redirects) as a,
            TestClient(apps[1], follow_redirects=follow_redirects) as b,
        ):
            yield Site(engine, a, b, settings, apps[0])
    finally:
        for app in apps:
            app.state.engine.dispose()
        engine.dispose()
        drop()
