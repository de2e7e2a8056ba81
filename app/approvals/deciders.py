"""Who decides a stage: the body's own committee, or a substitute when nobody in it may vote on the proposal.

A body cannot decide when none of its members may vote on the proposal: they are all its proposers or
co-proposers, it has no members, or no committee of that kind is set up for the faculty. Such a stage would wait
for ever, so it is taken over by the first body in ``when_no_eligible_voter`` (``policies/approval.yaml``), other
than the stage's own, that has a member who may vote. The proposal records the substitute
(``proposal.deciding_committee_id``; empty means the body's own committee), which decides under its own voting
rule by the stage's due date, and the QA office is told (a ``stage_alert`` the sweep sends). Voting eligibility,
"Awaiting my decision", the decision panel, reminders and the pipeline all read the deciding committee.

The check runs when a proposal reaches a body and whenever a committee or its membership changes
(``service.committee_changed``); the deadline sweep runs it too before it reminds anyone. A takeover holds until
the stage ends, unless the substitute itself can no longer decide: then the stage goes to the first that can,
the body itself first. When no body can, the proposal waits at its body and the QA office is told that an
administrator must add a member. Nothing here changes a status.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, cast, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.approvals.models import StageAlert
from app.approvals.policy import ApprovalPolicy
from app.audit import service as audit
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember, membership_current
from app.policies import Policies
from app.proposals.models import CoProposer, Proposal
from app.scheduler import insert_once
from app.users.models import Role, UserRole

NO_ELIGIBLE_VOTER = "no_eligible_voter"  # the stage alert that tells the QA office


@dataclass(frozen=True)
class Panel:
    """A committee with its members: who may decide a stage, less the proposal's proposers."""

    committee: Committee
    member_ids: frozenset[int]
    chair_id: int | None

    def eligible(self, proposer_ids: Set[int]) -> frozenset[int]:
        return self.member_ids - proposer_ids


# Built once (every vote, decision and proposal page reads who decides): a committee, with its current members.
_PANEL = (
    select(Committee, CommitteeMember.user_id, CommitteeMember.is_chair)
    .outerjoin(CommitteeMember, (col(CommitteeMember.committee_id) == Committee.id) & membership_current())
    .where(col(Committee.is_active))
)
_PANEL_BY_ID = _PANEL.where(col(Committee.id) == bindparam("committee_id"))
_PANEL_BY_KIND = _PANEL.where(col(Committee.kind) == bindparam("kind"))
_PANEL_OF_FACULTY = _PANEL_BY_KIND.where(col(Committee.org_unit_id) == bindparam("org_unit_id"))
CO_PROPOSERS = select(CoProposer.user_id).where(CoProposer.proposal_id == bindparam("proposal_id"))
# Who decides and the co-proposers, read with the proposal itself in one statement: before every action on a
# proposal (locked, when it is about to change) and on its pages (``access.load_ctx``). One row: the proposal, the
# deciding committee (none when no body decides or its committee is not set up), its current members' ids and its
# chair's, and the co-proposers' ids; the ids as text, joined by commas, so that the proposal's row (its content)
# is read and decoded once, not once per member. The join says in SQL what ``_deciding_query`` says in Python: the
# substitute that took the stage over, else the body's own committee (a faculty council: the proposal's faculty's).
_DECIDES = and_(
    col(Committee.is_active),
    func.coalesce(col(Proposal.current_body), "") != "",
    or_(
        col(Committee.id) == col(Proposal.deciding_committee_id),
        and_(
            col(Proposal.deciding_committee_id).is_(None),
            col(Committee.kind) == col(Proposal.current_body),
            or_(
                col(Committee.kind) != CommitteeKind.faculty_council.value,
                col(Committee.org_unit_id) == col(Proposal.org_unit_id),
            ),
        ),
    ),
)
_SEATED = (col(CommitteeMember.committee_id) == Committee.id) & membership_current()


# The separator as SQL text: given as a string, it is a parameter that SQLAlchemy renders into the statement anew
# on every execution (every read of a proposal's context runs two).
_COMMA: Any = literal_column("','")


def _ids(column: Any, *where: Any) -> Any:
    """The ids in ``column`` of the rows ``where`` finds, as text joined by commas (a scalar subquery)."""
    return select(func.aggregate_strings(cast(column, String), _COMMA)).where(*where).scalar_subquery()


_WITH_DECIDERS = (
    sa_select(  # SQLModel's select types at most four columns
        Proposal,
        Committee,
        _ids(col(CommitteeMember.user_id), _SEATED),
        select(col(CommitteeMember.user_id)).where(_SEATED, col(CommitteeMember.is_chair)).limit(1).scalar_subquery(),
        _ids(col(CoProposer.user_id), col(CoProposer.proposal_id) == col(Proposal.id)),
    )
    .outerjoin(Committee, _DECIDES)
    .where(col(Proposal.id) == bindparam("proposal_id"))
)
# Locked: only the proposal's row (FOR UPDATE OF proposal), read afresh even when the session holds it already.
_LOCK_WITH_DECIDERS = _WITH_DECIDERS.with_for_update(of=Proposal).execution_options(populate_existing=True)


def _id_set(joined: str | None) -> frozenset[int]:
    return frozenset(int(i) for i in (joined or "").split(",") if i)


def proposal_with_deciders(
    session: Session, proposal_id: int, *, lock: bool
) -> tuple[Proposal, Panel | None, frozenset[int]] | None:
    """The proposal, ``deciding_panel`` and its co-proposers' ids, in one round trip (``lock``: the proposal's row
    locked for a change); None when there is no such proposal."""
    row = session.execute(_LOCK_WITH_DECIDERS if lock else _WITH_DECIDERS, {"proposal_id": proposal_id}).first()
    if row is None:
        return None
    proposal, committee, member_ids, chair_id, co_proposer_ids = row
    panel = Panel(committee, _id_set(member_ids), chair_id) if committee is not None else None
    return proposal, panel, _id_set(co_proposer_ids)


def _panel(session: Session, stmt: Any, **params: Any) -> Panel | None:
    return _panel_of_rows(session.exec(stmt, params=params).all())


def _panel_of_rows(rows: Sequence[Any]) -> Panel | None:
    if not rows:
        return None
    return Panel(
        committee=rows[0][0],  # the committee repeats on every member's row
        member_ids=frozenset(row[1] for row in rows if row[1] is not None),
        chair_id=next((row[1] for row in rows if row[2]), None),
    )


def body_panel(session: Session, proposal: Proposal, kind: CommitteeKind) -> Panel | None:
    """The committee of this kind for the proposal (a faculty council: the proposal's faculty's)."""
    return panel_of(session, kind, proposal.org_unit_id)


def _panel_query(kind: CommitteeKind, org_unit_id: int | None) -> tuple[Any, dict[str, Any]]:
    if kind is CommitteeKind.faculty_council:
        return _PANEL_OF_FACULTY, {"kind": kind.value, "org_unit_id": org_unit_id}
    return _PANEL_BY_KIND, {"kind": kind.value}


def panel_of(session: Session, kind: CommitteeKind, org_unit_id: int | None) -> Panel | None:
    """The committee of this kind for a faculty (a faculty council: that faculty's; other bodies are
    institution-wide)."""
    stmt, params = _panel_query(kind, org_unit_id)
    return _panel(session, stmt, **params)


def _deciding_query(proposal: Proposal) -> tuple[Any, dict[str, Any]] | None:
    if not proposal.current_body:
        return None
    if proposal.deciding_committee_id is not None:
        return _PANEL_BY_ID, {"committee_id": proposal.deciding_committee_id}
    return _panel_query(CommitteeKind(proposal.current_body), proposal.org_unit_id)


def deciding_panel(session: Session, proposal: Proposal) -> Panel | None:
    """Who decides the current stage: the substitute that took it over, else the body's own committee (None when
    no body is deciding, or the body's committee is not set up)."""
    query = _deciding_query(proposal)
    return _panel(session, query[0], **query[1]) if query is not None else None


def ensure_decider(session: Session, proposal: Proposal, proposer_ids: Set[int], policies: Policies) -> bool:
    """Make sure someone may decide the proposal's current stage; True when the deciding committee changed.

    The proposal must be locked (``core.lock``) by the caller: who decides is read and written in one go.
    """
    assert proposal.id is not None and proposal.current_body
    current = deciding_panel(session, proposal)
    if current is not None and current.eligible(proposer_ids):
        return False
    body = CommitteeKind(proposal.current_body)
    own = body_panel(session, proposal, body)
    candidates = [body, *(kind for kind in policies.of(ApprovalPolicy).when_no_eligible_voter if kind is not body)]
    taker = next(
        (
            panel
            for kind in candidates
            if (panel := own if kind is body else body_panel(session, proposal, kind)) is not None
            and panel.eligible(proposer_ids)
        ),
        None,
    )
    before = proposal.deciding_committee_id
    proposal.deciding_committee_id = None if taker is None or taker is own else taker.committee.id
    session.add(proposal)
    body_name = own.committee.name if own is not None else f"the {COMMITTEE_KIND_LABELS[body].lower()}"
    if taker is None:
        action = "stage.no_eligible_voter"
        stand_ins = ", ".join(kind.value for kind in candidates[1:]) or "none"
        comment = (
            f"Nobody in {body_name} may vote on this proposal ({_why(own)}), nor in any body that may stand in "
            f"({stand_ins}): an administrator must add a member."
        )
    elif taker is own:
        action = "stage.handed_back"
        gone = current.committee.name if current is not None else "The substitute"
        comment = f"{gone} can no longer decide; {body_name}, with a member who may vote again, decides this stage."
    else:
        action = "stage.taken_over"
        comment = (
            f"Nobody in {body_name} may vote on this proposal ({_why(own)}): "
            f"{taker.committee.name} decides this stage instead."
        )
    told = taker is not own and _alert_qa_office(session, proposal)
    if proposal.deciding_committee_id == before and not told:
        return False  # nobody can decide, as before, and the QA office knows
    record_event(
        session,
        proposal,
        action,
        policies,
        comment=comment,
        data={
            "body": body.value,
            "from_committee_id": before,
            "deciding_committee_id": taker.committee.id if taker is not None else None,
        },
    )
    session.flush()
    return proposal.deciding_committee_id != before


def record_event(
    session: Session, proposal: Proposal, action: str, policies: Policies, *, comment: str = "", data: dict[str, Any]
) -> None:
    """An audit row for what the system did about the proposal's current stage (its round is added)."""
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=None,
        actor_role="system",
        entity_type="proposal",
        entity_id=proposal.id,
        action=action,
        comment=comment,
        policy_version=policies.of(ApprovalPolicy).version,
        data={"round": proposal.review_round, **data},
    )


def _why(own: Panel | None) -> str:
    if own is None:
        return "it is not set up"
    if not own.member_ids:
        return "it has no members"
    return "its only members are proposers of it"


def _alert_qa_office(session: Session, proposal: Proposal) -> bool:
    """Queue the stage alert that tells the QA office, once per stage; True when it is new."""
    assert proposal.id is not None and proposal.current_body
    alert = StageAlert(
        proposal_id=proposal.id, review_round=proposal.review_round, body=proposal.current_body, step=NO_ELIGIBLE_VOTER
    )
    return insert_once(session, alert)


def stage_has_alert(step: str) -> ColumnElement[bool]:
    """SQL: the proposal's current stage (its review round) has an alert ``step``, sent or waiting."""
    return (
        select(StageAlert.id)
        .where(
            col(StageAlert.proposal_id) == Proposal.id,
            col(StageAlert.review_round) == Proposal.review_round,
            col(StageAlert.step) == step,
        )
        .exists()
    )


def qa_office_ids(session: Session) -> set[int]:
    """The QA office: current members of its active committee and everyone with the QA officer role."""
    members = session.exec(
        select(CommitteeMember.user_id)
        .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
        .where(Committee.kind == CommitteeKind.qa_office.value, col(Committee.is_active), membership_current())
    )
    officers = session.exec(select(UserRole.user_id).where(UserRole.role == Role.qa_officer.value))
    return {*members, *officers}
