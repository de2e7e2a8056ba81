"""The approval workflow of a micro-credential proposal.

A proposal is drafted, submitted, and then reviewed by bodies in turn: faculty council, lifelong-learning
committee, QA office and, where policy asks for one, a final body such as the senate. Which of these a proposal
meets is its *route*, taken from ``policies/approval.yaml`` for its kind when it is submitted; the states are
code, the route is data. Each body approves (possibly with conditions: the proposal goes on), requests changes
(back to the proposer; the resubmission returns to that body or to the start, per policy) or rejects (final). The
proposer may withdraw until the final decision. After the last body approves, the proposal is approved and then
published in the catalogue.

The row holds the state (``proposal.status``); this class holds the behaviour. The workflow core
(``app.workflows.core``) builds it per action and is the only code that sends it events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from statemachine import State, StateMachine

from app.errors import PolicyViolation
from app.org.models import CommitteeKind
from app.workflows.core import final_states, labelled_states, state_labels, states_allowing


class ProposalStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    faculty_council_review = "faculty_council_review"
    lll_committee_review = "lll_committee_review"
    qa_office_review = "qa_office_review"
    final_body_review = "final_body_review"
    changes_requested = "changes_requested"
    approved = "approved"
    published = "published"
    rejected = "rejected"
    withdrawn = "withdrawn"


S = ProposalStatus
REVIEW_STATE_OF_BODY = {
    CommitteeKind.faculty_council: S.faculty_council_review,
    CommitteeKind.lll_committee: S.lll_committee_review,
    CommitteeKind.qa_office: S.qa_office_review,
    CommitteeKind.final_body: S.final_body_review,
}
BODY_OF_REVIEW_STATE: dict[str, CommitteeKind] = {state.value: body for body, state in REVIEW_STATE_OF_BODY.items()}
# The events a body's decision sends; members take part in them by voting.
DECISION_EVENTS = ("approve", "request_changes", "reject")


class ApprovalWorkflow(StateMachine):
    _ = labelled_states(
        ProposalStatus,
        initial=S.draft,
        final={S.published, S.rejected, S.withdrawn},
        labels={
            S.lll_committee_review: "Lifelong-learning committee review",
            S.qa_office_review: "QA office review",
        },
    )

    submit = _.draft.to(_.submitted) | _.changes_requested.to(_.submitted)
    route = (
        _.submitted.to(_.faculty_council_review, cond="goes_to_faculty_council")
        | _.submitted.to(_.lll_committee_review, cond="goes_to_lll_committee")
        | _.submitted.to(_.qa_office_review, cond="goes_to_qa_office")
        | _.submitted.to(_.final_body_review, cond="goes_to_final_body")
    )
    approve = (
        _.faculty_council_review.to(_.lll_committee_review, cond="next_is_lll_committee")
        | _.faculty_council_review.to(_.qa_office_review, cond="next_is_qa_office")
        | _.faculty_council_review.to(_.final_body_review, cond="next_is_final_body")
        | _.faculty_council_review.to(_.approved, cond="is_last_body")
        | _.lll_committee_review.to(_.qa_office_review, cond="next_is_qa_office")
        | _.lll_committee_review.to(_.final_body_review, cond="next_is_final_body")
        | _.lll_committee_review.to(_.approved, cond="is_last_body")
        | _.qa_office_review.to(_.final_body_review, cond="next_is_final_body")
        | _.qa_office_review.to(_.approved, cond="is_last_body")
        | _.final_body_review.to(_.approved)
    )
    request_changes = _.changes_requested.from_(
        _.faculty_council_review,
        _.lll_committee_review,
        _.qa_office_review,
        _.final_body_review,
        validators="comment_given",
    )
    reject = _.rejected.from_(
        _.faculty_council_review,
        _.lll_committee_review,
        _.qa_office_review,
        _.final_body_review,
        validators="reason_given",
    )
    withdraw = _.withdrawn.from_(
        _.draft,
        _.submitted,
        _.changes_requested,
        _.faculty_council_review,
        _.lll_committee_review,
        _.qa_office_review,
        _.final_body_review,
    )
    publish = _.approved.to(_.published)
    # An administrator hands a stuck stage to another committee (with a reason): the stage, its round and its
    # due date stay; only who decides it changes (app.approvals.service.reassign).
    reassign = (
        _.faculty_council_review.to(_.faculty_council_review)
        | _.lll_committee_review.to(_.lll_committee_review)
        | _.qa_office_review.to(_.qa_office_review)
        | _.final_body_review.to(_.final_body_review)
    )

    # --- routing guards: read the route the proposal took from policy when it was submitted ---------

    def _route(self) -> list[str]:
        return list(self.model.route)

    def _first_body(self) -> str:
        return str(self.model.return_to_body or self._route()[0])

    def _next_body(self) -> str | None:
        route = self._route()
        position = route.index(self.model.current_body)
        return route[position + 1] if position + 1 < len(route) else None

    def goes_to_faculty_council(self) -> bool:
        return self._first_body() == CommitteeKind.faculty_council

    def goes_to_lll_committee(self) -> bool:
        return self._first_body() == CommitteeKind.lll_committee

    def goes_to_qa_office(self) -> bool:
        return self._first_body() == CommitteeKind.qa_office

    def goes_to_final_body(self) -> bool:
        return self._first_body() == CommitteeKind.final_body

    def next_is_lll_committee(self) -> bool:
        return self._next_body() == CommitteeKind.lll_committee

    def next_is_qa_office(self) -> bool:
        return self._next_body() == CommitteeKind.qa_office

    def next_is_final_body(self) -> bool:
        return self._next_body() == CommitteeKind.final_body

    def is_last_body(self) -> bool:
        return self._next_body() is None

    # --- validators: refusals that need a reason ----------------------------------------------------

    def comment_given(self, comment: str = "", **_: Any) -> None:
        if not comment.strip():
            raise PolicyViolation("Say what needs to change: a comment is required.", errors={"comment": "Required."})

    def reason_given(self, comment: str = "", **_: Any) -> None:
        if not comment.strip():
            raise PolicyViolation("Give the reason for rejecting: it is required.", errors={"comment": "Required."})

    # --- bookkeeping on every transition ------------------------------------------------------------

    def after_transition(self, event: str, target: State, now: Any = None) -> None:
        proposal = self.model
        if event == "reassign":  # the same stage, decided by someone else
            proposal.updated_at = now
            return
        body = BODY_OF_REVIEW_STATE.get(target.value)
        proposal.current_body = body.value if body else None
        proposal.stage_entered_at = now
        proposal.updated_at = now
        if body is not None:
            proposal.review_round += 1
            proposal.return_to_body = None
        if target.value in FINAL_STATES or target.value == S.approved:
            proposal.decided_at = proposal.decided_at or now


# State sets, derived from the machine: nothing else lists them.
LABELS = state_labels(ApprovalWorkflow)
FINAL_STATES = final_states(ApprovalWorkflow)
REVIEW_STATES = states_allowing(ApprovalWorkflow, *DECISION_EVENTS)
PARTICIPLES = {
    "submit": "submitted",
    "route": "routed",
    "approve": "approved",
    "request_changes": "sent back for changes",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "publish": "published",
    "reassign": "reassigned",
}
