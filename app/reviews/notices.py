"""What periodic review hears from the workflow core, installed at start-up (app/listeners.py):

- a micro-credential's first publication schedules its first monitoring report and full review; a major revision
  published opens a full review when the policy's threshold ``major_revision`` says so (not for a revision the
  outcome of a review asked for);
- a review's transitions tell people: the owner when it opens, when changes are requested and when the outcome is
  recorded; the QA office when the self-evaluation is submitted.

The sweep (app/reviews/jobs.py) sends reminders, escalations and the overdue notice itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from app.approvals import access as approvals
from app.approvals.deciders import qa_office_ids
from app.catalogue.models import Credential
from app.notifications.service import notify
from app.proposals.models import Proposal
from app.reviews import service
from app.reviews.access import REVIEW
from app.reviews.models import Review
from app.reviews.policy import ReviewPolicy
from app.scheduler import insert_once
from app.workflows import core
from app.workflows.approval import ProposalStatus
from app.workflows.core import SYSTEM
from app.workflows.reviews import OUTCOME_LABELS, Outcome, ReviewStatus


@dataclass(frozen=True)
class ReviewNotices:
    base_url: str

    def __call__(self, happening: Any) -> None:
        if not isinstance(happening, core.Transition):
            return
        if happening.lifecycle is approvals.PROPOSAL and happening.target == ProposalStatus.published:
            published(happening)
        elif happening.lifecycle is REVIEW:
            self._review(happening)

    def _review(self, t: core.Transition) -> None:
        review: Review = t.row
        credential = session_credential(t.session, review)
        what = f"{service.KIND_LABELS[review.kind]} of “{credential.title}”"
        link = f"/reviews/{review.id}"
        if t.target == ReviewStatus.open and t.event == "open":
            recipients, kind = {credential.owner_id}, "review.opened"
            subject = f"Review opened: {what}, due {review.due_on:%Y-%m-%d}"
            text = f"The {what} is open and due on {review.due_on:%Y-%m-%d}. Write the self-evaluation and submit it."
            if review.reason:
                text += f" Reason: {review.reason}"
        elif t.event == "request_changes":
            recipients, kind = {credential.owner_id}, "review.changes_requested"
            subject, text = f"Changes requested: {what}", f"The QA office asks for changes: {t.comment}"
        elif t.event == "submit":
            recipients, kind = qa_office_ids(t.session) - {credential.owner_id}, "review.submitted"
            subject, text = f"Self-evaluation submitted: {what}", f"The {what} awaits the QA office's assessment."
        elif t.event == "record_outcome":
            recipients, kind = {credential.owner_id}, "review.outcome"
            label = OUTCOME_LABELS[Outcome(review.outcome or Outcome.continue_)]
            subject, text = (
                f"Outcome recorded: {what}: {label}",
                f"The QA office closed the {what}: {label}. {t.comment}",
            )
        else:
            return
        recipients.discard(getattr(t.actor, "id", None) or 0)
        if recipients:
            notify(
                t.session,
                recipients=sorted(recipients),
                kind=kind,
                subject=subject,
                text=text,
                link=link,
                base_url=self.base_url,
            )


def session_credential(session: Session, review: Review) -> Credential:
    return session.get_one(Credential, review.credential_id)


def published(t: core.Transition) -> None:
    """First publication schedules the reviews; a major revision may open a full review (policy threshold)."""
    proposal: Proposal = t.row
    session, policies = t.session, t.policies
    if proposal.revision_no == 1:
        service.schedule_first_reviews(session, proposal.credential_id, t.at.date(), policies)
        return
    credential = session.get_one(Credential, proposal.credential_id)
    rules = policies.of(ReviewPolicy).of(credential.kind)
    asked_by_review = session.exec(select(Review.id).where(Review.revision_proposal_id == proposal.id)).first()
    if proposal.change_type != "major" or not rules.thresholds.major_revision or asked_by_review is not None:
        return
    service.ensure_standing(session, proposal.credential_id)
    today = t.at.date()
    review = Review(
        credential_id=proposal.credential_id,
        kind="full",
        trigger="threshold",
        trigger_key=f"threshold:major_revision:proposal:{proposal.id}",
        reason=f"Major revision published (revision {proposal.revision_no}).",
        opens_on=today,
        due_on=today + timedelta(days=max(rules.lead_time_days, 30)),
    )
    if insert_once(session, review):
        service.open_review(session, review.id or 0, SYSTEM, policies, comment=review.reason)
