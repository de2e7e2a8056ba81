"""The ESG checklist page of a proposal or a periodic review: every item that applies, grouped by standard, with
progress; whoever may answer (the members of the body deciding a proposal; the QA office during a review's
assessment) answers its items one by one (htmx swaps the item and the progress in; a plain form post reloads the
page), everybody else who may see the subject reads it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.checklists import service
from app.checklists.policy import BODY_LABELS, STANDARDS
from app.db import SessionDep
from app.errors import DomainError, PolicyViolation
from app.forms import PostedForm, domain_errors
from app.policies import Policies, PoliciesDep
from app.proposals import attachments
from app.proposals.policy import CredentialPolicy
from app.routing import page_router
from app.security import Actor, CurrentActor
from app.users.names import user_names
from app.web import is_htmx, redirect, render, with_toast

router = page_router()


def _context(session: Session, owner: service.Owner, actor: Actor, policies: Policies) -> dict[str, Any]:
    found = service.checklist_for(session, owner, actor, policies)
    standards: dict[str, list[service.ItemView]] = {}
    for view in found.items:
        standards.setdefault(view.item.standard, []).append(view)
    rules = policies.of(CredentialPolicy).attachments
    answerers = {v.response.answered_by_id for v in found.items if v.response and v.response.answered_by_id}
    names = user_names(session, answerers)
    files = attachments.list_for(session, owner.evidence_of) if owner.evidence_of else []
    return {
        "answerer_names": names,
        "owner": found.owner,
        "checklist": found,
        "standards": standards,
        "files": {a.id: a for a in files},
        "status_labels": service.STATUS_LABELS,
        "standard_titles": STANDARDS,
        "body_labels": {b.value: label for b, label in BODY_LABELS.items()},
        "attachment_types": rules.allowed_types,
        "attachment_max_mb": rules.max_mb,
        "item_errors": {},
        "item_values": {},
    }


def _page(
    request: Request, session: Session, subject_type: str, subject_id: int, actor: Actor, policies: Policies
) -> Response:
    owner = service.load_owner(session, subject_type, subject_id, actor)
    return render(request, "checklists/checklist.html", _context(session, owner, actor, policies))


@router.get("/proposals/{proposal_id}/checklist")
def checklist_page(
    request: Request, proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    return _page(request, session, service.PROPOSAL, proposal_id, actor, policies)


@router.get("/reviews/{review_id}/checklist")
def review_checklist_page(
    request: Request, review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    """A periodic review's checklist: the QA office answers it during the assessment; the owner reads it."""
    return _page(request, session, service.REVIEW, review_id, actor, policies)


def _answer_from(form: FormData) -> service.Answer:
    due = str(form.get("condition_due_on") or "").strip()
    try:
        due_on = date.fromisoformat(due) if due else None
    except ValueError:
        raise PolicyViolation(
            "Give the condition's due date as a date.", errors={"condition_due_on": "Not a date."}
        ) from None
    ids = [str(v) for v in form.getlist("attachment_ids")]
    if any(not v.isdigit() for v in ids):
        raise PolicyViolation("Choose files attached to this proposal.", errors={"attachment_ids": "Unknown file."})
    upload = form.get("file")
    given_file = None
    if isinstance(upload, UploadFile) and upload.filename:
        given_file = service.Upload(upload.filename, upload.content_type or "", upload.file.read())
    return service.Answer(
        status=str(form.get("status") or ""),
        comment=str(form.get("comment") or ""),
        evidence_text=str(form.get("evidence_text") or ""),
        evidence_links=str(form.get("evidence_links") or "").splitlines(),
        attachment_ids=[int(v) for v in ids],
        condition_text=str(form.get("condition_text") or ""),
        condition_due_on=due_on,
        upload=given_file,
    )


def _save(
    request: Request,
    posted: FormData,
    subject_type: str,
    subject_id: int,
    key: str,
    session: Session,
    actor: Actor,
    policies: Policies,
) -> Response:
    """Save one item. htmx: the item and the progress are swapped in; a plain post returns to the page. A refusal
    re-renders the item with what was typed and the reason (422)."""
    owner = service.load_owner(session, subject_type, subject_id, actor)
    values: dict[str, Any] = {k: posted.get(k) for k in posted if k not in ("csrftoken", "file")}
    values["attachment_ids"] = [str(v) for v in posted.getlist("attachment_ids")]
    try:
        with session.begin_nested():
            given = _answer_from(posted)
            service.answer(session, subject_id, key, actor, policies, given, subject_type=subject_type, owner=owner)
    except DomainError as exc:
        session.refresh(owner.row)
        ctx = _context(session, owner, actor, policies)
        ctx["checklist"].item(key)  # 404 for an item that is not on this checklist
        ctx["item_errors"], ctx["item_values"] = {key: domain_errors(exc)}, {key: values}
        if is_htmx(request):
            return render(request, "checklists/_saved.html", {**ctx, "view": ctx["checklist"].item(key)}, status=422)
        status = exc.status_code if exc.status_code != 400 else 422
        return render(request, "checklists/checklist.html", ctx, status=status)
    message = "Saved."
    if is_htmx(request):
        ctx = _context(session, owner, actor, policies)
        view = ctx["checklist"].item(key)
        return with_toast(render(request, "checklists/_saved.html", {**ctx, "view": view, "saved": True}), message)
    return redirect(request, f"{owner.url}/checklist#item-{key}", message=message)


@router.post("/proposals/{proposal_id}/checklist/{key}")
def save_item(
    request: Request,
    posted: PostedForm,
    proposal_id: int,
    key: str,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    return _save(request, posted, service.PROPOSAL, proposal_id, key, session, actor, policies)


@router.post("/reviews/{review_id}/checklist/{key}")
def save_review_item(
    request: Request,
    posted: PostedForm,
    review_id: int,
    key: str,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    return _save(request, posted, service.REVIEW, review_id, key, session, actor, policies)
