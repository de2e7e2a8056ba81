"""Accounts: create, update, list, and API tokens. Services flush; the request commits."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, NotFound, PolicyViolation
from app.org.service import account_activity_changed, require_known_org_unit
from app.policies import Policies
from app.security import Actor, end_sessions, hash_password, hash_token, new_token, verify_password
from app.users.models import (
    ApiToken,
    PasswordChange,
    Role,
    TokenIssued,
    TokenPublic,
    User,
    UserCreate,
    UserPublic,
    UserRole,
    UserUpdate,
)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user


def roles_of(session: Session, user_ids: list[int]) -> dict[int, list[Role]]:
    result: dict[int, list[Role]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = session.exec(
            select(UserRole.user_id, UserRole.role).where(col(UserRole.user_id).in_(user_ids)).order_by(UserRole.role)
        )
        for uid, role in rows:
            result[uid].append(Role(role))
    return result


def to_public(session: Session, users: list[User]) -> list[UserPublic]:
    roles = roles_of(session, [u.id for u in users if u.id is not None])
    return [
        UserPublic(
            id=u.id or 0,
            email=u.email,
            name=u.name,
            is_active=u.is_active,
            org_unit_id=u.org_unit_id,
            roles=roles.get(u.id or 0, []),
        )
        for u in users
    ]


def list_users(session: Session, *, q: str = "", offset: int = 0, limit: int = 25) -> tuple[list[User], int]:
    stmt = select(User)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(col(User.email).ilike(like) | col(User.name).ilike(like))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    users = list(session.exec(stmt.order_by(col(User.name)).offset(offset).limit(limit)))
    return users, total


def _set_roles(session: Session, user: User, roles: list[Role]) -> None:
    assert user.id is not None
    current = {r.role: r for r in session.exec(select(UserRole).where(UserRole.user_id == user.id))}
    wanted = {r.value for r in roles}
    for role, row in current.items():
        if role not in wanted:
            session.delete(row)
    for role in wanted - current.keys():
        session.add(UserRole(user_id=user.id, role=role))


def create_user(session: Session, data: UserCreate, *, by: Actor | None) -> User:
    email = str(data.email).lower()
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(f"An account for {email} already exists.", errors={"email": "This e-mail is already in use."})
    require_known_org_unit(session, data.org_unit_id)
    user = User(
        email=email,
        name=data.name.strip(),
        password_hash=hash_password(data.password) if data.password else "",
        is_active=data.is_active,
        org_unit_id=data.org_unit_id,
    )
    session.add(user)
    session.flush()
    _set_roles(session, user, data.roles)
    assert user.id is not None
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="user",
        entity_id=user.id,
        action="user.created",
        data={"email": email, "roles": sorted(r.value for r in data.roles)},
    )
    session.flush()
    return user


def update_user(session: Session, user: User, data: UserUpdate, *, by: Actor, policies: Policies) -> User:
    assert user.id is not None
    changed = data.model_dump(exclude_unset=True, exclude={"password"})
    if by.id == user.id and (data.is_active is False or (data.roles is not None and Role.admin not in data.roles)):
        raise PolicyViolation(
            "You cannot deactivate yourself or remove your own administrator role.",
            errors={"roles": "Ask another administrator to do this."},
        )
    if data.name is not None:
        user.name = data.name.strip()
    activity_changed = data.is_active is not None and data.is_active != user.is_active
    if data.is_active is not None:
        user.is_active = data.is_active
    if "org_unit_id" in data.model_fields_set:
        require_known_org_unit(session, data.org_unit_id)
        user.org_unit_id = data.org_unit_id
    if data.password:
        user.password_hash = hash_password(data.password)
        changed["password"] = "changed"
        # A reset password locks out whoever knew the old one, including any session they had.
        set_committed_value(user, "session_generation", end_sessions(session, user.id))
    if data.roles is not None:
        _set_roles(session, user, data.roles)
        changed["roles"] = sorted(r.value for r in data.roles)
    session.add(user)
    audit.record(session, actor_id=by.id, entity_type="user", entity_id=user.id, action="user.updated", data=changed)
    session.flush()
    if activity_changed:  # a deactivated member no longer counts in their bodies: their stages may be decided now
        account_activity_changed(session, user.id, policies)
    return user


def change_password(session: Session, actor: Actor, data: PasswordChange) -> User:
    """The person's own password change: every other session ends; API tokens only when they say so."""
    user = get_user(session, actor.id)
    if not verify_password(user.password_hash, data.current_password):
        raise PolicyViolation(
            "The current password is not correct.", errors={"current_password": "This is not your current password."}
        )
    user.password_hash = hash_password(data.new_password)
    session.add(user)
    session.flush()
    set_committed_value(user, "session_generation", end_sessions(session, actor.id))
    revoked = 0
    if data.revoke_tokens:
        revoked = (
            session.connection()
            .execute(
                update(ApiToken)
                .where(col(ApiToken.user_id) == actor.id, col(ApiToken.revoked_at).is_(None))
                .values(revoked_at=utcnow())
            )
            .rowcount
        )
    audit.record(
        session,
        actor_id=actor.id,
        entity_type="user",
        entity_id=actor.id,
        action="user.password_changed",
        data={"tokens_revoked": revoked},
    )
    session.flush()
    return user


def _name_taken(name: str) -> str:
    return f"You already have a token named “{name}”: choose another name, or revoke that token first."


def issue_token(session: Session, actor: Actor, name: str) -> TokenIssued:
    """A new API token; its name tells it apart from the person's other tokens still in use, so it must be new."""
    name = name.strip()
    taken = session.exec(
        select(ApiToken.id).where(
            ApiToken.user_id == actor.id, func.lower(ApiToken.name) == name.lower(), col(ApiToken.revoked_at).is_(None)
        )
    ).first()
    if taken is not None:
        raise PolicyViolation(message := _name_taken(name), errors={"name": message})
    secret = new_token()
    row = ApiToken(user_id=actor.id, name=name, token_hash=hash_token(secret))
    try:
        with session.begin_nested():  # a parallel request issued the same name first (uq_api_token_live_name)
            session.add(row)
            session.flush()
    except IntegrityError:
        raise PolicyViolation(message := _name_taken(name), errors={"name": message}) from None
    assert row.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        entity_type="user",
        entity_id=actor.id,
        action="token.issued",
        data={"token_id": row.id, "name": row.name},
    )
    return TokenIssued(id=row.id, name=row.name, token=secret)


def list_tokens(session: Session, actor: Actor) -> list[TokenPublic]:
    rows = session.exec(select(ApiToken).where(ApiToken.user_id == actor.id).order_by(col(ApiToken.id)))
    return [TokenPublic.model_validate(r, from_attributes=True) for r in rows]


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != actor.id:
        raise NotFound("There is no such token among yours.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor_id=actor.id,
            entity_type="user",
            entity_id=actor.id,
            action="token.revoked",
            data={"token_id": token_id},
        )
