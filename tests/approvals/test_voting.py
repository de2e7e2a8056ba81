"""Voting rules as pure functions: when each rule fires, and with which side."""

from __future__ import annotations

import pytest

from app.approvals.policy import VotingPolicy, VotingRule
from app.approvals.voting import Ballot, Choice, Side, decide

A, C, R, X = Choice.approve, Choice.approve_with_conditions, Choice.request_changes, Choice.reject


def ballots(*choices: Choice) -> list[Ballot]:
    return [Ballot(voter_id=i + 1, choice=c) for i, c in enumerate(choices)]


def rule(kind: VotingRule, **kw: object) -> VotingPolicy:
    return VotingPolicy.model_validate({"rule": kind, **kw})


FIVE = {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ((), None),
        ((A,), None),  # quorum of 3 (0.51 x 5) not reached
        ((A, A), None),
        ((A, C, A), Side.approve),  # approve-with-conditions is on the approving side
        ((A, X, R), None),  # quorum, but no side has more than half of the votes cast
        ((A, X, R, X), None),
        ((A, X, R, X, X), Side.reject),
        ((A, A, R, R, X), Side.request_changes),  # everyone voted, no majority, no chair vote counted: send back
    ],
)
def test_majority_with_quorum(choices: tuple[Choice, ...], expected: Side | None) -> None:
    outcome = decide(rule(VotingRule.majority, quorum=0.51), ballots(*choices), FIVE, chair_id=None)
    assert (outcome.side if outcome else None) == expected


def test_majority_tie_is_broken_by_the_chair() -> None:
    outcome = decide(rule(VotingRule.majority, quorum=0.51), ballots(A, X, A, X), {1, 2, 3, 4}, chair_id=3)
    assert outcome is not None
    assert outcome.side is Side.approve
    assert "chair" in outcome.reason


def test_chair_decides_alone_and_falls_back_to_majority_when_chair_is_a_proposer() -> None:
    chair_rule = rule(VotingRule.chair)
    assert decide(chair_rule, ballots(A, A), FIVE, chair_id=3) is None
    outcome = decide(chair_rule, ballots(A, A, X), FIVE, chair_id=3)
    assert outcome is not None and outcome.side is Side.reject
    # Chair (voter 3) is a proposer, so not eligible: majority of the other four applies.
    outcome = decide(chair_rule, ballots(A, A, X, A), {1, 2, 4, 5}, chair_id=3)
    assert outcome is not None and outcome.side is Side.approve


def test_unanimous_waits_for_everyone() -> None:
    unanimous = rule(VotingRule.unanimous)
    assert decide(unanimous, ballots(A, A), {1, 2, 3}, None) is None
    outcome = decide(unanimous, ballots(A, C, A), {1, 2, 3}, None)
    assert outcome is not None and outcome.side is Side.approve
    split = decide(unanimous, ballots(A, X, A), {1, 2, 3}, None)
    assert split is not None and split.side is Side.request_changes


def test_m_of_n_first_side_to_m() -> None:
    two_of_five = rule(VotingRule.m_of_n, m=2)
    assert decide(two_of_five, ballots(A, X), FIVE, None) is None
    outcome = decide(two_of_five, ballots(A, X, X), FIVE, None)
    assert outcome is not None and outcome.side is Side.reject
    # m larger than the eligible members: all of them are needed.
    outcome = decide(rule(VotingRule.m_of_n, m=4), ballots(A, A), {1, 2}, None)
    assert outcome is not None and outcome.side is Side.approve


def test_ineligible_ballots_are_ignored() -> None:
    outcome = decide(rule(VotingRule.m_of_n, m=1), ballots(A, X), {2}, None)
    assert outcome is not None and outcome.side is Side.reject
    assert outcome.tally == {"approve": 0, "request_changes": 0, "reject": 1}


def test_m_only_with_m_of_n() -> None:
    with pytest.raises(ValueError, match="'m' is required"):
        rule(VotingRule.m_of_n)
    with pytest.raises(ValueError, match="'m' is required"):
        rule(VotingRule.majority, m=2)
