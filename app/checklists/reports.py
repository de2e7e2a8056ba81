"""The checklist report of a proposal: every item with its status, evidence (text, links, file names), who answered
and when, the automatic check's reasoning and the version of the item and of the checklist it was answered under.

A report reads what the answers kept, never the policy as it is now: an answered item shows its text, guidance and
"mandatory" as answered, and the automatic check's reasoning as it stood when answered (``ChecklistResponse``
keeps them), so editing ``policies/esg_part1.yaml`` leaves an existing report as it was. An item answered and since
removed from the checklist stays in the report, marked as such. Unanswered items show the current text and what the
automatic check concludes now.

Whoever may see the proposal's checklist may read its report (``access.get_proposal``: 404 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.approvals import access
from app.checklists import service
from app.checklists.models import ChecklistResponse
from app.checklists.policy import STANDARDS
from app.org.models import OrgUnit
from app.policies import Policies
from app.proposals import attachments
from app.proposals import elements as el
from app.proposals.models import Proposal
from app.security import Actor
from app.users.models import User
from app.workflows.checklist import AnswerStatus


@dataclass
class ReportItem:
    key: str
    standard: str
    title: str
    guidance: str
    mandatory: bool
    body: str
    body_label: str
    status: str
    status_label: str
    in_checklist: bool  # still an item of the checklist as it is now
    item_version: str  # the version answered (the current one while unanswered)
    policy_version: str  # the checklist's version when answered ("" while unanswered)
    outdated: bool  # answered under an earlier version of the item
    comment: str = ""
    evidence_text: str = ""
    evidence_links: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    condition_text: str = ""
    condition_due_on: date | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    automatic: dict[str, Any] | None = None  # {status, reasons, matches}
    automatic_when: str = ""  # "answered" (as it stood then) or "now" (unanswered)

    @property
    def answered(self) -> bool:
        return self.status != AnswerStatus.unanswered


@dataclass
class ReportStandard:
    standard: str
    title: str
    items: list[ReportItem]


@dataclass
class Report:
    proposal: Proposal
    faculty: str
    kind_label: str
    status_label: str
    policy_version: str  # the checklist's version now
    standards: list[ReportStandard]

    @property
    def items(self) -> list[ReportItem]:
        return [i for s in self.standards for i in s.items]

    @property
    def counts(self) -> dict[str, int]:
        """Items per status, in the order of the status labels."""
        found: dict[str, int] = {}
        for item in self.items:
            found[item.status] = found.get(item.status, 0) + 1
        return {s: found[s] for s in service.STATUS_LABELS if s in found}


def _answered_item(
    r: ChecklistResponse, view: service.ItemView | None, names: dict[int, str], files: dict[int, str]
) -> ReportItem:
    snap = r.item_snapshot
    body = str(snap.get("body", r.body))
    return ReportItem(
        key=r.item_key,
        standard=str(snap.get("standard", r.standard)),
        title=str(snap.get("title", view.item.title if view else r.item_key)),
        guidance=str(snap.get("guidance", "")),
        mandatory=bool(snap.get("mandatory", False)),
        body=body,
        body_label=service.body_label(body),
        status=r.status,
        status_label=service.STATUS_LABELS[r.status],
        in_checklist=view is not None,
        item_version=r.item_version,
        policy_version=r.policy_version,
        outdated=view is not None and view.item.version != r.item_version,
        comment=r.comment,
        evidence_text=r.evidence_text,
        evidence_links=list(r.evidence_links),
        files=[files[i] for i in r.attachment_ids if i in files],
        condition_text=r.condition_text,
        condition_due_on=r.condition_due_on,
        answered_by=names.get(r.answered_by_id) if r.answered_by_id is not None else None,
        answered_at=r.answered_at,
        automatic=r.automatic,
        automatic_when="answered" if r.automatic else "",
    )


def _unanswered_item(view: service.ItemView) -> ReportItem:
    item = view.item
    return ReportItem(
        key=item.key,
        standard=item.standard,
        title=item.title,
        guidance=item.guidance,
        mandatory=item.mandatory,
        body=item.body.value,
        body_label=service.body_label(item.body.value),
        status=AnswerStatus.unanswered.value,
        status_label=service.STATUS_LABELS[AnswerStatus.unanswered.value],
        in_checklist=True,
        item_version=item.version,
        policy_version="",
        outdated=False,
        automatic=view.auto.as_json() if view.auto else None,
        automatic_when="now" if view.auto else "",
    )


def report_of(session: Session, proposal_id: int, actor: Actor, policies: Policies) -> Report:
    """The report of a proposal ``actor`` may see (404 otherwise)."""
    proposal = access.get_proposal(session, proposal_id, actor)
    checklist = service.checklist_of(session, proposal, actor, policies)
    views = {v.key: v for v in checklist.items}
    answered = [
        r
        for r in service.responses_of(session, service.PROPOSAL, [proposal_id])[proposal_id]
        if r.answered_at is not None and r.status != AnswerStatus.unanswered
    ]
    by_key = {r.item_key: r for r in answered}
    people = {r.answered_by_id for r in answered if r.answered_by_id is not None}
    names: dict[int, str] = {}
    if people:
        names = {i: n for i, n in session.exec(select(User.id, User.name).where(col(User.id).in_(people))) if i}
    files = {a.id: a.filename for a in attachments.list_for(session, proposal_id)}
    items = [
        _answered_item(by_key[v.key], v, names, files) if v.key in by_key else _unanswered_item(v)
        for v in checklist.items
    ]
    # Answered, then removed from the checklist: still part of what was decided.
    items += [_answered_item(r, None, names, files) for r in answered if r.item_key not in views]
    standards = [
        ReportStandard(s, title, [i for i in items if i.standard == s])
        for s, title in STANDARDS.items()
        if any(i.standard == s for i in items)
    ]
    faculty = session.get(OrgUnit, proposal.org_unit_id)
    return Report(
        proposal=proposal,
        faculty=faculty.name if faculty else "",
        kind_label=el.KIND_LABELS.get(el.Kind(proposal.kind), proposal.kind),
        status_label=access.STATE_LABELS.get(proposal.status, proposal.status),
        policy_version=checklist.policy_version,
        standards=standards,
    )
