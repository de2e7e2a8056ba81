"""Who sees a survey and who may send which event: the SURVEY lifecycle, registered with the workflow core.

The micro-credential's owner and the QA office run an offering's survey; administrators may look. The scheduler
(the core's SYSTEM actor) opens and closes surveys on their dates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.catalogue.models import Credential
from app.errors import DomainError, PermissionDenied
from app.feedback.models import Survey
from app.feedback.policy import FeedbackPolicy
from app.offerings.models import Offering
from app.security import Actor
from app.workflows import core, survey
from app.workflows.survey import SurveyWorkflow


@dataclass
class SurveyCtx:
    survey: Survey
    offering: Offering
    credential: Credential


def load_ctx(session: Session, row: Survey) -> SurveyCtx:
    offering = session.get_one(Offering, row.offering_id)
    return SurveyCtx(row, offering, session.get_one(Credential, offering.credential_id))


def runs(credential: Credential, actor: Actor) -> bool:
    """The owner and the QA office run a micro-credential's surveys."""
    return actor.id == credential.owner_id or actor.in_qa_office


def can_see(ctx: SurveyCtx, actor: Actor) -> bool:
    return runs(ctx.credential, actor) or actor.is_admin


def _refusal(ctx: SurveyCtx, _event: str, actor: Actor) -> DomainError | None:
    if not runs(ctx.credential, actor):
        return PermissionDenied("Only the micro-credential's owner or the QA office can run its feedback survey.")
    return None


def _role(ctx: SurveyCtx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    if actor.id == ctx.credential.owner_id:
        return "owner"
    return "QA office" if actor.in_qa_office else "administrator"


SURVEY: core.Lifecycle[Survey, SurveyCtx] = core.register(
    core.Lifecycle(
        name="survey",
        model=Survey,
        machine=SurveyWorkflow,
        context=load_ctx,
        can_see=can_see,
        refusal=_refusal,
        role_of=_role,
        policy_version=lambda policies: policies.of(FeedbackPolicy).version,
        participles=survey.PARTICIPLES,
    )
)
