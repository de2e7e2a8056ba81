"""The route table (app.routing): its index finds, for any address, the route that trying every route in order
would find, and the OpenAPI document still describes every API route."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from app.routing import RouteTable, all_routes, install

# Stand-ins for path parameters by their converter: what a real address would carry.
_SAMPLES = {"int": "7", "path": "a/b.txt", "str": "x", "": "x"}


def _table(app: FastAPI) -> RouteTable:
    tables = [r for r in app.router.routes if isinstance(r, RouteTable)]
    assert len(tables) == 1
    return tables[0]


def _sample_path(path: str) -> str:
    return re.sub(r"\{[^}:]+(?::([^}]+))?\}", lambda m: _SAMPLES.get(m.group(1) or "", "x"), path)


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _first_in_order(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[Match, BaseRoute | None]:
    """What a router without an index answers: the first full match, else the first partial one."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return match, route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _found(table: RouteTable, scope: dict[str, Any]) -> tuple[Match, BaseRoute | None]:
    match, child_scope = table.matches(scope)
    return match, child_scope.get("mcqa.route")


def test_the_index_finds_what_trying_every_route_in_order_finds(app: FastAPI) -> None:
    table = _table(app)
    paths = {_sample_path(str(getattr(route, "path", ""))) for route in table.routes}
    # Addresses no route has, or only partly: the index must not invent or lose a match there either.
    paths |= {"/", "/api/v1", "/api/v1/", "/api/v1/nothing", "/proposals/", "/proposals/7/", "/nothing/at/all", ""}
    compared = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            scope = _scope(path, method)
            assert _found(table, scope) == _first_in_order(table.routes, scope), (method, path)
            compared += 1
    assert compared > 1000  # every route's address, with every method


def test_every_route_is_reachable_at_its_own_address(app: FastAPI) -> None:
    """Each API route answers its own address and method (none is hidden behind another that the index tries
    first), except where a literal address is declared before a parameter at the same place on purpose."""
    table = _table(app)
    shadowed = []
    for route in table.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods or ():
            match, found = _found(table, _scope(_sample_path(route.path), method))
            assert match is Match.FULL, (method, route.path)
            if found is not route:
                assert isinstance(found, APIRoute)
                shadowed.append((route.path, found.path))
    # A parameter's stand-in can spell a literal segment; a real route never hides behind one with a parameter.
    assert all("{" not in by for _, by in shadowed), shadowed


def test_no_router_is_resolved_per_request(app: FastAPI) -> None:
    """The routers' routes sit in the table itself: no included-router node that FastAPI walks on each request."""
    table = _table(app)
    assert len(table.routes) > 200
    assert all(isinstance(route, APIRoute) for route in table.routes)
    assert all(isinstance(route, (APIRoute, RouteTable)) or hasattr(route, "path") for route in app.router.routes)


def test_the_openapi_document_describes_the_api_routes_in_the_table(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    api = {r.path for r in all_routes(app) if isinstance(r, APIRoute) and r.path.startswith("/api/v1/")}
    assert "/api/v1/proposals/{proposal_id}/votes" in paths
    assert {p for p in api if p != "/api/v1/openapi.json"} <= set(paths)
    assert not any(p.startswith("/proposals") for p in paths)  # pages are not part of the API's document
    # Each API call still declares the error answers of its router.
    assert "401" in paths["/api/v1/proposals/{proposal_id}/votes"]["post"]["responses"]


def test_each_app_uses_its_own_dependency_overrides() -> None:
    """Routes are made once per process and served by every app made from them (tests make several): a
    dependency override set on one app applies to that app's requests only."""
    from fastapi import Depends
    from fastapi.testclient import TestClient

    from app.routing import install, page_router

    def who() -> str:
        return "the original"

    router = page_router()

    @router.get("/who")
    def answer(name: str = Depends(who)) -> dict[str, str]:
        return {"name": name}

    first, second = FastAPI(), FastAPI()
    install(first, [router])
    install(second, [router])
    first.dependency_overrides[who] = lambda: "the override"
    assert TestClient(first).get("/who").json() == {"name": "the override"}
    assert TestClient(second).get("/who").json() == {"name": "the original"}


def _note_app(tmp_path: Any, route_class: type[APIRoute]) -> tuple[FastAPI, Any, list[str]]:
    """A small app over a file database whose one handler inserts a row; ``seen`` notes the threads that ran the
    handler and the commits."""
    import threading

    from fastapi import APIRouter, Depends
    from pydantic import BaseModel
    from sqlalchemy import event, text
    from sqlmodel import Session

    from app.db import make_engine, trip_dependency

    engine = make_engine(f"sqlite:///{tmp_path}/notes.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, text VARCHAR NOT NULL)"))
    seen: list[str] = []

    @trip_dependency
    def session() -> Any:  # the request's session, committed by its teardown as app.db's is
        seen.append(f"open {threading.get_ident()}")
        with Session(engine) as s:
            event.listen(s, "after_commit", lambda _s: seen.append(f"commit {threading.get_ident()}"))
            yield s
            s.commit()

    class Out(BaseModel):
        id: int

    router = APIRouter(route_class=route_class)

    @router.post("/notes", response_model=Out)
    def add(s: Session = Depends(session)) -> Out:
        seen.append(f"handler {threading.get_ident()}")
        new_id = s.connection().execute(text("INSERT INTO note (text) VALUES ('x') RETURNING id")).scalar_one()
        return Out(id=new_id)

    app = FastAPI()
    install(app, [router])
    return app, engine, seen


def test_a_handler_its_answer_and_its_commit_take_one_trip_to_the_thread_pool(tmp_path: Any, monkeypatch: Any) -> None:
    import fastapi.routing as fastapi_routing
    from fastapi.testclient import TestClient

    import app.routing as routing

    for route_class, expected_trips in ((routing.OneTripRoute, 1), (APIRoute, 2)):
        trips: list[str] = []
        with monkeypatch.context() as patch:
            for module, name in ((routing, "in_trip_thread"), (fastapi_routing, "run_in_threadpool")):

                async def counted(
                    func: Any,
                    *args: Any,
                    _original: Any = getattr(module, name),
                    _trips: list[str] = trips,
                    **kw: Any,
                ) -> Any:
                    _trips.append(getattr(func, "__name__", "?"))
                    return await _original(func, *args, **kw)

                patch.setattr(module, name, counted)
            folder = tmp_path / route_class.__name__
            folder.mkdir()
            app, engine, seen = _note_app(folder, route_class)
            response = TestClient(app).post("/notes")
        assert response.status_code == 200 and response.json() == {"id": 1}
        # FastAPI alone: the handler, then the check of its answer against the response model (and the session
        # in trips of its own); the one-trip route: the handler, whose thread also opens and commits the session.
        assert len(trips) == expected_trips, trips
        if route_class is routing.OneTripRoute:
            assert [event.split()[0] for event in seen] == ["open", "handler", "commit"]
            assert len({event.split()[1] for event in seen}) == 1  # the same thread
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM note").scalar_one() == 1
        engine.dispose()


def _most_trips_at_once(threads: int | None, requests: int = 6) -> int:
    """How many handlers ran at the same moment when ``requests`` arrive together, each taking a while; the event
    loop's trips limited to ``threads`` (None: not limited by the app)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import anyio
    import httpx
    from fastapi import APIRouter

    from app.routing import OneTripRoute, use_request_threads

    running = [0, 0]  # now, most
    lock = threading.Lock()
    router = APIRouter(route_class=OneTripRoute)

    @router.get("/slow")
    def slow() -> dict[str, bool]:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"ok": True}

    app = FastAPI()
    install(app, [router])

    async def burst() -> list[int]:
        if threads is not None:
            use_request_threads(threads)
        codes: list[int] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def one() -> None:
                codes.append((await client.get("/slow")).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(requests):
                    group.start_soon(one)
        return codes

    # A loop of its own in a thread of its own: the browser tests leave one running in this thread.
    with ThreadPoolExecutor(1) as thread:
        codes = thread.submit(anyio.run, burst).result()
    assert codes == [200] * requests  # every request is answered; the others waited their turn
    return running[1]


def test_request_trips_run_in_as_many_threads_at_once_as_the_app_allows() -> None:
    assert _most_trips_at_once(2) == 2
    assert _most_trips_at_once(None) == 6  # without the limit, all six at once: the limit is what made it two


def test_the_app_sets_its_request_threads_from_the_settings(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.routing import trip_threads

    application = create_app(settings.model_copy(update={"request_threads": 2}))
    with TestClient(application) as client:
        assert client.portal is not None
        assert client.portal.call(lambda: trip_threads().total_tokens) == 2
    application.state.engine.dispose()


def test_the_health_check_does_not_wait_for_a_request_thread(settings: Any) -> None:
    """Under load every request thread is busy by design: /healthz checks the database in a thread of its own
    rather than queueing behind the requests, which would take a busy worker for a broken one."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.routing import trip_threads

    application = create_app(settings.model_copy(update={"request_threads": 1}))
    with TestClient(application) as client:
        assert client.portal is not None
        client.portal.call(lambda: trip_threads().acquire_on_behalf_of_nowait("a request that takes long"))
        assert client.portal.call(lambda: trip_threads().available_tokens) == 0
        assert client.get("/healthz").status_code == 200
        client.portal.call(lambda: trip_threads().release_on_behalf_of("a request that takes long"))
    application.state.engine.dispose()


def test_a_commit_that_fails_in_the_handlers_trip_fails_the_request_and_saves_nothing(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlmodel import Session

    from app.routing import OneTripRoute

    app, engine, _seen = _note_app(tmp_path, OneTripRoute)

    def refuse(_session: Session) -> None:
        raise RuntimeError("the database refused the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        response = TestClient(app, raise_server_exceptions=False).post("/notes")
    finally:
        event.remove(Session, "before_commit", refuse)
    assert response.status_code == 500
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM note").scalar_one() == 0
    engine.dispose()


def test_a_dependency_fastapi_solves_that_needs_the_session_gets_the_handlers_own(tmp_path: Any) -> None:
    """When a dependency left to FastAPI (not a trip dependency) takes the session, the session is left to
    FastAPI too: handler and dependency share one session, opened once."""
    from fastapi import APIRouter, Depends
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from app.db import make_engine, trip_dependency
    from app.routing import OneTripRoute

    engine = make_engine(f"sqlite:///{tmp_path}/shared.db")
    opened: list[Session] = []

    @trip_dependency
    def session() -> Any:
        with Session(engine) as s:
            opened.append(s)
            yield s

    def helper(s: Session = Depends(session)) -> Session:  # a plain dependency, not a trip one
        return s

    router = APIRouter(route_class=OneTripRoute)

    @router.get("/same")
    def same(s: Session = Depends(session), h: Session = Depends(helper)) -> dict[str, bool]:
        return {"same": s is h}

    app = FastAPI()
    install(app, [router])
    assert TestClient(app).get("/same").json() == {"same": True}
    assert len(opened) == 1
    engine.dispose()


def test_a_refused_caller_is_told_so_before_their_invalid_input(client: Any) -> None:
    """Who is asking is resolved in the handler's trip, after FastAPI validated the parameters; a request that
    is both refused and invalid is still answered with the refusal, as before: 401 anonymous, 403 not allowed,
    and 422 only for someone who may make the call."""
    from fastapi.testclient import TestClient

    from tests.conftest import api_headers, login

    invalid_vote = {"choice": "maybe"}
    anonymous = client.post("/api/v1/proposals/1/votes", json=invalid_vote)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["detail"] == "Please log in to continue."

    login(client, "academic@example.org")
    headers = api_headers(client)
    not_admin = client.post("/api/v1/users", json={"email": "not-an-address"}, headers=headers)
    assert not_admin.status_code == 403, not_admin.text
    bad_page = client.get("/api/v1/pipeline?limit=0", headers=headers)
    assert bad_page.status_code == 403, bad_page.text

    admin_client = TestClient(client.app, follow_redirects=False)
    login(admin_client, "admin@example.org")
    admin = admin_client.post("/api/v1/users", json={"email": "not-an-address"}, headers=api_headers(admin_client))
    assert admin.status_code == 422, admin.text
    assert "email" in admin.json()["errors"]
