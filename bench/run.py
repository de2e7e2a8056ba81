"""``python -m bench.run`` (``make bench``): the HTTP load test against the real app on PostgreSQL.

Creates a fresh database ``mcqa_bench_<random>`` on the server of ``TEST_DATABASE_URL``, migrates it, fills it
with ``bench.generate``, starts the app under uvicorn with two worker processes, warms it up, then sends a fixed
number of requests per scenario from concurrent clients (processes, each with its own ``httpx.Client`` and bearer
token) and writes ``bench/results.json``. The server is stopped and the database dropped at the end, whatever
happened. The exit code is 0 even when a latency target is missed: the table says which.

Settings (environment):
  TEST_DATABASE_URL   a PostgreSQL server URL (required; ``make bench`` starts a throwaway one)
  BENCH_CLIENT        wrk (default when installed: a C load generator that leaves the CPU to the server) or
                      python (one process per client, httpx); make bench installs wrk when it can
  BENCH_SECONDS       seconds per scenario with wrk (15)
  BENCH_REQUESTS      requests per scenario with the python client (2000)
  BENCH_CONCURRENCY   concurrent clients (10)
  BENCH_SCALE         dataset scale, 1.0 = 10,000 proposals, 100,000 audit rows, 50,000 votes
  BENCH_WARMUP        requests per scenario before measuring with the python client (30); with wrk, 0 turns the
                      warm-up off, else it runs until the throughput stops rising (``warmed_up``)
  BENCH_WORKERS       uvicorn worker processes (2)
  BENCH_SHARED_TOKEN  1: every client of a role sends the same API token (default: one token per client)
  BENCH_RESULTS       where to write the results (bench/results.json)
  BENCH_KEEP_DB       1: keep the database afterwards (its URL is printed) to look at query plans
  BENCH_ONLY          comma-separated scenario names to run (with their bare references); default: all

Every run also serves the bare reference of ``bench/bare.py`` (FastAPI + SQLAlchemy Core + psycopg, one indexed
SELECT per GET, one INSERT per POST) with the same workers on the same database, and reports each scenario's
throughput as ``share_of_bare`` (see the README, "Reading the benchmark").
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from sqlalchemy import make_url, text

from app.cli import alembic_config
from app.db import make_engine
from app.settings import ROOT
from bench import sweep
from bench.agenda import make_agenda
from bench.bare import create_tables
from bench.feedback import make_results_survey
from bench.generate import Generated, Sizes, generate

TARGET_P95_MS = 50.0
# Seconds of the bare reference run just before each scenario, whose share is taken of it (``run_with_reference``).
ADJACENT_BARE_SECONDS = 5
# Shares of the bare reference each kind of scenario must reach (issue 11): "page" and "post" against the bare GET
# and POST; the public catalogue, served from its response cache, at least as fast as the bare GET.
TARGET_SHARE = {"page": 0.35, "post": 0.35, "public": 1.0}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    role: str | None  # whose API token the clients send; None: anonymous
    call: Callable[[int], Call]  # the i-th request
    server: str = "app"  # or "bare": the reference app of bench/bare.py
    keep_alive: bool = False  # False: a new connection per request ("Connection: close")
    target: str = ""  # "page", "post" or "public": which share of the bare reference it must reach; "": none
    # True: every request says "Cache-Control: no-cache", as a browser's reload does, so that the page is rendered
    # afresh instead of coming from memory (app.response_cache): what a first visit, or one after a change, costs.
    fresh: bool = False

    def headers(self, token: str) -> dict[str, str]:
        """The request headers besides the connection's."""
        result = {"accept": "text/html" if self.call(0).method == "GET" else "application/json"}
        if self.role is not None and token:
            result["authorization"] = f"Bearer {token}"
        if self.fresh:
            result["cache-control"] = "no-cache"
        return result


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput_rps: float
    statuses: Counter[int]
    sample_error: str
    share_of_bare: float | None = None
    bare_name: str = ""
    target: str = ""
    warmup_rounds: int = 0  # wrk: the warm-up rounds run before measuring (``warmed_up``)
    # wrk: the reference's throughput measured just before this scenario (``ADJACENT_BARE_SECONDS``), which its
    # share is taken of; None: the reference's own row of the run
    bare_rps: float | None = None

    @property
    def meets_share(self) -> bool | None:
        if not self.target or self.share_of_bare is None:
            return None
        return self.share_of_bare >= TARGET_SHARE[self.target]

    def row(self) -> dict[str, Any]:
        """The fields of results.json, floats rounded to 0.1 (shares to 0.001)."""
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "throughput_rps": round(self.throughput_rps, 1),
            "share_of_bare": None if self.share_of_bare is None else round(self.share_of_bare, 3),
            "bare": self.bare_name,
            "bare_rps": None if self.bare_rps is None else round(self.bare_rps, 1),
            "target_share": TARGET_SHARE.get(self.target),
            "meets_target_share": self.meets_share,
            "meets_p95": self.p95_ms < TARGET_P95_MS and self.errors == 0,
            "warmup_seconds": self.warmup_rounds * WARMUP_ROUND_SECONDS,
        }


def scenarios(data: Generated, published_ids: list[int]) -> list[Scenario]:
    targets = data.vote_target_ids or [0]
    words = data.search_words
    published = published_ids or [0]

    def vote(i: int) -> Call:
        # Changing one's own vote on proposals where nobody else has voted never reaches the quorum. Not "approve":
        # the ESG checklist (not answered in the generated data) gates approving votes. The comment alternates
        # from one pass over the targets to the next, so that every request changes the vote and writes (the same
        # vote again is answered without a write).
        n = min(len(targets), 100)
        path = f"/api/v1/proposals/{targets[i % n]}/votes"
        return Call("POST", path, {"choice": "request_changes", "comment": f"bench, pass {(i // n) % 2}"})

    def bare_get(i: int) -> Call:
        return Call("GET", f"/bare/{published[i % len(published)]}")

    return [
        # The bare reference (bench/bare.py): one indexed SELECT per GET, one INSERT per POST.
        Scenario("bare_get", None, bare_get, server="bare"),
        Scenario("bare_post", None, lambda i: Call("POST", "/bare", {"note": "bench"}), server="bare"),
        Scenario("bare_get_keepalive", None, bare_get, server="bare", keep_alive=True),
        Scenario("awaiting", "council", lambda i: Call("GET", "/awaiting"), target="page"),
        Scenario("awaiting_keepalive", "council", lambda i: Call("GET", "/awaiting"), keep_alive=True, target="page"),
        Scenario("pipeline", "qa", lambda i: Call("GET", "/pipeline"), target="page"),
        Scenario(
            "proposal", "council", lambda i: Call("GET", f"/proposals/{targets[i % len(targets)]}"), target="page"
        ),
        Scenario("dashboard", "council", lambda i: Call("GET", "/"), target="page"),
        Scenario("catalogue", None, lambda i: Call("GET", f"/catalogue?page={1 + i % 5}"), target="public"),
        Scenario(
            "catalogue_search",
            None,
            lambda i: Call("GET", f"/catalogue?q={words[i % len(words)]}&eqf_level=6"),
            target="public",
        ),
        Scenario(
            "catalogue_entry",
            None,
            lambda i: Call("GET", f"/catalogue/{published[i % len(published)]}"),
            target="public",
        ),
        # The same pages rendered afresh (a reload), without a target: what a first visit, or the first after a
        # change, costs, next to what repeated visits cost above.
        Scenario("awaiting_fresh", "council", lambda i: Call("GET", "/awaiting"), fresh=True),
        Scenario("pipeline_fresh", "qa", lambda i: Call("GET", "/pipeline"), fresh=True),
        Scenario(
            "proposal_fresh", "council", lambda i: Call("GET", f"/proposals/{targets[i % len(targets)]}"), fresh=True
        ),
        Scenario("dashboard_fresh", "council", lambda i: Call("GET", "/"), fresh=True),
        Scenario("vote", "council", vote, target="post"),
        Scenario("agenda", "council", lambda i: Call("GET", f"/agendas/{data.agenda_id}"), target="page"),
        # Issue 9: the results page of a closed survey with 5,000 responses (bench.feedback.make_results_survey).
        Scenario("feedback_results", "qa", lambda i: Call("GET", f"/surveys/{data.survey_id}/results"), target="page"),
        *checklist_scenarios(targets),
        # The ESG coverage matrix (a page of 25, and one standard's problems) and a proposal's checklist report.
        Scenario(
            "coverage", "qa", lambda i: Call("GET", ("/checklists/coverage", COVERAGE_PROBLEMS)[i % 2]), target="page"
        ),
        Scenario(
            "report",
            "qa",
            lambda i: Call("GET", f"/proposals/{targets[i % len(targets)]}/checklist/report"),
            target="page",
        ),
    ]


COVERAGE_PROBLEMS = "/checklists/coverage?standard=1.2&cell=problems"
REVIEWS_DASHBOARD = Scenario("reviews", "qa", lambda i: Call("GET", "/reviews"), target="page")


def checklist_scenarios(targets: list[int]) -> list[Scenario]:
    """The ESG checklist page of a proposal before the council (automatic checks, duplication against the
    catalogue), and a council member answering one of the council's items, alternately met and partly met."""
    return [
        Scenario(
            "checklist",
            "council",
            lambda i: Call("GET", f"/proposals/{targets[i % len(targets)]}/checklist"),
            target="page",
        ),
        Scenario(
            "checklist_save",
            "council",
            lambda i: Call(
                "PUT",
                f"/api/v1/proposals/{targets[i % len(targets)]}/checklist/owning-unit",
                {"status": ("met", "partly_met")[i % 2], "evidence_text": "bench"},
            ),
            target="post",
        ),
    ]


def bare_for(scenario: Scenario) -> str:
    """Which bare scenario a scenario is compared with: the same method, the same kind of connection."""
    if scenario.call(0).method != "GET":
        return "bare_post"
    return "bare_get_keepalive" if scenario.keep_alive else "bare_get"


def add_shares(scenario_list: list[Scenario], results: list[Result]) -> None:
    """``share_of_bare``: each scenario's throughput over its bare reference's in the same run: the reference
    measured just before the scenario (``bare_rps``) where there is one, else the reference's own row."""
    by_name = {r.name: r for r in results}
    for scenario, result in zip(scenario_list, results, strict=True):
        bare = by_name.get(bare_for(scenario))
        result.target = scenario.target
        reference = result.bare_rps or (bare.throughput_rps if bare is not None else 0.0)
        if bare is not None and reference > 0:
            result.bare_name = bare.name
            result.share_of_bare = result.throughput_rps / reference


# --- measuring -----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' method)."""
    if not sorted_values:
        return 0.0
    if len(sorted_values) == 1:
        return sorted_values[0]
    cuts = statistics.quantiles(sorted_values, n=100, method="inclusive")
    return cuts[round(q) - 1]


def _client_process(
    base_url: str,
    scenario: Scenario,
    headers: dict[str, str],
    counter: Any,
    requests: int,
    barrier: Any,
    results: Any,
) -> None:
    """One client in its own process, so that clients never wait for each other's interpreter lock: what is
    timed is the server, as for clients on other machines. Takes request numbers from a shared counter."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sample_error = ""
    with httpx.Client(base_url=base_url, headers=headers, timeout=60.0, follow_redirects=False) as http:
        barrier.wait()
        while True:
            with counter.get_lock():
                i = counter.value
                counter.value += 1
            if i >= requests:
                break
            call = scenario.call(i)
            began = time.perf_counter()
            try:
                response = http.request(call.method, call.path, json=call.json)
                status, body = response.status_code, response.text
            except httpx.HTTPError as exc:
                status, body = 0, f"{type(exc).__name__}: {exc}"
            latencies.append((time.perf_counter() - began) * 1000)
            statuses[status] += 1
            if not 200 <= status < 300 and not sample_error:
                sample_error = f"{status}: {' '.join(body.split())[:300]}"
    results.put((latencies, dict(statuses), sample_error))


def run_scenario(
    base_url: str, scenario: Scenario, tokens: list[str], *, requests: int, concurrency: int, warmup: int
) -> Result:
    def headers(k: int) -> dict[str, str]:
        return scenario.headers(tokens[k % len(tokens)] if tokens else "")

    with httpx.Client(base_url=base_url, headers=headers(0), timeout=60.0) as warm:
        for i in range(warmup):
            call = scenario.call(i)
            with contextlib.suppress(httpx.HTTPError):
                warm.request(call.method, call.path, json=call.json)

    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    barrier = ctx.Barrier(concurrency + 1)
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=_client_process, args=(base_url, scenario, headers(k), counter, requests, barrier, queue))
        for k in range(concurrency)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    began = time.perf_counter()
    collected = [queue.get(timeout=600) for _ in processes]
    wall = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    latencies = sorted(ms for part, _, _ in collected for ms in part)
    statuses: Counter[int] = Counter()
    for _, counts, _ in collected:
        statuses.update(counts)
    sample_error = next((err for _, _, err in collected if err), "")
    errors = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    return Result(
        name=scenario.name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        throughput_rps=len(latencies) / wall if wall > 0 else 0.0,
        statuses=statuses,
        sample_error=sample_error,
    )


_WRK_SCRIPT = """
-- Generated by bench/run.py: cycles through pre-formatted requests; prints one summary line.
local calls = {%(calls)s}
local reqs = {}
local n = 0
-- Each wrk thread runs this script on its own, from its own place in the list (thread_start in bench/run.py).
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
function init(args)
  for i, c in ipairs(calls) do
    -- A new connection per request, as from many users: the kernel then spreads requests over the workers
    -- instead of pinning each of the 10 keep-alive connections to one worker for the whole run.
    local headers = {}
    for name, value in pairs(c[4]) do headers[name] = value end
    if %(close)s then headers["Connection"] = "close" end
    local body = nil
    if c[3] ~= "" then headers["Content-Type"] = "application/json"; body = c[3] end
    reqs[i] = wrk.format(c[1], c[2], headers, body)
  end
  n = (offset or 0) * %(spacing)d
end
function request()
  n = n + 1
  return reqs[(n %% #reqs) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %%d %%d %%.3f %%.3f %%.3f %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50) / 1000.0,
    latency:percentile(95) / 1000.0, latency:percentile(99) / 1000.0, summary.duration))
end
"""


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


def thread_start(thread: int, calls: int) -> int:
    """Where wrk's thread number ``thread`` (of two) starts in the list of ``calls``. Started at the same call, the
    two would send the same request at the same moment all along: two votes on one proposal would wait for each
    other's row lock, and the second, the same vote again, would write nothing. A quarter of the list apart, they
    never meet (the vote scenario goes through its targets twice in the list, once per comment)."""
    return thread * (calls // 4)


def run_scenario_wrk(
    base_url: str, scenario: Scenario, tokens: list[str], *, seconds: int, concurrency: int, warmup: int
) -> Result:
    """The same scenario driven by wrk (C, epoll): the load generator then takes almost no CPU from the server
    on a shared machine, as clients on other machines would. ``concurrency`` connections, one request in flight
    each; latencies from wrk's own histogram."""
    calls = []
    for i in range(max(200, len(tokens))):
        call = scenario.call(i)
        headers = scenario.headers(tokens[i % len(tokens)] if tokens else "")
        body = json.dumps(call.json) if call.json is not None else ""
        lua_headers = "{" + ",".join(f"[ {_lua(k)} ] = {_lua(v)}" for k, v in headers.items()) + "}"  # "[ [" not "[["
        calls.append("{" + ",".join([*(_lua(v) for v in (call.method, call.path, body)), lua_headers]) + "}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        close = "false" if scenario.keep_alive else "true"
        script.write(_WRK_SCRIPT % {"calls": ",\n".join(calls), "close": close, "spacing": thread_start(1, len(calls))})
    try:
        rates: list[float] = []
        while warmup and not warmed_up(rates):
            warm = subprocess.run(
                ["wrk", "-t2", f"-c{concurrency}", f"-d{WARMUP_ROUND_SECONDS}s", "-s", script.name, base_url],
                capture_output=True, check=True, text=True, timeout=60,
            ).stdout  # fmt: skip
            rates.append(_wrk_result(warm).throughput_rps)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, base_url],
            capture_output=True,
            check=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    result = _wrk_result(out)
    result.name, result.concurrency, result.warmup_rounds = scenario.name, concurrency, len(rates)
    if result.errors:
        call = scenario.call(0)
        headers = scenario.headers(tokens[0] if tokens else "")
        response = httpx.request(call.method, base_url + call.path, json=call.json, headers=headers, timeout=30)
        result.sample_error = f"{response.status_code}: {' '.join(response.text.split())[:300]}"
    return result


# Warming up: wrk runs of a few seconds until the throughput stops rising. A page kept in memory is rendered once per
# worker and address first (the proposal scenario visits 200 proposals): until each has been, the scenario measures
# first visits, which its "_fresh" twin measures on purpose. On a slow machine a fixed two seconds did not suffice.
WARMUP_ROUND_SECONDS = 2
WARMUP_MAX_ROUNDS = 10
WARMUP_RISE = 1.1  # a round more than 10% faster than the one before: still warming up


def warmed_up(rates: list[float]) -> bool:
    """Whether the warm-up rounds so far (their throughputs, in order) are enough: at least two, and the last not
    markedly faster than the one before it; or the most rounds there may be."""
    if len(rates) >= WARMUP_MAX_ROUNDS:
        return True
    return len(rates) >= 2 and rates[-1] < rates[-2] * WARMUP_RISE


def _wrk_result(out: str) -> Result:
    """The summary line the script's ``done`` prints, as a Result (named by the caller)."""
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKRESULT"))
    done, errors, p50, p95, p99, duration_us = line.split()[1:]
    return Result(
        name="",
        concurrency=0,
        requests=int(done),
        errors=int(errors),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        throughput_rps=int(done) / (int(duration_us) / 1_000_000),
        statuses=Counter(),
        sample_error="",
    )


def print_table(results: list[Result]) -> None:
    header = f"{'scenario':<20}{'conc':>5}{'reqs':>7}{'errors':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'req/s':>8}"
    header += f"{'bare/s':>8}{'share':>7}{'target':>7}  p95 < {TARGET_P95_MS:.0f} ms"
    print(header)
    print("-" * len(header))
    for r in results:
        ok = "yes" if r.p95_ms < TARGET_P95_MS and r.errors == 0 else "NO"
        share = "" if r.share_of_bare is None else f"{r.share_of_bare:.0%}"
        bare = "" if r.bare_rps is None else f"{r.bare_rps:.1f}"
        target = ""
        if r.meets_share is not None:
            target = f"{TARGET_SHARE[r.target]:.0%}" + ("" if r.meets_share else "!")
        print(
            f"{r.name:<20}{r.concurrency:>5}{r.requests:>7}{r.errors:>7}{r.p50_ms:>8.1f}{r.p95_ms:>8.1f}"
            f"{r.p99_ms:>8.1f}{r.throughput_rps:>8.1f}{bare:>8}{share:>7}{target:>7}  {ok}"
        )
    print("share: req/s over the bare reference's (bare_get, bare_get_keepalive or bare_post) measured just before "
          "the scenario (bare/s); target: the share to reach, '!' when missed")  # fmt: skip
    for r in results:
        if r.errors:
            codes = ", ".join(f"{status or 'exception'} x{n}" for status, n in sorted(r.statuses.items()))
            print(f"  {r.name}: {codes}; first error {r.sample_error}")


# --- the server and the database -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """The real app under uvicorn, in its own process group so that stopping it stops its workers too."""

    def __init__(self, database_url: str, workers: int, log_path: Path, *, app: str = "app.main:create_app") -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "MCQA_DATABASE_URL": database_url,
            "MCQA_RUN_SCHEDULER": "false",
            "MCQA_LOG_LEVEL": "INFO",
            "MCQA_LOG_JSON": "true",
            "MCQA_SECRET_KEY": secrets.token_urlsafe(32),
            "BENCH_BARE_DATABASE_URL": database_url,
        }
        args = [sys.executable, "-m", "uvicorn", app, "--factory"]
        # As in production (README): our own structured request log instead of uvicorn's access log.
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), "--no-access-log"]
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The server exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"The server did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


BARE_APP = "bench.bare:create_app"


def published_credential_ids(url: str, limit: int = 200) -> list[int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = conn.execute(
            text("SELECT id FROM credential WHERE current_version_no > 0 ORDER BY id LIMIT :n"), {"n": limit}
        ).scalars()
        result = list(ids)
    engine.dispose()
    return result


def selected(all_scenarios: list[Scenario], only: str) -> list[Scenario]:
    """BENCH_ONLY=awaiting,vote: those scenarios and the bare references they are compared with."""
    if not only.strip():
        return all_scenarios
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    wanted |= {bare_for(s) for s in all_scenarios if s.name in wanted and s.server != "bare"}
    return [s for s in all_scenarios if s.name in wanted]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def main() -> int:
    started = time.perf_counter()
    server_url = os.environ.get("TEST_DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        print("bench.run needs TEST_DATABASE_URL=postgresql+psycopg://... (make bench starts one).", file=sys.stderr)
        return 2
    requests = env_int("BENCH_REQUESTS", 2000)
    seconds = env_int("BENCH_SECONDS", 15)
    client = os.environ.get("BENCH_CLIENT") or ("wrk" if shutil.which("wrk") else "python")
    concurrency = env_int("BENCH_CONCURRENCY", 10)
    warmup = env_int("BENCH_WARMUP", 30)
    workers = env_int("BENCH_WORKERS", 2)
    scale = float(os.environ.get("BENCH_SCALE") or 1.0)
    shared_token = os.environ.get("BENCH_SHARED_TOKEN") == "1"
    keep = os.environ.get("BENCH_KEEP_DB") == "1"
    results_path = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results.json")

    name = f"mcqa_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    servers: list[Server] = []
    try:
        cfg = alembic_config(url)
        cfg.attributes["configure_logger"] = False
        command.upgrade(cfg, "head")
        sizes = Sizes(tokens_per_role=concurrency).scaled(scale)
        data = generate(url, sizes)
        data.agenda_id = make_agenda(url, data.council_member_id, data.qa_officer_id)
        data.survey_id = make_results_survey(url)
        create_tables(url)
        published_ids = published_credential_ids(url)
        # Write the freshly loaded data out now, not in a checkpoint during the first measured scenario.
        with admin.connect() as conn:
            conn.execute(text("CHECKPOINT"))
        print(
            f"Bench council member (user {data.council_member_id}): {data.awaiting_count} proposals awaiting, "
            f"{len(data.vote_target_ids)} vote targets; QA officer: user {data.qa_officer_id}"
        )
        app_server = Server(url, workers, Path(tempfile.gettempdir()) / f"{name}-server.log")
        servers.append(app_server)
        bare_server = Server(url, workers, Path(tempfile.gettempdir()) / f"{name}-bare.log", app=BARE_APP)
        servers.append(bare_server)
        app_server.wait_ready()
        bare_server.wait_ready()
        amount = f"{seconds} s" if client == "wrk" else f"{requests} requests"
        print(f"App on {app_server.base_url}, bare reference on {bare_server.base_url} ({workers} workers each); "
              f"{amount} per scenario with {client}, {concurrency} concurrent clients")  # fmt: skip
        chosen = selected(scenarios(data, published_ids), os.environ.get("BENCH_ONLY", ""))

        def run_one(scenario: Scenario) -> Result:
            base_url = bare_server.base_url if scenario.server == "bare" else app_server.base_url
            tokens = data.tokens.get(scenario.role or "", [])
            if shared_token:
                tokens = tokens[:1]
            if client == "wrk":
                result = run_scenario_wrk(
                    base_url, scenario, tokens, seconds=seconds, concurrency=concurrency, warmup=warmup
                )
            else:
                result = run_scenario(
                    base_url, scenario, tokens, requests=requests, concurrency=concurrency, warmup=warmup
                )
            print(f"  {result.name}: {result.throughput_rps:.0f} req/s, p95 {result.p95_ms:.1f} ms, "
                  f"{result.errors} errors")  # fmt: skip
            return result

        references = {s.name: s for s in chosen if s.server == "bare"}

        def run_with_reference(scenario: Scenario) -> Result:
            """The scenario, just after its reference (wrk): both at the same moment of a machine whose speed
            drifts over a run (the bare POST has measured 1,674 and 1,288 req/s in two runs an hour apart)."""
            reference = references.get(bare_for(scenario))
            if client != "wrk" or scenario.server == "bare" or reference is None:
                return run_one(scenario)
            adjacent = run_scenario_wrk(
                bare_server.base_url, reference, [], seconds=ADJACENT_BARE_SECONDS, concurrency=concurrency, warmup=0
            )
            result = run_one(scenario)
            result.bare_rps = adjacent.throughput_rps
            return result

        results = [run_with_reference(scenario) for scenario in chosen]
        sweeps: list[dict[str, Any]] = []
        if not os.environ.get("BENCH_ONLY"):
            sweeps = sweep.measure(url)  # the review sweep over 100,000 micro-credentials (bench/sweep.py)
            # The QA office's reviews dashboard on that data (100,000 micro-credentials, some of their reviews open).
            chosen.append(REVIEWS_DASHBOARD)
            results.append(run_with_reference(REVIEWS_DASHBOARD))
        add_shares(chosen, results)
        rows: list[Any] = [r.row() for r in results] + sweeps
        if os.environ.get("BENCH_FEEDBACK", "1") == "1":  # issue 9: feedback_burst (feedback_results is a scenario)
            from bench.feedback import run_all as feedback_benchmarks

            rows += feedback_benchmarks()
            print("\n".join(json.dumps(row) for row in rows[len(results) :]))
        results_path.write_text(json.dumps(rows, indent=2) + "\n")
        print()
        print_table(results)
        print()
        for r in results:
            verdict = "under" if r.p95_ms < TARGET_P95_MS else "OVER"
            print(f"{r.name}: p95 {r.p95_ms:.1f} ms is {verdict} the {TARGET_P95_MS:.0f} ms target"
                  + (f" ({r.errors} errors)" if r.errors else ""))  # fmt: skip
        print(f"\nResults written to {results_path}. Generation {data.seconds:.1f} s, "
              f"total {time.perf_counter() - started:.1f} s.")  # fmt: skip
    finally:
        for server in servers:
            server.stop()
            if server.process.returncode in (0, -signal.SIGTERM) and not keep:
                server.log_path.unlink(missing_ok=True)
        if keep:
            print(f"Database kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
