"""A response cache for the public catalogue, invalidated by every change to what the catalogue shows.

The catalogue changes only when something is published (or an organisation name it shows changes), but it is
read all the time, by visitors who are not logged in. Their pages (and the public API's answers) are therefore
kept in memory, per process, under the catalogue's *generation*:

- Every transaction that changes a published credential, an edition, a faculty, a programme, a module, an
  offering, a credential's standing or a survey's action plan raises
  ``catalogue_stamp.generation`` in the same transaction (``_bump_on_catalogue_change``, an ORM flush listener,
  so every service, job and command is covered). Once it commits, every process sees the new generation.
- Each cacheable request first reads the stamp (one primary-key row, without a transaction on PostgreSQL; one
  read serves every request that arrived before it began, see ``StampReader``) and is answered from memory only
  if the entry was stored under that generation. A request that starts after a
  publication commits can therefore never get the catalogue as it was before, whichever worker or host serves it.
- Browsers and proxies get ``ETag`` and ``Last-Modified`` (the stamp's time) with ``Cache-Control: public,
  no-cache`` (keep it, but ask each time), and a ``304 Not Modified`` when what they hold is still current.

Only GET requests without a session cookie or an ``Authorization`` header are cached: a logged-in visitor's page
carries their own header and is rendered as before. Cached pages carry no CSRF token (nothing on them posts);
a response that sets a cookie is never stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from itertools import chain
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, bindparam, event, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.catalogue.models import CatalogueStamp, Credential, CredentialVersion
from app.db import utcnow
from app.feedback.models import Survey
from app.offerings.models import Offering
from app.org.models import Module, OrgUnit, Programme
from app.reviews.models import CredentialStanding

# The scope key that tells the page renderer a response may be shared between visitors (no CSRF token).
PUBLIC_SCOPE_KEY = "mcqa.public_response"
CACHEABLE_PATH = re.compile(r"^(/api/v1)?/catalogue(/[0-9]+)?$")
MAX_ENTRIES = 500
CACHE_CONTROL = b"public, no-cache"

# --- the stamp: raised in the transaction that changes the catalogue -------------------------------

# What a catalogue page shows besides the credential's own columns: its editions, the names of its faculty,
# programme and module, its upcoming offerings, its standing (active, suspended; retired leaves the list) and
# what was changed after learners' feedback (a survey's action plan, once the QA office has seen it).
_ALWAYS_SHOWN = (CredentialVersion, OrgUnit, Programme, Module, Offering, CredentialStanding, Survey)
_BUMP = (
    update(CatalogueStamp)
    .where(col(CatalogueStamp.id) == 1)
    .values(generation=col(CatalogueStamp.generation) + 1, changed_at=bindparam("now"))
)
_READ = select(col(CatalogueStamp.generation), col(CatalogueStamp.changed_at)).where(col(CatalogueStamp.id) == 1)


def changes_catalogue(objects: Iterable[object]) -> bool:
    """Whether flushing these new, changed or deleted rows changes what the public catalogue shows. A draft's
    credential (never published) does not."""
    for obj in objects:
        if isinstance(obj, _ALWAYS_SHOWN):
            return True
        if isinstance(obj, Credential) and obj.current_version_no > 0:
            return True
    return False


@event.listens_for(OrmSession, "after_flush")
def _bump_on_catalogue_change(session: OrmSession, _context: Any) -> None:
    if changes_catalogue(chain(session.new, session.dirty, session.deleted)):
        session.connection().execute(_BUMP, {"now": utcnow()})


def read_stamp(engine: Engine) -> tuple[int, datetime]:
    """The catalogue's committed generation and the time of its last change."""
    with engine.connect() as conn:
        row = conn.execute(_READ).first()
        conn.rollback()
    if row is None:  # a database created without the migration's row: nothing is ever cached as current
        return -1, utcnow()
    return int(row.generation), row.changed_at


def stamp_engine(engine: Engine) -> Engine:
    """The engine the stamp is read with: without BEGIN/COMMIT round trips on PostgreSQL (one statement reads
    a committed row either way); SQLite's deferred transactions cost no round trip."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(read_only=True)


class StampReader:
    """Reads the stamp for many concurrent requests at once, without ever answering one with a read that began
    before it arrived: a request joins the next read that has not started yet, which starts as soon as the one in
    flight ends. Under load, one database round trip (and one thread hop) then serves every request that arrived
    meanwhile; alone, a request costs one read, as before."""

    def __init__(self, engine: Engine, read: Callable[[Engine], tuple[int, datetime]] = read_stamp) -> None:
        self.engine = engine
        self.read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Future[tuple[int, datetime]] | None = None
        self._reading = False
        self._task: asyncio.Task[None] | None = None

    async def current(self) -> tuple[int, datetime]:
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


# --- the middleware ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    generation: int
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _not_modified(scope: Scope, etag: bytes, changed_at: datetime) -> bool:
    if (wanted := _header(scope, b"if-none-match")) is not None:
        return wanted.strip() == b"*" or etag in [tag.strip().removeprefix(b"W/") for tag in wanted.split(b",")]
    if (since := _header(scope, b"if-modified-since")) is not None:
        try:
            return changed_at.replace(microsecond=0) <= parsedate_to_datetime(since.decode("latin-1"))
        except (TypeError, ValueError):
            return False
    return False


class CatalogueCacheMiddleware:
    """Serves anonymous catalogue GETs from memory while the catalogue's generation is unchanged (module doc)."""

    def __init__(self, app: ASGIApp, *, engine: Engine, session_cookie: str, enabled: bool = True) -> None:
        self.app = app
        self.stamp = StampReader(stamp_engine(engine))
        self.session_cookie = session_cookie.encode()
        self.enabled = enabled
        self.entries: OrderedDict[tuple[bytes, ...], Entry] = OrderedDict()

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or not CACHEABLE_PATH.match(scope["path"]):
            return False
        if _header(scope, b"authorization") is not None:
            return False
        cookies = _header(scope, b"cookie") or b""
        return self.session_cookie + b"=" not in cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        generation, changed_at = await self.stamp.current()
        key = (
            scope["path"].encode(),
            scope.get("query_string", b""),
            _header(scope, b"hx-request") or b"",
            _header(scope, b"hx-target") or b"",
        )
        entry = self.entries.get(key)
        if entry is not None and entry.generation == generation:
            self.entries.move_to_end(key)
            await self._answer(scope, send, entry, changed_at)
            return
        scope[PUBLIC_SCOPE_KEY] = True
        start: Message = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        entry = Entry(
            generation=generation,
            status=start.get("status", 500),
            headers=headers,
            body=bytes(body),
            etag=b'"' + f"{generation}-{hashlib.sha256(body).hexdigest()[:20]}".encode() + b'"',
        )
        storable = entry.status == 200 and not any(k == b"set-cookie" for k, _ in headers)
        if storable:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)
        await self._answer(scope, send, entry, changed_at, validators=storable)

    async def _answer(
        self, scope: Scope, send: Send, entry: Entry, changed_at: datetime, *, validators: bool = True
    ) -> None:
        headers = entry.headers
        status = entry.status
        body = entry.body
        if validators:
            last_modified = format_datetime(changed_at, usegmt=True).encode()
            extra = [(b"etag", entry.etag), (b"last-modified", last_modified), (b"cache-control", CACHE_CONTROL)]
            if _not_modified(scope, entry.etag, changed_at):
                status, body = 304, b""
                headers = [(k, v) for k, v in headers if k in (b"vary",)]
            headers = [(k, v) for k, v in headers if k != b"content-length"] + extra
            if status != 304:
                headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
