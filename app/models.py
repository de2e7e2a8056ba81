"""Imports every table module so SQLModel.metadata is complete (for Alembic and tests)."""

import app.catalogue.cache  # noqa: F401  (the listener that raises the catalogue's stamp)
from app.approvals.models import Condition, Decision, StageAlert, Vote
from app.audit.models import AuditEvent
from app.catalogue.models import CatalogueStamp, Credential, CredentialVersion
from app.notifications.models import Notification, NotificationPreference, OutboxMessage
from app.org.models import Committee, CommitteeMember, Module, OrgUnit, Programme
from app.proposals.models import Attachment, Comment, CommentEdit, CoProposer, Proposal, ProposalVersion
from app.users.models import ApiToken, LoginAttempt, User, UserRole

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "CatalogueStamp",
    "CoProposer",
    "Comment",
    "CommentEdit",
    "Committee",
    "CommitteeMember",
    "Condition",
    "Credential",
    "CredentialVersion",
    "Decision",
    "LoginAttempt",
    "Module",
    "Notification",
    "NotificationPreference",
    "OrgUnit",
    "OutboxMessage",
    "Programme",
    "Proposal",
    "ProposalVersion",
    "StageAlert",
    "User",
    "UserRole",
    "Vote",
]
