"""Logged-in pages served from memory (app.response_cache), on committed data as in production: a second visit
runs no query, any commit anywhere shows at once in every worker, nobody is given another's page, an ended session
or a revoked token is refused at once, and what is never stored.

Each module gets its own database (SQLite file or PostgreSQL) with the demo organisation, and two app instances on
it, as two workers: the shared test app reads its test's uncommitted rows, which a cache cannot.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Hashable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, select
from starlette.types import Message, Receive, Scope, Send

from app import response_cache
from app.logs import CACHE_SCOPE_KEY
from app.policies import Policies
from app.response_cache import (
    Entry,
    Key,
    ResponseCacheMiddleware,
    Version,
    VersionReader,
    database_version,
    page_key,
)
from app.settings import Settings
from app.users.models import User
from tests.conftest import api_headers, csrf_token, login
from tests.proposals.factories import submitted
from tests.workers import Site, two_workers


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with two_workers(tmp_path_factory.mktemp("pages"), "pages", follow_redirects=False) as both:
        assert both.settings.page_cache_seconds > 0  # on by default
        yield both


@pytest.fixture
def queries(site: Site) -> Iterator[list[str]]:
    """The statements worker a's app runs, besides reading the database's version."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_current_snapshot" not in statement:
            seen.append(statement)

    engine = site.app_a.state.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def member(site: Site, worker: TestClient, email: str) -> TestClient:
    client = TestClient(worker.app, follow_redirects=False)
    login(client, email)
    return client


def rename(site: Site, email: str, name: str) -> None:
    with Session(site.engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        user.name = name
        session.add(user)
        session.commit()


def test_a_second_visit_runs_no_query_and_any_commit_shows_at_once(site: Site, queries: list[str]) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    first = carla.get("/awaiting")
    assert first.status_code == 200
    queries.clear()
    again = carla.get("/awaiting")
    assert again.text == first.text
    assert queries == []  # from memory

    rename(site, "council1@example.org", "Carla Renamed")  # committed by another process, not through the app

    assert "Carla Renamed" in carla.get("/awaiting").text
    assert queries  # rendered again
    with TestClient(site.worker_b.app, follow_redirects=False, cookies=carla.cookies) as same_person_on_b:
        assert "Carla Renamed" in same_person_on_b.get("/awaiting").text
    rename(site, "council1@example.org", "Carla Chair")


def test_a_write_through_the_app_shows_in_the_other_worker(site: Site) -> None:
    qa_a = member(site, site.worker_a, "qa@example.org")
    qa_b = TestClient(site.worker_b.app, follow_redirects=False, cookies=qa_a.cookies)
    before = qa_b.get("/account")
    assert "Bench Token Page Cache" not in before.text
    issued = qa_a.post("/api/v1/auth/tokens", json={"name": "Bench Token Page Cache"}, headers=api_headers(qa_a))
    assert issued.status_code == 201, issued.text
    assert "Bench Token Page Cache" in qa_b.get("/account").text


def test_nobody_is_given_another_persons_page(site: Site) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    other = member(site, site.worker_a, "council2@example.org")
    carla_name = site_name(site, "council1@example.org")
    other_name = site_name(site, "council2@example.org")
    for _ in range(2):
        mine, theirs = carla.get("/"), other.get("/")
        assert carla_name in mine.text and other_name not in mine.text
        assert other_name in theirs.text and carla_name not in theirs.text
    anonymous = site.worker_a.get("/awaiting")
    assert anonymous.status_code in (303, 401)


def site_name(site: Site, email: str) -> str:
    with Session(site.engine) as session:
        return session.exec(select(User.name).where(User.email == email)).one()


def test_a_session_ended_elsewhere_is_refused_at_once(site: Site) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    assert carla.get("/awaiting").status_code == 200
    assert carla.get("/awaiting").status_code == 200  # now in memory
    copy = TestClient(site.worker_b.app, follow_redirects=False, cookies=carla.cookies)
    assert copy.post("/logout", data={"csrftoken": csrf_token(copy)}).status_code == 303

    after = TestClient(site.worker_a.app, follow_redirects=False, cookies=carla.cookies).get("/awaiting")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")


def test_a_revoked_token_is_refused_at_once(site: Site) -> None:
    qa = member(site, site.worker_b, "qa@example.org")
    issued = qa.post("/api/v1/auth/tokens", json={"name": "revoked soon"}, headers=api_headers(qa)).json()
    bearer = {"authorization": f"Bearer {issued['token']}", "accept": "application/json"}
    for _ in range(2):
        assert site.worker_a.get("/api/v1/awaiting", headers=bearer).status_code == 200
    assert qa.delete(f"/api/v1/auth/tokens/{issued['id']}", headers=api_headers(qa)).status_code == 204
    assert site.worker_a.get("/api/v1/awaiting", headers=bearer).status_code == 401


def test_validators_on_private_pages(site: Site) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    first = carla.get("/")
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]
    assert carla.get("/", headers={"if-none-match": etag}).status_code == 304
    # the same content after another's unrelated change: still not modified for the browser that holds it
    rename(site, "qa@example.org", "Quinn QA")
    assert carla.get("/", headers={"if-none-match": etag}).status_code == 304
    rename(site, "council1@example.org", "Carla Tagged")
    changed = carla.get("/", headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert "Carla Tagged" in changed.text
    rename(site, "council1@example.org", "Carla Chair")


def test_an_htmx_fragment_and_the_full_page_are_kept_apart(site: Site) -> None:
    qa = member(site, site.worker_a, "qa@example.org")
    page = qa.get("/pipeline")
    fragment = qa.get("/pipeline", headers={"hx-request": "true", "hx-target": "pipeline-results"})
    assert "<html" in page.text
    assert "<html" not in fragment.text
    assert "<html" in qa.get("/pipeline").text


def test_an_entry_lives_at_most_page_cache_seconds_and_never_into_the_next_day(
    site: Site, queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    carla.get("/awaiting")
    queries.clear()
    carla.get("/awaiting")
    assert queries == []
    now = time.monotonic()
    seconds = Settings().page_cache_seconds
    monkeypatch.setattr(time, "monotonic", lambda: now + seconds + 0.01)
    carla.get("/awaiting")
    assert queries  # rendered again, though nothing changed
    monkeypatch.undo()

    queries.clear()
    carla.get("/awaiting")
    assert queries == []
    tomorrow = tuple(day + timedelta(days=1) for day in Entry.today())
    monkeypatch.setattr(Entry, "today", staticmethod(lambda: tomorrow))
    carla.get("/awaiting")
    assert queries  # "days waiting" has changed


def test_a_reload_renders_afresh(site: Site, queries: list[str]) -> None:
    carla = member(site, site.worker_a, "council1@example.org")
    carla.get("/awaiting")
    queries.clear()
    carla.get("/awaiting", headers={"cache-control": "no-cache"})
    assert queries
    queries.clear()
    carla.get("/awaiting")
    assert queries == []  # the fresh answer was stored


def badge(page: str) -> int:
    found = re.search(r'id="awaiting-count">(\d+)<', page)
    assert found is not None, "no awaiting badge on the page"
    return int(found.group(1))


def test_the_awaiting_count_is_read_once_per_database_version(
    site: Site, queries: list[str], policies: Policies
) -> None:
    """The navigation's count on every page a member opens (even reloaded) is read once while nothing changes,
    and any commit (here the member's own vote, through the other worker) shows in it at once."""
    with Session(site.engine) as db:
        submitted(db, policies)  # before the faculty council, of which Carla is a member
        db.commit()
    carla = member(site, site.worker_a, "council1@example.org")
    reload = {"cache-control": "no-cache"}
    waiting = carla.get("/api/v1/awaiting").json()
    assert waiting["total"] > 0

    def counts() -> list[str]:  # the badge's count of proposals, not the notifications page's own count
        return [q for q in queries if re.match(r"SELECT count\(\*\) .*\s+FROM proposal\s", q)]

    rename(site, "council1@example.org", "Carla Counted")  # a commit: a version nobody has read under yet

    queries.clear()
    assert badge(carla.get("/account", headers=reload).text) == waiting["total"]
    assert len(counts()) == 1
    queries.clear()
    assert badge(carla.get("/notifications", headers=reload).text) == waiting["total"]
    assert badge(carla.get("/account", headers=reload).text) == waiting["total"]
    missing = carla.get("/proposals/999999", headers=reload)  # an error page shows the count too
    assert missing.status_code == 404 and badge(missing.text) == waiting["total"]
    assert counts() == []  # the same version: remembered
    assert queries  # the pages themselves were rendered afresh

    on_b = TestClient(site.worker_b.app, follow_redirects=False, cookies=carla.cookies)
    voted = on_b.post(
        f"/api/v1/proposals/{waiting['items'][0]['id']}/votes",
        json={"choice": "request_changes", "comment": "Say more about assessment."},
        headers=api_headers(on_b),
    )
    assert voted.status_code == 200, voted.text
    queries.clear()
    assert badge(carla.get("/account", headers=reload).text) == waiting["total"] - 1
    assert len(counts()) == 1
    rename(site, "council1@example.org", "Carla Chair")


def test_the_database_version_changes_with_a_commit_not_a_read(site: Site) -> None:
    read = database_version(site.engine)
    assert read is not None
    before = read(site.engine)
    with Session(site.engine) as session:  # a read leaves it alone
        session.exec(select(User.id)).all()
    assert read(site.engine) == before
    rename(site, "qa@example.org", "Quinn Version")
    assert read(site.engine) != before


# --- the middleware on its own -------------------------------------------------------------------


def run_asgi(app: Any, scope: Scope) -> tuple[int, dict[bytes, bytes], bytes]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    outcome: list[None] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(app(scope, receive, send))))
    runner.start()
    runner.join(timeout=30)
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], dict(start["headers"]), body


def request(path: str = "/page") -> Scope:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [(b"authorization", b"x")]}


class Inner:
    """An app whose answers the test sets, counting its calls."""

    def __init__(self, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> None:
        self.headers, self.chunks, self.calls = headers, chunks, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        for i, chunk in enumerate(self.chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(self.chunks) - 1})


def cached(inner: Inner, **options: Any) -> ResponseCacheMiddleware:
    def version(_engine: Engine) -> Version:
        return 1, None

    reader = VersionReader(cast(Engine, None), version)
    return ResponseCacheMiddleware(
        inner, reader=reader, key=page_key("session", lambda p: False), shared=False, **options
    )


@pytest.mark.parametrize(
    "headers",
    [[(b"set-cookie", b"session=new")], [(b"cache-control", b"no-store")]],
    ids=["sets a cookie", "no-store"],
)
def test_what_is_never_stored(headers: list[tuple[bytes, bytes]]) -> None:
    inner = Inner(headers, [b"hello"])
    app = cached(inner)
    for _ in range(2):
        status, answer_headers, body = run_asgi(app, request())
        assert (status, body) == (200, b"hello")
        assert b"etag" not in answer_headers
    assert inner.calls == 2


def test_without_a_version_the_app_answers_uncached() -> None:
    def unreachable(_engine: Engine) -> Version:
        raise OSError("connection refused")

    inner = Inner([], [b"from the app"])
    app = cached(inner)
    app.reader = VersionReader(cast(Engine, None), unreachable)
    for _ in range(2):
        assert run_asgi(app, request())[::2] == (200, b"from the app")
    assert inner.calls == 2
    assert not app.entries


def test_a_large_body_streams_through_and_is_not_stored() -> None:
    chunk = b"x" * (response_cache.MAX_ENTRY_BYTES // 2 + 1)
    inner = Inner([(b"content-type", b"text/csv")], [chunk, chunk, chunk, b"end"])
    app = cached(inner)
    for _ in range(2):
        status, _headers, body = run_asgi(app, request())
        assert status == 200
        assert body == chunk * 3 + b"end"
    assert inner.calls == 2
    assert not app.entries


def test_entries_are_evicted_beyond_the_memory_allowed() -> None:
    inner = Inner([], [b"y" * 1000])
    app = cached(inner, max_bytes=3000)
    for path in ("/a", "/b", "/c", "/d"):
        run_asgi(app, request(path))
    assert [key[0] for key in app.entries] == ["/c", "/d"]  # the two most recent fit
    assert app.stored_bytes <= 3000
    run_asgi(app, request("/c"))
    assert inner.calls == 4  # still in memory


def test_requests_without_credentials_or_for_static_files_are_not_cached() -> None:
    key = page_key("session", lambda path: path.startswith("/static/"))
    assert key({**request(), "headers": []}) is None
    assert key({**request(), "headers": [(b"cookie", b"csrftoken=abc")]}) is None
    assert key({**request("/static/app.js")}) is None
    with_session = key({**request(), "headers": [(b"cookie", b"csrftoken=abc; session=s1")]})
    other_session = key({**request(), "headers": [(b"cookie", b"csrftoken=abc; session=s2")]})
    assert with_session is not None and other_session is not None and with_session != other_session
    # what the browser says about its own cache or the connection does not change the page
    plain = key(request())
    secret = key({**request(), "headers": [(b"authorization", b"Bearer mcqa_secret_token")]})
    assert b"mcqa_secret_token" not in repr(secret).encode()  # kept as a digest only
    assert plain == key({**request(), "headers": [(b"authorization", b"x"), (b"connection", b"close")]})


def test_a_version_read_never_answers_a_request_that_arrived_after_it_began() -> None:
    started, release = threading.Event(), threading.Event()
    reads: list[int] = []

    def read(_engine: Any) -> Version:
        reads.append(len(reads) + 1)
        started.set()
        release.wait(timeout=30)
        return reads[-1], datetime(2026, 1, 1, tzinfo=UTC)

    async def scenario() -> list[object]:
        reader = VersionReader(cast(Engine, None), read)
        first = asyncio.ensure_future(reader.current())
        await anyio.to_thread.run_sync(started.wait)  # the first read is in flight
        started.clear()
        later = [asyncio.ensure_future(reader.current()) for _ in range(5)]  # arrive during it
        release.set()
        return [g for g, _ in await asyncio.gather(first, *later)]

    # In a thread of its own: a browser test may have left an event loop in this one (Playwright's sync API).
    outcome: list[list[object]] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))
    runner.start()
    runner.join(timeout=60)
    assert outcome[0] == [1, 2, 2, 2, 2, 2]  # the later five share one read, begun after they arrived
    assert reads == [1, 2]


def test_the_request_log_is_told_what_the_cache_did() -> None:
    inner = Inner([], [b"page"])
    app = cached(inner)
    seen = []
    for scope in (
        request(),
        request(),
        {**request(), "headers": [*request()["headers"], (b"cache-control", b"no-cache")]},
    ):
        run_asgi(app, scope)
        seen.append(scope.get(CACHE_SCOPE_KEY))
    assert seen == ["stored", "hit", "stored"]
    refused = cached(Inner([(b"set-cookie", b"a=b")], [b"page"]))
    scope = request()
    run_asgi(refused, scope)
    assert scope[CACHE_SCOPE_KEY] == "not stored"


class SlowInner(Inner):
    """``Inner``, answering only once ``release`` is set: requests arriving meanwhile find no entry yet."""

    def __init__(self, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> None:
        super().__init__(headers, chunks)
        self.release: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.release is not None
        await self.release.wait()
        await super().__call__(scope, receive, send)


class Watched(ResponseCacheMiddleware):
    """The cache, counting the requests that looked for an answer being made (all that found no entry)."""

    looked = 0

    async def _made_meanwhile(self, key: Key, version: Hashable) -> Entry | None:
        self.looked += 1
        return await super()._made_meanwhile(key, version)


def watched(inner: Inner) -> Watched:
    plain = cached(inner)
    return Watched(inner, reader=plain.reader, key=plain.key, shared=False)


def run_together(app: Watched, inner: SlowInner, scopes: list[Scope]) -> list[Any]:
    """The requests sent at once, the app held until every one that would wait has found no entry; each one's
    status and body (or what it raised)."""

    async def one(scope: Scope) -> tuple[int, bytes]:
        messages: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            messages.append(message)

        await app(scope, receive, send)
        return messages[0]["status"], b"".join(m.get("body", b"") for m in messages[1:])

    async def scenario() -> list[Any]:
        inner.release, app.looked = asyncio.Event(), 0
        answers = [asyncio.ensure_future(one(scope)) for scope in scopes]
        waiting = sum(1 for scope in scopes if not any(b"no-cache" in v for _, v in scope["headers"]))
        for _ in range(3000):
            if app.looked >= waiting:
                break
            await asyncio.sleep(0.01)
        inner.release.set()
        return list(await asyncio.gather(*answers, return_exceptions=True))

    outcome: list[list[Any]] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))  # see run_asgi
    runner.start()
    runner.join(timeout=60)
    return outcome[0]


def test_the_same_request_arriving_while_its_answer_is_made_waits_for_it() -> None:
    """After a commit, everyone asking for a page at once would render it at once: the first renders it, the others
    are given its answer. A reload renders afresh all the same, and an answer that cannot be stored is not shared."""
    inner = SlowInner([], [b"page"])
    app = watched(inner)
    scopes = [request() for _ in range(5)]
    assert run_together(app, inner, scopes) == [(200, b"page")] * 5
    assert inner.calls == 1
    assert sorted(s[CACHE_SCOPE_KEY] for s in scopes) == ["joined"] * 4 + ["stored"]
    assert not app.making  # nothing left waiting

    reload = {**request("/other"), "headers": [*request()["headers"], (b"cache-control", b"no-cache")]}
    assert run_together(app, inner, [request("/other"), request("/other"), reload]) == [(200, b"page")] * 3
    assert inner.calls == 3  # "/other" once, and the reload once more

    refused = SlowInner([(b"set-cookie", b"a=b")], [b"mine"])
    app = watched(refused)
    assert run_together(app, refused, [request(), request(), request()]) == [(200, b"mine")] * 3
    assert refused.calls == 3  # a page that sets a cookie is each person's own


class FailingOnce(SlowInner):
    """``SlowInner`` whose first answer fails (the app raised while rendering)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.release is not None
        await self.release.wait()
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("the first rendering failed")
        await super().__call__(scope, receive, send)


def test_when_the_answer_waited_for_fails_those_waiting_make_their_own() -> None:
    inner = FailingOnce([], [b"page"])
    app = watched(inner)
    first, *others = run_together(app, inner, [request(), request(), request()])
    assert isinstance(first, RuntimeError)
    assert others == [(200, b"page")] * 2  # one made it again, the other was given that one, or made its own
    assert not app.making
