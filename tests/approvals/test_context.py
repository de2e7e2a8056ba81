"""A proposal's context (its proposers and the committee deciding its stage) read with the proposal in one
statement (``access.PROPOSAL.load``: ``load_ctx``, ``core.lock`` and ``core.read``) says what the rule in Python
says (``deciders.deciding_panel`` and the co-proposers read on their own): for a draft, a faculty council deciding,
a substitute deciding, a member whose seat has ended and a committee switched off. On both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.approvals import access, deciders
from app.db import utcnow
from app.errors import NotFound
from app.org.models import Committee, CommitteeMember
from app.policies import Policies
from app.proposals.models import Proposal
from app.workflows import core
from tests.approvals.test_takeover import committee, humanities_proposal
from tests.conftest import actor_for
from tests.proposals.factories import allowing_route_members, new_proposal, submitted


def facts(ctx: access.Ctx) -> tuple[int | None, set[int], int | None, set[int], int | None]:
    committee_id = ctx.committee.id if ctx.committee is not None else None
    return ctx.proposal.id, ctx.proposer_ids, committee_id, ctx.member_ids, ctx.chair_id


def by_the_rule(db: Session, proposal: Proposal) -> tuple[int | None, set[int], int | None, set[int], int | None]:
    """The context as the Python rule finds it: the deciding panel, and the co-proposers on their own."""
    panel = deciders.deciding_panel(db, proposal)
    co = set(db.exec(deciders.CO_PROPOSERS, params={"proposal_id": proposal.id}))
    if panel is None:
        return proposal.id, {proposal.owner_id, *co}, None, set(), None
    return proposal.id, {proposal.owner_id, *co}, panel.committee.id, set(panel.member_ids), panel.chair_id


def read_both_ways(db: Session, proposal: Proposal) -> tuple[int | None, set[int], int | None, set[int], int | None]:
    """The context read in one statement (``load_ctx``, unlocked and locked), checked against the rule; returned."""
    assert proposal.id is not None
    two = by_the_rule(db, proposal)
    assert facts(access.load_ctx(db, proposal)) == two
    assert facts(core.read(db, access.PROPOSAL, proposal.id, core.SYSTEM).ctx) == two
    assert facts(core.lock(db, access.PROPOSAL, proposal.id, core.SYSTEM).ctx) == two
    return two


def test_one_statement_gives_the_context_two_give(db: Session, policies: Policies) -> None:
    allowing = allowing_route_members(policies)
    council3 = actor_for(db, "council3@example.org").id

    draft = new_proposal(db, allowing, co_proposers=[council3])
    assert read_both_ways(db, draft) == (draft.id, {draft.owner_id, council3}, None, set(), None)

    deciding = submitted(db, allowing, co_proposers=[council3])
    deciding_committee = access.load_ctx(db, deciding).committee
    assert deciding_committee is not None
    council = db.get_one(Committee, deciding_committee.id)
    assert council.kind == "faculty_council" and council.org_unit_id == deciding.org_unit_id
    members = {m.user_id: m for m in db.exec(select(CommitteeMember).where(CommitteeMember.committee_id == council.id))}
    chair = next(uid for uid, m in members.items() if m.is_chair)
    assert read_both_ways(db, deciding) == (deciding.id, {deciding.owner_id, council3}, council.id, set(members), chair)

    # A member whose seat has ended no longer counts; the chair's seat ending leaves the committee without one.
    members[council3].ended_on = (utcnow() - timedelta(days=1)).date()
    members[chair].ended_on = (utcnow() - timedelta(days=1)).date()
    db.add_all([members[council3], members[chair]])
    db.flush()
    assert read_both_ways(db, deciding) == (
        deciding.id,
        {deciding.owner_id, council3},
        council.id,
        set(members) - {council3, chair},
        None,
    )

    # The Humanities council's only member proposed it: the QA office decides its stage instead.
    taken_over = humanities_proposal(db, policies)
    qa_office = committee(db, "QA Office")
    assert taken_over.deciding_committee_id == qa_office.id
    assert read_both_ways(db, taken_over)[2] == qa_office.id

    # A committee switched off decides nothing: neither read finds it.
    council.is_active = False
    db.add(council)
    db.flush()
    assert read_both_ways(db, deciding)[2:] == (None, set(), None)


@pytest.mark.parametrize("read", [core.read, core.lock])
def test_a_missing_proposal_and_a_hidden_one_are_the_same_404(
    db: Session, policies: Policies, read: Callable[..., object]
) -> None:
    """Nobody learns from the answer whether a proposal they may not see exists."""
    hidden = new_proposal(db, policies)  # a draft: only its proposers see it
    stranger = actor_for(db, "humanities@example.org")
    with pytest.raises(NotFound) as missing:
        read(db, access.PROPOSAL, 10**6, stranger)
    with pytest.raises(NotFound) as not_theirs:
        read(db, access.PROPOSAL, hidden.id, stranger)
    assert missing.value.message == "There is no proposal 1000000 that you can see."
    assert not_theirs.value.message == f"There is no proposal {hidden.id} that you can see."
