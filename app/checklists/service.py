"""The ESG checklist of a subject: which items apply, their answers and automatic results, answering through the
workflow core, and the gate on a body's decision or a review's outcome.

Two kinds of subject own a checklist, through one mechanism (the same answer lifecycle, page, API and checks):

- a proposal (``ProposalOwner``): the items of its kind and route; each body answers its own items while it decides
  the proposal, and the gate stops that body approving;
- a periodic review (``ReviewOwner``): the items whose contexts include ``review``; the QA office answers them while
  the review is in QA assessment (the owner reads them), the automatic checks read the micro-credential's current
  published edition, and the gate stops the outcome (``review_gate``).

Query API (for the checklist page, its JSON twin, reports and the coverage matrix):

- ``applying(policy, kind, route)``: the items of a proposal of this kind and route, in policy order;
- ``checklist_of(session, subject, actor, policies)``: one proposal's or review's checklist (``Checklist``: items
  with their answer, automatic result and whether this person may answer; progress per standard and overall);
- ``load_owner(session, subject_type, subject_id, actor)``: what owns a checklist, 404 for who may not see it;
- ``responses_of(session, subject_type, subject_ids)``: the stored answers of many subjects at once, by subject;
- ``gate(session, proposal, body, policies)``: what stops ``body`` approving (``Gate``), and the conditions its
  "not met" answers become; ``review_gate(session, review, policies, outcome)``: what stops that outcome;
  ``snapshot(...)``: the body's (or review's) checklist as it stands, stored on its decision (or outcome).

An answer keeps the item's version and text as answered (``ChecklistResponse.item_snapshot``): a changed policy
shows the old answer with its old text, flagged as answering an earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from app import limits
from app.approvals import access
from app.approvals.policy import ApprovalPolicy
from app.catalogue.models import Credential, CredentialVersion
from app.checklists import automatic
from app.checklists.models import ChecklistResponse
from app.checklists.policy import BODY_LABELS, STANDARDS, Body, ChecklistPolicy, Context, Item
from app.errors import DomainError, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.org.models import CommitteeKind
from app.policies import Policies
from app.proposals import attachments
from app.proposals import elements as el
from app.proposals.models import Attachment, Proposal
from app.reviews import access as review_access
from app.reviews.models import Review
from app.security import Actor
from app.text import in_sentence
from app.workflows import checklist as answer_workflow
from app.workflows import core
from app.workflows.approval import REVIEW_STATES
from app.workflows.checklist import ANSWERS, AnswerStatus, ChecklistAnswerWorkflow
from app.workflows.reviews import OUTCOME_LABELS, Outcome, ReviewStatus

PROPOSAL = "proposal"  # the subject type of a proposal's checklist
REVIEW = "review"  # the subject type of a periodic review's checklist
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
        rows = session.exec(_RESPONSES_OF, params={"subject_type": subject_type, "ids": subject_ids})
        for row in rows:
            found[row.subject_id].append(row)
    return found


_RESPONSES_OF = (
    select(ChecklistResponse)
    .where(
        ChecklistResponse.subject_type == bindparam("subject_type"),
        col(ChecklistResponse.subject_id).in_(bindparam("ids", expanding=True)),
    )
    .order_by(col(ChecklistResponse.id))
)
_EVIDENCE_FILES = select(func.count()).select_from(Attachment).where(Attachment.proposal_id == bindparam("proposal_id"))


def _evidence_files(session: Session, proposal_id: int | None) -> int:
    if proposal_id is None:
        return 0
    return session.exec(_EVIDENCE_FILES, params={"proposal_id": proposal_id}).one()


def facts(session: Session, proposal: Proposal, policies: Policies) -> automatic.Facts:
    elements, _ = el.parse(proposal.content)
    return automatic.Facts(
        session=session,
        policies=policies,
        elements=elements,
        kind=el.Kind(proposal.kind),
        credential_id=proposal.credential_id,
        attachments=_evidence_files(session, proposal.id),
        content_hash=automatic.fingerprint(proposal.content),
    )


# --- who may answer: the answer lifecycle ---------------------------------------------------------------


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


def review_answer_refusal(ctx: review_access.Ctx, actor: Actor) -> DomainError | None:
    """Why this person may not answer a review's item now: the owner reads only and nobody outside the QA office
    answers (403); the QA office answers while the review is in QA assessment, and nobody after its outcome (409)."""
    review = ctx.review
    assert review is not None
    if actor.id == ctx.owner_id:
        return PermissionDenied("You see this checklist read-only: the QA office answers a review's items.")
    if not actor.in_qa_office:
        return PermissionDenied("Only the QA office answers a review's checklist.")
    if review.status == ReviewStatus.closed:
        return TransitionNotAllowed("The outcome of this review is recorded: its checklist is closed.")
    if review.status != ReviewStatus.in_assessment:
        return TransitionNotAllowed("The QA office answers this checklist once the review is in QA assessment.")
    return None


@dataclass
class ProposalOwner:
    """A proposal's checklist: the items of its kind and route, each answered by its body while it decides."""

    ctx: access.Ctx
    type: ClassVar[str] = PROPOSAL
    uploads: ClassVar[bool] = True  # a file given with an answer is added to the proposal's evidence files
    conditions: ClassVar[bool] = True  # a "not met" may become a condition of approval
    files_label: ClassVar[str] = "this proposal"
    noun: ClassVar[str] = "proposal"  # what the automatic checks read

    @property
    def row(self) -> Proposal:
        return self.ctx.proposal

    @property
    def id(self) -> int:
        return self.ctx.proposal.id or 0

    @property
    def title(self) -> str:
        return self.ctx.proposal.title or "Untitled proposal"

    @property
    def url(self) -> str:
        return f"/proposals/{self.id}"

    @property
    def evidence_of(self) -> int | None:
        """The proposal whose files are the evidence."""
        return self.id

    def items(self, policies: Policies) -> list[Item]:
        return applying(policies.of(ChecklistPolicy), self.ctx.proposal.kind, route_of(self.ctx.proposal, policies))

    def may_see(self, actor: Actor) -> bool:
        return access._may_view(self.ctx.proposal, self.ctx.proposer_ids, actor)

    def refusal(self, body: str, actor: Actor) -> DomainError | None:
        return answer_refusal(self.ctx, body, actor)

    def role_of(self, actor: Actor | None) -> str:
        return access.role_of(self.ctx, actor)

    def facts(self, session: Session, policies: Policies) -> automatic.Facts:
        return facts(session, self.ctx.proposal, policies)


@dataclass
class ReviewOwner:
    """A periodic review's checklist: the items whose contexts include ``review``, answered by the QA office during
    the assessment; the automatic checks read the micro-credential's current published edition, whose proposal's
    files are the evidence one may choose."""

    ctx: review_access.Ctx
    edition: CredentialVersion | None
    type: ClassVar[str] = REVIEW
    uploads: ClassVar[bool] = False
    conditions: ClassVar[bool] = False  # a "not met" is answered by the outcome (actions, a revision...)
    files_label: ClassVar[str] = "the published edition"
    noun: ClassVar[str] = "micro-credential"

    @property
    def row(self) -> Review:
        assert self.ctx.review is not None
        return self.ctx.review

    @property
    def id(self) -> int:
        return self.row.id or 0

    @property
    def title(self) -> str:
        kind = "Full review" if self.row.kind == "full" else "Monitoring report"
        return f"{kind}: {self.ctx.credential.title}"

    @property
    def url(self) -> str:
        return f"/reviews/{self.id}"

    @property
    def evidence_of(self) -> int | None:
        return self.edition.proposal_id if self.edition else None

    def items(self, policies: Policies) -> list[Item]:
        return [i for i in policies.of(ChecklistPolicy).items if Context.review in i.contexts]

    def may_see(self, actor: Actor) -> bool:
        return review_access.REVIEW.can_see(self.ctx, actor)

    def refusal(self, body: str, actor: Actor) -> DomainError | None:
        return review_answer_refusal(self.ctx, actor)

    def role_of(self, actor: Actor | None) -> str:
        return review_access.REVIEW.role_of(self.ctx, actor)

    def facts(self, session: Session, policies: Policies) -> automatic.Facts:
        content = self.edition.content if self.edition else {}
        elements, _ = el.parse(content)
        return automatic.Facts(
            session=session,
            policies=policies,
            elements=elements,
            kind=el.Kind(self.ctx.credential.kind),
            credential_id=self.ctx.credential.id,
            attachments=_evidence_files(session, self.evidence_of),
            content_hash=automatic.fingerprint(content),
        )


Owner = ProposalOwner | ReviewOwner


def owner_for(session: Session, subject: Proposal | Review, ctx: access.Ctx | None = None) -> Owner:
    """What owns the checklist of this proposal or review (the caller has checked who may see it); ``ctx``: the
    proposal's, when the caller has loaded it already."""
    if isinstance(subject, Proposal):
        return ProposalOwner(ctx if ctx is not None and ctx.proposal is subject else access.load_ctx(session, subject))
    credential = session.get_one(Credential, subject.credential_id)
    edition = session.exec(
        select(CredentialVersion).where(
            CredentialVersion.credential_id == credential.id,
            CredentialVersion.version_no == credential.current_version_no,
        )
    ).first()
    return ReviewOwner(review_access.Ctx(credential, subject), edition)


def load_owner(session: Session, subject_type: str, subject_id: int, actor: Actor) -> Owner:
    """The owner of a checklist, by type and id: a 404 for someone who may not see it."""
    if subject_type == PROPOSAL:
        found = core.read(session, access.PROPOSAL, subject_id, actor)  # the proposal and its context: one statement
        return owner_for(session, found.row, found.ctx)
    review = session.get(Review, subject_id) if subject_type == REVIEW else None
    owner = owner_for(session, review) if review is not None else None
    if owner is None or not owner.may_see(actor):
        raise NotFound(f"There is no review {subject_id} that you can see.")
    return owner


@dataclass
class AnswerCtx:
    response: ChecklistResponse
    owner: Owner


def _answer_ctx(session: Session, response: ChecklistResponse) -> AnswerCtx:
    subject: Proposal | Review = (
        session.get_one(Proposal, response.subject_id)
        if response.subject_type == PROPOSAL
        else session.get_one(Review, response.subject_id)
    )
    return AnswerCtx(response, owner_for(session, subject))


ANSWER: core.Lifecycle[ChecklistResponse, AnswerCtx] = core.register(
    core.Lifecycle(
        name="checklist_answer",
        model=ChecklistResponse,
        machine=ChecklistAnswerWorkflow,
        context=_answer_ctx,
        can_see=lambda ctx, actor: ctx.owner.may_see(actor),
        refusal=lambda ctx, _event, actor: ctx.owner.refusal(ctx.response.body, actor),
        role_of=lambda ctx, actor: ctx.owner.role_of(actor),
        policy_version=lambda policies: policies.of(ChecklistPolicy).version,
        participles=answer_workflow.PARTICIPLES,
    )
)


# --- one subject's checklist ---------------------------------------------------------------------------


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
    owner: Owner
    items: list[ItemView]
    policy_version: str
    by_standard: list[StandardProgress] = field(default_factory=list)

    @property
    def proposal(self) -> Proposal:
        """The proposal owning it (a proposal's checklist only)."""
        assert isinstance(self.owner, ProposalOwner)
        return self.owner.row

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


def checklist_of(session: Session, subject: Proposal | Review, actor: Actor, policies: Policies) -> Checklist:
    """The items that apply to this proposal or review, each with its answer, automatic result and whether ``actor``
    may answer it now (``actor`` must be allowed to see the subject)."""
    return checklist_for(session, owner_for(session, subject), actor, policies)


def checklist_for(session: Session, owner: Owner, actor: Actor, policies: Policies) -> Checklist:
    """``checklist_of`` for an owner already loaded (``load_owner``)."""
    policy = policies.of(ChecklistPolicy)
    items = owner.items(policies)
    answers = {r.item_key: r for r in responses_of(session, owner.type, [owner.id])[owner.id]}
    wanted = [i.automatic for i in items if i.automatic]
    autos = automatic.results(wanted, owner.facts(session, policies)) if wanted else {}
    views = [
        ItemView(
            item=i,
            response=answers.get(i.key),
            auto=autos[i.automatic] if i.automatic else None,
            refusal=owner.refusal(i.body.value, actor),
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
    return Checklist(owner, views, policy.version, [p for p in progress if p.total])


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


def _create_response(session: Session, item: Item, key: dict[str, Any]) -> None:
    """The item's answer row, unanswered, the first time it is answered (two people at once: the unique key keeps
    one; the other's insert does nothing)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        **key,
        "standard": item.standard,
        "body": item.body.value,
        "status": AnswerStatus.unanswered.value,
        "item_version": "",
        "policy_version": "",
        "item_snapshot": {},
        "comment": "",
        "evidence_text": "",
        "evidence_links": [],
        "attachment_ids": [],
        "condition_text": "",
        "lock_version": 1,
    }
    session.execute(
        insert(ChecklistResponse)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["subject_type", "subject_id", "item_key"])
    )


def _validated(
    session: Session, owner: Owner, given: Answer, auto: automatic.Result | None
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
                select(Attachment.id).where(
                    Attachment.proposal_id == (owner.evidence_of or 0), col(Attachment.id).in_(files)
                )
            )
        )
        if known != set(files):
            raise PolicyViolation(
                f"Choose files attached to {owner.files_label}.", errors={"attachment_ids": "Unknown file."}
            )
    if not owner.conditions and (given.condition_text.strip() or given.condition_due_on):
        raise PolicyViolation(
            "A review's item does not become a condition of approval: an item not met is answered by the outcome "
            "(actions, a revision, a suspension).",
            errors={"condition_text": "Leave it empty."},
        )
    if not owner.uploads and given.upload is not None and given.upload.filename:
        raise PolicyViolation(
            "Files cannot be attached to a review's checklist: link to the evidence or choose a file of "
            f"{owner.files_label}.",
            errors={"file": "Not here."},
        )
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


def answer(
    session: Session,
    subject_id: int,
    key: str,
    actor: Actor,
    policies: Policies,
    given: Answer,
    *,
    subject_type: str = PROPOSAL,
    owner: Owner | None = None,
) -> ItemView:
    """Answer one item of a proposal's (or, with ``subject_type=REVIEW``, a review's) checklist, first time or
    again: locked, checked, audited and announced by the workflow core. ``owner``: the checklist's owner, when
    the caller has loaded it already (``load_owner``)."""
    if owner is None:
        owner = load_owner(session, subject_type, subject_id, actor)
    policy = policies.of(ChecklistPolicy)
    item = next((i for i in owner.items(policies) if i.key == key), None)
    if item is None:
        raise NotFound(f"This checklist has no item '{key}'.")
    error = owner.refusal(item.body.value, actor)  # before anything is written
    if error is not None:
        raise error
    known = owner  # read above in this transaction: the lock need not read it again
    row_key = {"subject_type": owner.type, "subject_id": owner.id, "item_key": item.key}
    locked = core.lock_by(session, ANSWER, row_key, actor, context=lambda row: AnswerCtx(row, known))
    if locked is None:  # the item's first answer: its row is made, then locked like any other
        _create_response(session, item, row_key)
        locked = core.lock_by(session, ANSWER, row_key, actor, context=lambda row: AnswerCtx(row, known))
        assert locked is not None
    auto = (
        automatic.results([item.automatic], owner.facts(session, policies))[item.automatic] if item.automatic else None
    )
    status, fields = _validated(session, owner, given, auto)
    if given.upload is not None and given.upload.filename and owner.evidence_of is not None:
        stored = attachments.store(
            session,
            owner.evidence_of,
            actor,
            policies,
            role=owner.role_of(actor),
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
    if _same_answer(locked.row, status.value, fields, actor):  # a double submit: the answer stands as it is
        return ItemView(item=item, response=locked.row, auto=auto, refusal=None)
    core.fire(
        session,
        locked,
        "answer",
        actor,
        policies,
        comment=fields["comment"],
        data={f"{owner.type}_id": owner.id, "item": key, "item_version": item.version, "status": status.value},
        status=status.value,
        fields=fields,
    )
    return ItemView(item=item, response=locked.row, auto=auto, refusal=None)


def _same_answer(row: ChecklistResponse, status: str, fields: dict[str, Any], actor: Actor) -> bool:
    """The answer this person gave last, again, word for word and under the same item and policy version (a double
    click, a form sent twice): nothing to record."""
    return (
        row.answered_by_id == actor.id
        and row.status == status
        and all(getattr(row, name) == value for name, value in fields.items())
    )


# --- the gate on a body's decision, or a review's outcome ----------------------------------------------


@dataclass
class Gate:
    body: str  # the deciding body, or "review"
    enforced: bool
    missing: list[Item]  # mandatory, unanswered
    not_met: list[Item]  # answered "not met" (a proposal's: and not made a condition of approval)
    conditions: list[dict[str, Any]]  # what the "not met" answers made conditions become: {text, due_on}
    # A review: the outcomes that may follow an item "not met" (policy), and the outcome asked for (None: not yet).
    after_not_met: tuple[str, ...] | None = None
    outcome: str | None = None

    @property
    def not_met_blocks(self) -> bool:
        if self.after_not_met is None:
            return bool(self.not_met)  # a body approving: each must be made a condition of approval
        return bool(self.not_met) and self.outcome is not None and self.outcome not in self.after_not_met

    @property
    def blocks(self) -> bool:
        return self.enforced and bool(self.missing or self.not_met_blocks)

    @property
    def after_not_met_labels(self) -> str:
        labels = [in_sentence(OUTCOME_LABELS[Outcome(o)]) for o in self.after_not_met or ()]
        return ", ".join(labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1] if labels else ""

    @property
    def message(self) -> str:
        missing = "; ".join(_name(i) for i in self.missing)
        not_met = "; ".join(_name(i) for i in self.not_met)
        parts = []
        if self.body == Body.review:
            if self.missing:
                parts.append("these mandatory items of the review checklist are unanswered: " + missing)
            if self.not_met_blocks:
                parts.append(f"these items are not met, so the outcome must be {self.after_not_met_labels}: {not_met}")
            return "The outcome cannot be recorded yet: " + ", and ".join(parts) + "."
        if self.missing:
            parts.append("these mandatory items are unanswered: " + missing)
        if self.not_met:
            parts.append("these items are not met and not made a condition of approval: " + not_met)
        return f"The {in_sentence(body_label(self.body))} cannot approve yet: " + ", and ".join(parts) + "."


def _name(item: Item) -> str:
    return f"{item.standard} {item.title}"


def _answers(session: Session, owner: Owner) -> dict[str, ChecklistResponse]:
    return {r.item_key: r for r in responses_of(session, owner.type, [owner.id])[owner.id]}


def _items_of(owner: Owner, body: str | None, policies: Policies) -> list[Item]:
    """A proposal's items that ``body`` answers; every item of a review's checklist."""
    return [i for i in owner.items(policies) if body is None or i.body.value == body]


def _unfinished(
    items: list[Item], answers: dict[str, ChecklistResponse], conditions: list[dict[str, Any]] | None
) -> tuple[list[Item], list[Item]]:
    """The mandatory items unanswered, and the items answered "not met" (less those made a condition of approval,
    which are added to ``conditions`` when it is given)."""
    missing, not_met = [], []
    for item in items:
        response = answers.get(item.key)
        status = response.status if response else AnswerStatus.unanswered
        if status == AnswerStatus.unanswered:
            if item.mandatory:
                missing.append(item)
        elif status == AnswerStatus.not_met and response is not None:
            if conditions is not None and response.condition_text and response.condition_due_on:
                conditions.append(
                    {
                        "text": f"ESG {item.standard}, {item.title}: {response.condition_text}",
                        "due_on": response.condition_due_on.isoformat(),
                    }
                )
            else:
                not_met.append(item)
    return missing, not_met


def gate(session: Session, proposal: Proposal, body: str, policies: Policies, ctx: access.Ctx | None = None) -> Gate:
    owner = owner_for(session, proposal, ctx)
    conditions: list[dict[str, Any]] = []
    missing, not_met = _unfinished(_items_of(owner, body, policies), _answers(session, owner), conditions)
    return Gate(body, policies.of(ChecklistPolicy).gate_decisions, missing, not_met, conditions)


def require_gate(session: Session, proposal: Proposal, body: str, policies: Policies) -> Gate:
    """The gate, or a 422 listing by name what stops ``body`` approving."""
    found = gate(session, proposal, body, policies)
    if found.blocks:
        raise PolicyViolation(found.message, errors={"choice": "Complete the checklist first."})
    return found


def review_gate(session: Session, review: Review, policies: Policies, outcome: str | None = None) -> Gate:
    """What stops the QA office recording ``outcome`` (None: any outcome): a mandatory review item unanswered, or
    an item "not met" with an outcome the policy does not allow after one (plain "continue")."""
    owner = owner_for(session, review)
    policy = policies.of(ChecklistPolicy)
    missing, not_met = _unfinished(_items_of(owner, None, policies), _answers(session, owner), None)
    allowed = tuple(o.value for o in policy.review_outcomes_after_not_met)
    return Gate(Body.review.value, policy.gate_decisions, missing, not_met, [], allowed, outcome)


def require_review_gate(session: Session, review: Review, outcome: str, policies: Policies) -> Gate:
    """The review's gate for this outcome, or a 422 naming the items that stop it."""
    found = review_gate(session, review, policies, outcome)
    if found.blocks:
        field_error = "Complete the checklist first." if found.missing else "Choose an outcome that answers them."
        raise PolicyViolation(found.message, errors={"outcome": field_error})
    return found


def snapshot(
    session: Session, subject: Proposal | Review, body: str | None, policies: Policies
) -> list[dict[str, Any]]:
    """The body's checklist (a review's: all of it) as it stands: stored on the body's decision or the review's
    outcome, unchanged by later answers or policy edits."""
    owner = owner_for(session, subject)
    answers = _answers(session, owner)
    rows = []
    for item in _items_of(owner, None if owner.type == REVIEW else body, policies):
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
