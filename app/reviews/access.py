"""Who sees a review and who may send which event, for the two lifecycles of periodic review, registered with the
workflow core: REVIEW (a monitoring report or full review) and STANDING (the micro-credential's lifecycle).

The owner of the micro-credential writes and submits the self-evaluation; the QA office opens reviews, assesses
them and records outcomes; the QA office and administrators see every review; the system (the sweep) opens
scheduled reviews and suspends intake when one is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.catalogue.models import Credential
from app.errors import DomainError, PermissionDenied
from app.policies import Policies
from app.reviews.models import CredentialStanding, Review
from app.reviews.policy import ReviewPolicy
from app.security import Actor
from app.workflows import core, reviews


@dataclass
class Ctx:
    credential: Credential
    review: Review | None = None

    @property
    def owner_id(self) -> int:
        return self.credential.owner_id


def may_see(credential: Credential, actor: Actor) -> bool:
    return actor.id == credential.owner_id or actor.oversees_approvals


def _review_ctx(session: Session, review: Review) -> Ctx:
    return Ctx(session.get_one(Credential, review.credential_id), review)


def _standing_ctx(session: Session, standing: CredentialStanding) -> Ctx:
    return Ctx(session.get_one(Credential, standing.id))


QA_EVENTS = frozenset({"open", "start_assessment", "request_changes", "record_outcome"})


def _review_refusal(ctx: Ctx, event: str, actor: Actor) -> DomainError | None:
    if event == "submit" and actor.id != ctx.owner_id:
        return PermissionDenied("Only the micro-credential's owner submits its self-evaluation.")
    if event in QA_EVENTS and not actor.in_qa_office:
        return PermissionDenied("Only the QA office opens, assesses and closes reviews.")
    if event in QA_EVENTS and actor.id == ctx.owner_id:
        return PermissionDenied("You cannot assess the review of your own micro-credential.")
    return None


def _standing_refusal(ctx: Ctx, event: str, actor: Actor) -> DomainError | None:
    if not actor.in_qa_office:
        return PermissionDenied("A micro-credential's standing changes through its reviews, decided by the QA office.")
    return None


def _role(ctx: Ctx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id == ctx.owner_id:
        return "owner"
    if actor.in_qa_office:
        return "QA office"
    return "administrator" if actor.is_admin else "user"


def _policy_version(policies: Policies) -> str:
    return policies.of(ReviewPolicy).version


REVIEW: core.Lifecycle[Review, Ctx] = core.register(
    core.Lifecycle(
        name="review",
        model=Review,
        machine=reviews.ReviewWorkflow,
        context=_review_ctx,
        can_see=lambda ctx, actor: may_see(ctx.credential, actor),
        refusal=_review_refusal,
        role_of=_role,
        policy_version=_policy_version,
        participles=reviews.REVIEW_PARTICIPLES,
    )
)

STANDING: core.Lifecycle[CredentialStanding, Ctx] = core.register(
    core.Lifecycle(
        name="micro-credential",
        model=CredentialStanding,
        machine=reviews.StandingWorkflow,
        context=_standing_ctx,
        can_see=lambda ctx, actor: True,  # its standing is public, as the catalogue shows it
        refusal=_standing_refusal,
        role_of=_role,
        policy_version=_policy_version,
        participles=reviews.STANDING_PARTICIPLES,
    )
)


def review_subject(session: Session, review: Review) -> core.Subject[Review, Ctx]:
    """A review with its context, to ask which events an actor may send (before rendering the buttons)."""
    return core.Subject(REVIEW, review, _review_ctx(session, review))
