"""Imports every table module so SQLModel.metadata is complete (for Alembic and tests)."""

import app.catalogue.cache  # noqa: F401  (the listener that raises the catalogue's stamp)
from app.approvals.history import ReviewResponse
from app.approvals.models import Condition, Decision, StageAlert, Vote
from app.audit.models import AuditEvent
from app.catalogue.models import CatalogueStamp, Credential, CredentialVersion
from app.checklists.models import ChecklistResponse
from app.committees.models import Agenda, AgendaItem, Delegation, Watch
from app.external_qa.models import ExternalQaRecord
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.notifications.models import Notification, NotificationPreference, OutboxMessage
from app.offerings.models import Offering
from app.org.models import Committee, CommitteeMember, Module, OrgUnit, Programme
from app.proposals.models import Attachment, Comment, CommentEdit, CoProposer, Proposal, ProposalVersion
from app.reviews.models import CredentialStanding, Review, ReviewAction, ReviewAlert
from app.users.models import ApiToken, LoginAttempt, User, UserRole

__all__ = [
    "Agenda",
    "AgendaItem",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "CatalogueStamp",
    "ChecklistResponse",
    "CoProposer",
    "Comment",
    "CommentEdit",
    "Committee",
    "CommitteeMember",
    "Condition",
    "Credential",
    "CredentialStanding",
    "CredentialVersion",
    "Decision",
    "Delegation",
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
    "Review",
    "ReviewAction",
    "ReviewAlert",
    "ReviewResponse",
    "StageAlert",
    "Survey",
    "SurveyInvitation",
    "SurveyResponse",
    "User",
    "UserRole",
    "Vote",
    "Watch",
]
