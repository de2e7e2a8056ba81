"""Two lifecycles of periodic review, run by the workflow core.

**A review** (a monitoring report or a full review) is scheduled when the one before it closes (or when the
micro-credential is published); it opens ``lead_time_days`` before its due date (the sweep, or the QA office at
any time with a reason); the owner writes the self-evaluation and submits it; the QA office takes it into
assessment and either sends it back with changes requested or records an outcome, which closes it.

**A micro-credential's standing** is active while it runs normally, under review while a review is open,
suspended when a review is overdue past the policy's day or by an outcome (no new intake), and retired by an
outcome (it leaves the catalogue's current list; its history stays).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from statemachine import StateMachine

from app.errors import PolicyViolation
from app.workflows.core import final_states, labelled_states, state_labels


class ReviewStatus(StrEnum):
    scheduled = "scheduled"
    open = "open"
    submitted = "submitted"
    in_assessment = "in_assessment"
    closed = "closed"


class Outcome(StrEnum):
    continue_ = "continue"
    continue_with_actions = "continue_with_actions"
    revise = "revise"
    suspend = "suspend"
    retire = "retire"


OUTCOME_LABELS = {
    Outcome.continue_: "Continue",
    Outcome.continue_with_actions: "Continue with actions",
    Outcome.revise: "Revise",
    Outcome.suspend: "Suspend",
    Outcome.retire: "Retire",
}

R = ReviewStatus


def _required(value: str, field: str, message: str) -> None:
    if not value.strip():
        raise PolicyViolation(message, errors={field: "Required."})


class ReviewWorkflow(StateMachine):
    _ = labelled_states(
        ReviewStatus,
        initial=R.scheduled,
        final={R.closed},
        labels={R.in_assessment: "QA assessment", R.closed: "Outcome recorded"},
    )

    open = _.scheduled.to(_.open)
    submit = _.open.to(_.submitted, validators="self_evaluation_written")
    start_assessment = _.submitted.to(_.in_assessment)
    request_changes = _.submitted.to(_.open, validators="reason_given") | _.in_assessment.to(
        _.open, validators="reason_given"
    )
    record_outcome = _.in_assessment.to(_.closed, validators="outcome_reasoned")

    def self_evaluation_written(self, **_: Any) -> None:
        _required(self.model.narrative, "narrative", "Write the self-evaluation's narrative before submitting.")
        if self.model.need_checked_on is None:
            raise PolicyViolation(
                "Re-check the evidence of need and give the date you checked it.",
                errors={"need_checked_on": "Required."},
            )

    def reason_given(self, comment: str = "", **_: Any) -> None:
        _required(comment, "comment", "Say what needs to change: a reason is required.")

    def outcome_reasoned(self, comment: str = "", outcome: str = "", **_: Any) -> None:
        if outcome not in set(Outcome):
            raise PolicyViolation("Choose an outcome.", errors={"outcome": "Choose one of the options."})
        _required(comment, "comment", "Give the reasons for the outcome.")

    def on_open(self, now: datetime) -> None:
        self.model.opened_at = now

    def on_submit(self, now: datetime) -> None:
        self.model.submitted_at = now

    def on_record_outcome(self, now: datetime, outcome: str, comment: str, closed_on: date | None = None) -> None:
        self.model.outcome = outcome
        self.model.assessment = comment.strip()
        self.model.closed_on = closed_on or now.date()


class StandingStatus(StrEnum):
    active = "active"
    under_review = "under_review"
    suspended = "suspended"
    retired = "retired"


S = StandingStatus


class StandingWorkflow(StateMachine):
    _ = labelled_states(StandingStatus, initial=S.active, final={S.retired})

    begin_review = _.active.to(_.under_review)
    end_review = _.under_review.to(_.active)
    suspend = _.active.to(_.suspended) | _.under_review.to(_.suspended)
    reinstate = _.suspended.to(_.active)
    retire = _.active.to(_.retired) | _.under_review.to(_.retired) | _.suspended.to(_.retired)

    def on_enter_state(self, now: datetime | None = None, **_: Any) -> None:
        if now is not None:
            self.model.changed_at = now

    def on_suspend(self, reason: str = "outcome") -> None:
        self.model.suspension_reason = reason

    def on_reinstate(self) -> None:
        self.model.suspension_reason = None


REVIEW_LABELS = state_labels(ReviewWorkflow)
REVIEW_FINAL = final_states(ReviewWorkflow)
STANDING_LABELS = state_labels(StandingWorkflow)
REVIEW_PARTICIPLES = {
    "open": "opened",
    "submit": "submitted",
    "start_assessment": "taken into assessment",
    "request_changes": "sent back",
    "record_outcome": "closed with an outcome",
}
STANDING_PARTICIPLES = {
    "begin_review": "put under review",
    "end_review": "returned to active",
    "suspend": "suspended",
    "reinstate": "reinstated",
    "retire": "retired",
}
