"""HTML pages for proposals: my proposals, the proposal form with inline checks, the proposal page with its
decision panel and its actions (votes, conditions, comments, attachments, revisions). Handlers are thin: parse,
call one service function, render; a refused action re-renders the same page or fragment with the reason."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app import limits
from app.approvals import access, history, queries
from app.approvals import service as approvals
from app.approvals.models import Condition
from app.approvals.policy import ApprovalPolicy
from app.approvals.voting import CHOICE_LABELS, Choice
from app.approvals.workflow_diagram import POSITION_WORDS, banner, steps
from app.audit import timeline as audit_timeline
from app.catalogue import service as catalogue
from app.committees import watching
from app.db import SessionDep, utcnow
from app.errors import DomainError, NotFound, PermissionDenied, PolicyViolation
from app.forms import PostedForm, domain_errors
from app.forms.proposal import content_to_values, parse_proposal_form, require_kind
from app.org import service as org_service
from app.org.models import COMMITTEE_KIND_LABELS, OrgUnit
from app.org.service import require_known_org_unit
from app.pagination import PageDep
from app.policies import Policies, PoliciesDep
from app.proposals import attachments, checks, fragments, service, views
from app.proposals import elements as el
from app.proposals.diff import diff_contents
from app.proposals.display import Lookups, display_list, display_value, load_lookups
from app.proposals.models import Proposal
from app.proposals.policy import CredentialPolicy
from app.routing import page_router
from app.security import Actor, CurrentActor
from app.users.names import expect_names, user_names
from app.web import is_htmx, redirect, render, templates
from app.workflows.approval import ProposalStatus

router = page_router()
SIDE_STATES = {ProposalStatus.changes_requested, ProposalStatus.rejected}


templates.env.filters["element_label"] = lambda name: el.LABELS.get(name, name)


# --- the proposal form ---------------------------------------------------------------------------


def _form_options(
    session: Session, policies: Policies, actor: Actor, values: dict[str, Any], proposal: Proposal | None = None
) -> dict[str, Any]:
    """What the form offers: the faculties the academic may file under and the colleagues they may name as
    co-proposers (``file_under`` and ``co_proposers`` in credentials.yaml), as the service enforces them."""
    programmes, modules = org_service.offered_programmes(
        session, values.get("parent_programme_id"), values.get("parent_module_id")
    )
    faculties = org_service.list_org_units(session)
    if policies.of(CredentialPolicy).file_under == "own_faculty":
        faculties = [u for u in faculties if u.id == actor.org_unit_id]
    if proposal is not None:
        unit: int | None = proposal.org_unit_id
    else:
        try:
            unit = int(values.get("org_unit_id") or actor.org_unit_id or 0) or None
        except (TypeError, ValueError):
            unit = actor.org_unit_id
    posted_kind = str(values.get("kind") or "")
    kind = el.Kind(proposal.kind if proposal else posted_kind if posted_kind in el.Kind.__members__ else "standalone")
    owner = proposal.owner_id if proposal else actor.id
    academics = service.co_proposer_choices(session, policies, unit, kind, exclude=owner).items()
    return {
        "fields": el.FIELDS,
        "sections": list(el.Section),
        "choices": el.CHOICES,
        "eqf_options": [(level, f"EQF level {level}") for level in policies.of(CredentialPolicy).eqf_levels],
        "programmes": [(p.id, f"{p.code} {p.name}") for p in programmes],
        "modules": [
            (p.name, [(m.id, f"{m.code} {m.name} ({m.ects:g} ECTS)") for m in modules[p.id or 0]]) for p in programmes
        ],
        "programme_names": {str(p.id): p.name for p in programmes},
        # The error summary names each field by its label.
        "field_labels": {**el.LABELS, "kind": "Kind", "org_unit_id": "Owning faculty", "co_proposers": "Co-proposers"},
        "faculties": [(u.id, u.name) for u in faculties],
        "academics": list(academics),
        "kinds": el.KIND_LABELS,
        # A revision marks the fields that make it a major change (credentials.yaml).
        "major_fields": set(policies.of(CredentialPolicy).major_change_fields) if _is_revision(proposal) else set(),
    }


def _is_revision(proposal: Proposal | None) -> bool:
    return proposal is not None and proposal.revision_no > 1 and not proposal.submission_count


def _change_type(session: Session, policies: Policies, proposal: Proposal, values: dict[str, Any]) -> dict[str, Any]:
    """Whether the revision, as typed, is major or minor, and the route that takes (templates/_change_type.html)."""
    planned = service.planned_for_values(session, proposal, policies, values)
    return {
        "change_type": planned.change_type,
        "change_route": [COMMITTEE_KIND_LABELS[b] for b in planned.bodies],
    }


def _form_page(
    request: Request,
    session: Session,
    policies: Policies,
    actor: Actor,
    *,
    proposal: Proposal | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    kind = el.Kind(values["kind"]) if values.get("kind") in el.Kind.__members__ else el.Kind.standalone
    check = service.check_values(session, _as_elements(values), policies, kind, proposal.content if proposal else None)
    ctx = {
        **_form_options(session, policies, actor, values, proposal),
        **(_change_type(session, policies, proposal, values) if proposal and _is_revision(proposal) else {}),
        "proposal": proposal,
        "values": values,
        "errors": errors,
        "warnings": check.warnings,
        "check": check,
    }
    return render(request, "proposals/form.html", ctx, status=status)


def _as_elements(values: dict[str, Any]) -> dict[str, Any]:
    """Form values (strings) as element input, dropping empties, for checks while re-rendering."""
    result: dict[str, Any] = {}
    for spec in el.FIELDS:
        value = values.get(spec.name)
        if value not in (None, "", [], {}):
            result[spec.name] = value
    return result


@router.get("/proposals")
def my_proposals(request: Request, session: SessionDep, actor: CurrentActor, page: PageDep) -> Response:
    rows, total = service.my_credentials(session, actor, offset=page.offset, limit=page.limit)
    return render(
        request,
        "proposals/mine.html",
        {"rows": rows, "total": total, "page": page, "labels": access.STATE_LABELS, "kinds": el.KIND_LABELS},
    )


@router.get("/proposals/new")
def new_proposal(
    request: Request, session: SessionDep, actor: CurrentActor, policies: PoliciesDep, kind: str = "standalone"
) -> Response:
    if not actor.is_academic:
        raise PermissionDenied("Only academics can propose micro-credentials.")
    values = content_to_values(service.default_content(session, policies))
    values.update(
        kind=kind if kind in el.Kind.__members__ else "standalone", org_unit_id=actor.org_unit_id or "", co_proposers=[]
    )
    return _form_page(request, session, policies, actor, proposal=None, values=values, errors={})


@router.post("/proposals/new")
def create_proposal(
    request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    form = parse_proposal_form(posted)
    try:
        require_known_org_unit(session, form.org_unit_id)
        proposal, _ = service.create_proposal(
            session,
            actor,
            policies,
            kind=require_kind(form),
            values=form.elements,
            org_unit_id=form.org_unit_id,
            co_proposer_ids=form.co_proposers,
        )
    except DomainError as exc:
        return _form_page(
            request, session, policies, actor, proposal=None, values=form.values, errors=domain_errors(exc), status=422
        )
    return redirect(request, f"/proposals/{proposal.id}", message="Draft saved.")


@router.post("/proposals/check")
def check_field(
    request: Request,
    posted: PostedForm,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    field: str = "",
) -> Response:
    """Inline validation while typing: the field's fragment (422 when invalid) and the completeness meter."""
    form = parse_proposal_form(posted)
    revision_id = str(posted.get("revision_id") or "")
    revision = access.get_proposal(session, int(revision_id), actor) if revision_id.isdigit() else None
    kind = form.kind or el.Kind.standalone
    check = service.check_values(session, form.elements, policies, kind, revision.content if revision else None)
    spec = el.FIELD_BY_NAME.get(field)
    required = policies.of(CredentialPolicy).required_fields
    ctx = {
        **_form_options(session, policies, actor, form.values, revision),
        **(_change_type(session, policies, revision, form.elements) if revision and _is_revision(revision) else {}),
        "kind_fields": {
            *required.get("standalone", []),
            *required.get("unbundled", []),
        },
        "values": form.values,
        "errors": check.errors,
        "warnings": check.warnings,
        "check": check,
        "spec": spec,
    }
    status = 422 if spec is not None and spec.name in check.errors else 200
    return render(request, "proposals/_check.html", ctx, status=status)


@router.get("/proposals/{proposal_id}/edit")
def edit_proposal(
    request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    proposal = access.get_proposal(session, proposal_id, actor)
    ctx = access.load_ctx(session, proposal)
    refusal = access.refusal(ctx, "edit", actor)
    if refusal is not None:
        raise refusal
    values = content_to_values(proposal.content)
    values.update(
        kind=proposal.kind,
        org_unit_id=proposal.org_unit_id,
        co_proposers=[str(u) for u in sorted(ctx.proposer_ids - {proposal.owner_id})],
    )
    return _form_page(request, session, policies, actor, proposal=proposal, values=values, errors={})


@router.post("/proposals/{proposal_id}/edit")
def save_proposal(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    proposal = access.get_proposal(session, proposal_id, actor)
    form = parse_proposal_form(posted)
    form.values["kind"] = proposal.kind
    try:
        service.update_proposal(session, proposal_id, actor, policies, form.elements, form.co_proposers)
    except DomainError as exc:
        return _form_page(
            request,
            session,
            policies,
            actor,
            proposal=proposal,
            values=form.values,
            errors=domain_errors(exc),
            status=422,
        )
    return redirect(request, f"/proposals/{proposal_id}", message="Changes saved.")


# --- the proposal page ---------------------------------------------------------------------------


def redlines_of(
    session: Session, proposal: Proposal, known: Lookups | None = None
) -> tuple[list[tuple[str, Any, list[history.Answer]]], Lookups]:
    """What changed, as (caption, diffs, answers to the points raised): the last submission against the one
    before, and the proposal against the published edition (the proposal page and the meeting pack show the
    same); with the names of the programmes and modules the proposal and the compared contents refer to (besides
    those ``known``), read in one query."""
    assert proposal.id is not None
    versions = views.latest_versions(session, proposal.id, 2)
    published = catalogue.published_content(session, proposal.credential_id)
    lookups = load_lookups(session, [proposal.content, *(v.content for v in versions), published], known)
    # Each redline with the proposer's answers to the points raised, shown beside it.
    redlines: list[tuple[str, Any, list[history.Answer]]] = []
    if len(versions) >= 2:
        redlines.append(
            (
                f"Changes in submission {versions[-1].version_no} against submission {versions[-2].version_no}",
                diff_contents(versions[-2].content, versions[-1].content, lookups),
                history.answers_with(session, proposal, versions[-1].version_no),
            )
        )
    if published is not None and proposal.status != ProposalStatus.published:
        redlines.append(
            ("Changes against the published edition", diff_contents(published, proposal.content, lookups), [])
        )
    return redlines, lookups


def _page_context(v: fragments.Viewing) -> dict[str, Any]:
    """The page around the fragments (facts, workflow, elements, changes, decisions), and every fragment's."""
    session, proposal, ctx, policies = v.session, v.proposal, v.access, v.policies
    expect_names(session, ctx.proposer_ids)  # read with the voters' names
    elements, _ = el.parse(proposal.content)
    check = checks.check(elements, policies.of(CredentialPolicy), el.Kind(proposal.kind))
    redlines, lookups = redlines_of(session, proposal)
    route = v.route
    last = next((r for r in reversed(v.rounds) if r.decision is not None), None)
    stopped_at = last.body if last is not None and proposal.status in SIDE_STATES else None
    workflow_steps, side = steps(route, proposal.status, stopped_at)
    approval = policies.of(ApprovalPolicy)
    names = user_names(session, ctx.proposer_ids)
    now = utcnow()
    return {
        **fragments.page_context(v),
        "proposal": proposal,
        "ctx": ctx,
        "status_label": access.STATE_LABELS[proposal.status],
        "body_label": v.body_label,
        "days_in_stage": max(0, (now - proposal.stage_entered_at).days),
        "overdue_days": queries.overdue_days(proposal.stage_due_at, now) if proposal.stage_due_at else 0,
        "owner_name": names.get(proposal.owner_id, "?"),
        "co_proposer_names": [names[u] for u in sorted(ctx.proposer_ids - {proposal.owner_id}) if u in names],
        "faculty": faculty.name if (faculty := session.get(OrgUnit, proposal.org_unit_id)) else "?",
        "kind_label": el.KIND_LABELS[el.Kind(proposal.kind)],
        "sections": [
            (s, [f for f in el.FIELDS if f.section is s and (proposal.kind == "unbundled" or not f.unbundled_only)])
            for s in el.Section
        ],
        "content": proposal.content,
        "lookups": lookups,
        "display_value": display_value,
        "display_list": display_list,
        "check": check,
        "redlines": redlines,
        "workflow_steps": workflow_steps,
        "position_words": POSITION_WORDS,
        "side": side,
        "banner": banner(
            proposal.status, stopped_at, resubmit_to=approval.resubmit_to, first_body=route[0] if route else None
        ),
        "route_planned": not proposal.submission_count,
        "sent_back": v.sent_back,
        "choices": CHOICE_LABELS,
        "committee_labels": COMMITTEE_KIND_LABELS,
        "watching": watching.is_watching(session, v.proposal_id, v.actor.id),
    }


def _proposal_page(
    request: Request,
    v: fragments.Viewing,
    *,
    fragment: fragments.Fragment | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    confirm: str = "",
) -> Response:
    """The whole page, or only ``fragment`` from its own builder (what htmx swaps in)."""
    refused = {"errors": errors or {}, "values": values or {}, "confirm": confirm}
    if fragment is not None:
        return render(request, fragment.template, {**fragment.build(v), **refused}, status=status)
    return render(request, "proposals/proposal.html", {**_page_context(v), **refused}, status=status)


@router.get("/proposals/{proposal_id}")
def proposal_page(
    request: Request,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    confirm: Annotated[str, Query(max_length=40, description="A confirmation to show open (without JavaScript)")] = "",
) -> Response:
    proposal = access.get_proposal(session, proposal_id, actor)
    viewing = fragments.Viewing(session, proposal, actor, policies, audit_timeline.shown(request))
    return _proposal_page(request, viewing, confirm=confirm)


def _act(
    request: Request,
    form: FormData,
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    action: Any,
    success: str,
    *,
    fragment: fragments.Fragment = fragments.DECISION_PANEL,
) -> Response:
    """Run one action on a proposal; on refusal re-render its fragment (htmx) or the page with the reason."""
    proposal = access.get_proposal(session, proposal_id, actor)
    values = {k: form.get(k) for k in form if k != "csrftoken"}
    try:
        with session.begin_nested():
            action(form)
    except DomainError as exc:
        session.refresh(proposal)
        status = exc.status_code if exc.status_code != 400 else 422
        if is_htmx(request):
            status = 422  # swapped into the page (other 4xx are shown as a toast only)
        return _proposal_page(
            request,
            fragments.Viewing(session, proposal, actor, policies),
            fragment=fragment if is_htmx(request) else None,
            errors=domain_errors(exc),
            values=values,
            status=status,
        )
    return redirect(request, f"/proposals/{proposal_id}", message=success)


# Actions that take the proposal and at most a comment: one handler each, built from this table.
SimpleAction = Callable[[Session, int, Actor, Policies, str], object]
SIMPLE_ACTIONS: dict[str, tuple[SimpleAction, str]] = {
    "withdraw": (lambda s, pid, a, p, c: service.withdraw(s, pid, a, p, c), "The proposal has been withdrawn."),
    "publish": (lambda s, pid, a, p, _c: approvals.publish_by(s, pid, a, p), "Published in the catalogue."),
}


def _simple_action_route(name: str, action: SimpleAction, message: str) -> None:
    def handler(
        request: Request,
        posted: PostedForm,
        proposal_id: int,
        session: SessionDep,
        actor: CurrentActor,
        policies: PoliciesDep,
    ) -> Response:
        def run(form: Any) -> object:
            return action(session, proposal_id, actor, policies, str(form.get("comment") or ""))

        return _act(request, posted, session, proposal_id, actor, policies, run, message)

    handler.__name__ = f"proposal_{name}"
    router.post(f"/proposals/{{proposal_id}}/{name}")(handler)


for _name, (_action, _message) in SIMPLE_ACTIONS.items():
    _simple_action_route(_name, _action, _message)


@router.post("/proposals/{proposal_id}/submit")
def submit(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    def run(form: Any) -> object:
        responses = {k.removeprefix("response-"): str(form.get(k) or "") for k in form if k.startswith("response-")}
        return service.submit(session, proposal_id, actor, policies, responses)

    return _act(
        request, posted, session, proposal_id, actor, policies, run, "Submitted. The body has been asked to review it."
    )


@router.post("/proposals/{proposal_id}/votes")
def vote(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    def cast(form: Any) -> None:
        choice = str(form.get("choice") or "")
        if choice not in Choice.__members__:
            raise PolicyViolation("Choose your vote.", errors={"choice": "Choose one."})
        comment = str(form.get("comment") or "")
        limits.refuse_too_long(comment, limits.VOTE_COMMENT, "comment", "The comment")
        for text in form.getlist("condition_text"):
            limits.refuse_too_long(str(text), limits.CONDITION_TEXT, "conditions", "A condition")
        conditions = [
            {"text": text, "due_on": due}
            for text, due in zip(form.getlist("condition_text"), form.getlist("condition_due"), strict=False)
        ]
        approvals.cast_vote(
            session,
            proposal_id,
            actor,
            policies,
            choice=Choice(choice),
            comment=comment,
            conditions=conditions,
        )

    return _act(request, posted, session, proposal_id, actor, policies, cast, "Your vote has been recorded.")


@router.post("/proposals/{proposal_id}/comments")
def add_comment(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    def add(form: Any) -> None:
        parent = str(form.get("parent_id") or "")
        if parent and not parent.isdigit():
            raise PolicyViolation("The comment answered is unknown.", errors={"parent_id": "Unknown comment."})
        service.add_comment(session, proposal_id, actor, str(form.get("body") or ""), int(parent) if parent else None)

    return _act(
        request, posted, session, proposal_id, actor, policies, add, "Comment added.", fragment=fragments.COMMENTS
    )


@router.post("/proposals/{proposal_id}/attachments")
def attach(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    def add(form: Any) -> None:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            upload = UploadFile(file=io.BytesIO(b""), filename="")
        attachments.add(
            session,
            proposal_id,
            actor,
            policies,
            filename=upload.filename or "",
            content_type=upload.content_type or "",
            data=upload.file.read(),
            description=str(form.get("description") or ""),
        )

    return _act(
        request, posted, session, proposal_id, actor, policies, add, "File attached.", fragment=fragments.ATTACHMENTS
    )


@router.get("/attachments/{attachment_id}")
def download(attachment_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return attachments.download(attachments.get(session, attachment_id, actor))


@router.post("/comments/{comment_id}/edit")
def edit_comment(
    request: Request,
    posted: PostedForm,
    comment_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    comment = service.edit_comment(session, comment_id, actor, str(posted.get("body") or ""))
    return redirect(request, f"/proposals/{comment.proposal_id}#comment-{comment_id}", message="Comment updated.")


# A condition's actions: each runs as any action on its proposal (``_act``). Refused, the conditions come back with
# the reason beside that condition's form and what was typed in it; done, the proposal's page with the outcome.
ConditionAction = Callable[[Session, int, Actor, Policies, FormData], object]
CONDITION_ACTIONS: dict[str, tuple[ConditionAction, str]] = {
    "met": (
        lambda s, cid, a, p, f: approvals.mark_condition_met(s, cid, a, p, str(f.get("evidence") or "")),
        "Condition reported as met.",
    ),
    "confirm": (lambda s, cid, a, p, _f: approvals.confirm_condition(s, cid, a, p), "Condition confirmed."),
    "send-back": (
        lambda s, cid, a, p, f: approvals.send_back_condition(s, cid, a, p, str(f.get("comment") or "")),
        "Condition sent back as not met yet.",
    ),
}


def _condition_action_route(name: str, action: ConditionAction, message: str) -> None:
    def handler(
        request: Request,
        posted: PostedForm,
        condition_id: int,
        session: SessionDep,
        actor: CurrentActor,
        policies: PoliciesDep,
    ) -> Response:
        condition = session.get(Condition, condition_id)
        if condition is None:
            raise NotFound(f"There is no condition {condition_id} that you can see.")

        def run(form: FormData) -> object:
            return action(session, condition_id, actor, policies, form)

        proposal_id = condition.proposal_id
        return _act(request, posted, session, proposal_id, actor, policies, run, message, fragment=fragments.CONDITIONS)

    handler.__name__ = f"condition_{name.replace('-', '_')}"
    router.post(f"/conditions/{{condition_id}}/{name}")(handler)


for _name, (_condition_action, _message) in CONDITION_ACTIONS.items():
    _condition_action_route(_name, _condition_action, _message)


@router.post("/proposals/{proposal_id}/effective-date")
def effective_date(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    def run(form: Any) -> object:
        raw = str(form.get("effective_on") or "").strip()
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            message = "Give the date as a calendar date, for example 2027-09-01."
            raise PolicyViolation(message, errors={"effective_on": message}) from None
        return service.set_effective_date(session, proposal_id, actor, policies, day)

    return _act(
        request, posted, session, proposal_id, actor, policies, run, "The date the changes take effect is saved."
    )


@router.post("/credentials/{credential_id}/revisions")
def open_revision(
    request: Request, credential_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    already = service.open_proposal_of(session, credential_id)
    if already is not None and access.can_view(session, already, actor):
        # A second revision is never opened: the one under way is where the work continues.
        message = f"Revision {already.revision_no} is already open: continue it here."
        return redirect(request, f"/proposals/{already.id}", message=message)
    proposal = service.open_revision(session, credential_id, actor, policies)
    return redirect(request, f"/proposals/{proposal.id}/edit", message="Revision opened as a new draft.")
