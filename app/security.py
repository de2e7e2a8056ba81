"""Who is asking: password hashing, login throttling, session and bearer-token authentication.

The *actor* of a request is the user plus everything that decides what they may do: global roles and
committee memberships. It is loaded once per request and used by permission checks and navigation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Annotated, Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    DateTime,
    Integer,
    Select,
    bindparam,
    cast,
    false,
    literal,
    null,
    text,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app.committees.models import Delegation
from app.db import SessionDep, trip_dependency, utcnow
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
    # A seat held as a member's substitute during their leave (app.committees.delegation): whose, and their name.
    substitute_for: int | None = None
    substitute_for_name: str = ""

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
        """The kinds of committee the person sits on in their own right (a substitute's seats give no office)."""
        return frozenset(m.kind for m in self.memberships if m.substitute_for is None)

    def seat_in(self, committee_id: int, member_ids: Set[int]) -> int | None:
        """Whose ballot this person casts in a committee with these members: their own when they sit on it,
        else the member they stand in for (one seat at most: a substitute never votes twice)."""
        if self.id in member_ids:
            return self.id
        return next(
            (
                m.substitute_for
                for m in self.memberships
                if m.committee_id == committee_id and m.substitute_for in member_ids
            ),
            None,
        )

    @property
    def role_labels(self) -> list[str]:
        labels = [r.value.replace("_", " ") for r in sorted(self.roles)]
        labels += [
            (f"substitute for {m.substitute_for_name}, " if m.substitute_for else "")
            + ("chair, " if m.is_chair else "")
            + m.committee_name
            for m in self.memberships
        ]
        return labels


# Typed: PostgreSQL reads an untyped NULL in a UNION's first branch as text, which a later integer cannot match.
_NO_ID, _NO_TIME = cast(null(), Integer), cast(null(), DateTime(timezone=True))


def _actor_facts_stmt(uid: Any = None, *, user: Select[*tuple[Any, ...]] | None = None) -> CompoundSelect[Any]:
    """Roles and committee memberships of one user (``uid``, by default the bound ``:uid``) in one round trip:
    every request needs both. The navigation's unread-notifications count rides along (every page shows it), read
    from its partial index. The seats of members the user stands in for today (``:today``, a delegation) come too,
    except in committees the user sits on in their own right: one person, one ballot.

    With ``user``, the user's own row comes first in the same statement, so that authentication and the actor are
    one round trip. Every branch has the same ten columns: what, value, committee id, name, faculty, chair, the
    member stood in for, two of the user row's own (token id, last use), the name of the member stood in for."""
    if uid is None:
        uid = bindparam("uid")
    today: BindParameter[date] = bindparam("today")
    no_id, no_time = _NO_ID, _NO_TIME
    pad = (no_id, no_id, no_time, null())
    roles = sa_select(literal("role"), col(UserRole.role), null(), null(), null(), false(), *pad).where(
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
            *pad,
        )
        .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
        .where(col(CommitteeMember.user_id) == uid, col(Committee.is_active), membership_current())
    )
    own_committees = sa_select(col(CommitteeMember.committee_id)).where(col(CommitteeMember.user_id) == uid)
    stand_ins = (
        sa_select(
            literal("stand_in"),
            col(Committee.kind),
            col(Committee.id),
            col(Committee.name),
            col(Committee.org_unit_id),
            col(CommitteeMember.is_chair),
            col(Delegation.member_id),
            no_id,
            no_time,
            col(User.name),
        )
        .select_from(Delegation)
        .join(CommitteeMember, col(CommitteeMember.user_id) == Delegation.member_id)
        .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
        .join(User, col(User.id) == Delegation.member_id)
        .where(
            col(Delegation.substitute_id) == uid,
            col(Delegation.revoked_at).is_(None),
            col(Delegation.starts_on) <= today,
            col(Delegation.ends_on) >= today,
            col(CommitteeMember.committee_id).not_in(own_committees),
        )
    )
    unread = (
        sa_select(literal("unread"), null(), func.count(), null(), null(), false(), *pad)
        .select_from(Notification)
        .where(col(Notification.user_id) == uid, col(Notification.read_at).is_(None))
    )
    if user is None:
        return union_all(roles, memberships, stand_ins, unread)
    return union_all(user, roles, memberships, stand_ins, unread)


_ACTOR_FACTS = _actor_facts_stmt()


class UserLike(Protocol):
    """A user row: the ORM object or a plain row with the same columns."""

    id: int | None
    name: str
    email: str
    org_unit_id: int | None


def load_actor(session: Session, user: UserLike) -> Actor:
    assert user.id is not None
    facts = session.connection().execute(_ACTOR_FACTS, {"uid": user.id, "today": utcnow().date()})
    return _actor_from_facts(user, facts)


def _actor_from_facts(user: UserLike, facts: Any) -> Actor:
    assert user.id is not None
    roles: set[Role] = set()
    memberships: list[Membership] = []
    unread = 0
    seen: set[int] = set()
    for what, value, committee_id, name, org_unit_id, is_chair, for_id, _token, _used, for_name in facts:
        if what == "user":
            continue
        if what == "role":
            roles.add(Role(value))
        elif what == "unread":
            unread = int(committee_id)
        elif committee_id not in seen:  # standing in for two members of one committee still gives one seat
            seen.add(committee_id)
            memberships.append(
                Membership(
                    committee_id=committee_id,
                    committee_name=name,
                    kind=CommitteeKind(value),
                    org_unit_id=org_unit_id,
                    is_chair=bool(is_chair),
                    substitute_for=for_id,
                    substitute_for_name=for_name or "",
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


# Built once and run as Core: every request runs one of them. The user's row and the actor's facts (roles,
# memberships, unread count) come back from one statement, found by token or by session user id.
_USER_BRANCH = (
    literal("user"),
    col(User.name),
    col(User.id),
    col(User.email),
    col(User.org_unit_id),
    col(User.is_active),
    col(User.session_generation),
)
_TOKEN_HASH: BindParameter[str] = bindparam("token_hash")
_LIVE_TOKEN = (col(ApiToken.token_hash) == _TOKEN_HASH, col(ApiToken.revoked_at).is_(None))
_BY_TOKEN = _actor_facts_stmt(
    sa_select(col(ApiToken.user_id)).where(*_LIVE_TOKEN).scalar_subquery(),
    user=sa_select(*_USER_BRANCH, col(ApiToken.id), col(ApiToken.last_used_at), null())
    .join(ApiToken, col(ApiToken.user_id) == User.id)
    .where(*_LIVE_TOKEN),
)
_BY_ID = _actor_facts_stmt(
    user=sa_select(*_USER_BRANCH, _NO_ID, _NO_TIME, null()).where(col(User.id) == bindparam("uid")),
)
# How often a token's last use is written. A write on every call would serialise an integration's parallel
# requests; and every commit changes the database version that logged-in pages are kept in memory under
# (app.response_cache), so once a minute per token would empty everybody's kept pages every few seconds with a
# handful of integrations. The account page says the time is recorded hourly.
TOKEN_USE_RECORDED_EVERY = timedelta(hours=1)
_TOKEN_USED = update(ApiToken).where(col(ApiToken.id) == bindparam("token_id")).values(last_used_at=bindparam("now"))


@dataclass
class _UserRow:
    """The user's own row of the combined statement."""

    name: str
    id: int | None
    email: str
    org_unit_id: int | None
    is_active: bool
    session_generation: int
    token_id: int | None
    last_used_at: Any


def _user_and_facts(
    session: Session, stmt: CompoundSelect[Any], params: dict[str, Any]
) -> tuple[_UserRow | None, Sequence[Any]]:
    facts = session.connection().execute(stmt, {**params, "today": utcnow().date()}).all()
    user = next((_UserRow(*row[1:9]) for row in facts if row[0] == "user"), None)
    return user, facts


@trip_dependency
def optional_actor(request: Request, session: SessionDep) -> Actor | None:
    header = request.headers.get("authorization", "")
    user: _UserRow | None = None
    facts: Sequence[Any] = ()
    if header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
        user, facts = _user_and_facts(session, _BY_TOKEN, {"token_hash": hash_token(token)})
        if user is None:
            raise NotAuthenticated("The API token is not valid or has been revoked.")
        now = utcnow()
        # Recorded at most once an hour (TOKEN_USE_RECORDED_EVERY).
        if user.last_used_at is None or now - user.last_used_at > TOKEN_USE_RECORDED_EVERY:
            session.connection().execute(_TOKEN_USED, {"token_id": user.token_id, "now": now})
    elif (uid := request.session.get(SESSION_USER_KEY)) is not None:
        user, facts = _user_and_facts(session, _BY_ID, {"uid": uid})
        # A session issued before the last logout or password change has an older generation: it has ended.
        stale = user is not None and request.session.get(SESSION_GENERATION_KEY) != user.session_generation
        if user is None or not user.is_active or stale:
            request.session.clear()
            user = None
    actor = _actor_from_facts(user, facts) if user is not None and user.is_active else None
    request.state.actor = actor
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


@trip_dependency
def current_actor(actor: OptionalActor) -> Actor:
    if actor is None:
        raise NotAuthenticated("Please log in to continue.")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


@trip_dependency
def require_admin(actor: CurrentActor) -> Actor:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators can manage accounts and the organisation.")
    return actor


AdminActor = Annotated[Actor, Depends(require_admin)]


@trip_dependency
def require_oversight(actor: CurrentActor) -> Actor:
    if not actor.oversees_approvals:
        raise PermissionDenied("The pipeline is for the QA office.")
    return actor


OverseerActor = Annotated[Actor, Depends(require_oversight)]


@trip_dependency
def app_settings(request: Request) -> Settings:
    """The settings the application was created with (tests and workers may differ from the environment)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
