"""Responses kept in memory, per process, for as long as what they were made from is unchanged.

One mechanism, two uses (both installed in ``app.main``):

- **The public catalogue** (``app.catalogue.cache``): anonymous pages, shared by every visitor, stored under the
  catalogue's generation, which every change to what the catalogue shows raises in its own transaction.
- **Logged-in pages** (``page_cache``): a person's own GET requests, stored under the *database version*: on
  PostgreSQL the snapshot (``pg_current_snapshot()``: which transactions have committed), on SQLite the data
  version a connection of its own sees (``PRAGMA data_version``, which changes whenever anyone commits). Any
  commit, by any worker, job or command, changes it, so no write needs to know about this cache. What time alone
  changes ("days waiting", a deadline passing, a substitute's leave ending, a session's end) is bounded by the
  entry's life: at most ``Settings.page_cache_seconds`` (60), and never past the end of the day it was stored.

How a request is answered:

- A request is cacheable when its ``key`` says so, and the key holds everything its answer depends on besides
  the data: the path and query, and the request's headers (its credentials, cookies, ``HX-Request`` and the rest).
  A request that says ``Cache-Control: no-cache`` (a browser's reload) is rendered afresh, and its answer stored.
- The version is read once the request has arrived (``VersionReader``: one read serves every request that
  arrived before it began). An entry stored under another version is never served. A request that starts after
  a commit therefore never gets a page from before it, whichever worker or host serves it.
- A request that finds no entry while the same request (same key, same version) is being answered waits for that
  answer and is given it, once stored, instead of rendering the page again: after a commit, the visitors of a
  catalogue page do not all render it at once. A reload never waits; nor does anyone when that answer cannot be
  stored (they make their own).
- Only a ``200`` that sets no cookie and does not say ``no-store`` is stored, up to ``MAX_ENTRY_BYTES``; a larger
  body is streamed through as it comes. Entries are evicted oldest-used first beyond ``max_bytes`` in all.
- Answers carry an ``ETag`` (and, for the catalogue, ``Last-Modified``) with ``Cache-Control: no-cache``, public or
  private: browsers keep the page but ask each time, and get ``304 Not Modified`` while theirs is current.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime

import anyio.to_thread
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import DB_VERSION_SCOPE_KEY
from app.logs import CACHE_SCOPE_KEY, log

# What a version read returns: a token equal for equal data, and (for Last-Modified) when the data last changed.
Version = tuple[Hashable, datetime | None]
Key = tuple[Hashable, ...]

MAX_ENTRY_BYTES = 512 * 1024

# --- reading the version -----------------------------------------------------------------------


class VersionReader:
    """Reads the version for many concurrent requests at once, without ever answering one with a read that began
    before it arrived: a request joins the next read that has not started yet, which starts as soon as the one in
    flight ends. Under load, one database round trip (and one thread hop) then serves every request that arrived
    meanwhile; alone, a request costs one read."""

    def __init__(self, engine: Engine, read: Callable[[Engine], Version]) -> None:
        self.engine = engine
        self.read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Future[Version] | None = None
        self._reading = False
        self._task: asyncio.Task[None] | None = None

    async def current(self) -> Version:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests start one per client): start afresh
            self._loop, self._pending, self._reading = loop, None, False
        if self._pending is None:
            self._pending = loop.create_future()
            if not self._reading:
                self._reading = True
                self._task = loop.create_task(self._read_while_wanted())
        return await asyncio.shield(self._pending)

    async def _read_while_wanted(self) -> None:
        try:
            while self._pending is not None:
                waiting, self._pending = self._pending, None
                try:
                    waiting.set_result(await anyio.to_thread.run_sync(self.read, self.engine))
                except Exception as exc:  # each waiting request fails as its own read would have
                    waiting.set_exception(exc)
        finally:
            self._reading = False


def autocommit(engine: Engine) -> Engine:
    """The engine a version is read with: without BEGIN/COMMIT round trips on PostgreSQL (one statement reads
    committed data either way); SQLite's deferred transactions cost no round trip."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(read_only=True)


_SNAPSHOT = text("SELECT pg_current_snapshot()::text")


def _postgres_snapshot(engine: Engine) -> Version:
    with engine.connect() as conn:
        return conn.execute(_SNAPSHOT).scalar_one(), None


class _SqliteDataVersion:
    """``PRAGMA data_version`` on a connection of its own that never writes: it changes whenever any other
    connection (in this process or another) commits, and only then."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __call__(self, _engine: Engine) -> Version:
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            return self._conn.execute("PRAGMA data_version").fetchone()[0], None


def database_version(engine: Engine) -> Callable[[Engine], Version] | None:
    """How to read the database's version, or None where there is none to read (an in-memory SQLite database,
    which no second connection can see)."""
    if engine.dialect.name == "postgresql":
        return _postgres_snapshot
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:" and not path.startswith("file::memory:"):
        return _SqliteDataVersion(path)
    return None


# --- the middleware ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    version: Hashable
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    stored_at: float
    days: tuple[date, date]

    @staticmethod
    def today() -> tuple[date, date]:
        """The date in UTC and in the server's zone: pages count days in one or the other."""
        return datetime.now(UTC).date(), date.today()

    @property
    def size(self) -> int:
        """Bytes counted against the cache's memory: the body, and a rough allowance for the headers."""
        return len(self.body) + 200


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _not_modified(scope: Scope, etag: bytes, changed_at: datetime | None) -> bool:
    if (wanted := header(scope, b"if-none-match")) is not None:
        return wanted.strip() == b"*" or etag in [tag.strip().removeprefix(b"W/") for tag in wanted.split(b",")]
    if changed_at is not None and (since := header(scope, b"if-modified-since")) is not None:
        try:
            return changed_at.replace(microsecond=0) <= parsedate_to_datetime(since.decode("latin-1"))
        except (TypeError, ValueError):
            return False
    return False


def _reload(scope: Scope) -> bool:
    """Whether the browser asks for the page afresh (a reload: ``Cache-Control: no-cache`` or ``Pragma``)."""
    for name, value in scope["headers"]:
        if name in (b"cache-control", b"pragma") and b"no-cache" in value.lower():
            return True
    return False


def _storable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    if status != 200:
        return False
    for name, value in headers:
        if name == b"set-cookie" or (name == b"cache-control" and b"no-store" in value.lower()):
            return False
    return True


class ResponseCacheMiddleware:
    """Serves a cacheable GET from memory while the version it was stored under is current (module doc).

    ``key`` gives a request's key, or None when it is not cacheable. ``shared`` answers are the same for every
    visitor (the scope then carries ``shared_scope_key`` so that the page omits its CSRF token) and carry
    ``Cache-Control: public``; the others ``private``. ``max_age`` bounds an entry's life in seconds (None: until
    the version changes)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        reader: VersionReader,
        key: Callable[[Scope], Key | None],
        shared: bool,
        max_age: float | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        shared_scope_key: str = "",
        version_scope_key: str = "",
    ) -> None:
        self.app = app
        self.reader = reader
        self.key = key
        self.shared = shared
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.shared_scope_key = shared_scope_key
        self.version_scope_key = version_scope_key
        self.cache_control = b"public, no-cache" if shared else b"private, no-cache"
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.stored_bytes = 0
        # Answers being made now, by key and version: the same request arriving meanwhile waits for that answer
        # instead of making its own (after a commit, every visitor of a catalogue page would render it at once).
        self.making: dict[tuple[Key, Hashable], asyncio.Future[Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.key(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        try:
            version, changed_at = await self.reader.current()
        except Exception as exc:  # the database is away: the app answers as it would without a cache
            log.warning("response_cache.version_unreadable", error=f"{type(exc).__name__}: {exc}")
            await self.app(scope, receive, send)
            return
        if self.version_scope_key:  # what the request reads may be remembered under it (app.db.version_memo)
            scope[self.version_scope_key] = version
        reload = _reload(scope)
        entry = None if reload else self.entries.get(key)
        if entry is not None and entry.version == version and self._fresh(entry):
            self.entries.move_to_end(key)
            scope[CACHE_SCOPE_KEY] = "hit"
            await self._answer(scope, send, entry, changed_at)
            return
        if not reload and (made := await self._made_meanwhile(key, version)) is not None:
            scope[CACHE_SCOPE_KEY] = "joined"
            await self._answer(scope, send, made, changed_at)
            return
        making: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        self.making[(key, version)] = making
        try:
            await self._make(scope, receive, send, key, version, changed_at, making)
        finally:  # not stored (not to be kept, the app failed, the client went away): those waiting make their own
            self._made(key, version, making, None)

    async def _made_meanwhile(self, key: Key, version: Hashable) -> Entry | None:
        """The answer another request with this key and version is making now, once made and stored; None when
        none is being made, or it could not be stored (the caller then makes its own)."""
        making = self.making.get((key, version))
        if making is None or making.get_loop() is not asyncio.get_running_loop():
            return None
        return await asyncio.shield(making)

    def _made(self, key: Key, version: Hashable, making: asyncio.Future[Entry | None], entry: Entry | None) -> None:
        """Give those waiting for ``making`` its answer (None: make your own), once."""
        if self.making.get((key, version)) is making:
            del self.making[(key, version)]
        if not making.done():
            making.set_result(entry)

    async def _make(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: Key,
        version: Hashable,
        changed_at: datetime | None,
        making: asyncio.Future[Entry | None],
    ) -> None:
        """The app's answer, stored when it may be kept (and given at once to those waiting for it), then sent."""
        if self.shared_scope_key:
            scope[self.shared_scope_key] = True
        start: Message = {}
        body = bytearray()
        streaming = False

        async def capture(message: Message) -> None:
            nonlocal start, streaming
            if streaming:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body") and len(body) > MAX_ENTRY_BYTES:  # too large to keep: pass it on
                    streaming = True
                    await send(start)
                    await send({"type": "http.response.body", "body": bytes(body), "more_body": True})

        await self.app(scope, receive, capture)
        if streaming:
            scope[CACHE_SCOPE_KEY] = "not stored"
            return
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        entry = Entry(
            version=version,
            status=start.get("status", 500),
            headers=headers,
            body=bytes(body),
            etag=self._etag(version, body),
            stored_at=time.monotonic(),
            days=Entry.today(),
        )
        storable = _storable(entry.status, headers) and len(body) <= MAX_ENTRY_BYTES
        if storable:
            self._store(key, entry)
            self._made(key, version, making, entry)
        scope[CACHE_SCOPE_KEY] = "stored" if storable else "not stored"
        await self._answer(scope, send, entry, changed_at, validators=storable)

    def _fresh(self, entry: Entry) -> bool:
        if self.max_age is None:
            return True
        return time.monotonic() - entry.stored_at < self.max_age and entry.days == Entry.today()

    def _etag(self, version: Hashable, body: bytes | bytearray) -> bytes:
        digest = hashlib.sha256(body).hexdigest()[:20]
        # A shared page's tag names the catalogue generation; a private one only its content, so that a page
        # that reads the same after others' changes is still "not modified" for the browser that holds it.
        return f'"{version}-{digest}"'.encode() if self.shared else f'"p-{digest}"'.encode()

    def _store(self, key: Key, entry: Entry) -> None:
        if (old := self.entries.pop(key, None)) is not None:
            self.stored_bytes -= old.size
        self.entries[key] = entry
        self.stored_bytes += entry.size
        while self.stored_bytes > self.max_bytes and self.entries:
            _, evicted = self.entries.popitem(last=False)
            self.stored_bytes -= evicted.size

    async def _answer(
        self, scope: Scope, send: Send, entry: Entry, changed_at: datetime | None, *, validators: bool = True
    ) -> None:
        headers = entry.headers
        status = entry.status
        body = entry.body
        if validators:
            extra = [(b"etag", entry.etag), (b"cache-control", self.cache_control)]
            if changed_at is not None:
                extra.append((b"last-modified", format_datetime(changed_at, usegmt=True).encode()))
            if _not_modified(scope, entry.etag, changed_at):
                status, body = 304, b""
                headers = [(k, v) for k, v in headers if k in (b"vary",)]
            headers = [(k, v) for k, v in headers if k not in (b"content-length", b"cache-control")] + extra
            if status != 304:
                headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# --- logged-in pages -----------------------------------------------------------------------------

# Headers about the connection or the browser's own cache, not about what the page shows.
_NOT_IN_KEY = frozenset(
    {b"connection", b"keep-alive", b"if-none-match", b"if-modified-since", b"cache-control", b"pragma", b"te"}
)


def page_cache(app: ASGIApp, *, engine: Engine, session_cookie: str, max_age: float, max_megabytes: int) -> ASGIApp:
    """A person's own pages from memory (module doc), or ``app`` as it is when the cache is off (``max_age`` 0) or
    the database has no version to read."""
    read_version = database_version(engine)
    if max_age <= 0 or read_version is None:
        return app
    return ResponseCacheMiddleware(
        app,
        reader=VersionReader(autocommit(engine), read_version),
        key=page_key(session_cookie, skip=lambda path: path.startswith("/static/")),
        shared=False,
        max_age=max_age,
        max_bytes=max_megabytes * 1024 * 1024,
        version_scope_key=DB_VERSION_SCOPE_KEY,
    )


def page_key(session_cookie: str, skip: Callable[[str], bool]) -> Callable[[Scope], Key | None]:
    """The key of a logged-in GET (a bearer token, or a session cookie): its path, its query and a digest of every
    header that can change the answer, credentials and cookies included, so that nobody is given another's page.
    ``skip`` names paths that are never cached."""
    cookie_prefix = session_cookie.encode() + b"="

    def key(scope: Scope) -> Key | None:
        path = scope["path"]
        if skip(path):
            return None
        headers = scope["headers"]
        credentials = False
        for name, value in headers:
            if name == b"authorization" or (name == b"cookie" and cookie_prefix in value):
                credentials = True
        if not credentials:
            return None
        kept = sorted(bytes(n) + b":" + bytes(v) for n, v in headers if n not in _NOT_IN_KEY)
        # A digest, so that tokens and session cookies are not kept in memory beyond their request.
        return (path, scope.get("query_string", b""), hashlib.sha256(b"\n".join(kept)).digest())

    return key
