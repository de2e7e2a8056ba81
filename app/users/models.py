"""Accounts: people who log in, their global roles, API tokens and the login-attempt log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, EmailStr
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import utcnow


class Role(StrEnum):
    """Global roles. Committee roles come from committee membership, not from here."""

    admin = "admin"
    qa_officer = "qa_officer"
    academic = "academic"


ROLE_LABELS = {Role.admin: "Administrator", Role.qa_officer: "QA officer", Role.academic: "Academic"}


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(default="", max_length=200)
    is_active: bool = Field(default=True)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Written into the signed session cookie at login and compared on every request: raising it (logout, a
    # password change or reset) ends every session issued before, wherever its cookie was copied to.
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    __tablename__ = "user_account"


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=32)


class ApiToken(SQLModel, table=True):
    """A bearer token for integrations. Only a SHA-256 of the secret is stored."""

    __tablename__ = "api_token"
    # One live token per name and person, for two parallel requests too (the service also ignores case).
    __table_args__ = (
        Index(
            "uq_api_token_live_name",
            "user_id",
            "name",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """Every login attempt, kept to throttle guessing across all worker processes."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    ip: str = Field(default="", max_length=64)
    succeeded: bool = False
    at: datetime = Field(default_factory=utcnow, index=True)


# --- API schemas ---------------------------------------------------------------------------------


class UserCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    roles: list[Role] = []
    org_unit_id: int | None = None
    is_active: bool = True


class UserUpdate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    roles: list[Role] | None = None
    org_unit_id: int | None = None
    is_active: bool | None = None


class UserPublic(SQLModel):
    id: int
    email: str
    name: str
    is_active: bool
    org_unit_id: int | None
    roles: list[Role]


class TokenCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    name: str = Field(min_length=1, max_length=100)


class TokenIssued(SQLModel):
    id: int
    name: str
    token: str = Field(description="Shown once; send as 'Authorization: Bearer <token>'.")


class PasswordChange(SQLModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)
    revoke_tokens: bool = Field(
        default=False, description="Also revoke every API token of yours (integrations using them stop working)."
    )


class TokenPublic(SQLModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
