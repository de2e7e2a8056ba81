"""The approval workflow of a micro-credential proposal.

A proposal is drafted, submitted, and then reviewed by bodies in turn: faculty council, lifelong-learning
committee, QA office and, where policy asks for one, a final body such as the senate. Which of these a proposal
meets is its *route*, taken from ``policies/approval.yaml`` for its kind when it is submitted; the states are
code, the route is data. Each body approves (possibly with conditions: the proposal goes on), requests changes
(back to the proposer; the resubmission returns to that body or to the start, per policy) or rejects (final). The
proposer may withdraw until the final decision. After the last body approves, the proposal is approved and then
published in the catalogue.

The row holds the state (``proposal.status``); this class holds the behaviour. It is built per request by
``app.credentials.service`` with an audit listener, and only that service's ``fire`` sends events.
"""

from __future__ import annotations

from typing import Any

from statemachine import State, StateMachine

from app.errors import PolicyViolation
from app.org.models import CommitteeKind

REVIEW_STATE_OF_BODY = {
    CommitteeKind.faculty_council: "faculty_council_review",
    CommitteeKind.lll_committee: "lll_committee_review",
    CommitteeKind.qa_office: "qa_office_review",
    CommitteeKind.final_body: "final_body_review",
}
BODY_OF_REVIEW_STATE = {state: body for body, state in REVIEW_STATE_OF_BODY.items()}
FINAL_STATES = frozenset({"published", "rejected", "withdrawn"})


class ApprovalWorkflow(StateMachine):
    draft = State("Draft", initial=True)
    submitted = State("Submitted")
    faculty_council_review = State("Faculty council review")
    lll_committee_review = State("Lifelong-learning committee review")
    qa_office_review = State("QA office review")
    final_body_review = State("Final body review")
    changes_requested = State("Changes requested")
    approved = State("Approved")
    published = State("Published", final=True)
    rejected = State("Rejected", final=True)
    withdrawn = State("Withdrawn", final=True)

    submit = draft.to(submitted) | changes_requested.to(submitted)
    route = (
        submitted.to(faculty_council_review, cond="goes_to_faculty_council")
        | submitted.to(lll_committee_review, cond="goes_to_lll_committee")
        | submitted.to(qa_office_review, cond="goes_to_qa_office")
        | submitted.to(final_body_review, cond="goes_to_final_body")
    )
    approve = (
        faculty_council_review.to(lll_committee_review, cond="next_is_lll_committee")
        | faculty_council_review.to(qa_office_review, cond="next_is_qa_office")
        | faculty_council_review.to(final_body_review, cond="next_is_final_body")
        | faculty_council_review.to(approved, cond="is_last_body")
        | lll_committee_review.to(qa_office_review, cond="next_is_qa_office")
        | lll_committee_review.to(final_body_review, cond="next_is_final_body")
        | lll_committee_review.to(approved, cond="is_last_body")
        | qa_office_review.to(final_body_review, cond="next_is_final_body")
        | qa_office_review.to(approved, cond="is_last_body")
        | final_body_review.to(approved)
    )
    request_changes = changes_requested.from_(
        faculty_council_review,
        lll_committee_review,
        qa_office_review,
        final_body_review,
        validators="comment_given",
    )
    reject = rejected.from_(
        faculty_council_review,
        lll_committee_review,
        qa_office_review,
        final_body_review,
        validators="reason_given",
    )
    withdraw = withdrawn.from_(
        draft,
        submitted,
        changes_requested,
        faculty_council_review,
        lll_committee_review,
        qa_office_review,
        final_body_review,
    )
    publish = approved.to(published)

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

    def after_transition(self, target: State, now: Any = None) -> None:
        proposal = self.model
        body = BODY_OF_REVIEW_STATE.get(target.id)
        proposal.current_body = body.value if body else None
        proposal.stage_entered_at = now
        proposal.updated_at = now
        if body is not None:
            proposal.review_round += 1
            proposal.return_to_body = None
        if target.id in FINAL_STATES or target.id == "approved":
            proposal.decided_at = proposal.decided_at or now
