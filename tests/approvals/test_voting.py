"""Voting rules as pure functions: when each rule fires, and with which side."""

from __future__ import annotations

import pytest

from app.approvals.policy import ApprovalPolicy, VotingPolicy, VotingRule
from app.approvals.voting import Ballot, Choice, Side, decide, progress
from app.org.models import CommitteeKind
from app.policies import Policies

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


def test_majority_tie_is_broken_by_the_chair_where_policy_says_so() -> None:
    outcome = decide(
        rule(VotingRule.majority, quorum=0.51, tie_break="chair"), ballots(A, X, A, X), {1, 2, 3, 4}, chair_id=3
    )
    assert outcome is not None
    assert outcome.side is Side.approve
    assert outcome.reason == "tie broken by the chair"


def test_without_a_chair_tie_break_a_tie_sends_the_proposal_back() -> None:
    outcome = decide(rule(VotingRule.majority, quorum=0.51), ballots(A, X, A, X), {1, 2, 3, 4}, chair_id=3)
    assert outcome is not None
    assert (outcome.side, outcome.reason) == (Side.request_changes, "no majority: sent back for changes")


def test_the_shipped_policy_names_the_chair_tie_break(policies: Policies) -> None:
    voting = policies.of(ApprovalPolicy).voting
    assert voting[CommitteeKind.faculty_council].tie_break == "chair"
    assert voting[CommitteeKind.lll_committee].tie_break == "chair"


def test_progress_says_how_many_more_votes_each_outcome_needs() -> None:
    majority = rule(VotingRule.majority, quorum=0.51, tie_break="chair")
    # Five members, quorum 3; one has approved.
    p = progress(majority, ballots(A), FIVE, chair_id=1)
    assert (p.eligible, p.voted, p.quorum) == (5, 1, 3)
    assert p.needed == {Side.approve: 2, Side.request_changes: 2, Side.reject: 2}
    assert "Majority" in p.rule and "tie broken by the chair" in p.rule
    # Four of five have voted (approve by the chair, reject, two request changes): one more request wins; one
    # more approval ties 2-2-1 and the chair's side wins the tie; a second rejection ties too, so it cannot win.
    p = progress(majority, ballots(A, X, R, R), FIVE, chair_id=1)
    assert p.needed == {Side.approve: 1, Side.request_changes: 1, Side.reject: None}


def test_progress_of_the_other_rules() -> None:
    chair_decides = progress(rule(VotingRule.chair), [], FIVE, chair_id=3)
    assert chair_decides.needed == {Side.approve: 1, Side.request_changes: 1, Side.reject: 1}
    assert chair_decides.quorum is None and chair_decides.rule.startswith("The chair decides")
    one_of = progress(rule(VotingRule.m_of_n, m=1), [], {7}, chair_id=None)
    assert one_of.needed == {Side.approve: 1, Side.request_changes: 1, Side.reject: 1}
    assert one_of.rule == "The first outcome to reach 1 vote is the body's decision."
    unanimous = progress(rule(VotingRule.unanimous), ballots(A), {1, 2, 3}, None)
    assert unanimous.needed == {Side.approve: 2, Side.request_changes: 2, Side.reject: None}


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
