"""A second, toy lifecycle plugs into the workflow core with no code copied: the test of the core's design.

The toy is a "ticket" (open -> done, or open -> dropped with a reason) in a table of its own, outside the app's
metadata. It declares only what ARCHITECTURE.md says a lifecycle needs: a machine, its row registered with the
audit guard, a permission rule and a policy version. Everything else (lock, 404/409/403/422, audit row,
listeners, compare-and-set, the flush guard, the buttons) must come from the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import Integer, MetaData, String, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select
from statemachine import StateMachine

from app.audit.models import AuditEvent
from app.errors import DomainError, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.workflows import core


class TicketStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class TicketWorkflow(StateMachine):
    _ = core.labelled_states(TicketStatus, initial=TicketStatus.open, final={TicketStatus.done, TicketStatus.dropped})
    finish = _.open.to(_.done)
    drop = _.open.to(_.dropped, validators="reason_given")

    def reason_given(self, comment: str = "", **_: Any) -> None:
        if not comment:
            raise PolicyViolation("Say why.", errors={"comment": "Required."})


class ToyBase(DeclarativeBase):
    metadata = MetaData()  # not the app's: migrations and the drift check never see it


class Ticket(ToyBase):
    __tablename__ = "toy_ticket"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    secret: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="open")
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}


@dataclass(frozen=True)
class Person:
    id: int


@dataclass(frozen=True)
class Policies:
    version: str = "toy@1"


def _refusal(ticket: Ticket, event: str, actor: Person) -> DomainError | None:
    return None if actor.id == ticket.owner_id else PermissionDenied("Only the owner can do that.")


heard: list[core.Transition] = []
TICKET = core.register(
    core.Lifecycle(
        name="ticket",
        model=Ticket,
        machine=TicketWorkflow,
        context=lambda _session, ticket: ticket,
        can_see=lambda ticket, actor: not ticket.secret or actor.id == ticket.owner_id,
        refusal=_refusal,
        role_of=lambda ticket, actor: "owner" if actor and actor.id == ticket.owner_id else "system",
        policy_version=lambda policies: policies.version,
        participles={"finish": "finished", "drop": "dropped"},
        listeners=(heard.append,),
    )
)
OWNER, OTHER = Person(1), Person(2)


@pytest.fixture
def tickets(db: Session) -> Session:
    ToyBase.metadata.create_all(db.connection())  # inside the test's transaction: rolled back with it
    heard.clear()
    return db


def _ticket(db: Session, **values: Any) -> Ticket:
    ticket = Ticket(owner_id=OWNER.id, **values)
    db.add(ticket)
    db.flush()
    return ticket


def test_the_core_runs_a_second_machine_end_to_end(tickets: Session) -> None:
    ticket = _ticket(tickets)
    subject = core.run(tickets, TICKET, ticket.id, "finish", OWNER, Policies(), comment="all good")
    assert subject.row.status == "done"
    row = tickets.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "ticket", AuditEvent.entity_id == ticket.id)
    ).one()
    assert (row.action, row.from_state, row.to_state, row.actor_id, row.actor_role, row.policy_version) == (
        "finish",
        "open",
        "done",
        OWNER.id,
        "owner",
        "toy@1",
    )
    assert row.comment == "all good"
    assert [(t.event, t.source, t.target) for t in heard] == [("finish", "open", "done")]


def test_refusals_come_from_the_core_with_their_meaning(tickets: Session) -> None:
    secret = _ticket(tickets, secret=True)
    with pytest.raises(NotFound):  # may not see it: as if it did not exist
        core.run(tickets, TICKET, secret.id, "finish", OTHER, Policies())
    ticket = _ticket(tickets)
    with pytest.raises(PermissionDenied, match="Only the owner"):
        core.run(tickets, TICKET, ticket.id, "finish", OTHER, Policies())
    with pytest.raises(PolicyViolation, match="Say why"):  # the machine's validator
        core.run(tickets, TICKET, ticket.id, "drop", OWNER, Policies())
    core.run(tickets, TICKET, ticket.id, "drop", OWNER, Policies(), comment="duplicate")
    with pytest.raises(TransitionNotAllowed, match=r"This ticket is dropped, so it cannot be finished now\."):
        core.run(tickets, TICKET, ticket.id, "finish", OWNER, Policies())
    assert heard[-1].target == "dropped"


def test_the_buttons_are_the_events_allowed_less_the_refused(tickets: Session) -> None:
    ticket = _ticket(tickets)
    subject = core.Subject(TICKET, ticket, ticket)
    assert core.offered(subject, OWNER) == ["finish", "drop"]
    assert core.offered(subject, OTHER) == []
    core.run(tickets, TICKET, ticket.id, "finish", OWNER, Policies())
    assert core.offered(subject, OWNER) == []


def test_a_change_made_meanwhile_fails_the_compare_and_set(tickets: Session) -> None:
    ticket = _ticket(tickets)
    subject = core.lock(tickets, TICKET, ticket.id, OWNER)
    # Another writer moves the row on after it was read (what FOR UPDATE prevents on PostgreSQL; the
    # compare-and-set catches it everywhere).
    table = ToyBase.metadata.tables["toy_ticket"]
    tickets.connection().execute(update(table).where(table.c.id == ticket.id).values(status="dropped"))
    with pytest.raises(StaleDataError):
        core.fire(tickets, subject, "finish", OWNER, Policies())


def test_no_status_change_without_an_audit_row(tickets: Session) -> None:
    ticket = _ticket(tickets)
    ticket.status = "done"
    with pytest.raises(RuntimeError, match=r"ticket \d+: status changed to done without an audit row"):
        tickets.flush()
    tickets.rollback()


def test_a_row_without_a_compare_and_set_column_is_refused() -> None:
    class Loose(ToyBase):
        __tablename__ = "toy_loose"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        status: Mapped[str] = mapped_column(String(20))

    with pytest.raises(TypeError, match="version_id_col"):
        core.register(
            core.Lifecycle(
                name="loose",
                model=Loose,
                machine=TicketWorkflow,
                context=lambda _s, row: row,
                can_see=lambda _row, _actor: True,
                refusal=lambda _row, _e, _a: None,
                role_of=lambda _row, _a: "",
                policy_version=lambda _p: "",
                participles={},
            )
        )
