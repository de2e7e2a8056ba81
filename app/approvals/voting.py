"""How a body reaches its decision from its members' votes. Pure functions; the rule comes from policy.

Votes are counted by *side*: approve and approve-with-conditions are one side, request changes and reject are
the others. The decision fires the moment the body's rule is met:

- chair: the chair's vote is the decision (when the chair may not vote on this proposal, majority applies);
- majority: once the quorum has voted, a side with more than half of the votes cast; when every eligible member
  has voted without a majority, the chair's side breaks the tie where policy says ``tie_break: chair`` (and the
  chair has voted), else the proposal goes back for changes;
- unanimous: every eligible member has voted; all on one side gives that side, otherwise changes are requested;
- m_of_n: the first side to reach m votes; when every eligible member has voted and no side has, changes are
  requested.
A round always closes once every eligible member has voted, and a decision the rule takes without a side asking
for it (a split round) carries the rule's reason as its comment.
Proposers and co-proposers are not eligible and are not counted for the quorum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from app.approvals.policy import VotingPolicy, VotingRule


class Choice(StrEnum):
    approve = "approve"
    approve_with_conditions = "approve_with_conditions"
    request_changes = "request_changes"
    reject = "reject"


CHOICE_LABELS = {
    Choice.approve: "Approve",
    Choice.approve_with_conditions: "Approve with conditions",
    Choice.request_changes: "Request changes",
    Choice.reject: "Reject",
}


class Side(StrEnum):
    approve = "approve"
    request_changes = "request_changes"
    reject = "reject"


def side_of(choice: Choice) -> Side:
    return Side.approve if choice in (Choice.approve, Choice.approve_with_conditions) else Side(choice.value)


@dataclass(frozen=True)
class Ballot:
    voter_id: int
    choice: Choice


@dataclass(frozen=True)
class Outcome:
    side: Side
    reason: str
    tally: dict[str, int]


def tally(ballots: list[Ballot]) -> dict[str, int]:
    counts = {side.value: 0 for side in Side}
    for ballot in ballots:
        counts[side_of(ballot.choice).value] += 1
    return counts


def decide(rule: VotingPolicy, ballots: list[Ballot], eligible: set[int], chair_id: int | None) -> Outcome | None:
    """The body's outcome, or None while the rule is not met yet. Ballots from ineligible voters are ignored."""
    counted = [b for b in ballots if b.voter_id in eligible]
    counts = tally(counted)
    chair = next((b for b in counted if b.voter_id == chair_id), None)
    all_voted = len(counted) == len(eligible) and len(eligible) > 0

    if rule.rule is VotingRule.chair and chair_id in eligible:
        if chair is None:
            return None
        return Outcome(side_of(chair.choice), "decided by the chair", counts)

    if rule.rule is VotingRule.m_of_n:
        assert rule.m is not None
        needed = min(rule.m, len(eligible)) if eligible else rule.m
        for side in Side:
            if counts[side.value] >= needed:
                return Outcome(
                    side,
                    f"{counts[side.value]} of {len(eligible)} members chose it (needed {needed})",
                    counts,
                )
        if all_voted:  # everyone has voted and no side reached m: the body cannot approve as it stands
            return Outcome(Side.request_changes, f"no side reached {needed} votes: sent back for changes", counts)
        return None

    if rule.rule is VotingRule.unanimous:
        if not all_voted:
            return None
        sides = {side_of(b.choice) for b in counted}
        if len(sides) == 1:
            return Outcome(sides.pop(), "unanimous", counts)
        return Outcome(Side.request_changes, "no unanimity: sent back for changes", counts)

    # majority (also the chair rule's fallback when the chair is a proposer)
    quorum = max(1, math.ceil(rule.quorum * len(eligible)))
    cast = len(counted)
    if cast < quorum:
        return None
    leader = max(Side, key=lambda s: counts[s.value])
    if counts[leader.value] * 2 > cast:
        return Outcome(leader, f"majority of {counts[leader.value]} of {cast} votes (quorum {quorum})", counts)
    if all_voted:
        if chair is not None and rule.tie_break == "chair":
            return Outcome(side_of(chair.choice), "tie broken by the chair", counts)
        return Outcome(Side.request_changes, "no majority: sent back for changes", counts)
    return None


# --- what the vote panel shows: the rule in words, and how far each outcome is --------------------------------

SIDE_LABELS = {Side.approve: "Approve", Side.request_changes: "Request changes", Side.reject: "Reject"}


def rule_text(rule: VotingPolicy, chair_votes: bool) -> str:
    """The body's rule in words, as the vote panel shows it."""
    if rule.rule is VotingRule.chair and chair_votes:
        return "The chair decides: the chair's vote is the body's decision."
    if rule.rule is VotingRule.m_of_n:
        return f"The first outcome to reach {rule.m} vote{'s' if rule.m != 1 else ''} is the body's decision."
    if rule.rule is VotingRule.unanimous:
        return "Unanimity: every eligible member votes, all for the same outcome; otherwise changes are requested."
    tie = (
        "on a tie once everyone has voted, the chair's vote decides (tie broken by the chair)"
        if rule.tie_break == "chair"
        else "on a tie once everyone has voted, changes are requested"
    )
    prefix = "The chair may not vote on this proposal, so majority applies: " if rule.rule is VotingRule.chair else ""
    return f"{prefix}Majority: more than half of the votes cast, once the quorum has voted; {tie}."


@dataclass(frozen=True)
class Progress:
    """How far the body is from a decision: votes cast by eligible members, the quorum (majority rule), and for
    each outcome how many more votes it needs (None: it cannot win with the members who have not voted yet)."""

    rule: str
    eligible: int
    voted: int
    quorum: int | None
    needed: dict[Side, int | None]


def progress(rule: VotingPolicy, ballots: list[Ballot], eligible: set[int], chair_id: int | None) -> Progress:
    """Each outcome's distance, found by asking ``decide`` itself (no second copy of the rules): the fewest members
    who have not voted yet (the chair first) who, voting for it, make it the decision."""
    counted = [b for b in ballots if b.voter_id in eligible]
    voted = {b.voter_id for b in counted}
    waiting = sorted(eligible - voted, key=lambda uid: (uid != chair_id, uid))
    needed: dict[Side, int | None] = {}
    for side in Side:
        choice = Choice(side.value)
        needed[side] = next(
            (
                k
                for k in range(len(waiting) + 1)
                if (o := decide(rule, [*counted, *(Ballot(uid, choice) for uid in waiting[:k])], eligible, chair_id))
                and o.side is side
            ),
            None,
        )
    majority = rule.rule is VotingRule.majority or (rule.rule is VotingRule.chair and chair_id not in eligible)
    quorum = max(1, math.ceil(rule.quorum * len(eligible))) if majority else None
    return Progress(rule_text(rule, chair_id in eligible), len(eligible), len(counted), quorum, needed)
