"""Deleting what committed tests left behind, in an order the foreign keys accept."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.offerings.models import Offering
from app.proposals.models import Proposal
from app.reviews.models import CredentialStanding, Review, ReviewAction, ReviewAlert


def forget_reviews_of(session: Session, credential_ids: Collection[int]) -> None:
    """Everything publication and the review cycle hang on micro-credentials: their reviews (with alerts, actions
    and audit rows), their standing and their offerings. The caller then deletes the credentials themselves."""
    reviews = list(session.exec(select(Review.id).where(col(Review.credential_id).in_(credential_ids))))
    session.execute(delete(ReviewAlert).where(col(ReviewAlert.review_id).in_(reviews)))
    session.execute(delete(ReviewAction).where(col(ReviewAction.review_id).in_(reviews)))
    session.execute(
        delete(AuditEvent).where(col(AuditEvent.entity_type) == "review", col(AuditEvent.entity_id).in_(reviews))
    )
    session.execute(
        delete(AuditEvent).where(
            col(AuditEvent.entity_type) == "micro-credential", col(AuditEvent.entity_id).in_(credential_ids)
        )
    )
    session.execute(delete(Review).where(col(Review.id).in_(reviews)))
    session.execute(delete(CredentialStanding).where(col(CredentialStanding.id).in_(credential_ids)))
    session.execute(delete(Offering).where(col(Offering.credential_id).in_(credential_ids)))


def forget_published(session: Session, credential_ids: Collection[int]) -> None:
    """Micro-credentials a committed test published with ``tests.catalogue_factories.make_published``: their
    review cycle and offerings, editions, proposals and the credentials themselves."""
    forget_reviews_of(session, credential_ids)
    session.execute(delete(CredentialVersion).where(col(CredentialVersion.credential_id).in_(credential_ids)))
    session.execute(delete(Proposal).where(col(Proposal.credential_id).in_(credential_ids)))
    session.execute(delete(Credential).where(col(Credential.id).in_(credential_ids)))
