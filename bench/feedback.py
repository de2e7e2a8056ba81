"""Feedback benchmarks (issue 9).

- ``feedback_burst`` (``python -m bench.feedback``, also run by bench/run.py): an end-of-term burst. One open
  survey with ``FEEDBACK_INVITATIONS`` (50,000) single-use links; ``FEEDBACK_CLIENTS`` (50) concurrent clients in
  all, each with its own database connection, submit through ``app.feedback.service.submit`` (the code behind the
  learner's link) and commit, one transaction per answer. The clients are threads spread over
  ``FEEDBACK_PROCESSES`` (2) processes, as requests are spread over the server's two uvicorn workers: one Python
  process cannot keep 50 connections busy under its interpreter lock, a server does not try to. Each process opens
  its connections before the common start signal; the time runs from that signal until the last process is done.
  Every tenth link is submitted a second time, at about the same moment, by a client of the other process: exactly
  one must win. Afterwards the rows are counted across all clients: responses = links used = invitations (zero
  lost), and no link accepted twice (zero duplicated). Target: at least 600 accepted submissions per second.
- ``feedback_results``: an HTTP scenario of the page benchmark (bench/run.py), the results page of a closed survey
  with 5,000 responses; ``make_results_survey`` below adds that survey to the bench's data.

Needs ``TEST_DATABASE_URL`` naming a PostgreSQL server; the burst works on a fresh database of its own, dropped
afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import threading
import time
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import make_url, text
from sqlmodel import Session, col, select

from app.db import make_engine, table_of, utcnow
from app.feedback import service
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
            table_of(SurveyInvitation).insert(),
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


# --- the results page's data (the "feedback_results" scenario of bench/run.py) --------------------------------

RESULT_RESPONSES = 5000
EARLIER_RESPONSES = 400
_POINTS = (1, 2, 3, 4, 5, service.NOT_APPLICABLE)
_WEIGHTS = (4, 8, 18, 42, 25, 3)
_OPENERS = ("The", "I liked the", "More time for the", "Please improve the", "Thanks for the", "Too little on the")
_TOPICS = (
    "labs on Thursday evenings",
    "case studies from local employers",
    "feedback on the second assignment",
    "reading list, which was out of date in places",
    "online forum and the quick answers there",
    "final assessment and its rubric",
    "guest lecture on grid operations",
    "pace of the first weeks",
    "recorded sessions for those who work shifts",
    "group project with colleagues from other companies",
)


def _answers(rng: random.Random, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """One learner's answers: most Likert items answered, a few not applicable, open questions now and then."""
    answers: dict[str, Any] = {}
    for q in questions:
        if q["kind"] == "likert" and rng.random() < 0.95:
            answers[q["key"]] = rng.choices(_POINTS, _WEIGHTS)[0]
        elif q["kind"] == "open" and rng.random() < (0.25 if q["key"] == "improve" else 0.2):
            answers[q["key"]] = f"{rng.choice(_OPENERS)} {rng.choice(_TOPICS)}."
    return answers


def make_results_survey(url: str, responses: int = RESULT_RESPONSES) -> int:
    """Two ended offerings of a published micro-credential, each with a closed survey: a year ago
    (``EARLIER_RESPONSES`` responses, for the comparison) and last month (``responses``). Made and closed through
    the service as in use; the responses, as anonymous as ever (random keys, no time), are inserted in bulk.
    Returns the latest survey's id."""
    from app.catalogue.models import Credential
    from app.errors import Conflict
    from app.offerings import service as offerings
    from app.security import load_actor
    from app.users.models import User

    policies = load_policies(ROOT / "policies")
    rng = random.Random(20261130)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            today = utcnow().date()
            for credential in session.exec(
                select(Credential).where(col(Credential.current_version_no) > 0).order_by(col(Credential.id))
            ):
                owner = load_actor(session, session.get_one(User, credential.owner_id))
                survey_id = 0
                try:
                    for ends, n in (
                        (today - timedelta(days=400), EARLIER_RESPONSES),
                        (today - timedelta(days=35), responses),
                    ):
                        data = offerings.OfferingIn(
                            starts_on=ends - timedelta(days=90), ends_on=ends, participation_form="online"
                        )
                        offering = offerings.add_offering(session, credential.id or 0, owner, data)
                        survey = service.create_survey(session, offering.id or 0, owner, policies, service.SurveyIn())
                        survey_id = survey.id or 0
                        service.act(session, survey_id, "open", owner, policies)
                        session.connection().execute(
                            table_of(SurveyResponse).insert(),
                            [
                                {
                                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                    "survey_id": survey_id,
                                    "answers": _answers(rng, survey.questions),
                                }
                                for _ in range(n)
                            ],
                        )
                        survey.invited_count = round(n / 0.6)  # links handed out: a response rate of 60 %
                        session.add(survey)
                        service.act(session, survey_id, "close", owner, policies)
                except Conflict:  # a suspended or retired micro-credential takes no new offering: the next one
                    session.rollback()
                    continue
                session.commit()
                return survey_id
    finally:
        engine.dispose()
    raise RuntimeError("No published micro-credential takes a new offering.")


def run_all() -> list[dict[str, Any]]:
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not make_url(server or "sqlite://").drivername.startswith("postgresql"):
        raise SystemExit("TEST_DATABASE_URL must name a PostgreSQL server")
    policies = load_policies(ROOT / "policies")
    results = []
    url, drop = _fresh_database()
    try:
        results.append(
            feedback_burst(
                url,
                policies,
                invitations=int(os.environ.get("FEEDBACK_INVITATIONS", "50000")),
                clients=int(os.environ.get("FEEDBACK_CLIENTS", "50")),
                processes=int(os.environ.get("FEEDBACK_PROCESSES", "2")),
            )
        )
    finally:
        drop()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run_all(), indent=2))
