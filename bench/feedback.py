"""Feedback benchmarks (issue 9), run on their own (``python -m bench.feedback``) or from bench/run.py:

- ``feedback_burst``: an end-of-term burst. One open survey with ``FEEDBACK_INVITATIONS`` (50,000) single-use
  links; ``FEEDBACK_CLIENTS`` (50) concurrent clients, each with its own database connection, submit through
  ``app.feedback.service.submit`` (the code behind the learner's link) and commit, one transaction per answer.
  Every tenth link is submitted a second time by another client at the same moment: exactly one must win.
  Afterwards the rows are counted: responses = links accepted (zero lost), and no link accepted twice (zero
  duplicated). Target: at least 600 accepted submissions per second.
- ``feedback_results``: the results of a closed survey with 5,000 responses, computed and rendered (the page's
  work without HTTP), as the p95 of ``FEEDBACK_RESULT_RUNS`` runs.

Needs ``TEST_DATABASE_URL`` naming a PostgreSQL server; works on a fresh database of its own, dropped afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import threading
import time
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import make_url, text
from sqlmodel import Session, select

from app.db import make_engine
from app.feedback import access, charts, service
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.feedback.service import LinkRefused
from app.policies import Policies, load_policies
from app.security import hash_token
from app.settings import ROOT

TARGET_PER_SECOND = 600.0


def _fresh_database() -> tuple[str, Any]:
    from tests.conftest import fresh_database_url, migrate

    url, drop = fresh_database_url(ROOT / "var", "feedback_bench")
    migrate(url)
    return url, drop


def _setup(url: str, policies: Policies, invitations: int) -> tuple[int, list[str]]:
    """An open survey with ``invitations`` links (inserted in bulk: the benchmark is the burst, not the setup)."""
    from app.demo import load_demo
    from tests.catalogue_factories import content, make_published
    from tests.feedback.factories import make_offering, open_survey

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, policies)
        session.flush()
        offering = make_offering(session, credential_id=make_published(session, content()).id)
        survey = open_survey(session, policies, offering)
        tokens = [f"{service.TOKEN_PREFIX}{uuid.uuid4().hex}" for _ in range(invitations)]
        session.connection().execute(
            SurveyInvitation.__table__.insert(),  # type: ignore[attr-defined]
            [{"survey_id": survey.id, "token_hash": hash_token(t), "used": False, "reminder_ids": []} for t in tokens],
        )
        survey.invited_count = invitations
        session.add(survey)
        session.commit()
        survey_id = survey.id or 0
    engine.dispose()
    return survey_id, tokens


def _burst_process(
    url: str, tokens: list[str], clients: int, today: date, barrier: Any, outcomes: Any
) -> None:  # pragma: no cover - runs in a child process
    """One client process: ``clients`` threads, each with its own connection, take links from this process's
    queue and submit them, one transaction each. The connections are opened before the start signal."""
    engine = make_engine(url, pool_size=clients)
    for conn in [engine.connect() for _ in range(clients)]:
        conn.close()  # back to the pool: each thread then checks out a connection that is already open
    work: queue.Queue[str | None] = queue.Queue()
    for token in tokens:
        work.put(token)
    for _ in range(clients):
        work.put(None)
    accepted: list[int] = [0] * clients
    refused: list[int] = [0] * clients
    answers = {"outcomes_clear": 4, "support": 5, "improve": "More labs"}

    def client(n: int) -> None:
        with Session(engine) as session:
            while (token := work.get()) is not None:
                try:
                    service.submit(session, token, answers, today=today)
                    session.commit()
                    accepted[n] += 1
                except LinkRefused:
                    session.rollback()
                    refused[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    barrier.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    outcomes.put((sum(accepted), sum(refused)))


def feedback_burst(url: str, policies: Policies, *, invitations: int, clients: int, processes: int) -> dict[str, Any]:
    survey_id, tokens = _setup(url, policies, invitations)
    engine = make_engine(url)
    with Session(engine) as session:
        today = session.get_one(Survey, survey_id).opens_on + timedelta(days=1)
    # Link i goes to process i % processes; every tenth link is also sent, at about the same moment, by a client
    # of the next process (of the same process when there is one): exactly one of the two must win.
    shares: list[list[str]] = [[] for _ in range(processes)]
    for i, token in enumerate(tokens):
        shares[i % processes].append(token)
        if i % 10 == 0:
            shares[(i + 1) % processes].append(token)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    outcomes = ctx.Queue()
    children = [
        ctx.Process(
            target=_burst_process,
            args=(url, shares[p], clients // processes + (p < clients % processes), today, barrier, outcomes),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait(timeout=300)
    started = time.perf_counter()
    collected = [outcomes.get(timeout=3600) for _ in children]
    seconds = time.perf_counter() - started
    for child in children:
        child.join(timeout=60)
    with Session(engine) as session:
        stored = session.exec(
            select(text("count(*)")).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
        ).one()
        used = session.exec(
            select(text("count(*)"))
            .select_from(SurveyInvitation)
            .where(SurveyInvitation.survey_id == survey_id, SurveyInvitation.used)
        ).one()
    engine.dispose()
    total_accepted = sum(a for a, _r in collected)
    return {
        "name": "feedback_burst",
        "invitations": invitations,
        "clients": clients,
        "processes": processes,
        "submissions": invitations + (invitations + 9) // 10,
        "accepted": total_accepted,
        "refused_second_use": sum(r for _a, r in collected),
        "stored_responses": int(stored),
        "links_used": int(used),
        "lost": invitations - int(stored),
        "duplicated": int(stored) - int(used),
        "seconds": round(seconds, 2),
        "accepted_per_second": round(total_accepted / seconds, 1),
        "target_per_second": TARGET_PER_SECOND,
        "meets_target": total_accepted / seconds >= TARGET_PER_SECOND and int(stored) == invitations == int(used),
    }


def feedback_results(url: str, policies: Policies, *, responses: int, runs: int) -> dict[str, Any]:
    from app.web import templates

    survey_id, tokens = _setup(url, policies, responses)
    engine = make_engine(url)
    with Session(engine) as session:
        survey = session.get_one(Survey, survey_id)
        today = survey.opens_on
        for i, token in enumerate(tokens):
            likert = {q["key"]: 1 + (i * 7 + len(q["key"])) % 5 for q in survey.questions if q["kind"] == "likert"}
            service.submit(session, token, likert | {"improve": f"Comment {i % 50}"}, today=today)
        service.act(session, survey_id, "close", None, policies)
        session.commit()
        timings: list[float] = []
        template = templates.env.get_template("feedback/results.html")
        ctx = access.load_ctx(session, session.get_one(Survey, survey_id))
        for _ in range(runs):
            started = time.perf_counter()
            res = service.results(session, survey_id, None, policies)
            html = template.render(
                res=res,
                s=res.survey,
                credential=ctx.credential,
                offering=ctx.offering,
                charts={q.key: charts.distribution(q) for q in res.questions if q.mean is not None},
                means_chart=charts.means(res),
                flags=service.below_thresholds(res, policies),
                f=templates.env.globals["f"],
                csrf_token="",
                flashes=[],
                path="/",
                actor=None,
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert "chart-svg" in html
    engine.dispose()
    timings.sort()
    return {
        "name": "feedback_results",
        "responses": responses,
        "runs": runs,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
    }


def run_all() -> list[dict[str, Any]]:
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not make_url(server or "sqlite://").drivername.startswith("postgresql"):
        raise SystemExit("TEST_DATABASE_URL must name a PostgreSQL server")
    policies = load_policies(ROOT / "policies")
    results = []
    only = os.environ.get("FEEDBACK_ONLY", "")  # "burst" or "results": that benchmark alone
    for bench in [b for b in ("burst", "results") if only in ("", b)]:
        url, drop = _fresh_database()
        try:
            if bench == "burst":
                results.append(
                    feedback_burst(
                        url,
                        policies,
                        invitations=int(os.environ.get("FEEDBACK_INVITATIONS", "50000")),
                        clients=int(os.environ.get("FEEDBACK_CLIENTS", "50")),
                        processes=int(os.environ.get("FEEDBACK_PROCESSES", "2")),
                    )
                )
            else:
                results.append(
                    feedback_results(
                        url,
                        policies,
                        responses=int(os.environ.get("FEEDBACK_RESPONSES", "5000")),
                        runs=int(os.environ.get("FEEDBACK_RESULT_RUNS", "20")),
                    )
                )
        finally:
            drop()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run_all(), indent=2))
