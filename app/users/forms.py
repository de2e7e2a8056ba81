"""Form models for the login and account-administration pages."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

from app.users.models import PasswordChange, Role, UserCreate, UserUpdate


class LoginForm(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)
    next: str | None = None


class PasswordForm(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)
    revoke_tokens: bool = False

    def to_change(self) -> PasswordChange:
        return PasswordChange.model_validate(self.model_dump())


class UserForm(BaseModel):
    """The account form as posted when editing; the e-mail address is fixed once created."""

    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    roles: list[Role] = []
    org_unit_id: int | None = None
    is_active: bool = False

    def to_update(self) -> UserUpdate:
        return UserUpdate.model_validate(self.model_dump())


class NewUserForm(UserForm):
    email: EmailStr

    def to_create(self) -> UserCreate:
        return UserCreate.model_validate(self.model_dump())
