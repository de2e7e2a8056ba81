"""The real app in a uvicorn subprocess over a fresh, migrated demo database, as `make run` serves it.

Used by the browser tests and by the availability tests, which need real sessions and a real server: the
in-process test client shares one test transaction and would hide a transaction left open.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import ROOT
from tests.conftest import TEST_SECRET, fresh_database_url

UVICORN = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`python -m app.cli {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], stderr_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The app server exited with code {process.returncode} before answering {url}/healthz.\n"
                f"Server stderr:\n{stderr_path.read_text(errors='replace')}"
            )
        try:
            response = httpx.get(f"{url}/healthz", timeout=2.0)
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        else:
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
        time.sleep(0.2)
    raise RuntimeError(
        f"The app server did not answer {url}/healthz within {STARTUP_TIMEOUT_SECONDS:.0f} s "
        f"(last: {last_error}).\nServer stderr:\n{stderr_path.read_text(errors='replace')}"
    )


def _keep() -> None:
    return None


@contextmanager
def serve(
    tmp: Path, label: str, *, database_url: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Serve the app on a free port over a fresh demo database (SQLite in tmp, or a new PostgreSQL database
    when TEST_DATABASE_URL names a server); stop it and drop the database afterwards. A ``database_url``
    given by the caller (empty, migrated here) stays the caller's to drop."""
    if database_url is None:
        database_url, drop = fresh_database_url(tmp, label)
    else:
        drop = _keep
    env = {
        **os.environ,
        "MCQA_DATABASE_URL": database_url,
        "MCQA_RUN_SCHEDULER": "false",
        "MCQA_SECRET_KEY": TEST_SECRET,
        "MCQA_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        stdout_path, stderr_path = tmp / f"{label}.stdout.log", tmp / f"{label}.stderr.log"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [*UVICORN, "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )
        try:
            _wait_until_healthy(url, process, stderr_path)
            yield LiveServer(url=url, database_url=database_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    finally:
        drop()
