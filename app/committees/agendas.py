"""Agendas: a committee's meeting, the proposals it will decide in order, and the minutes recorded from it.

- The chair of a committee (or the chair's substitute) and the QA office build an agenda for a meeting date from
  the proposals awaiting that committee (as the body itself, or standing in for one); they order, annotate, add
  and remove items until the minutes are recorded. Every change of the items bumps ``agenda.revision``: a change
  sent from a page showing an older revision is refused (409) rather than silently overwriting the other.
- Publishing sends the agenda to the members through the outbox.
- The minutes: after the meeting the chair records the body's decision on each item (approve, request changes,
  reject, or no decision: the item stays in the queue). Each decision goes through
  ``app.approvals.service.record_minuted_decision``, the path of a decision reached by votes (decision row,
  workflow-core event, audit row, notices). **All or nothing per submit**: every item is tried, each in its own
  savepoint, so that every problem is reported at once next to its item; if any item is refused, none is saved
  and the agenda stays published, with what was typed kept. A proposal that left the committee's queue since the
  agenda was made (withdrawn, decided by vote) is refused with that reason: record "no decision" for it.
- The agenda's status (draft → published → minuted, or cancelled) is run by the workflow core (lifecycle
  ``AGENDA``): locking, permission, audit and listeners are the core's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app.approvals import service as approvals
from app.approvals.policy import ApprovalPolicy
from app.approvals.voting import Choice, Side
from app.audit import service as audit
from app.checklists import service as checklists
from app.committees.models import Agenda, AgendaItem
from app.committees.notices import AgendaPublished
from app.db import utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, PolicyViolation
from app.org.models import Committee, CommitteeKind, CommitteeMember
from app.policies import Policies
from app.proposals.models import Proposal
from app.security import Actor
from app.workflows import agenda as machine
from app.workflows import core
from app.workflows.approval import REVIEW_STATES

# What the chair records for an item: the body's decision, or none (the proposal stays in the queue).
NO_DECISION = "none"
OUTCOMES = {
    Side.approve.value: "Approve",
    Choice.approve_with_conditions.value: "Approve with conditions",
    Side.request_changes.value: "Request changes",
    Side.reject.value: "Reject",
    NO_DECISION: "No decision (deferred, or no longer before the committee)",
}


@dataclass
class AgendaCtx:
    agenda: Agenda
    committee: Committee
    member_ids: set[int] = field(default_factory=set)
    chair_id: int | None = None


def _ctx(session: Session, agenda: Agenda) -> AgendaCtx:
    committee = session.get(Committee, agenda.committee_id)
    assert committee is not None
    rows = session.exec(
        select(CommitteeMember.user_id, CommitteeMember.is_chair).where(
            CommitteeMember.committee_id == agenda.committee_id
        )
    ).all()
    return AgendaCtx(agenda, committee, {u for u, _ in rows}, next((u for u, chair in rows if chair), None))


def _can_see(ctx: AgendaCtx, actor: Actor) -> bool:
    """The committee's members (and their substitutes), the QA office and administrators."""
    return actor.oversees_approvals or actor.member_of(ctx.committee.id or 0) is not None


def runs(committee_id: int, actor: Actor) -> bool:
    """Who builds a committee's agendas and records its minutes: its chair (or the chair's substitute), the QA
    office."""
    seat = actor.member_of(committee_id)
    return actor.in_qa_office or (seat is not None and seat.is_chair)


def _refusal(ctx: AgendaCtx, event: str, actor: Actor) -> DomainError | None:
    if not runs(ctx.committee.id or 0, actor):
        return PermissionDenied(f"Only the chair of {ctx.committee.name} or the QA office can run its agendas.")
    return None


def _role(ctx: AgendaCtx, actor: Actor | None) -> str:
    if actor is None:
        return "system"
    seat = actor.member_of(ctx.committee.id or 0)
    if seat is not None and seat.is_chair:
        stand_in = f"{actor.name} for {seat.substitute_for_name}, " if seat.substitute_for else ""
        return f"{stand_in}chair, {ctx.committee.name}"
    return "QA office" if actor.in_qa_office else "user"


AGENDA: core.Lifecycle[Agenda, AgendaCtx] = core.register(
    core.Lifecycle(
        name="agenda",
        model=Agenda,
        machine=machine.AgendaWorkflow,
        context=_ctx,
        can_see=_can_see,
        refusal=_refusal,
        role_of=_role,
        policy_version=lambda policies: policies.of(ApprovalPolicy).version,
        participles=machine.PARTICIPLES,
    )
)


# --- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    item: AgendaItem
    proposal: Proposal
    still_awaiting: bool  # before the committee in the round the item was added for


@dataclass(frozen=True)
class AgendaView:
    agenda: Agenda
    committee: Committee
    items: list[ItemView]
    can_run: bool
    actions: list[str]  # the lifecycle events this person may send now

    @property
    def status_label(self) -> str:
        return machine.LABELS[self.agenda.status]

    @property
    def editable(self) -> bool:
        return self.can_run and self.agenda.status in machine.EDITABLE_STATES


def _awaiting(committee: Committee) -> ColumnElement[bool]:
    """SQL: proposals awaiting this committee's decision now (as the body itself, or standing in for one)."""
    body: ColumnElement[bool] = col(Proposal.current_body) == committee.kind
    if committee.kind == CommitteeKind.faculty_council:
        body = and_(body, col(Proposal.org_unit_id) == committee.org_unit_id)
    return and_(
        col(Proposal.status).in_(sorted(REVIEW_STATES)),
        or_(
            and_(body, col(Proposal.deciding_committee_id).is_(None)),
            col(Proposal.deciding_committee_id) == committee.id,
        ),
    )


def _still_awaiting(committee: Committee, proposal: Proposal, item: AgendaItem) -> bool:
    body_matches = proposal.current_body == committee.kind and (
        committee.kind != CommitteeKind.faculty_council or proposal.org_unit_id == committee.org_unit_id
    )
    decides = proposal.deciding_committee_id == committee.id or (
        body_matches and proposal.deciding_committee_id is None
    )
    return proposal.status in REVIEW_STATES and decides and proposal.review_round == item.review_round


def candidates(session: Session, agenda: Agenda) -> list[Proposal]:
    """Proposals awaiting the committee that are not on the agenda yet, longest waiting first."""
    committee = session.get(Committee, agenda.committee_id)
    assert committee is not None
    on_it = select(AgendaItem.proposal_id).where(AgendaItem.agenda_id == agenda.id)
    return list(
        session.exec(
            select(Proposal)
            .where(_awaiting(committee), col(Proposal.id).not_in(on_it))
            .order_by(col(Proposal.stage_entered_at), col(Proposal.id))
        )
    )


def view(session: Session, agenda_id: int, actor: Actor, *, with_content: bool = False) -> AgendaView:
    """The agenda as this person sees it; the proposals' contents (large) only when asked for (the meeting pack)."""
    agenda = session.get(Agenda, agenda_id)
    if agenda is None:
        raise NotFound(f"There is no agenda {agenda_id}.")
    ctx = _ctx(session, agenda)
    if not _can_see(ctx, actor):
        raise NotFound(f"There is no agenda {agenda_id} that you can see.")
    stmt = (
        select(AgendaItem, Proposal)
        .join(Proposal, col(Proposal.id) == AgendaItem.proposal_id)
        .where(AgendaItem.agenda_id == agenda_id)
        .order_by(col(AgendaItem.position), col(AgendaItem.id))
    )
    if not with_content:
        stmt = stmt.options(defer(Proposal.content))  # type: ignore[arg-type]  # SQLModel types the column as dict
    rows = session.exec(stmt).all()
    items = [ItemView(i, p, _still_awaiting(ctx.committee, p, i)) for i, p in rows]
    can_run = runs(ctx.committee.id or 0, actor)
    actions = core.offered(core.Subject(AGENDA, agenda, ctx), actor)
    return AgendaView(agenda, ctx.committee, items, can_run, actions)


def agendas_for(session: Session, actor: Actor) -> list[tuple[Agenda, Committee, int]]:
    """The agendas of the committees this person sits on (every one for the QA office), newest meeting first."""
    stmt = (
        select(Agenda, Committee, func.count(col(AgendaItem.id)))
        .join(Committee, col(Committee.id) == Agenda.committee_id)
        .outerjoin(AgendaItem, col(AgendaItem.agenda_id) == Agenda.id)
        .group_by(col(Agenda.id), col(Committee.id))
        .order_by(col(Agenda.meets_on).desc(), col(Agenda.id).desc())
    )
    if not actor.oversees_approvals:
        stmt = stmt.where(col(Agenda.committee_id).in_([m.committee_id for m in actor.memberships]))
    return [(a, c, n) for a, c, n in session.exec(stmt)]


def committees_run_by(session: Session, actor: Actor) -> list[Committee]:
    committees = session.exec(select(Committee).order_by(col(Committee.name))).all()
    return [c for c in committees if runs(c.id or 0, actor)]


# --- building ---------------------------------------------------------------------------------------


def create(
    session: Session, actor: Actor, policies: Policies, *, committee_id: int, meets_on: date, title: str = ""
) -> Agenda:
    """A draft agenda for the meeting, holding every proposal awaiting the committee, longest waiting first."""
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise PolicyViolation("Choose a committee.", errors={"committee_id": "Choose a committee."})
    if not runs(committee_id, actor):
        raise PermissionDenied(f"Only the chair of {committee.name} or the QA office can build its agendas.")
    if meets_on < utcnow().date():
        raise PolicyViolation("The meeting date is in the past.", errors={"meets_on": "Choose today or later."})
    title = title.strip() or f"{committee.name}, meeting of {meets_on.isoformat()}"
    if len(title) > 200:
        raise PolicyViolation("The title is too long (200 characters at most).", errors={"title": "Shorten it."})
    agenda = Agenda(committee_id=committee_id, meets_on=meets_on, title=title, created_by_id=actor.id)
    session.add(agenda)
    session.flush()
    for position, proposal in enumerate(candidates(session, agenda), start=1):
        assert proposal.id is not None
        session.add(
            AgendaItem(
                agenda_id=agenda.id or 0,
                proposal_id=proposal.id,
                position=position,
                review_round=proposal.review_round,
            )
        )
    assert agenda.id is not None
    ctx = _ctx(session, agenda)
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=_role(ctx, actor),
        entity_type="agenda",
        entity_id=agenda.id,
        action="agenda.created",
        to_state=agenda.status,
        policy_version=policies.of(ApprovalPolicy).version,
        comment=title,
    )
    session.flush()
    return agenda


def _editing(session: Session, agenda_id: int, actor: Actor, revision: int | None) -> core.Subject[Agenda, AgendaCtx]:
    """The agenda locked for a change of its items, by someone who runs it, while it may change."""
    subject = core.lock(session, AGENDA, agenda_id, actor)
    error = _refusal(subject.ctx, "edit", actor)
    if error is not None:
        raise error
    agenda = subject.row
    if agenda.status not in machine.EDITABLE_STATES:
        raise Conflict(f"This agenda is {machine.LABELS[agenda.status].lower()}: its items can no longer change.")
    if revision is not None and revision != agenda.revision:
        raise Conflict("The agenda was changed by someone else meanwhile. Reload it and make your change again.")
    agenda.revision += 1
    agenda.updated_at = utcnow()
    session.add(agenda)
    return subject


def _items(session: Session, agenda_id: int) -> list[AgendaItem]:
    return list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.agenda_id == agenda_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        )
    )


def _item(items: list[AgendaItem], item_id: int) -> AgendaItem:
    found = next((i for i in items if i.id == item_id), None)
    if found is None:
        raise NotFound(f"There is no item {item_id} on this agenda.")
    return found


def _renumber(session: Session, items: list[AgendaItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position
        session.add(item)
    session.flush()


def move(session: Session, agenda_id: int, item_id: int, actor: Actor, *, by: int, revision: int | None) -> None:
    """Move an item up (``by`` -1) or down (+1); at either end it stays where it is."""
    _editing(session, agenda_id, actor, revision)
    items = _items(session, agenda_id)
    item = _item(items, item_id)
    at = items.index(item)
    to = max(0, min(len(items) - 1, at + by))
    items.insert(to, items.pop(at))
    _renumber(session, items)


def reorder(session: Session, agenda_id: int, item_ids: list[int], actor: Actor, *, revision: int | None) -> None:
    """Put the items in this order; it must name every item once."""
    _editing(session, agenda_id, actor, revision)
    items = _items(session, agenda_id)
    if sorted(item_ids) != sorted(i.id for i in items if i.id is not None):
        raise PolicyViolation(
            "The new order must list every item of the agenda once.", errors={"item_ids": "Incomplete."}
        )
    by_id = {i.id: i for i in items}
    _renumber(session, [by_id[i] for i in item_ids])


def annotate(session: Session, agenda_id: int, item_id: int, actor: Actor, note: str, *, revision: int | None) -> None:
    note = note.strip()
    if len(note) > 2000:
        raise PolicyViolation("The note is too long (2,000 characters at most).", errors={"note": "Shorten it."})
    _editing(session, agenda_id, actor, revision)
    item = _item(_items(session, agenda_id), item_id)
    item.note = note
    session.add(item)
    session.flush()


def add(session: Session, agenda_id: int, proposal_id: int, actor: Actor, *, revision: int | None) -> AgendaItem:
    subject = _editing(session, agenda_id, actor, revision)
    proposal = next((p for p in candidates(session, subject.row) if p.id == proposal_id), None)
    if proposal is None:
        raise PolicyViolation(
            f"Proposal {proposal_id} is not awaiting {subject.ctx.committee.name}, or is on the agenda already.",
            errors={"proposal_id": "Choose a proposal awaiting the committee."},
        )
    items = _items(session, agenda_id)
    item = AgendaItem(
        agenda_id=agenda_id, proposal_id=proposal_id, position=len(items) + 1, review_round=proposal.review_round
    )
    session.add(item)
    session.flush()
    return item


def remove(session: Session, agenda_id: int, item_id: int, actor: Actor, *, revision: int | None) -> None:
    _editing(session, agenda_id, actor, revision)
    items = _items(session, agenda_id)
    item = _item(items, item_id)
    items.remove(item)
    session.delete(item)
    _renumber(session, items)


# --- its lifecycle ----------------------------------------------------------------------------------


def publish(session: Session, agenda_id: int, actor: Actor, policies: Policies, base_url: str = "") -> Agenda:
    """Publish the agenda: its members are told, with mail through the outbox."""
    subject = core.lock(session, AGENDA, agenda_id, actor)
    core.require(subject, "publish", actor)
    if not _items(session, agenda_id):
        raise PolicyViolation("The agenda has no items: add the proposals the committee will decide first.")
    core.fire(session, subject, "publish", actor, policies)
    ctx, agenda = subject.ctx, subject.row
    core.announce(
        AgendaPublished(
            session=session,
            agenda_id=agenda_id,
            committee_name=ctx.committee.name,
            meets_on=agenda.meets_on.isoformat(),
            recipients=frozenset(ctx.member_ids),
            by_id=actor.id,
        )
    )
    return agenda


def cancel(session: Session, agenda_id: int, actor: Actor, policies: Policies, reason: str = "") -> Agenda:
    return core.run(session, AGENDA, agenda_id, "cancel", actor, policies, comment=reason.strip()).row


class MinutesRefused(PolicyViolation):
    """Some items could not be recorded: nothing was saved. ``errors`` names each item (``item-<id>``)."""


@dataclass(frozen=True)
class Entry:
    outcome: str  # a Choice value, or NO_DECISION
    comment: str = ""
    conditions: tuple[dict[str, Any], ...] = ()  # with "approve with conditions": each a text and a due date


def record_minutes(
    session: Session, agenda_id: int, actor: Actor, policies: Policies, entries: dict[int, Entry]
) -> Agenda:
    """Record the body's decision on every item (all or nothing: see the module's notes)."""
    subject = core.lock(session, AGENDA, agenda_id, actor)
    core.require(subject, "record_minutes", actor)
    agenda = subject.row
    items = _items(session, agenda_id)
    errors: dict[str, str] = {}
    meeting = f"{subject.ctx.committee.name} on {agenda.meets_on.isoformat()}"
    with session.begin_nested():  # left by the refusal below: every recorded item is undone
        for number, item in enumerate(items, start=1):
            entry = entries.get(item.id or 0)
            key = f"item-{item.id}"
            if entry is None or entry.outcome not in OUTCOMES:
                errors[key] = f"Item {number}: choose the decision (or “no decision”)."
                continue
            if entry.outcome == NO_DECISION:
                continue
            try:
                choice = Choice(entry.outcome)
                conditions = approvals.parse_conditions(choice, list(entry.conditions))
                with session.begin_nested():
                    approvals.record_minuted_decision(
                        session,
                        item.proposal_id,
                        actor,
                        policies,
                        committee_id=agenda.committee_id,
                        review_round=item.review_round,
                        side=Side.approve if choice is Choice.approve_with_conditions else Side(entry.outcome),
                        conditions=conditions,
                        comment=entry.comment,
                        meeting=meeting,
                        meets_on=agenda.meets_on.isoformat(),
                        data={"agenda_id": agenda_id, "agenda_item_id": item.id},
                    )
            except DomainError as exc:
                errors[key] = f"Item {number}: {exc.message}"
        if errors:
            many = len(errors) != 1
            raise MinutesRefused(
                f"Nothing was recorded: {len(errors)} item{'s' if many else ''} need{'' if many else 's'} attention.",
                errors=errors,
            )
    now = utcnow()
    for item in items:
        entry = entries[item.id or 0]
        item.outcome, item.outcome_comment, item.recorded_at = entry.outcome, entry.comment.strip(), now
        session.add(item)
    subject = core.lock(session, AGENDA, agenda_id, actor)  # read again: the decisions' listeners ran meanwhile
    summary = ", ".join(f"{OUTCOMES[e.outcome].split(' (')[0].lower()}: {n}" for e, n in _counts(entries, items))
    core.fire(session, subject, "record_minutes", actor, policies, comment=summary)
    return subject.row


def _counts(entries: dict[int, Entry], items: list[AgendaItem]) -> list[tuple[Entry, int]]:
    seen: dict[str, tuple[Entry, int]] = {}
    for item in items:
        e = entries[item.id or 0]
        seen[e.outcome] = (e, seen.get(e.outcome, (e, 0))[1] + 1)
    return list(seen.values())


@dataclass(frozen=True)
class ChecklistStatus:
    """The ESG checklist of the body deciding the proposal, as the meeting pack shows it."""

    body_label: str
    rows: list[dict[str, Any]]  # checklists.snapshot: standard, title, mandatory, status, comment
    labels: dict[str, str]  # status -> words
    blocking: str  # why the body cannot approve yet ("" when it can)


def checklist_status(session: Session, proposal: Proposal, policies: Policies) -> ChecklistStatus | None:
    """The checklist of the body now deciding the proposal (None once no body is deciding it)."""
    body = proposal.current_body
    if not body:
        return None
    gate = checklists.gate(session, proposal, body, policies)
    return ChecklistStatus(
        body_label=checklists.body_label(body),
        rows=checklists.snapshot(session, proposal, body, policies),
        labels=dict(checklists.STATUS_LABELS),
        blocking=gate.message if gate.blocks else "",
    )
