"""The approval state machine itself: no unreachable or trap states, and the diagram snapshot."""

from __future__ import annotations

from pathlib import Path

from statemachine import State

from app.approvals.workflow_diagram import mermaid, steps
from app.workflows.approval import FINAL_STATES, REVIEW_STATE_OF_BODY, ApprovalWorkflow, ProposalStatus

SNAPSHOT = Path(__file__).with_name("approval.mmd")


def test_every_state_is_reachable_and_every_non_final_state_can_move() -> None:
    states: list[State] = list(ApprovalWorkflow.states)
    initial = next(s for s in states if s.initial)
    reachable = {initial.id}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for transition in state.transitions:
            if transition.target.id not in reachable:
                reachable.add(transition.target.id)
                frontier.append(transition.target)
    assert reachable == {s.id for s in states}
    for state in states:
        assert bool(state.final) == (state.id in FINAL_STATES), state.id
        if not state.final:
            assert state.transitions, f"{state.id} is a trap"
    assert set(REVIEW_STATE_OF_BODY.values()) <= reachable
    assert {s.value for s in states} == set(ProposalStatus)  # the enum is the machine's one list of states


def test_mermaid_snapshot_matches_the_machine() -> None:
    """Changing the workflow changes this picture; update tests/workflows/approval.mmd deliberately."""
    assert mermaid() == SNAPSHOT.read_text()


def test_steps_follow_the_route_and_mark_the_current_stage() -> None:
    path, side = steps(["faculty_council", "qa_office"], "qa_office_review")
    assert [s.id for s in path] == [
        "draft",
        "submitted",
        "faculty_council_review",
        "qa_office_review",
        "approved",
        "published",
    ]
    assert [s.position for s in path] == ["done", "done", "done", "current", "todo", "todo"]
    assert side is None
    _, side = steps(["faculty_council"], "changes_requested")
    assert side is not None and side.label == "Changes requested"
