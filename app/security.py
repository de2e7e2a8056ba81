"""Who is asking: password hashing, login throttling, session and bearer-token authentication.

The *actor* of a request is the user plus everything that decides what they may do: global roles and
committee memberships. It is loaded once per request and used by permission checks and navigation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    bindparam,
    false,
    literal,
    null,
    text,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app.db import SessionDep, utcnow
from app.errors import NotAuthenticated, PermissionDenied, TooManyAttempts
from app.notifications.models import Notification
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember, membership_current
from app.settings import Settings
from app.users.models import ApiToken, LoginAttempt, Role, User, UserRole

_hasher = PasswordHasher()
SESSION_USER_KEY = "uid"
SESSION_GENERATION_KEY = "gen"
# Namespace of the per-address advisory locks the login throttle takes on PostgreSQL (the sweep uses 732_001).
LOGIN_LOCK_NAMESPACE = 732_002


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash no password matches, verified for unknown addresses so they cost as long as known ones."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "mcqa_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Membership:
    committee_id: int
    committee_name: str
    kind: CommitteeKind
    org_unit_id: int | None
    is_chair: bool

    @property
    def kind_label(self) -> str:
        return COMMITTEE_KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    email: str
    org_unit_id: int | None
    roles: frozenset[Role]
    memberships: tuple[Membership, ...] = field(default=())
    unread_notifications: int = 0  # as the request began: for the count in the navigation

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    @property
    def is_qa_officer(self) -> bool:
        return Role.qa_officer in self.roles

    @property
    def in_qa_office(self) -> bool:
        """A QA officer, or a member of the QA office committee: who checks, confirms and publishes."""
        return Role.qa_officer in self.roles or CommitteeKind.qa_office in self.committee_kinds

    @property
    def oversees_approvals(self) -> bool:
        """Who sees the pipeline and every proposal in it: the QA office, and administrators."""
        return self.in_qa_office or self.is_admin

    @property
    def is_academic(self) -> bool:
        return Role.academic in self.roles

    def member_of(self, committee_id: int) -> Membership | None:
        return next((m for m in self.memberships if m.committee_id == committee_id), None)

    @property
    def committee_kinds(self) -> frozenset[CommitteeKind]:
        return frozenset(m.kind for m in self.memberships)

    @property
    def role_labels(self) -> list[str]:
        labels = [r.value.replace("_", " ") for r in sorted(self.roles)]
        labels += [("chair, " if m.is_chair else "") + m.committee_name for m in self.memberships]
        return labels


def _actor_facts_stmt() -> CompoundSelect[Any]:
    """Roles and committee memberships of one user (``:uid``) in one round trip: every request needs both. The
    navigation's unread-notifications count rides along (every page shows it), read from its partial index."""
    uid: BindParameter[int] = bindparam("uid")
    roles = sa_select(literal("role"), col(UserRole.role), null(), null(), null(), false()).where(
        col(UserRole.user_id) == uid
    )
    memberships = (
        sa_select(
            literal("member"),
            col(Committee.kind),
            col(Committee.id),
            col(Committee.name),
            col(Committee.org_unit_id),
            col(CommitteeMember.is_chair),
        )
        .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
        .where(col(CommitteeMember.user_id) == uid, col(Committee.is_active), membership_current())
    )
    unread = (
        sa_select(literal("unread"), null(), func.count(), null(), null(), false())
        .select_from(Notification)
        .where(col(Notification.user_id) == uid, col(Notification.read_at).is_(None))
    )
    return union_all(roles, memberships, unread)


_ACTOR_FACTS = _actor_facts_stmt()


class UserLike(Protocol):
    """A user row: the ORM object or a plain row with the same columns."""

    id: int | None
    name: str
    email: str
    org_unit_id: int | None


def load_actor(session: Session, user: UserLike) -> Actor:
    assert user.id is not None
    roles: set[Role] = set()
    memberships: list[Membership] = []
    unread = 0
    for what, value, committee_id, name, org_unit_id, is_chair in session.connection().execute(
        _ACTOR_FACTS, {"uid": user.id}
    ):
        if what == "role":
            roles.add(Role(value))
        elif what == "unread":
            unread = int(committee_id)
        else:
            memberships.append(
                Membership(
                    committee_id=committee_id,
                    committee_name=name,
                    kind=CommitteeKind(value),
                    org_unit_id=org_unit_id,
                    is_chair=bool(is_chair),
                )
            )
    return Actor(
        id=user.id,
        name=user.name,
        email=user.email,
        org_unit_id=user.org_unit_id,
        roles=frozenset(roles),
        memberships=tuple(sorted(memberships, key=lambda m: m.committee_name)),
        unread_notifications=unread,
    )


# --- login throttling ----------------------------------------------------------------------------


def check_login_allowed(session: Session, email: str, settings: Settings) -> None:
    """Refuse further attempts once an address has had too many recent failures (any worker, any host).

    Concurrent attempts for one address must not all pass the count before any of them is recorded: on
    PostgreSQL a transaction-level advisory lock per address serialises them until the attempt is committed
    (SQLite's BEGIN IMMEDIATE already serialises every writer). Other addresses are not held up.
    """
    email = email.lower()
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:email))"),
            {"namespace": LOGIN_LOCK_NAMESPACE, "email": email},
        )
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    failures = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.at >= since,
            col(LoginAttempt.succeeded).is_(False),
        )
    ).one()
    if failures >= settings.login_max_failures:
        minutes = max(1, settings.login_window_seconds // 60)
        raise TooManyAttempts(
            f"Too many failed logins for this address. Please wait {minutes} minutes and try again, "
            "or ask an administrator to reset your password."
        )


def authenticate(session: Session, email: str, password: str, ip: str, settings: Settings) -> User | None:
    email = email.strip().lower()
    check_login_allowed(session, email, settings)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and user.is_active and user.password_hash:
        ok = verify_password(user.password_hash, password)
    else:
        # As slow as a wrong password for a real account: the answer's timing must not tell who has one.
        verify_password(_dummy_hash(), password)
        ok = False
    session.add(LoginAttempt(email=email, ip=ip, succeeded=ok))
    session.flush()  # recorded while the address's lock is held
    return user if ok else None


# --- sessions ------------------------------------------------------------------------------------


def start_session(request: Request, user: User) -> None:
    """A fresh session for ``user``, bound to their current session generation."""
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_GENERATION_KEY] = user.session_generation


_END_SESSIONS = (
    update(User)
    .where(col(User.id) == bindparam("uid"))
    .values(session_generation=col(User.session_generation) + 1)
    .returning(col(User.session_generation))
)


def end_sessions(session: Session, user_id: int) -> int:
    """End every session of the user issued so far (each cookie carries the old generation); the new one."""
    generation: int = session.connection().execute(_END_SESSIONS, {"uid": user_id}).scalar_one()
    return generation


# --- request dependencies ------------------------------------------------------------------------


# Built once and run as Core: every request runs one of them.
_USER_COLUMNS = (
    col(User.id),
    col(User.name),
    col(User.email),
    col(User.org_unit_id),
    col(User.is_active),
    col(User.session_generation),
)
_USER_BY_TOKEN: Select[*tuple[Any, ...]] = (
    sa_select(*_USER_COLUMNS, col(ApiToken.id).label("token_id"), col(ApiToken.last_used_at))
    .join(ApiToken, col(ApiToken.user_id) == User.id)
    .where(col(ApiToken.token_hash) == bindparam("token_hash"), col(ApiToken.revoked_at).is_(None))
)
_USER_BY_ID = sa_select(*_USER_COLUMNS).where(col(User.id) == bindparam("uid"))
_TOKEN_USED = update(ApiToken).where(col(ApiToken.id) == bindparam("token_id")).values(last_used_at=bindparam("now"))


def _user_from_bearer(session: Session, header: str) -> Any:
    token = header.removeprefix("Bearer ").strip()
    row = session.connection().execute(_USER_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None:
        raise NotAuthenticated("The API token is not valid or has been revoked.")
    now = utcnow()
    # Recorded at most once a minute: a write on every call would serialise an integration's parallel requests.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        session.connection().execute(_TOKEN_USED, {"token_id": row.token_id, "now": now})
    return row


def optional_actor(request: Request, session: SessionDep) -> Actor | None:
    header = request.headers.get("authorization", "")
    user: Any = None
    if header.startswith("Bearer "):
        user = _user_from_bearer(session, header)
    elif (uid := request.session.get(SESSION_USER_KEY)) is not None:
        user = session.connection().execute(_USER_BY_ID, {"uid": uid}).first()
        # A session issued before the last logout or password change has an older generation: it has ended.
        stale = user is not None and request.session.get(SESSION_GENERATION_KEY) != user.session_generation
        if user is None or not user.is_active or stale:
            request.session.clear()
            user = None
    actor = load_actor(session, user) if user is not None and user.is_active else None
    request.state.actor = actor
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def current_actor(actor: OptionalActor) -> Actor:
    if actor is None:
        raise NotAuthenticated("Please log in to continue.")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def require_admin(actor: CurrentActor) -> Actor:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators can manage accounts and the organisation.")
    return actor


AdminActor = Annotated[Actor, Depends(require_admin)]


async def require_oversight(actor: CurrentActor) -> Actor:
    if not actor.oversees_approvals:
        raise PermissionDenied("The pipeline is for the QA office.")
    return actor


OverseerActor = Annotated[Actor, Depends(require_oversight)]


async def app_settings(request: Request) -> Settings:
    """The settings the application was created with (tests and workers may differ from the environment)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
