"""JSON API for accounts and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response, status
from pydantic import BaseModel

from app import csrf
from app.db import SessionDep
from app.pagination import Page, PageDep
from app.policies import PoliciesDep
from app.routing import api_router
from app.security import (
    SESSION_USER_KEY,
    AdminActor,
    CurrentActor,
    OptionalActor,
    SettingsDep,
    end_sessions,
    start_session,
)
from app.users import service
from app.users.models import (
    PasswordChange,
    TokenCreate,
    TokenIssued,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)

router = api_router(tags=["accounts"])


class CommitteeRef(BaseModel):
    committee_id: int
    name: str
    kind: str
    is_chair: bool


class MePublic(UserPublic):
    committees: list[CommitteeRef]


@router.get("/me", response_model=MePublic)
def me(session: SessionDep, actor: CurrentActor) -> MePublic:
    user = service.get_user(session, actor.id)
    public = service.to_public(session, [user])[0]
    committees = [
        CommitteeRef(committee_id=m.committee_id, name=m.committee_name, kind=m.kind.value, is_chair=m.is_chair)
        for m in actor.memberships
    ]
    return MePublic(**public.model_dump(), committees=committees)


@router.get("/users", response_model=Page[UserPublic])
def list_users(
    session: SessionDep, _admin: AdminActor, page: PageDep, q: Annotated[str, Query(max_length=100)] = ""
) -> Page[UserPublic]:
    users, total = service.list_users(session, q=q, offset=page.offset, limit=page.limit)
    return Page(items=service.to_public(session, users), total=total, offset=page.offset, limit=page.limit)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, admin: AdminActor) -> UserPublic:
    return service.to_public(session, [service.create_user(session, data, by=admin)])[0]


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(user_id: int, session: SessionDep, _admin: AdminActor) -> UserPublic:
    return service.to_public(session, [service.get_user(session, user_id)])[0]


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(
    user_id: int, data: UserUpdate, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> UserPublic:
    user = service.update_user(session, service.get_user(session, user_id), data, by=admin, policies=policies)
    return service.to_public(session, [user])[0]


@router.get("/auth/tokens", response_model=list[TokenPublic])
def list_tokens(session: SessionDep, actor: CurrentActor) -> list[TokenPublic]:
    return service.list_tokens(session, actor)


@router.post("/auth/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def issue_token(data: TokenCreate, session: SessionDep, actor: CurrentActor) -> TokenIssued:
    return service.issue_token(session, actor, data.name)


@router.delete("/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, session: SessionDep, actor: CurrentActor) -> None:
    service.revoke_token(session, actor, token_id)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(request: Request, data: PasswordChange, session: SessionDep, actor: CurrentActor) -> None:
    """Change your password. Every session (cookie) issued before ends, except the one making this call; API
    tokens keep working unless ``revoke_tokens`` is true."""
    user = service.change_password(session, actor, data)
    if SESSION_USER_KEY in request.session:
        start_session(request, user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, response: Response, session: SessionDep, actor: OptionalActor, settings: SettingsDep
) -> None:
    """End your sessions (every cookie issued to you so far) and renew the CSRF token; API tokens are not
    affected."""
    if actor is not None and SESSION_USER_KEY in request.session:
        end_sessions(session, actor.id)
    request.session.clear()
    csrf.renew_token(
        response, secret=settings.secret_key, cookie_name=settings.csrf_cookie_name, secure=settings.cookie_secure
    )
