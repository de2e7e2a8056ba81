"""Concurrent actions on one proposal give exactly one outcome and a consistent audit trail.

These tests use real, separate database connections committing in parallel threads (PostgreSQL: row locks;
SQLite: one writer at a time), not the rolled-back test transaction, and clean up what they created.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, delete, or_, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.approvals import access
from app.approvals import service as approvals
from app.approvals.models import Condition, Decision, Vote
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.checklists import service as checklists
from app.checklists.models import ChecklistResponse
from app.db import lazy_transactions
from app.errors import DomainError
from app.notifications.models import Notification, OutboxMessage
from app.policies import Policies
from app.proposals import service
from app.proposals.models import CoProposer, Proposal, ProposalVersion
from app.workflows import core
from tests.cleanup import forget_reviews_of
from tests.conftest import actor_for
from tests.proposals.factories import submitted, vote


@pytest.fixture
def committed(engine: Engine, policies: Policies) -> Iterator[Callable[[Callable[[Session], Proposal]], int]]:
    """Build a proposal in a committed transaction; delete everything about it afterwards."""
    made: list[tuple[int, int]] = []

    def build(setup: Callable[[Session], Proposal]) -> int:
        with Session(engine, expire_on_commit=False) as session:
            proposal = setup(session)
            session.commit()
            assert proposal.id is not None
            made.append((proposal.id, proposal.credential_id))
            return proposal.id

    yield build
    with Session(engine) as session:
        for pid, cid in made:
            audit_rows = delete(AuditEvent).where(col(AuditEvent.entity_type) == "proposal")
            session.execute(audit_rows.where(col(AuditEvent.entity_id) == pid))
            # What the proposal's events told people: its notifications and their mails.
            about = or_(
                col(Notification.link) == f"/proposals/{pid}", col(Notification.link).startswith(f"/proposals/{pid}#")
            )
            mails = list(session.exec(select(Notification.outbox_message_id).where(about)))
            session.execute(delete(Notification).where(about))
            session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_([m for m in mails if m])))
            for model in (Condition, Decision, Vote, ProposalVersion, CoProposer):
                session.execute(delete(model).where(col(model.proposal_id) == pid))
            session.execute(delete(CredentialVersion).where(col(CredentialVersion.credential_id) == cid))
            session.execute(delete(Proposal).where(col(Proposal.id) == pid))
            forget_reviews_of(session, [cid])
            session.execute(delete(Credential).where(col(Credential.id) == cid))
        session.commit()


def run_together(engine: Engine, actions: dict[str, Callable[[Session], object]]) -> dict[str, str]:
    """Run each action in its own thread and connection, released at the same moment; report ok or the error."""
    barrier = threading.Barrier(len(actions))
    results: dict[str, str] = {}

    def worker(name: str, action: Callable[[Session], object]) -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                action(session)
                session.commit()
                results[name] = "ok"
            except DomainError as exc:
                session.rollback()
                results[name] = type(exc).__name__

    threads = [threading.Thread(target=worker, args=item) for item in actions.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def audit_chain(engine: Engine, proposal_id: int) -> tuple[str, list[tuple[str | None, str | None]]]:
    with Session(engine) as session:
        proposal = session.get(Proposal, proposal_id)
        assert proposal is not None
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == proposal_id)
            .where(col(AuditEvent.from_state).is_not(None))
            .order_by(col(AuditEvent.id))
        ).all()
        return proposal.status, [(r.from_state, r.to_state) for r in rows]


def assert_consistent(status: str, chain: list[tuple[str | None, str | None]]) -> None:
    for (_, previous_to), (current_from, _) in itertools.pairwise(chain):
        assert current_from == previous_to, chain
    assert chain[-1][1] == status


def test_three_members_voting_at_once_give_one_decision(
    engine: Engine, policies: Policies, committed: Callable[[Callable[[Session], Proposal]], int]
) -> None:
    pid = committed(lambda s: submitted(s, policies))
    members = ["council1@example.org", "council2@example.org", "council3@example.org"]

    def voter(email: str) -> Callable[[Session], object]:
        return lambda s: approvals.cast_vote(s, pid, actor_for(s, email), policies, choice=Choice.approve)

    results = run_together(engine, {m: voter(m) for m in members})
    # The second vote to commit decides (2 of 3); the third finds the proposal already with the next body: a 409,
    # as the council has already decided.
    assert sorted(results.values()) == ["TransitionNotAllowed", "ok", "ok"], results
    status, chain = audit_chain(engine, pid)
    assert status == "lll_committee_review"
    assert_consistent(status, chain)
    assert chain.count(("faculty_council_review", "lll_committee_review")) == 1
    with Session(engine) as s:
        assert len(s.exec(select(Decision).where(Decision.proposal_id == pid)).all()) == 1
        assert len(s.exec(select(Vote).where(Vote.proposal_id == pid)).all()) == 2


def test_deciding_vote_and_withdrawal_at_once_give_one_outcome(
    engine: Engine, policies: Policies, committed: Callable[[Callable[[Session], Proposal]], int]
) -> None:
    def in_qa_review(s: Session) -> Proposal:
        proposal = submitted(s, policies)
        for email in ("council1@example.org", "council2@example.org", "lll1@example.org", "lll2@example.org"):
            vote(s, policies, proposal, email, Choice.approve)
        assert proposal.status == "qa_office_review"
        return proposal

    for _ in range(3):  # several rounds, so both orders get a chance to happen
        pid = committed(in_qa_review)

        def qa_approves(s: Session, pid: int = pid) -> object:
            return approvals.cast_vote(s, pid, actor_for(s, "qa@example.org"), policies, choice=Choice.approve)

        def proposer_withdraws(s: Session, pid: int = pid) -> object:
            return service.withdraw(s, pid, actor_for(s, "academic@example.org"), policies)

        results = run_together(engine, {"vote": qa_approves, "withdraw": proposer_withdraws})
        assert sorted(results.values()) == ["TransitionNotAllowed", "ok"], results
        status, chain = audit_chain(engine, pid)
        assert_consistent(status, chain)
        if results["vote"] == "ok":
            assert status == "published"
            assert ("qa_office_review", "withdrawn") not in chain
        else:
            assert status == "withdrawn"
            assert ("qa_office_review", "approved") not in chain


def test_a_stale_write_is_refused_not_lost(
    engine: Engine, policies: Policies, committed: Callable[[Callable[[Session], Proposal]], int]
) -> None:
    """Compare-and-set: an update based on an old read of the row fails instead of overwriting."""
    pid = committed(lambda s: submitted(s, policies))
    with Session(engine, expire_on_commit=False) as stale, Session(engine) as fresh:
        old = stale.get(Proposal, pid)
        assert old is not None
        stale.commit()  # end the read transaction; the object keeps the version it read
        service.withdraw(fresh, pid, actor_for(fresh, "academic@example.org"), policies)
        fresh.commit()
        old.title = "overwritten"
        stale.add(old)
        with pytest.raises(Exception, match="expected to update 1 row"):
            stale.commit()


@pytest.mark.postgres_only
def test_a_proposal_locked_with_its_context_holds_its_row_until_the_change_ends(
    engine: Engine, policies: Policies, committed: Callable[[Callable[[Session], Proposal]], int]
) -> None:
    """``core.lock`` reads the proposal with its context in one statement, as a request's session does (a
    transaction only from the first write or lock): the row is locked all the same (``FOR UPDATE OF proposal``), so
    another change waits for it. SQLite serialises every writer anyway."""
    pid = committed(lambda s: submitted(s, policies))
    change = update(Proposal).where(col(Proposal.id) == pid).values(title=Proposal.title)
    with Session(lazy_transactions(engine)) as holder:
        locked = core.lock(holder, access.PROPOSAL, pid, core.SYSTEM)
        assert locked.ctx.committee is not None  # the context came with the lock
        with Session(engine) as other:
            other.connection().execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                other.connection().execute(change)
            other.rollback()
        holder.rollback()
    with Session(engine) as other:  # released: the same change goes through at once
        other.connection().execute(text("SET LOCAL lock_timeout = '300ms'"))
        assert other.connection().execute(change).rowcount == 1
        other.rollback()


def test_two_first_answers_to_one_checklist_item_at_once_keep_one_row_and_both_audit_rows(
    engine: Engine, policies: Policies, committed: Callable[[Callable[[Session], Proposal]], int]
) -> None:
    """Nobody has answered the item yet: both requests find no row to lock, both create it (the unique key keeps
    one), then lock it in turn. Each answer is a transition of that one row, audited in order."""
    pid = committed(lambda s: submitted(s, policies))

    def answering(email: str, status: str) -> Callable[[Session], object]:
        given = checklists.Answer(status=status, evidence_text=f"Checked by {email}")
        return lambda s: checklists.answer(s, pid, "owning-unit", actor_for(s, email), policies, given)

    try:
        results = run_together(
            engine,
            {
                "council1": answering("council1@example.org", "met"),
                "council2": answering("council2@example.org", "partly_met"),
            },
        )
        assert results == {"council1": "ok", "council2": "ok"}, results
        with Session(engine) as s:
            rows = s.exec(select(ChecklistResponse).where(ChecklistResponse.subject_id == pid)).all()
            assert len(rows) == 1 and rows[0].status in ("met", "partly_met")
            steps = s.exec(
                select(AuditEvent.from_state, AuditEvent.to_state)
                .where(AuditEvent.entity_type == "checklist_answer", AuditEvent.entity_id == rows[0].id)
                .order_by(col(AuditEvent.id))
            ).all()
            assert steps[0][0] == "unanswered" and len(steps) == 2 and steps[1][0] == steps[0][1]
            assert steps[-1][1] == rows[0].status
    finally:
        with Session(engine) as s:
            ids = list(s.exec(select(ChecklistResponse.id).where(ChecklistResponse.subject_id == pid)))
            s.execute(
                delete(AuditEvent).where(
                    col(AuditEvent.entity_type) == "checklist_answer", col(AuditEvent.entity_id).in_(ids)
                )
            )
            s.execute(delete(ChecklistResponse).where(col(ChecklistResponse.subject_id) == pid))
            s.commit()
