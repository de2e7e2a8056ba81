"""bench.run's share of the bare reference: each scenario against the reference of its method and connection
kind, from the same run; the bare app itself answers as the reference promises."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from bench.bare import create_app, create_tables
from bench.generate import Generated
from bench.run import (
    WARMUP_MAX_ROUNDS,
    Result,
    _wrk_result,
    add_shares,
    bare_for,
    scenarios,
    selected,
    thread_start,
    warmed_up,
)


def _data() -> Generated:
    return Generated(
        seconds=0.0,
        counts={},
        council_member_id=1,
        qa_officer_id=2,
        tokens={},
        vote_target_ids=[7],
        awaiting_count=0,
        search_words=["data"],
    )


def _result(name: str, rps: float) -> Result:
    return Result(name, 10, 100, 0, 1.0, 2.0, 3.0, rps, Counter(), "")


def test_each_scenario_is_compared_with_its_own_reference() -> None:
    chosen = scenarios(_data(), [3])
    by_name = {s.name: s for s in chosen}
    assert bare_for(by_name["awaiting"]) == "bare_get"
    assert bare_for(by_name["awaiting_keepalive"]) == "bare_get_keepalive"
    assert bare_for(by_name["vote"]) == "bare_post"
    assert {"proposal", "dashboard", "catalogue", "catalogue_search", "catalogue_entry"} <= set(by_name)

    speeds = {"bare_get": 1000.0, "bare_post": 500.0, "bare_get_keepalive": 2000.0, "vote": 200.0}
    results = [_result(s.name, speeds.get(s.name, 400.0)) for s in chosen]
    add_shares(chosen, results)
    row: dict[str, Any] = {r.name: r.row() for r in results}
    assert row["awaiting"]["share_of_bare"] == 0.4
    assert row["awaiting_keepalive"]["share_of_bare"] == 0.2
    assert row["vote"]["share_of_bare"] == 0.4
    assert row["bare_get"]["share_of_bare"] == 1.0
    assert row["awaiting"]["meets_target_share"] is True  # 0.40 >= 0.35
    assert row["awaiting_keepalive"]["meets_target_share"] is False
    assert row["catalogue"]["meets_target_share"] is False  # 0.40 < 1.0
    assert row["bare_get"]["meets_target_share"] is None  # a reference has no target


def test_a_share_is_taken_of_the_reference_measured_just_before_the_scenario() -> None:
    chosen = selected(scenarios(_data(), [3]), "vote,awaiting")
    results = [_result(s.name, {"bare_get": 1000.0, "bare_post": 500.0}.get(s.name, 200.0)) for s in chosen]
    by_name = {r.name: r for r in results}
    by_name["vote"].bare_rps = 400.0  # the machine was slower when the vote ran than when bare_post did
    add_shares(chosen, results)
    assert by_name["vote"].share_of_bare == 0.5  # 200 of the adjacent 400, not 200 of the run's 500
    assert by_name["vote"].row()["bare_rps"] == 400.0 and by_name["vote"].row()["bare"] == "bare_post"
    assert by_name["awaiting"].share_of_bare == 0.2  # no adjacent figure: the reference's own row
    assert by_name["awaiting"].row()["bare_rps"] is None


def test_every_vote_of_the_bench_changes_the_vote_and_fresh_pages_skip_the_cache() -> None:
    data = _data()
    data.vote_target_ids = [7, 8, 9]
    by_name = {s.name: s for s in scenarios(data, [3])}
    vote = by_name["vote"].call
    for i in range(12):  # the same proposal comes back with the other comment: a change, which writes
        now, before = vote(i), vote(i - 3) if i >= 3 else None
        if before is not None:
            assert now.path == before.path and now.json != before.json
    assert by_name["awaiting_fresh"].headers("t")["cache-control"] == "no-cache"
    assert "cache-control" not in by_name["awaiting"].headers("t")
    assert by_name["awaiting"].headers("t")["authorization"] == "Bearer t"


def test_choosing_scenarios_brings_their_references() -> None:
    names = [s.name for s in selected(scenarios(_data(), [3]), "vote, awaiting_keepalive")]
    assert names == ["bare_post", "bare_get_keepalive", "awaiting_keepalive", "vote"]


def test_the_bare_reference_reads_one_row_and_writes_one(engine: Engine, database_url: str) -> None:
    create_tables(database_url)
    with engine.connect() as conn:
        some_id = conn.execute(text("SELECT min(id) FROM org_unit")).scalar()
    with TestClient(create_app(database_url)) as http:
        assert http.get(f"/bare/{some_id}").status_code == 200
        created = http.post("/bare", json={"note": "bench"})
        assert created.status_code == 201
    with engine.begin() as conn:
        assert (
            conn.execute(text("SELECT note FROM bench_bare_event WHERE id = :i"), {"i": created.json()["id"]}).scalar()
            == "bench"
        )
        conn.execute(text("DROP TABLE bench_bare_event"))


def test_wrks_two_threads_never_vote_on_the_same_proposal_at_once() -> None:
    data = _data()
    data.vote_target_ids = list(range(1, 301))
    vote = {s.name: s for s in scenarios(data, [3])}["vote"].call
    calls = [vote(i) for i in range(200)]  # the list bench.run gives wrk
    apart = thread_start(1, len(calls))
    for step in range(1000):  # each thread's step-th request, taken at the same moment
        first, second = calls[(thread_start(0, len(calls)) + step) % 200], calls[(apart + step) % 200]
        assert first.path != second.path


def test_the_warm_up_lasts_until_the_throughput_stops_rising() -> None:
    """A cached page's first round renders each address once per worker: its throughput then jumps, and measuring
    may only start once a round is no longer markedly faster than the one before."""
    assert not warmed_up([])
    assert not warmed_up([120.0])  # one round says nothing about rising
    assert not warmed_up([120.0, 900.0])  # still filling the cache
    assert warmed_up([120.0, 900.0, 940.0])  # within 10% of the round before: warm
    assert warmed_up([500.0, 480.0])  # flat from the start (a POST, a fresh page): two rounds
    rising = [100.0 * 1.2**k for k in range(WARMUP_MAX_ROUNDS)]
    assert not warmed_up(rising[:-1]) and warmed_up(rising)  # never steadies: stop at the most rounds


def test_wrks_summary_line_becomes_a_result() -> None:
    out = "Running 2s test @ http://127.0.0.1:1\nWRKRESULT 1500 3 4.250 9.500 12.000 2000000\n"
    result = _wrk_result(out)
    assert (result.requests, result.errors, result.p50_ms, result.p95_ms, result.p99_ms) == (1500, 3, 4.25, 9.5, 12.0)
    assert result.throughput_rps == 750.0
