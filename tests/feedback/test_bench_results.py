"""The bench's results survey (bench/feedback.py, the "feedback_results" scenario) on the generator's data at a
tiny scale: a closed survey with the responses asked for, an earlier one to compare with, and results the bench's
QA officer may see, as the page shows them."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from app.db import make_engine
from app.feedback import service
from app.policies import load_policies
from app.security import load_actor
from app.settings import ROOT
from app.users.models import User
from bench.feedback import make_results_survey
from bench.generate import generate
from tests.conftest import fresh_database_url, migrate
from tests.test_bench import SIZES


def test_the_bench_results_survey_is_closed_with_its_responses_and_shown_to_the_qa_office(tmp_path: Path) -> None:
    url, drop = fresh_database_url(tmp_path, "bench_results")
    try:
        migrate(url)
        generated = generate(url, SIZES, quiet=True)
        survey_id = make_results_survey(url, responses=60)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                qa = load_actor(db, db.get_one(User, generated.qa_officer_id))
                res = service.results(db, survey_id, qa, load_policies(ROOT / "policies"))
                assert res.survey.status == "closed" and res.responses == 60 and res.shown
                assert res.invited == 100
                likert = [q for q in res.questions if q.kind == "likert" and not q.hidden]
                assert likert and all(q.earlier_mean is not None and q.faculty_mean is not None for q in likert)
                assert sum(q.n + q.not_applicable for q in likert) > 0
        finally:
            engine.dispose()
    finally:
        drop()
