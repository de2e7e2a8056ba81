"""The approval workflow drawn from the state machine itself, so the picture never drifts from the code.

``steps`` lays out the path a proposal takes on its route (the review states of the bodies on its route, between
draft and published) and marks where the proposal is now: the stages it has passed stay marked as passed after a
send-back, and the body that sent it back (or rejected it) is marked as where it stopped. ``banner`` says in words
what the side state means and what can happen next. ``mermaid`` is the whole machine as a Mermaid state diagram,
for documentation and the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from app.org.models import COMMITTEE_KIND_LABELS, CommitteeKind
from app.text import in_sentence
from app.workflows.approval import REVIEW_STATE_OF_BODY, ApprovalWorkflow, ProposalStatus


@cache
def mermaid() -> str:
    return f"{ApprovalWorkflow:mermaid}"


@dataclass(frozen=True)
class Step:
    id: str
    label: str
    position: str  # done | current | stopped (sent back or rejected there) | todo


POSITION_WORDS = {
    "done": "passed",
    "current": "current stage",
    "stopped": "stopped here",
    "todo": "to come",
}


def steps(route: list[str], status: str, stopped_at: str | None = None) -> tuple[list[Step], Step | None]:
    """The main path for this route, and the side state the proposal is in (changes requested, ...), if any.

    ``stopped_at``: in a side state, the body whose decision put it there; the stages before it stay passed."""
    labels = {s.id: s.name for s in ApprovalWorkflow.states}
    path: list[str] = [
        ProposalStatus.draft,
        ProposalStatus.submitted,
        *(REVIEW_STATE_OF_BODY[CommitteeKind(b)] for b in route),
        ProposalStatus.approved,
        ProposalStatus.published,
    ]
    if status in path:
        current, position = path.index(status), "current"
    elif stopped_at and stopped_at in route:
        current, position = path.index(REVIEW_STATE_OF_BODY[CommitteeKind(stopped_at)]), "stopped"
    else:
        current, position = (2 if status != ProposalStatus.withdrawn else 0), "stopped"
    result = [
        Step(id=state, label=labels[state], position="done" if i < current else position if i == current else "todo")
        for i, state in enumerate(path)
    ]
    side = None if status in path else Step(status, labels[status], "current")
    return result, side


def banner(status: str, body: str | None, *, resubmit_to: str, first_body: str | None) -> str | None:
    """What a side state means and what can happen next, in words (None on the main path)."""
    who = f"the {in_sentence(COMMITTEE_KIND_LABELS[CommitteeKind(body)])}" if body else "a body"
    if status == ProposalStatus.changes_requested:
        back_to = (
            who
            if resubmit_to == "same_body" or not first_body
            else (f"the {in_sentence(COMMITTEE_KIND_LABELS[CommitteeKind(first_body)])}")
        )
        return (
            f"Changes requested by {who}. The proposer edits the proposal, answers each point raised and resubmits "
            f"it; it then goes back to {back_to}. The proposer can also withdraw it."
        )
    if status == ProposalStatus.rejected:
        return f"Rejected by {who}. This decision is final."
    if status == ProposalStatus.withdrawn:
        return "Withdrawn by the proposer. Nothing more happens to this proposal."
    return None
