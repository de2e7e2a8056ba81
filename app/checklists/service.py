"""The ESG checklist of a subject: which items apply, their answers and automatic results, answering through the
workflow core, and the gate on a body's decision.

Query API (for the checklist page, its JSON twin, reports and the coverage matrix):

- ``applying(policy, kind, route)``: the items of a proposal of this kind and route, in policy order;
- ``checklist_of(session, proposal, actor, policies)``: one proposal's checklist (``Checklist``: items with their
  answer, automatic result and whether this person may answer; progress per standard and overall);
- ``responses_of(session, subject_type, subject_ids)``: the stored answers of many subjects at once, by subject;
- ``gate(session, proposal, body, policies)``: what stops ``body`` approving (``Gate``), and the conditions its
  "not met" answers become; ``snapshot(...)``: the body's checklist as it stands, stored on its decision.

An answer keeps the item's version and text as answered (``ChecklistResponse.item_snapshot``): a changed policy
shows the old answer with its old text, flagged as answering an earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import limits
from app.approvals import access
from app.approvals.policy import ApprovalPolicy
from app.checklists import automatic
from app.checklists.models import ChecklistResponse
from app.checklists.policy import BODY_LABELS, STANDARDS, Body, ChecklistPolicy, Context, Item
from app.errors import DomainError, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.org.models import CommitteeKind
from app.policies import Policies
from app.proposals import attachments
from app.proposals import elements as el
from app.proposals.models import Attachment, Proposal
from app.security import Actor
from app.text import in_sentence
from app.workflows import checklist as answer_workflow
from app.workflows import core
from app.workflows.approval import REVIEW_STATES
from app.workflows.checklist import ANSWERS, AnswerStatus, ChecklistAnswerWorkflow

PROPOSAL = "proposal"  # the subject type of a proposal's checklist
STATUS_LABELS = answer_workflow.LABELS


# --- which items apply ---------------------------------------------------------------------------------


def context_of(kind: str) -> Context:
    return Context.approval_standalone if kind == el.Kind.standalone else Context.approval_unbundled


def route_of(proposal: Proposal, policies: Policies) -> list[str]:
    """The bodies the proposal goes through: its route once submitted, the route of its kind before."""
    return list(proposal.route) or [b.value for b in policies.of(ApprovalPolicy).route_for(proposal.kind)]


def applying(policy: ChecklistPolicy, kind: str, route: list[str]) -> list[Item]:
    context = context_of(kind)
    return [i for i in policy.items if context in i.contexts and i.body.value in route]


def responses_of(session: Session, subject_type: str, subject_ids: list[int]) -> dict[int, list[ChecklistResponse]]:
    found: dict[int, list[ChecklistResponse]] = {sid: [] for sid in subject_ids}
    if subject_ids:
        rows = session.exec(
            select(ChecklistResponse)
            .where(ChecklistResponse.subject_type == subject_type, col(ChecklistResponse.subject_id).in_(subject_ids))
            .order_by(col(ChecklistResponse.id))
        )
        for row in rows:
            found[row.subject_id].append(row)
    return found


def facts(session: Session, proposal: Proposal, policies: Policies) -> automatic.Facts:
    elements, _ = el.parse(proposal.content)
    files = len(session.exec(select(Attachment.id).where(Attachment.proposal_id == proposal.id)).all())
    return automatic.Facts(
        session=session,
        policies=policies,
        elements=elements,
        kind=el.Kind(proposal.kind),
        credential_id=proposal.credential_id,
        attachments=files,
    )


# --- who may answer: the answer lifecycle ---------------------------------------------------------------


@dataclass
class AnswerCtx:
    response: ChecklistResponse
    proposal: access.Ctx


def _answer_ctx(session: Session, response: ChecklistResponse) -> AnswerCtx:
    proposal = session.get(Proposal, response.subject_id)
    assert proposal is not None and response.subject_type == PROPOSAL
    return AnswerCtx(response, access.load_ctx(session, proposal))


def body_label(body: str) -> str:
    return BODY_LABELS[Body(body)]


def _member_of_body(ctx: access.Ctx, body: str, actor: Actor) -> bool:
    if body == Body.qa_office and actor.in_qa_office:
        return True
    if actor.id in ctx.member_ids and ctx.proposal.current_body == body:
        return True  # the deciding committee (the body's own, or the one standing in for it)
    return body in CommitteeKind.__members__ and access._member_of(actor, CommitteeKind(body), ctx.proposal)


def answer_refusal(ctx: access.Ctx, body: str, actor: Actor) -> DomainError | None:
    """Why this person may not answer an item of ``body`` now: the proposer reads only (403), someone outside the
    body may not (403), the body's members wait for their turn (409)."""
    label = in_sentence(body_label(body))
    if actor.id in ctx.proposer_ids:
        return PermissionDenied(f"You see this checklist read-only: the {label} answers this item.")
    if not _member_of_body(ctx, body, actor):
        return PermissionDenied(f"Only members of the {label} answer this item.")
    proposal = ctx.proposal
    if proposal.current_body != body or proposal.status not in REVIEW_STATES:
        return TransitionNotAllowed(f"The {label} is not deciding this proposal now, so this item cannot be answered.")
    return None


ANSWER: core.Lifecycle[ChecklistResponse, AnswerCtx] = core.register(
    core.Lifecycle(
        name="checklist_answer",
        model=ChecklistResponse,
        machine=ChecklistAnswerWorkflow,
        context=_answer_ctx,
        can_see=lambda ctx, actor: access._may_view(ctx.proposal.proposal, ctx.proposal.proposer_ids, actor),
        refusal=lambda ctx, _event, actor: answer_refusal(ctx.proposal, ctx.response.body, actor),
        role_of=lambda ctx, actor: access.role_of(ctx.proposal, actor),
        policy_version=lambda policies: policies.of(ChecklistPolicy).version,
        participles=answer_workflow.PARTICIPLES,
    )
)


# --- one proposal's checklist ---------------------------------------------------------------------------


@dataclass
class ItemView:
    item: Item
    response: ChecklistResponse | None
    auto: automatic.Result | None
    refusal: DomainError | None  # why this person may not answer it now (None: they may)

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def status(self) -> str:
        return self.response.status if self.response else AnswerStatus.unanswered.value

    @property
    def answered(self) -> bool:
        return self.status != AnswerStatus.unanswered

    @property
    def can_answer(self) -> bool:
        return self.refusal is None

    @property
    def title(self) -> str:
        """The question as it was answered (the policy's current text while unanswered)."""
        if self.answered and self.response and self.response.item_snapshot.get("title"):
            return str(self.response.item_snapshot["title"])
        return self.item.title

    @property
    def outdated(self) -> bool:
        """Answered under an earlier version of the item."""
        return self.answered and self.response is not None and self.response.item_version != self.item.version

    @property
    def suggested(self) -> str:
        """What the form starts with: the answer, or the automatic check's conclusion."""
        if self.answered:
            return self.status
        return self.auto.status.value if self.auto else ""


@dataclass
class StandardProgress:
    standard: str
    title: str
    answered: int
    total: int


@dataclass
class Checklist:
    proposal: Proposal
    items: list[ItemView]
    policy_version: str
    by_standard: list[StandardProgress] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(1 for i in self.items if i.answered)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def can_answer_any(self) -> bool:
        return any(i.can_answer for i in self.items)

    def item(self, key: str) -> ItemView:
        found = next((i for i in self.items if i.key == key), None)
        if found is None:
            raise NotFound(f"This checklist has no item '{key}'.")
        return found


def checklist_of(session: Session, proposal: Proposal, actor: Actor, policies: Policies) -> Checklist:
    """The items that apply to this proposal, each with its answer, automatic result and whether ``actor`` may
    answer it now (``actor`` must be allowed to see the proposal)."""
    assert proposal.id is not None
    policy = policies.of(ChecklistPolicy)
    items = applying(policy, proposal.kind, route_of(proposal, policies))
    answers = {r.item_key: r for r in responses_of(session, PROPOSAL, [proposal.id])[proposal.id]}
    ctx = access.load_ctx(session, proposal)
    found = facts(session, proposal, policies) if any(i.automatic for i in items) else None
    views = [
        ItemView(
            item=i,
            response=answers.get(i.key),
            auto=automatic.run(i.automatic, found) if i.automatic and found else None,
            refusal=answer_refusal(ctx, i.body.value, actor),
        )
        for i in items
    ]
    progress = [
        StandardProgress(
            standard=s,
            title=title,
            answered=sum(1 for v in views if v.item.standard == s and v.answered),
            total=sum(1 for v in views if v.item.standard == s),
        )
        for s, title in STANDARDS.items()
    ]
    return Checklist(proposal, views, policy.version, [p for p in progress if p.total])


# --- answering -----------------------------------------------------------------------------------------


@dataclass
class Answer:
    """What a person gives for one item (a form or the API)."""

    status: str
    comment: str = ""
    evidence_text: str = ""
    evidence_links: list[str] = field(default_factory=list)
    attachment_ids: list[int] = field(default_factory=list)
    condition_text: str = ""
    condition_due_on: date | None = None
    # A file given with the answer (the page's form): stored as a proposal attachment, under its limits.
    upload: Upload | None = None


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _response_row(session: Session, proposal_id: int, item: Item) -> ChecklistResponse:
    """The item's answer row, created unanswered the first time (two people at once: one insert wins)."""
    stmt = select(ChecklistResponse).where(
        ChecklistResponse.subject_type == PROPOSAL,
        ChecklistResponse.subject_id == proposal_id,
        ChecklistResponse.item_key == item.key,
    )
    row = session.exec(stmt).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = ChecklistResponse(
                subject_type=PROPOSAL,
                subject_id=proposal_id,
                item_key=item.key,
                standard=item.standard,
                body=item.body.value,
            )
            session.add(row)
    except IntegrityError:
        row = session.exec(stmt).one()
    return row


def _validated(
    session: Session, proposal_id: int, given: Answer, auto: automatic.Result | None
) -> tuple[AnswerStatus, dict[str, Any]]:
    if given.status not in {a.value for a in ANSWERS}:
        raise PolicyViolation("Choose met, partly met, not met or not applicable.", errors={"status": "Choose one."})
    status = AnswerStatus(given.status)
    comment, evidence = given.comment.strip(), given.evidence_text.strip()
    limits.refuse_too_long(comment, limits.REASON, "comment", "The reason")
    limits.refuse_too_long(evidence, limits.EVIDENCE, "evidence_text", "The evidence")
    if status is AnswerStatus.not_applicable and not comment:
        raise PolicyViolation(
            "Say why this item does not apply: a reason is required.",
            errors={"comment": "Required for not applicable."},
        )
    if auto is not None and status is not auto.status and status is not AnswerStatus.not_applicable and not comment:
        raise PolicyViolation(
            f"The automatic check concluded {in_sentence(STATUS_LABELS[auto.status.value])}: "
            "say why you answer otherwise.",
            errors={"comment": "A reason is required to override the automatic check."},
        )
    links = [link.strip() for link in given.evidence_links if link.strip()]
    if len(links) > 20:
        raise PolicyViolation("Give at most 20 links.", errors={"evidence_links": "At most 20."})
    for link in links:
        if not link.startswith(("https://", "http://")) or len(link) > limits.LIST_ITEM or " " in link:
            raise PolicyViolation(
                f"'{link[:80]}' is not a web address (it must start with https://).",
                errors={"evidence_links": "One web address per line."},
            )
    files = sorted(set(given.attachment_ids))
    if files:
        known = set(
            session.exec(
                select(Attachment.id).where(Attachment.proposal_id == proposal_id, col(Attachment.id).in_(files))
            )
        )
        if known != set(files):
            raise PolicyViolation("Choose files attached to this proposal.", errors={"attachment_ids": "Unknown file."})
    condition, due = "", None
    if status is AnswerStatus.not_met and (given.condition_text.strip() or given.condition_due_on):
        condition = given.condition_text.strip()
        limits.refuse_too_long(condition, limits.CONDITION_TEXT, "condition_text", "The condition")
        if not condition:
            raise PolicyViolation("Write the condition of approval.", errors={"condition_text": "Required."})
        if given.condition_due_on is None or given.condition_due_on <= date.today():
            raise PolicyViolation(
                "A condition of approval needs a due date in the future.",
                errors={"condition_due_on": "Give a future date."},
            )
        due = given.condition_due_on
    fields = {
        "comment": comment,
        "evidence_text": evidence,
        "evidence_links": links,
        "attachment_ids": files,
        "condition_text": condition,
        "condition_due_on": due,
        "automatic": auto.as_json() if auto else None,
    }
    return status, fields


def answer(session: Session, proposal_id: int, key: str, actor: Actor, policies: Policies, given: Answer) -> ItemView:
    """Answer one item (first time, or again): locked, checked, audited and announced by the workflow core."""
    proposal = access.get_proposal(session, proposal_id, actor)
    policy = policies.of(ChecklistPolicy)
    item = next((i for i in applying(policy, proposal.kind, route_of(proposal, policies)) if i.key == key), None)
    if item is None:
        raise NotFound(f"This checklist has no item '{key}'.")
    ctx = access.load_ctx(session, proposal)
    error = answer_refusal(ctx, item.body.value, actor)  # before anything is written
    if error is not None:
        raise error
    row = _response_row(session, proposal_id, item)
    assert row.id is not None
    locked = core.lock(session, ANSWER, row.id, actor)
    auto = automatic.run(item.automatic, facts(session, proposal, policies)) if item.automatic else None
    status, fields = _validated(session, proposal_id, given, auto)
    if given.upload is not None and given.upload.filename:
        stored = attachments.store(
            session,
            proposal_id,
            actor,
            policies,
            role=access.role_of(ctx, actor),
            filename=given.upload.filename,
            content_type=given.upload.content_type,
            data=given.upload.data,
            description=f"Evidence for the ESG checklist item '{item.title}'",
        )
        assert stored.id is not None
        fields["attachment_ids"] = sorted({*fields["attachment_ids"], stored.id})
    fields |= {
        "item_version": item.version,
        "policy_version": policy.version,
        "item_snapshot": {
            "title": item.title,
            "guidance": item.guidance,
            "mandatory": item.mandatory,
            "standard": item.standard,
            "body": item.body.value,
        },
    }
    core.fire(
        session,
        locked,
        "answer",
        actor,
        policies,
        comment=fields["comment"],
        data={"proposal_id": proposal_id, "item": key, "item_version": item.version, "status": status.value},
        status=status.value,
        fields=fields,
    )
    return ItemView(item=item, response=locked.row, auto=auto, refusal=None)


# --- the gate on a body's decision ---------------------------------------------------------------------


@dataclass
class Gate:
    body: str
    enforced: bool
    missing: list[Item]  # mandatory, unanswered
    not_met: list[Item]  # answered "not met" and not made a condition of approval
    conditions: list[dict[str, Any]]  # what the "not met" answers made conditions become: {text, due_on}

    @property
    def blocks(self) -> bool:
        return self.enforced and bool(self.missing or self.not_met)

    @property
    def message(self) -> str:
        label = in_sentence(body_label(self.body))
        parts = []
        if self.missing:
            parts.append("these mandatory items are unanswered: " + "; ".join(_name(i) for i in self.missing))
        if self.not_met:
            parts.append(
                "these items are not met and not made a condition of approval: "
                + "; ".join(_name(i) for i in self.not_met)
            )
        return f"The {label} cannot approve yet: " + ", and ".join(parts) + "."


def _name(item: Item) -> str:
    return f"{item.standard} {item.title}"


def gate(session: Session, proposal: Proposal, body: str, policies: Policies) -> Gate:
    assert proposal.id is not None
    policy = policies.of(ChecklistPolicy)
    items = [i for i in applying(policy, proposal.kind, route_of(proposal, policies)) if i.body.value == body]
    answers = {r.item_key: r for r in responses_of(session, PROPOSAL, [proposal.id])[proposal.id]}
    missing, not_met, conditions = [], [], []
    for item in items:
        response = answers.get(item.key)
        status = response.status if response else AnswerStatus.unanswered
        if status == AnswerStatus.unanswered:
            if item.mandatory:
                missing.append(item)
        elif status == AnswerStatus.not_met and response is not None:
            if response.condition_text and response.condition_due_on:
                conditions.append(
                    {
                        "text": f"ESG {item.standard}, {item.title}: {response.condition_text}",
                        "due_on": response.condition_due_on.isoformat(),
                    }
                )
            else:
                not_met.append(item)
    return Gate(body, policy.gate_decisions, missing, not_met, conditions)


def require_gate(session: Session, proposal: Proposal, body: str, policies: Policies) -> Gate:
    """The gate, or a 422 listing by name what stops ``body`` approving."""
    found = gate(session, proposal, body, policies)
    if found.blocks:
        raise PolicyViolation(found.message, errors={"choice": "Complete the checklist first."})
    return found


def snapshot(session: Session, proposal: Proposal, body: str, policies: Policies) -> list[dict[str, Any]]:
    """The body's checklist as it stands: stored on its decision, unchanged by later answers or policy edits."""
    assert proposal.id is not None
    policy = policies.of(ChecklistPolicy)
    items = [i for i in applying(policy, proposal.kind, route_of(proposal, policies)) if i.body.value == body]
    answers = {r.item_key: r for r in responses_of(session, PROPOSAL, [proposal.id])[proposal.id]}
    rows = []
    for item in items:
        r = answers.get(item.key)
        rows.append(
            {
                "key": item.key,
                "standard": item.standard,
                "title": str(r.item_snapshot.get("title", item.title)) if r and r.answered_at else item.title,
                "mandatory": item.mandatory,
                "status": r.status if r else AnswerStatus.unanswered.value,
                "item_version": r.item_version if r and r.answered_at else item.version,
                "comment": r.comment if r else "",
                "answered_by_id": r.answered_by_id if r else None,
                "answered_at": r.answered_at.isoformat() if r and r.answered_at else None,
                "automatic": r.automatic if r else None,
            }
        )
    return rows
