"""Imports every table module so SQLModel.metadata is complete (for Alembic and tests)."""

from app.approvals.models import Condition, Decision, StageAlert, Vote
from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.checklists.models import ChecklistResponse
from app.external_qa.models import ExternalQaRecord
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.notifications.models import Notification, NotificationPreference, OutboxMessage
from app.offerings.models import Offering
from app.org.models import Committee, CommitteeMember, Module, OrgUnit, Programme
from app.proposals.models import Attachment, Comment, CommentEdit, CoProposer, Proposal, ProposalVersion
from app.users.models import ApiToken, LoginAttempt, User, UserRole

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "ChecklistResponse",
    "CoProposer",
    "Comment",
    "CommentEdit",
    "Committee",
    "CommitteeMember",
    "Condition",
    "Credential",
    "CredentialVersion",
    "Decision",
    "ExternalQaRecord",
    "LoginAttempt",
    "Module",
    "Notification",
    "NotificationPreference",
    "Offering",
    "OrgUnit",
    "OutboxMessage",
    "Programme",
    "Proposal",
    "ProposalVersion",
    "StageAlert",
    "Survey",
    "SurveyInvitation",
    "SurveyResponse",
    "User",
    "UserRole",
    "Vote",
]
