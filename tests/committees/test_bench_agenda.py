"""The bench's agenda (bench/agenda.py) on the generator's data at a tiny scale: a meeting-sized agenda of the
bench member's council, only proposals awaiting it, readable by the member with their API token."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlmodel import Session, select

from app.committees import agendas
from app.committees.models import Agenda
from app.db import make_engine
from app.security import load_actor
from app.users.models import User
from bench.agenda import ITEMS, make_agenda
from bench.generate import generate
from tests.conftest import fresh_database_url, migrate
from tests.test_bench import SIZES as BENCH_SIZES

SIZES = replace(BENCH_SIZES, proposals=200)  # enough for a full agenda


def test_the_bench_agenda_holds_a_meetings_worth_of_proposals_awaiting_the_council(tmp_path: Path) -> None:
    url, drop = fresh_database_url(tmp_path, "bench_agenda")
    try:
        migrate(url)
        generated = generate(url, SIZES, quiet=True)
        agenda_id = make_agenda(url, generated.council_member_id, generated.qa_officer_id)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                member = db.get(User, generated.council_member_id)
                assert member is not None
                view = agendas.view(db, agenda_id, load_actor(db, member))
                assert 0 < len(view.items) <= ITEMS
                assert all(i.still_awaiting for i in view.items)
                assert view.committee.kind == "faculty_council" and view.actions == []
                assert db.exec(select(Agenda)).one().status == "draft"
        finally:
            engine.dispose()
    finally:
        drop()
