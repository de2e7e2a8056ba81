"""The ESG coverage matrix: ESG Part 1 standards (1.1 to 1.10) by micro-credential, institution-wide, for the QA
office and an external review panel.

A micro-credential's row is the checklist of its latest proposal (its latest revision: the one being approved now
or the one approved last). By default the matrix lists micro-credentials in approval or approved (drafts, withdrawn
and rejected proposals only when that status is chosen).

How the items of one standard make its cell (``cell_status``), among the items that apply to the proposal (its kind
and route):

- **missing**: a mandatory item is unanswered, or no item of the standard is answered yet;
- otherwise the worst answer wins: **not met**, then **partly met**, then **met**;
- **not applicable**: every answered item is not applicable (and no mandatory item is unanswered);
- no cell (—) when no item of the standard applies to the proposal.

Speed (10,000 micro-credentials): the rows are one paginated statement; the cells of a page are one aggregate over
``checklist_response`` grouped by subject, standard and status; which items apply is computed per (kind, route)
group from the policy, never per row. Filtering on a cell ("standard 1.3 is missing") is a SQL condition built from
the same groups, so the page, its total and the CSV agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    literal,
    or_,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import join as sa_join
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func

from app.approvals.access import STATE_LABELS
from app.approvals.policy import ApprovalPolicy
from app.checklists import service
from app.checklists.models import ChecklistResponse
from app.checklists.policy import STANDARDS, ChecklistPolicy, Item
from app.org.models import OrgUnit
from app.policies import Policies
from app.proposals import elements as el
from app.proposals.models import Proposal
from app.workflows.approval import ProposalStatus
from app.workflows.checklist import AnswerStatus

S = ProposalStatus
PROPOSALS: FromClause = sa_inspect(Proposal).local_table
# Listed unless the status filter asks for them.
HIDDEN_BY_DEFAULT = (S.draft.value, S.withdrawn.value, S.rejected.value)


class Cell(StrEnum):
    met = "met"
    partly_met = "partly_met"
    not_met = "not_met"
    missing = "missing"
    not_applicable = "not_applicable"
    none = "none"  # no item of the standard applies


CELL_LABELS = {
    Cell.met: "Met",
    Cell.partly_met: "Partly met",
    Cell.not_met: "Not met",
    Cell.missing: "Missing",
    Cell.not_applicable: "Not applicable",
    Cell.none: "Does not apply",
}
# What the "cell" filter accepts: a cell status, or "problems" (not met or missing).
CELL_FILTERS = {
    "problems": "Not met or missing",
    Cell.not_met.value: "Not met",
    Cell.missing.value: "Missing",
    Cell.partly_met.value: "Partly met",
    Cell.met.value: "Met",
}


def cell_status(applicable: int, mandatory: int, answered: dict[str, int], mandatory_answered: int) -> Cell:
    """A standard's cell from its items that apply (``applicable``, of which ``mandatory`` are mandatory), the
    answers per status and how many mandatory items are answered."""
    if applicable == 0:
        return Cell.none
    if mandatory_answered < mandatory or not any(answered.values()):
        return Cell.missing
    for worst in (Cell.not_met, Cell.partly_met, Cell.met):
        if answered.get(worst.value):
            return worst
    return Cell.not_applicable


# --- which items apply, per (kind, route) group ----------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    applicable: int
    mandatory: int


def _expected(policy: ChecklistPolicy, policies: Policies, kind: str, route_text: str) -> dict[str, Expected]:
    route = json.loads(route_text) if route_text else []
    if kind not in el.Kind.__members__:
        return {s: Expected(0, 0) for s in STANDARDS}
    if not route:  # not submitted yet: the route of its kind (as the checklist page shows it)
        route = [b.value for b in policies.of(ApprovalPolicy).route_for(kind)]
    items: list[Item] = service.applying(policy, kind, route)
    return {
        s: Expected(sum(1 for i in items if i.standard == s), sum(1 for i in items if i.standard == s and i.mandatory))
        for s in STANDARDS
    }


def _mandatory_keys(policy: ChecklistPolicy, standard: str) -> list[str]:
    return [i.key for i in policy.items if i.standard == standard and i.mandatory]


# --- filters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageFilter:
    org_unit_id: int | None = None
    kind: str | None = None
    status: str | None = None
    year: int | None = None
    standard: str | None = None  # show this standard only
    cell: str | None = None  # with standard: only rows whose cell is this (or "problems")

    @classmethod
    def parse(cls, *, org_unit_id: str, kind: str, status: str, year: str, standard: str, cell: str) -> CoverageFilter:
        """From query parameters; a value that is not a choice is ignored (as the pipeline's filters)."""
        chosen = standard if standard in STANDARDS else None
        return cls(
            org_unit_id=_number(org_unit_id),
            kind=kind if kind in el.Kind.__members__ else None,
            status=status if status in STATE_LABELS else None,
            year=year_given if (year_given := _number(year)) and 1900 < year_given < 3000 else None,
            standard=chosen,
            cell=cell if chosen and cell in CELL_FILTERS else None,
        )

    @property
    def standards(self) -> list[str]:
        return [self.standard] if self.standard else list(STANDARDS)

    def query(self) -> str:
        """The query string of these filters, for the pages and the CSV."""
        values = {
            "org_unit_id": self.org_unit_id,
            "kind": self.kind,
            "status": self.status,
            "year": self.year,
            "standard": self.standard,
            "cell": self.cell,
        }
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _number(text: str) -> int | None:
    """A whole number a database column holds (ASCII digits, at most 9), or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _latest_revision() -> ColumnElement[bool]:
    """The proposal is its micro-credential's latest revision (no later one exists: an index lookup per row)."""
    later = aliased(Proposal)
    return ~exists().where(
        col(later.credential_id) == col(Proposal.credential_id), col(later.revision_no) > col(Proposal.revision_no)
    )


def _population(f: CoverageFilter) -> list[ColumnElement[bool]]:
    where = [_latest_revision()]
    if f.status:
        where.append(col(Proposal.status) == f.status)
    else:
        where.append(col(Proposal.status).not_in(HIDDEN_BY_DEFAULT))
    if f.org_unit_id is not None:
        where.append(col(Proposal.org_unit_id) == f.org_unit_id)
    if f.kind:
        where.append(col(Proposal.kind) == f.kind)
    if f.year is not None:
        start, end = datetime(f.year, 1, 1, tzinfo=UTC), datetime(f.year + 1, 1, 1, tzinfo=UTC)
        where.append(and_(col(Proposal.created_at) >= start, col(Proposal.created_at) < end))
    return where


def _route_text() -> Any:
    return cast(Proposal.route, String)


def _groups(session: Session, where: list[ColumnElement[bool]]) -> dict[tuple[str, str], int]:
    """Micro-credentials per (kind, route): the rows the filters leave, and the groups that decide what applies."""
    route = _route_text()
    stmt = sa_select(col(Proposal.kind), route, func.count()).where(*where).group_by(col(Proposal.kind), route)
    return {(kind, text or ""): int(n) for kind, text, n in session.connection().execute(stmt)}


def _cell_filter(
    f: CoverageFilter, policy: ChecklistPolicy, policies: Policies, groups: dict[tuple[str, str], int]
) -> Scope:
    """The proposals joined to what applies to their (kind, route) and to their answers to ``f.standard``, and the
    SQL (over a proposal's answers, grouped by proposal) for "the row's cell of the standard is ``f.cell``", by the
    same rule as ``cell_status``. The rows are filtered in the pass that sorts and counts them; each proposal's
    answers are joined row by row (an index lookup, or one hash join), never as a separately aggregated table whose
    size the planner might misjudge."""
    assert f.standard and f.cell
    s = f.standard
    r = ChecklistResponse
    if not groups:
        return Scope(PROPOSALS, [false()])
    # What applies to each (kind, route) group, as a small table joined on the group: one route text per row.
    expected = union_all(
        *(
            sa_select(
                literal(kind).label("kind"),
                literal(route).label("route"),
                literal(e.applicable).label("applicable"),
                literal(e.mandatory).label("mandatory"),
            )
            for (kind, route), e in ((g, _expected(policy, policies, *g)[s]) for g in groups)
        )
    ).subquery("expected")
    given = col(r.status) != AnswerStatus.unanswered.value

    def n(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    mandatory = n(and_(given, col(r.item_key).in_(_mandatory_keys(policy, s) or [""])))
    not_met = n(col(r.status) == AnswerStatus.not_met.value) > 0
    partly_met = n(col(r.status) == AnswerStatus.partly_met.value) > 0
    met = n(col(r.status) == AnswerStatus.met.value) > 0
    applies = expected.c.applicable > 0
    missing = and_(applies, or_(mandatory < expected.c.mandatory, n(given) == 0))
    answered = and_(applies, ~missing)
    conditions: dict[str, ColumnElement[bool]] = {
        "problems": and_(applies, or_(missing, not_met)),
        Cell.missing.value: missing,
        Cell.not_met.value: and_(answered, not_met),
        Cell.partly_met.value: and_(answered, ~not_met, partly_met),
        Cell.met.value: and_(answered, ~not_met, ~partly_met, met),
    }
    source = sa_join(
        PROPOSALS, expected, and_(expected.c.kind == col(Proposal.kind), expected.c.route == _route_text())
    ).outerjoin(
        sa_inspect(r).local_table,
        and_(col(r.subject_type) == service.PROPOSAL, col(r.subject_id) == col(Proposal.id), col(r.standard) == s),
    )
    group = [col(Proposal.id), col(Proposal.title), expected.c.applicable, expected.c.mandatory]
    return Scope(source, [], group, conditions[f.cell])


# --- the matrix ----------------------------------------------------------------------------------------


@dataclass
class MatrixRow:
    proposal_id: int
    credential_id: int
    title: str
    kind: str
    status: str
    faculty: str
    created_at: datetime
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Matrix:
    filters: CoverageFilter
    standards: list[str]
    rows: list[MatrixRow]
    total: int
    faculties: list[tuple[int, str]]
    policy_version: str


def _rows_stmt(scope: Scope, *, offset: int | None = None, limit: int | None = None) -> Select[*tuple[Any, ...]]:
    """The rows in title order, each with the total the filters leave. The page is chosen on (title, id) alone and
    counted in the same pass, then its rows are read: the filters run once, and sorting never carries the wide
    columns (the route sits behind the proposal's content) of every matching proposal."""
    chosen = scope.ids(func.count().over().label("total")).order_by(col(Proposal.title), col(Proposal.id))
    if offset is not None and limit is not None:
        chosen = chosen.offset(offset).limit(limit)
    page = chosen.subquery()
    return (
        sa_select(
            col(Proposal.id),
            col(Proposal.credential_id),
            col(Proposal.title),
            col(Proposal.kind),
            col(Proposal.status),
            _route_text().label("route"),
            col(Proposal.created_at),
            col(OrgUnit.name).label("faculty"),
            page.c.total,
        )
        .join(page, page.c.id == col(Proposal.id))
        .join(OrgUnit, col(OrgUnit.id) == col(Proposal.org_unit_id))
        .order_by(col(Proposal.title), col(Proposal.id))
    )


def _cells(
    session: Session, policy: ChecklistPolicy, policies: Policies, rows: list[Any], standards: list[str]
) -> dict[int, dict[str, Cell]]:
    """The cells of these rows: one aggregate over their answers, grouped by subject, standard and status."""
    ids = [r.id for r in rows]
    counts: dict[tuple[int, str], dict[str, int]] = {}
    mandatory_answered: dict[tuple[int, str], int] = {}
    if ids:
        mandatory = [i.key for i in policy.items if i.mandatory] or [""]
        stmt = (
            sa_select(
                col(ChecklistResponse.subject_id),
                col(ChecklistResponse.standard),
                col(ChecklistResponse.status),
                func.count(),
                func.sum(case((col(ChecklistResponse.item_key).in_(mandatory), 1), else_=0)),
            )
            .where(
                col(ChecklistResponse.subject_type) == service.PROPOSAL,
                col(ChecklistResponse.subject_id).in_(ids),
                col(ChecklistResponse.status) != AnswerStatus.unanswered.value,
                col(ChecklistResponse.standard).in_(standards),
            )
            .group_by(col(ChecklistResponse.subject_id), col(ChecklistResponse.standard), col(ChecklistResponse.status))
        )
        for subject_id, standard, status, n, n_mandatory in session.connection().execute(stmt):
            counts.setdefault((subject_id, standard), {})[status] = int(n)
            key = (subject_id, standard)
            mandatory_answered[key] = mandatory_answered.get(key, 0) + int(n_mandatory or 0)
    expected: dict[tuple[str, str], dict[str, Expected]] = {}
    cells: dict[int, dict[str, Cell]] = {}
    for r in rows:
        group = (r.kind, r.route or "")
        if group not in expected:
            expected[group] = _expected(policy, policies, *group)
        cells[r.id] = {
            s: cell_status(
                expected[group][s].applicable,
                expected[group][s].mandatory,
                counts.get((r.id, s), {}),
                mandatory_answered.get((r.id, s), 0),
            )
            for s in standards
        }
    return cells


@dataclass(frozen=True)
class Scope:
    """The rows the filters leave: ``source`` (the proposals, joined to what a cell filter reads), ``where``, and for
    a cell filter the grouping by proposal and the condition on its answers (``having``)."""

    source: FromClause
    where: list[ColumnElement[bool]]
    group_by: list[Any] = field(default_factory=list)
    having: ColumnElement[bool] | None = None

    def ids(self, *columns: Any) -> Select[*tuple[Any, ...]]:
        """The proposals' ids (and ``columns``), one row per proposal."""
        stmt: Select[*tuple[Any, ...]] = sa_select(col(Proposal.id).label("id"), *columns).select_from(self.source)
        stmt = stmt.where(*self.where)
        if self.having is not None:
            stmt = stmt.group_by(*self.group_by).having(self.having)
        return stmt


def _where(session: Session, f: CoverageFilter, policies: Policies) -> Scope:
    where = _population(f)
    if f.standard and f.cell:
        cell = _cell_filter(f, policies.of(ChecklistPolicy), policies, _groups(session, where))
        return Scope(cell.source, [*where, *cell.where], cell.group_by, cell.having)
    return Scope(PROPOSALS, where)


def _matrix_rows(session: Session, policies: Policies, rows: list[Any], standards: list[str]) -> list[MatrixRow]:
    cells = _cells(session, policies.of(ChecklistPolicy), policies, rows, standards)
    return [
        MatrixRow(r.id, r.credential_id, r.title, r.kind, r.status, r.faculty, r.created_at, cells[r.id]) for r in rows
    ]


def matrix(session: Session, f: CoverageFilter, policies: Policies, *, offset: int, limit: int) -> Matrix:
    """A page of the matrix (title order), its total and the faculties for the filter."""
    scope = _where(session, f, policies)
    rows = session.connection().execute(_rows_stmt(scope, offset=offset, limit=limit)).all()
    if rows:
        total = rows[0].total
    else:  # past the last page (or nothing matches): count on its own
        count = sa_select(func.count()).select_from(scope.ids().subquery())
        total = session.connection().execute(count).scalar_one()
    faculties = session.connection().execute(sa_select(col(OrgUnit.id), col(OrgUnit.name)).order_by(col(OrgUnit.name)))
    return Matrix(
        filters=f,
        standards=f.standards,
        rows=_matrix_rows(session, policies, list(rows), f.standards),
        total=int(total),
        faculties=[(i, n) for i, n in faculties if i is not None],
        policy_version=policies.of(ChecklistPolicy).version,
    )


def all_rows(session: Session, f: CoverageFilter, policies: Policies, *, batch: int = 1000) -> Iterator[MatrixRow]:
    """Every row the filters leave (the CSV export): one statement for the rows, their cells a batch at a time."""
    rows = list(session.connection().execute(_rows_stmt(_where(session, f, policies))).all())
    for start in range(0, len(rows), batch):
        yield from _matrix_rows(session, policies, rows[start : start + batch], f.standards)


# --- the QA dashboard: where the institution falls short ---------------------------------------------


@dataclass(frozen=True)
class StandardShortfall:
    standard: str
    title: str
    not_met: int  # answers "not met"
    missing: int  # mandatory items unanswered

    @property
    def total(self) -> int:
        return self.not_met + self.missing


def shortfalls(session: Session, policies: Policies, *, top: int = 5) -> list[StandardShortfall]:
    """The standards with the most "not met" answers and unanswered mandatory items, over the matrix's default
    rows (micro-credentials in approval or approved), worst first; standards with none are left out."""
    policy = policies.of(ChecklistPolicy)
    where = _population(CoverageFilter())
    groups = _groups(session, where)
    expected_mandatory = dict.fromkeys(STANDARDS, 0)
    for group, n in groups.items():
        for s, e in _expected(policy, policies, *group).items():
            expected_mandatory[s] += e.mandatory * n
    mandatory = [i.key for i in policy.items if i.mandatory] or [""]
    stmt = (
        sa_select(
            col(ChecklistResponse.standard),
            func.sum(case((col(ChecklistResponse.status) == AnswerStatus.not_met.value, 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(
                            col(ChecklistResponse.item_key).in_(mandatory),
                            col(ChecklistResponse.status) != AnswerStatus.unanswered.value,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .where(
            col(ChecklistResponse.subject_type) == service.PROPOSAL,
            col(ChecklistResponse.subject_id).in_(sa_select(col(Proposal.id)).where(*where)),
        )
        .group_by(col(ChecklistResponse.standard))
    )
    not_met: dict[str, int] = {}
    answered_mandatory: dict[str, int] = {}
    for standard, n_not_met, n_mandatory in session.connection().execute(stmt):
        not_met[standard] = int(n_not_met or 0)
        answered_mandatory[standard] = int(n_mandatory or 0)
    found = [
        StandardShortfall(s, title, not_met.get(s, 0), max(0, expected_mandatory[s] - answered_mandatory.get(s, 0)))
        for s, title in STANDARDS.items()
    ]
    worst = sorted((f for f in found if f.total), key=lambda f: (-f.total, list(STANDARDS).index(f.standard)))
    return worst[:top]
