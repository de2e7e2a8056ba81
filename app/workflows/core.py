"""The workflow core: the one way any status changes, whatever the lifecycle.

A *lifecycle* is a row type (its status column), a python-statemachine class, and the domain's rules: who may
see a row, who may send which event, which policy version a change is made under. Every change goes through
``fire``, which does the whole job in the request's transaction:

1. lock the row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
   and compare-and-set on flush through the row's ``version_id_col``, so a concurrent change fails (409);
2. refuse someone who may not see the row with a 404, an event the current state does not allow with a 409,
   and an actor who may not send it with a 403;
3. send the event to the machine (its guards pick the target, its validators refuse with a reason: 422);
4. write the audit row (who, in which role, from and to, the policy version, the comment) and call every
   listener (the outbox, for one) in the same transaction.

A flush guard refuses any status change of a registered row that has no audit row, so nothing can change a
status around the core. Which actions a person is offered is the same question asked before rendering:
``offered`` lists the events the machine allows now that this actor may send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes
from sqlmodel import Session
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed as MachineRefused
from statemachine.states import States

from app.audit import service as audit
from app.audit.service import AUDITED
from app.db import utcnow
from app.errors import DomainError, NotFound, TransitionNotAllowed
from app.text import in_sentence

RowT = TypeVar("RowT")
CtxT = TypeVar("CtxT")
SYSTEM = None  # the actor of what the system does on its own: a body's decision, the scheduler


@dataclass(frozen=True)
class Lifecycle(Generic[RowT, CtxT]):
    """Everything the core needs to run one kind of row through its machine."""

    name: str  # the audit's entity type, and the noun in messages ("proposal", "condition")
    model: type[RowT]
    machine: type[StateMachine]
    # What the rules need besides the row (its proposers, the body deciding now...), loaded once per action.
    context: Callable[[Session, RowT], CtxT]
    # Who sees the row at all: everyone else gets a 404, as if it did not exist.
    can_see: Callable[[CtxT, Any], bool]
    # Why this actor may not send this event (a 403 error), or None when they may. Never called for SYSTEM.
    refusal: Callable[[CtxT, str, Any], DomainError | None]
    # The role recorded on the audit row ("proposer", "chair, faculty council", "QA office").
    role_of: Callable[[CtxT, Any], str]
    # The version of the policy the change is made under.
    policy_version: Callable[[Any], str]
    # The past participle of each event, for refusals written as sentences ("cannot be submitted").
    participles: dict[str, str]
    state_field: str = "status"
    listeners: tuple[Callable[[Transition], None], ...] = ()  # beyond audit and the installed ones
    # The row by its id with its context in one statement, locked when asked (None: no such row), where the rules
    # need more than the row: one round trip before every change instead of two. Without it, the row is read, then
    # ``context``.
    load: Callable[[Session, int, bool], tuple[RowT, CtxT] | None] | None = None

    def status_of(self, row: RowT) -> str:
        return str(getattr(row, self.state_field))

    def label(self, state: str) -> str:
        return state_labels(self.machine)[state]


@dataclass
class Subject(Generic[RowT, CtxT]):
    """A row with the context its rules need; locked (from ``lock``) when it is about to change."""

    lifecycle: Lifecycle[RowT, CtxT]
    row: RowT
    ctx: CtxT

    def reload_context(self, session: Session) -> None:
        """After a transition that changes who is involved (a new body deciding), read the context again."""
        self.ctx = self.lifecycle.context(session, self.row)


@dataclass(frozen=True)
class Transition:
    """What happened, as listeners see it. Written in the transaction that made the change."""

    session: Session
    lifecycle: Lifecycle[Any, Any]
    row: Any
    ctx: Any
    event: str
    source: str
    target: str
    actor: Any
    role: str
    comment: str
    data: dict[str, Any]
    at: datetime
    policies: Any


Listener = Callable[[Any], None]
# Listeners for everything that happens (transitions of every lifecycle, and what domains announce besides:
# a comment added), by name; installed explicitly at start-up (app/listeners.py), never by an import.
LISTENERS: dict[str, Listener] = {}
REGISTRY: dict[type[Any], Lifecycle[Any, Any]] = {}


def listen(name: str, listener: Listener) -> None:
    """Install (or replace) a listener for every happening: a ``Transition``, or what a domain announces."""
    LISTENERS[name] = listener


def announce(happening: object) -> None:
    """Tell every listener, in the caller's transaction. Listeners pick the happenings they care about."""
    for listener in tuple(LISTENERS.values()):
        listener(happening)


def register(lifecycle: Lifecycle[RowT, CtxT]) -> Lifecycle[RowT, CtxT]:
    """Add a lifecycle to the audit guard. Its row must carry a version column: the compare-and-set."""
    mapper = inspect(lifecycle.model)
    if mapper.version_id_col is None:
        raise TypeError(
            f"{lifecycle.model.__name__} needs a version_id_col (a counter, or its status column with "
            "version_id_generator=False) so that a concurrent change fails instead of overwriting"
        )
    if lifecycle.state_field not in mapper.columns:
        raise TypeError(f"{lifecycle.model.__name__} has no column {lifecycle.state_field!r}")
    REGISTRY[lifecycle.model] = lifecycle
    return lifecycle


# --- what a machine says about its states ----------------------------------------------------------


def labelled_states(
    status: type[StrEnum], *, initial: StrEnum, final: set[Any], labels: Mapping[StrEnum, str] | None = None
) -> States:
    """A machine's states from its status enum (the one list of values), with readable labels.

    The row stores the plain value; the label defaults to the value in words ("Changes requested").
    """
    states: States = States.from_enum(status, initial=initial, final=final, use_enum_instance=False)
    for member in status:
        getattr(states, member.name).name = (labels or {}).get(member) or member.value.replace("_", " ").capitalize()
    return states


def state_labels(machine: type[StateMachine]) -> dict[str, str]:
    return {s.value: s.name for s in machine.states}


def final_states(machine: type[StateMachine]) -> frozenset[str]:
    return frozenset(s.value for s in machine.states if s.final)


def states_allowing(machine: type[StateMachine], *events: str) -> frozenset[str]:
    """The states in which any of these events has a transition (e.g. where ``submit`` is possible)."""
    return frozenset(
        state.value
        for state in machine.states
        for transition in state.transitions
        if any(e in transition.events for e in events)
    )


def events_from(machine: type[StateMachine], state: str) -> list[str]:
    """The events with a transition out of this state, in the order the machine declares them."""
    found: list[str] = []
    for s in machine.states:
        if s.value == state:
            for transition in s.transitions:
                found += [str(e) for e in transition.events if str(e) not in found]
    return found


# --- the entry points ----------------------------------------------------------------------------------


def lock(
    session: Session,
    lifecycle: Lifecycle[RowT, CtxT],
    row_id: int,
    actor: Any,
    *,
    context: Callable[[RowT], CtxT] | None = None,
) -> Subject[RowT, CtxT]:
    """Load the row for a change (FOR UPDATE), with its context; a 404 for someone who may not see it.

    ``context``: how to make the row's context from what the caller has read already in this transaction (a
    checklist answer's owner, loaded to find the row), instead of the lifecycle's reading it again."""
    if context is None and lifecycle.load is not None:
        return _loaded(lifecycle, lifecycle.load(session, row_id, True), row_id, actor)
    model: Any = lifecycle.model
    row = session.execute(_lock_statement(model, ("id",)), {"id": row_id}).scalars().first()
    if row is None:
        raise _missing(lifecycle, row_id)
    return _subject(session, lifecycle, row, actor, context, f"{lifecycle.name} {row_id}")


def read(session: Session, lifecycle: Lifecycle[RowT, CtxT], row_id: int, actor: Any) -> Subject[RowT, CtxT]:
    """The row with its context, not locked (to show it, or to check before changing something else of it); a 404
    for someone who may not see it."""
    if lifecycle.load is not None:
        return _loaded(lifecycle, lifecycle.load(session, row_id, False), row_id, actor)
    row = session.get(lifecycle.model, row_id)
    if row is None:
        raise _missing(lifecycle, row_id)
    return _subject(session, lifecycle, row, actor, None, f"{lifecycle.name} {row_id}")


def _loaded(
    lifecycle: Lifecycle[RowT, CtxT], found: tuple[RowT, CtxT] | None, row_id: int, actor: Any
) -> Subject[RowT, CtxT]:
    if found is None:
        raise _missing(lifecycle, row_id)
    row, ctx = found
    return _subject(None, lifecycle, row, actor, lambda _row: ctx, f"{lifecycle.name} {row_id}")


def lock_by(
    session: Session,
    lifecycle: Lifecycle[RowT, CtxT],
    key: Mapping[str, Any],
    actor: Any,
    *,
    context: Callable[[RowT], CtxT] | None = None,
) -> Subject[RowT, CtxT] | None:
    """``lock``, finding the row by the columns of a unique key (a checklist answer: its subject and item) rather
    than its id; None when there is no such row, for the caller to create it."""
    model: Any = lifecycle.model
    row = session.execute(_lock_statement(model, tuple(key)), dict(key)).scalars().first()
    return None if row is None else _subject(session, lifecycle, row, actor, context, lifecycle.name)


def _missing(lifecycle: Lifecycle[Any, Any], row_id: int) -> NotFound:
    """The 404 for a row that does not exist: the words of one the person may not see, so that nobody learns which
    ids exist."""
    return NotFound(f"There is no {lifecycle.name} {row_id} that you can see.")


def _subject(
    session: Session | None,
    lifecycle: Lifecycle[RowT, CtxT],
    row: RowT,
    actor: Any,
    context: Callable[[RowT], CtxT] | None,
    named: str,
) -> Subject[RowT, CtxT]:
    if context is not None:
        ctx = context(row)
    else:
        assert session is not None
        ctx = lifecycle.context(session, row)
    if actor is not SYSTEM and not lifecycle.can_see(ctx, actor):
        raise NotFound(f"There is no {named} that you can see.")
    return Subject(lifecycle, row, ctx)


@cache
def _lock_statement(model: Any, columns: tuple[str, ...]) -> Any:
    """``SELECT ... FOR UPDATE`` of one row of this model by these columns (bound by their names), built once per
    model and columns (every change runs one)."""
    stmt = select(model).where(*(getattr(model, name) == bindparam(name) for name in columns)).with_for_update()
    return stmt.execution_options(populate_existing=True)


def refusal(subject: Subject[RowT, CtxT], event: str, actor: Any, *, doing: str | None = None) -> DomainError | None:
    """Why this event cannot be sent now by this actor (409: not in this state; 403: not this actor).

    ``doing`` names what the person tries when it is their part in an event rather than the event itself
    ("voted on": a member's vote, which the body's decision turns into ``approve``).
    """
    lifecycle = subject.lifecycle
    state = lifecycle.status_of(subject.row)
    if event not in events_from(lifecycle.machine, state):
        what = doing or lifecycle.participles.get(event, event.replace("_", " "))
        return TransitionNotAllowed(
            f"This {lifecycle.name} is {in_sentence(lifecycle.label(state))}, so it cannot be {what} now."
        )
    if actor is SYSTEM:
        return None
    return lifecycle.refusal(subject.ctx, event, actor)


def require(subject: Subject[RowT, CtxT], event: str, actor: Any, *, doing: str | None = None) -> None:
    error = refusal(subject, event, actor, doing=doing)
    if error is not None:
        raise error


def offered(subject: Subject[RowT, CtxT], actor: Any, events: Iterable[str] | None = None) -> list[str]:
    """The events this actor may send now: what the machine allows in this state, less what they may not do."""
    machine = subject.lifecycle.machine
    candidates = events_from(machine, subject.lifecycle.status_of(subject.row)) if events is None else events
    return [e for e in candidates if refusal(subject, e, actor) is None]


def fire(
    session: Session,
    subject: Subject[RowT, CtxT],
    event: str,
    actor: Any,
    policies: Any,
    *,
    comment: str = "",
    role: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    **event_args: Any,
) -> Transition:
    """Check, send, audit and notify: the one way a status changes. The row must come from ``lock``.

    ``at`` is the moment the machine and listeners are told (the sweep's ``now``, which may be simulated with
    ``app.cli sweep --now``); the real time by default."""
    require(subject, event, actor)
    lifecycle, row = subject.lifecycle, subject.row
    source = lifecycle.status_of(row)
    now = at or utcnow()
    with _machine_on(lifecycle, row) as machine:
        try:
            machine.send(event, comment=comment, now=now, actor=actor, **event_args)
        except MachineRefused as exc:  # no guard let it through: the row's data does not allow it
            raise TransitionNotAllowed(str(exc)) from None
    transition = Transition(
        session=session,
        lifecycle=lifecycle,
        row=row,
        ctx=subject.ctx,
        event=event,
        source=source,
        target=lifecycle.status_of(row),
        actor=actor,
        role=role or lifecycle.role_of(subject.ctx, actor),
        comment=comment,
        data=data or {},
        at=now,
        policies=policies,
    )
    _audit(transition)
    for listener in lifecycle.listeners:
        listener(transition)
    announce(transition)
    session.add(row)
    session.flush()  # the compare-and-set: a concurrent change raises StaleDataError (409) here
    return transition


class _Slot:
    """The model of a reused machine: the row it works on now, to which it reads and writes through."""

    __slots__ = ("row",)

    def __init__(self, row: Any) -> None:
        object.__setattr__(self, "row", row)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "row"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "row"), name, value)


# Machines not in use, per machine class and state field. Making one resolves the callbacks of every transition
# (the checklist answer's machine has twenty): a third of what answering an item cost. A machine's callbacks
# live on its class and read and write the row as ``self.model``, so one machine serves row after row.
_IDLE: dict[tuple[type[StateMachine], str], list[tuple[StateMachine, _Slot]]] = defaultdict(list)


@contextmanager
def _machine_on(lifecycle: Lifecycle[Any, Any], row: Any) -> Iterator[StateMachine]:
    """A machine working on ``row``: an idle one if there is, else a new one; idle again afterwards. Taken from
    the pool while in use, so two threads (or a listener's nested change) never share one."""
    idle = _IDLE[(lifecycle.machine, lifecycle.state_field)]
    try:
        machine, slot = idle.pop()
    except IndexError:
        slot = _Slot(row)
        machine = lifecycle.machine(model=slot, state_field=lifecycle.state_field)
    object.__setattr__(slot, "row", row)
    # A fresh engine (of the kind the machine chose when made) for each run: one that reached a final state has
    # stopped and would refuse every event.
    machine._engine = type(machine._engine)(machine)
    try:
        yield machine
    finally:
        object.__setattr__(slot, "row", None)
        idle.append((machine, slot))


def run(
    session: Session,
    lifecycle: Lifecycle[RowT, CtxT],
    row_id: int,
    event: str,
    actor: Any,
    policies: Any,
    **kwargs: Any,
) -> Subject[RowT, CtxT]:
    """Lock the row and fire one event: what a service calls for a single action."""
    subject = lock(session, lifecycle, row_id, actor)
    fire(session, subject, event, actor, policies, **kwargs)
    return subject


def _audit(t: Transition) -> None:
    row_id = getattr(t.row, "id", None)
    assert row_id is not None
    audit.record(
        t.session,
        actor_id=getattr(t.actor, "id", None),
        actor_role=t.role,
        entity_type=t.lifecycle.name,
        entity_id=row_id,
        action=t.event,
        from_state=t.source,
        to_state=t.target,
        policy_version=t.lifecycle.policy_version(t.policies),
        comment=t.comment,
        data=t.data,
    )


# --- the audit guard -------------------------------------------------------------------------------------


@sa_event.listens_for(OrmSession, "before_flush")
def _guard_status_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """No status change of a registered row without its audit row: refuse the flush otherwise."""
    if not REGISTRY:
        return
    changed = [
        (lifecycle, obj)
        for obj in session.dirty
        if (lifecycle := REGISTRY.get(type(obj))) is not None
        and attributes.get_history(obj, lifecycle.state_field).has_changes()
    ]
    if not changed:
        return
    audited = session.info.get(AUDITED, set())
    for lifecycle, obj in changed:
        status = lifecycle.status_of(obj)
        if (lifecycle.name, obj.id, status) not in audited:
            raise RuntimeError(f"{lifecycle.name} {obj.id}: status changed to {status} without an audit row")


@sa_event.listens_for(OrmSession, "after_flush")
@sa_event.listens_for(OrmSession, "after_soft_rollback")
def _forget_audited(session: OrmSession, *_args: Any) -> None:
    """An audit row vouches for the status change flushed with it, as it did when both waited for one flush."""
    session.info.pop(AUDITED, None)
