"""Imports every table module so SQLModel.metadata is complete (for Alembic and tests)."""

from app.audit.models import AuditEvent
from app.org.models import Committee, CommitteeMember, Module, OrgUnit, Programme
from app.users.models import ApiToken, LoginAttempt, User, UserRole

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Committee",
    "CommitteeMember",
    "LoginAttempt",
    "Module",
    "OrgUnit",
    "Programme",
    "User",
    "UserRole",
]
