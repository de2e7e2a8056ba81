"""The app's routes, found through an index instead of one by one.

Since FastAPI 0.137, ``include_router`` keeps each included router as a node that is resolved on every request:
the routers' routes are walked (and their version summed) once to match and again to handle, at every level of
nesting. With the app's 250 routes in 30 routers that cost more than the rest of a small API call (a request for
an unknown address walked them all several times over). So the app includes no router: each router is made with
its final prefix and settings (``api_router``, ``page_router``), and all their routes go into one ``RouteTable``.

The table indexes each route by the literal segments its path starts with (``/api/v1/proposals`` of
``/api/v1/proposals/{proposal_id}/votes``) and tries, for a request, only the routes whose literal start is a start
of the request's path, in the order the routes were added: the first that matches wins, as in any Starlette
router, so ordering rules (a literal path before a parameter at the same place) hold as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from app.db import TRIP_DEPENDENCY, trip_dependency
from app.handlers import API_ERRORS, PUBLIC_API_ERRORS
from app.policies import get_policies

API_PREFIX = "/api/v1"
_MATCHED = "mcqa.route"  # the scope key through which ``matches`` tells ``handle`` which route it found


class _RequestAppOverrides:
    """The dependency overrides of the app serving the request (tests replace the session dependency): a route
    made before any app, and shared by every app of the process, reads them from the app it is serving now."""

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        app = _SERVING.get()
        return app.dependency_overrides if app is not None else {}


_SERVING: ContextVar[FastAPI | None] = ContextVar("mcqa_serving_app", default=None)
_OVERRIDES = _RequestAppOverrides()


class OneTripRoute(APIRoute):
    """A route whose plain ``def`` handler runs in one trip to the thread pool together with what it needs and
    what follows it.

    FastAPI solves a handler's dependencies one by one before calling it, each plain ``def`` one in a trip to the
    thread pool of its own (the request's session, who is asking), runs the handler in another, checks its return
    value against the response model in a third, and ends the session in a fourth. Each trip costs about as much
    as a small query, and solving each dependency costs again. Here the dependencies marked ``trip_dependency``
    (``app.db``: the session; ``app.security``: the actor and the settings; the policies, marked below) are taken
    out of FastAPI's hands: an ``async`` wrapper makes one trip in which they are resolved, the handler runs, and
    the session is committed (rolled back when anything raises) and closed. The response model is then checked on
    the event loop, which reads only what the handler has loaded (a read from the event loop would be refused, see
    ``app.db``). FastAPI still solves everything else (path, query and body parameters, a posted form) first.

    Errors keep their order: a request that is both unauthenticated and invalid is answered 401, not 422, as
    when FastAPI resolved the actor before it validated the parameters."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        call = self.dependant.call
        if call is not None and call not in _ONE_TRIP and _plain_function(call):
            self._trip = _take_trip_dependencies(self.dependant)
            self.dependant.call = _in_one_trip(
                call, self._trip, self.dependant.request_param_name, self.dependency_overrides_provider
            )
            self.dependant.request_param_name = self.dependant.request_param_name or _REQUEST
        handler = super().get_route_handler()
        trip: tuple[Dependant, ...] = getattr(self, "_trip", ())
        if not trip:
            return handler

        async def authenticated_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                # The parameters were refused before the handler's trip: a refusal of the caller comes first.
                await in_trip_thread(_resolve_and_end, trip, request, _overrides(self.dependency_overrides_provider))
                raise

        return authenticated_first


# The threads a worker's request trips run in, per event loop (set by the app's lifespan, ``use_request_threads``).
# Few: Python runs one thread at a time, so a trip beyond the first few only waits for the interpreter lock, and
# every statement's answer makes its thread queue for that lock again behind the others. With ten clients on two
# workers, votes in three threads per worker ran about a fifth faster than in as many threads as requests (README,
# "Request threads").
_TRIP_THREADS: RunVar[CapacityLimiter] = RunVar("mcqa_trip_threads")


def use_request_threads(count: int) -> None:
    """Run this event loop's request trips in at most ``count`` threads at once; the others wait their turn on the
    loop. Called on the loop, before it serves requests."""
    _TRIP_THREADS.set(CapacityLimiter(count))


def trip_threads() -> CapacityLimiter:
    """The limiter of this event loop's request trips: anyio's default (forty threads) where no app set one."""
    try:
        return _TRIP_THREADS.get()
    except LookupError:
        return to_thread.current_default_thread_limiter()


async def in_trip_thread(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` in one of the request trips' threads."""
    return await to_thread.run_sync(call, *args, limiter=trip_threads())


_ONE_TRIP: set[Callable[..., Any]] = set()  # the wrappers made, never wrapped again
# Marked here: app.policies imports nothing of the app (tests/test_import_graph.py).
trip_dependency(get_policies)
_REQUEST = "mcqa_request"  # the parameter through which a wrapper that needs it is given the request


def _plain_function(call: Callable[..., Any]) -> bool:
    return not (
        inspect.iscoroutinefunction(call) or inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)
    )


def _in_trip(dependant: Dependant) -> bool:
    """A dependency the handler's trip can resolve: marked, with no parameters of its own (the request aside),
    and depending only on such dependencies."""
    return (
        getattr(dependant.call, TRIP_DEPENDENCY, False)
        and not (
            dependant.path_params
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
        )
        and all(_in_trip(sub) for sub in dependant.dependencies)
    )


def _calls(dependant: Dependant) -> set[Any]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _take_trip_dependencies(dependant: Dependant) -> tuple[Dependant, ...]:
    """Take the handler's trip dependencies out of its dependant, unless a dependency FastAPI still solves needs
    one of them too (it would then get a second session): those are then all left to FastAPI."""
    trip = tuple(sub for sub in dependant.dependencies if _in_trip(sub))
    left = [sub for sub in dependant.dependencies if not _in_trip(sub)]
    wanted = set().union(*(_calls(sub) for sub in trip))
    if any(_calls(sub) & wanted for sub in left):
        return ()
    dependant.dependencies = left
    return trip


@cache
def _dependant_of(call: Callable[..., Any]) -> Dependant:
    dependant = get_dependant(path="", call=call)
    if not all(_in_trip(sub) for sub in dependant.dependencies) or inspect.iscoroutinefunction(call):
        raise TypeError(f"{call!r} replaces a trip dependency, so it must be one too (app.db.trip_dependency)")
    return dependant


def _resolve(
    dependant: Dependant, request: Request, overrides: dict[Any, Any], stack: ExitStack, solved: dict[Any, Any]
) -> Any:
    """A trip dependency's value, once per request (as FastAPI's cache does); a generator is entered on
    ``stack`` and ended with it, as a context manager."""
    original = dependant.call
    assert original is not None
    if original in solved:
        return solved[original]
    call: Callable[..., Any] = overrides.get(original, original)
    if call is not original:
        dependant = _dependant_of(call)
    values = {str(sub.name): _resolve(sub, request, overrides, stack, solved) for sub in dependant.dependencies}
    if dependant.request_param_name:
        values[dependant.request_param_name] = request
    value = stack.enter_context(contextmanager(call)(**values)) if inspect.isgeneratorfunction(call) else call(**values)
    solved[original] = value
    return value


def _resolve_all(
    trip: Sequence[Dependant], request: Request, overrides: dict[Any, Any], stack: ExitStack
) -> dict[str, Any]:
    """The trip dependencies' values by the handler's parameter names, ended with ``stack``."""
    solved: dict[Any, Any] = {}
    return {str(dependant.name): _resolve(dependant, request, overrides, stack, solved) for dependant in trip}


def _resolve_and_end(trip: Sequence[Dependant], request: Request, overrides: dict[Any, Any]) -> None:
    """Resolve the trip dependencies alone (each raises its refusal), then end them."""
    with ExitStack() as stack:
        _resolve_all(trip, request, overrides, stack)


def _overrides(provider: Any) -> dict[Any, Any]:
    """The dependency overrides in force for this request (tests replace the session), read on the event loop:
    the thread has no app of its own."""
    return dict(getattr(provider, "dependency_overrides", None) or {})


def _in_one_trip(
    call: Callable[..., Any], trip: Sequence[Dependant], request_name: str | None, provider: Any
) -> Callable[..., Coroutine[Any, Any, Any]]:
    def handle(values: dict[str, Any], overrides: dict[Any, Any]) -> Any:
        request = values[request_name] if request_name else values.pop(_REQUEST)
        with ExitStack() as stack:
            return call(**values, **_resolve_all(trip, request, overrides, stack))

    # Not functools.wraps: FastAPI unwraps ``__wrapped__`` to tell plain handlers from ``async`` ones.
    async def one_trip(**values: Any) -> Any:
        return await in_trip_thread(handle, values, _overrides(provider) if trip else {})

    _ONE_TRIP.add(one_trip)
    return one_trip


def api_router(*, tags: list[str] | None = None, public: bool = False) -> APIRouter:
    """A router of the JSON API: under ``/api/v1``, with the error answers every call may give in the OpenAPI
    document (``public``: those of the anonymous catalogue)."""
    return APIRouter(
        prefix=API_PREFIX,
        tags=list(tags or []),
        responses=PUBLIC_API_ERRORS if public else API_ERRORS,
        dependency_overrides_provider=_OVERRIDES,
        route_class=OneTripRoute,
    )


def page_router() -> APIRouter:
    """A router of HTML pages and htmx fragments: not part of the API's OpenAPI document."""
    return APIRouter(include_in_schema=False, dependency_overrides_provider=_OVERRIDES, route_class=OneTripRoute)


def _literal_start(path: str) -> tuple[str, ...]:
    """The segments a route's path starts with before its first parameter: ``("api", "v1", "proposals")``."""
    literal: list[str] = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        literal.append(segment)
    return tuple(literal)


class RouteTable(BaseRoute):
    """Routes tried in order, but only those whose literal start fits the request's path (see the module)."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.routes: list[BaseRoute] = list(routes)
        self._by_start: dict[tuple[str, ...], list[int]] = {}
        self._depth = 0
        for position, route in enumerate(self.routes):
            start = _literal_start(str(getattr(route, "path", "")))
            self._by_start.setdefault(start, []).append(position)
            self._depth = max(self._depth, len(start))

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that may match this path, in table order."""
        segments = path.split("/")[1:]
        found: list[int] = []
        for length in range(min(len(segments), self._depth) + 1):
            found += self._by_start.get(tuple(segments[:length]), ())
        found.sort()
        return [self.routes[position] for position in found]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        path, root = scope["path"], scope.get("root_path", "")
        for route in self.candidates(path[len(root) :] if root and path.startswith(root) else path):
            match, child_scope = route.matches(scope)
            if match is Match.NONE:
                continue
            child_scope = {**child_scope, _MATCHED: route}
            if match is Match.FULL:
                return match, child_scope
            if partial is None:  # the path fits but not the method: a 405, unless a later route takes both
                partial = (match, child_scope)
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_MATCHED)
        serving = _SERVING.set(scope.get("app"))
        try:
            await route.handle(scope, receive, send)
        finally:
            _SERVING.reset(serving)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def all_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app: those in its tables, then its own few (health, documentation, static files)."""
    found: list[BaseRoute] = []
    for route in app.router.routes:
        found += route.routes if isinstance(route, RouteTable) else [route]
    return found


def install(app: FastAPI, routers: Sequence[APIRouter]) -> RouteTable:
    """Put the routers' routes into one table of the app (before the app's own few routes and mounts), and
    describe them in the app's OpenAPI document, which would not look inside the table."""
    table = RouteTable(route for router in routers for route in router.routes)
    app.router.routes.insert(0, table)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                terms_of_service=app.terms_of_service,
                contact=app.contact,
                license_info=app.license_info,
                routes=all_routes(app),
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
                external_docs=app.openapi_external_docs,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return table
