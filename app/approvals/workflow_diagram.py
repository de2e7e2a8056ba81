"""The approval workflow drawn from the state machine itself, so the picture never drifts from the code.

``steps`` lays out the path a proposal takes on its route (the review states of the bodies on its route, between
draft and published) with the events that leave each state, and marks where the proposal is now. ``mermaid`` is
the whole machine as a Mermaid state diagram, for documentation and the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from app.org.models import CommitteeKind
from app.workflows.approval import REVIEW_STATE_OF_BODY, ApprovalWorkflow, ProposalStatus
from app.workflows.core import events_from


@cache
def mermaid() -> str:
    return f"{ApprovalWorkflow:mermaid}"


@dataclass(frozen=True)
class Step:
    id: str
    label: str
    position: str  # done | current | todo
    leaves_by: tuple[str, ...]  # event names that leave this state


@cache
def _events_leaving() -> dict[str, tuple[str, ...]]:
    return {s.value: tuple(events_from(ApprovalWorkflow, s.value)) for s in ApprovalWorkflow.states}


def steps(route: list[str], status: str) -> tuple[list[Step], Step | None]:
    """The main path for this route, and the side state the proposal is in (changes requested, ...), if any."""
    labels = {s.id: s.name for s in ApprovalWorkflow.states}
    default_route = route or [CommitteeKind.faculty_council.value]
    path: list[str] = [
        ProposalStatus.draft,
        ProposalStatus.submitted,
        *(REVIEW_STATE_OF_BODY[CommitteeKind(b)] for b in default_route),
        ProposalStatus.approved,
        ProposalStatus.published,
    ]
    leaving = _events_leaving()
    current = path.index(status) if status in path else -1
    result = [
        Step(
            id=state,
            label=labels[state],
            position="done" if i < current else "current" if i == current else "todo",
            leaves_by=leaving.get(state, ()),
        )
        for i, state in enumerate(path)
    ]
    side = None if status in path else Step(status, labels[status], "current", leaving.get(status, ()))
    return result, side
