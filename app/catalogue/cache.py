"""A response cache for the public catalogue, invalidated by every change to what the catalogue shows.

The catalogue changes only when something is published (or an organisation name it shows changes), but it is
read all the time, by visitors who are not logged in. Their pages (and the public API's answers) are therefore
kept in memory, per process, under the catalogue's *generation*:

- Every transaction that changes a published credential, an edition, a faculty, a programme, a module, an
  offering, a credential's standing or a survey's action plan raises
  ``catalogue_stamp.generation`` in the same transaction (``_bump_on_catalogue_change``, an ORM flush listener,
  so every service, job and command is covered). Once it commits, every process sees the new generation.
- Each cacheable request first reads the stamp (one primary-key row, without a transaction on PostgreSQL) and is
  answered from memory only if the entry was stored under that generation. A request that starts after a
  publication commits can therefore never get the catalogue as it was before, whichever worker or host serves it.
- Browsers and proxies get ``ETag`` and ``Last-Modified`` (the stamp's time) with ``Cache-Control: public,
  no-cache`` (keep it, but ask each time), and a ``304 Not Modified`` when what they hold is still current.

The mechanism (reading the version, storing, answering, validators) is ``app.response_cache``'s, which also keeps
logged-in people's pages. Only GET requests without a session cookie or an ``Authorization`` header are cached
here. Cached pages carry no CSRF token (nothing on them posts); a response that sets a cookie is never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from sqlalchemy import Engine, bindparam, event, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col
from starlette.types import ASGIApp, Scope

from app.catalogue.models import CatalogueStamp, Credential, CredentialVersion
from app.db import utcnow
from app.feedback.models import Survey
from app.offerings.models import Offering
from app.org.models import Module, OrgUnit, Programme
from app.response_cache import Key, ResponseCacheMiddleware, Version, VersionReader, autocommit, header
from app.reviews.models import CredentialStanding

# The scope key that tells the page renderer a response may be shared between visitors (no CSRF token).
PUBLIC_SCOPE_KEY = "mcqa.public_response"
CACHEABLE_PATH = re.compile(r"^(/api/v1)?/catalogue(/[0-9]+)?$")
MAX_BYTES = 32 * 1024 * 1024

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

# The catalogue's generation and the time it was raised (the response cache; the checks that read the catalogue).
STAMP = select(col(CatalogueStamp.generation), col(CatalogueStamp.changed_at)).where(col(CatalogueStamp.id) == 1)


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


def read_stamp(engine: Engine) -> Version:
    """The catalogue's committed generation and the time of its last change."""
    with engine.connect() as conn:
        row = conn.execute(STAMP).first()
        conn.rollback()
    if row is None:  # a database created without the migration's row: nothing is ever cached as current
        return -1, utcnow()
    return int(row.generation), row.changed_at


def catalogue_key(session_cookie: str) -> Callable[[Scope], Key | None]:
    """Anonymous GETs of the catalogue's pages and API (no session cookie, no ``Authorization``): a logged-in
    visitor's page carries their own header and is cached, if at all, as theirs (``app.response_cache.page_key``).
    The key holds what else changes the answer: the query and whether htmx asks for a fragment."""
    cookie_prefix = session_cookie.encode() + b"="

    def key(scope: Scope) -> Key | None:
        if not CACHEABLE_PATH.match(scope["path"]) or header(scope, b"authorization") is not None:
            return None
        if cookie_prefix in (header(scope, b"cookie") or b""):
            return None
        return (
            scope["path"],
            scope.get("query_string", b""),
            header(scope, b"hx-request") or b"",
            header(scope, b"hx-target") or b"",
        )

    return key


def catalogue_cache(app: ASGIApp, *, engine: Engine, session_cookie: str) -> ResponseCacheMiddleware:
    """The public catalogue's cache: shared by every visitor, current until the catalogue's generation changes."""
    return ResponseCacheMiddleware(
        app,
        reader=VersionReader(autocommit(engine), read_stamp),
        key=catalogue_key(session_cookie),
        shared=True,
        max_bytes=MAX_BYTES,
        shared_scope_key=PUBLIC_SCOPE_KEY,
    )
