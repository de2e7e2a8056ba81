"""HTML pages of agendas: the list and a new agenda, one agenda (order with htmx or up/down buttons without
JavaScript, notes, items, publish), its minutes form, and the print-friendly meeting pack (and its PDF)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.approvals.voting import CHOICE_LABELS
from app.committees import agendas
from app.committees.pages import attempt, valid_dates
from app.db import SessionDep
from app.forms import PostedForm, parse_form
from app.pdf import pdf_response, print_response
from app.policies import Policies, PoliciesDep
from app.proposals import elements as el
from app.proposals import views
from app.proposals.display import display_list, display_value, load_lookups
from app.proposals.pages import redlines_of
from app.routing import page_router
from app.security import Actor, CurrentActor
from app.users.names import user_names
from app.web import is_htmx, redirect, render, with_toast
from app.workflows import agenda as agenda_workflow

router = page_router()


class AgendaForm(BaseModel):
    committee_id: int
    meets_on: date
    title: str = Field(default="", max_length=200)


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    committees = agendas.committees_run_by(session, actor)
    ctx = {
        "agendas": agendas.agendas_for(session, actor),
        "committees": [(c.id, c.name) for c in committees],
        "labels": agenda_workflow.LABELS,
        "values": valid_dates(values, "meets_on")
        if values
        else ({"committee_id": committees[0].id} if len(committees) == 1 else {}),
        "errors": errors or {},
    }
    return render(request, "agendas/index.html", ctx, status=status)


@router.get("/agendas")
def agenda_list(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _list_page(request, session, actor)


@router.post("/agendas")
def create_agenda(
    request: Request, posted: PostedForm, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    result = parse_form(AgendaForm, posted)
    if result.data is None:
        return _list_page(request, session, actor, values=result.values, errors=result.errors, status=422)
    data = result.data
    made: list[int] = []
    refused = attempt(
        session,
        lambda: made.append(
            agendas.create(
                session, actor, policies, committee_id=data.committee_id, meets_on=data.meets_on, title=data.title
            ).id
            or 0
        ),
    )
    if refused is not None:
        return _list_page(request, session, actor, values=result.values, errors=refused.errors, status=refused.status)
    return redirect(request, f"/agendas/{made[0]}", message="Agenda drafted with the proposals awaiting the committee.")


def _agenda_context(session: Session, agenda_id: int, actor: Actor) -> dict[str, Any]:
    v = agendas.view(session, agenda_id, actor)
    return {
        "v": v,
        "candidates": agendas.candidates(session, v.agenda) if v.editable else [],
        "outcomes": agendas.OUTCOMES,
        "values": {},
        "errors": {},
    }


def _agenda_page(
    request: Request,
    session: Session,
    agenda_id: int,
    actor: Actor,
    *,
    block: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ctx = {**_agenda_context(session, agenda_id, actor), "values": values or {}, "errors": errors or {}}
    return render(request, "agendas/agenda.html", ctx, block=block, status=status)


@router.get("/agendas/{agenda_id}")
def agenda_page(request: Request, agenda_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return _agenda_page(request, session, agenda_id, actor)


def _revision(form: Any) -> int | None:
    raw = str(form.get("revision") or "")
    return int(raw) if raw.isdigit() else None


def _after_edit(request: Request, session: Session, agenda_id: int, actor: Actor, message: str) -> Response:
    """htmx swaps the items in place; without JavaScript the page is loaded again."""
    if is_htmx(request):
        return with_toast(_agenda_page(request, session, agenda_id, actor, block="items"), message)
    return redirect(request, f"/agendas/{agenda_id}#agenda-items", message=message)


@router.post("/agendas/{agenda_id}/items/{item_id}/move")
def move_item(
    request: Request, posted: PostedForm, agenda_id: int, item_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    by = -1 if posted.get("direction") == "up" else 1
    agendas.move(session, agenda_id, item_id, actor, by=by, revision=_revision(posted))
    return _after_edit(request, session, agenda_id, actor, "Moved " + ("up." if by < 0 else "down."))


@router.post("/agendas/{agenda_id}/items/{item_id}/note")
def annotate_item(
    request: Request, posted: PostedForm, agenda_id: int, item_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    agendas.annotate(session, agenda_id, item_id, actor, str(posted.get("note") or ""), revision=_revision(posted))
    return _after_edit(request, session, agenda_id, actor, "Note saved.")


@router.post("/agendas/{agenda_id}/items/{item_id}/remove")
def remove_item(
    request: Request, posted: PostedForm, agenda_id: int, item_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    agendas.remove(session, agenda_id, item_id, actor, revision=_revision(posted))
    return _after_edit(request, session, agenda_id, actor, "Removed from the agenda.")


@router.post("/agendas/{agenda_id}/items")
def add_item(
    request: Request, posted: PostedForm, agenda_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    raw = str(posted.get("proposal_id") or "")
    agendas.add(session, agenda_id, int(raw) if raw.isdigit() else 0, actor, revision=_revision(posted))
    return redirect(request, f"/agendas/{agenda_id}#agenda-items", message="Added to the agenda.")


@router.post("/agendas/{agenda_id}/publish")
def publish_agenda(
    request: Request, agenda_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    agendas.publish(session, agenda_id, actor, policies)
    return redirect(request, f"/agendas/{agenda_id}", message="Published: the members have been sent the agenda.")


@router.post("/agendas/{agenda_id}/cancel")
def cancel_agenda(
    request: Request,
    posted: PostedForm,
    agenda_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    agendas.cancel(session, agenda_id, actor, policies, str(posted.get("reason") or ""))
    return redirect(request, f"/agendas/{agenda_id}", message="The agenda is cancelled.")


def minutes_entries(form: Any) -> dict[int, agendas.Entry]:
    """``outcome_<item id>``, ``comment_<item id>`` and the condition fields (``condition_text_<item id>`` and
    ``condition_due_<item id>``, each given once per condition) as the minutes' entries."""
    entries: dict[int, agendas.Entry] = {}
    for key in form:
        if key.startswith("outcome_") and key[8:].isdigit():
            item = key[8:]
            conditions = tuple(
                {"text": str(text or ""), "due_on": str(due or "")}
                for text, due in zip(
                    form.getlist(f"condition_text_{item}"), form.getlist(f"condition_due_{item}"), strict=False
                )
            )
            entries[int(item)] = agendas.Entry(
                str(form.get(key) or ""), str(form.get(f"comment_{item}") or ""), conditions
            )
    return entries


@router.post("/agendas/{agenda_id}/minutes")
def record_minutes(
    request: Request,
    posted: PostedForm,
    agenda_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    values = {k: posted.get(k) for k in posted if k != "csrftoken"}
    refused = attempt(
        session, lambda: agendas.record_minutes(session, agenda_id, actor, policies, minutes_entries(posted))
    )
    if refused is not None:
        return _agenda_page(
            request, session, agenda_id, actor, values=values, errors=refused.errors, status=refused.status
        )
    return redirect(request, f"/agendas/{agenda_id}", message="The minutes are recorded: each decision has been made.")


# --- the meeting pack ---------------------------------------------------------------------------------


def pack_context(session: Session, agenda_id: int, actor: Actor, policies: Policies) -> dict[str, Any]:
    v = agendas.view(session, agenda_id, actor, with_content=True)
    lookups = load_lookups(session, [i.proposal.content for i in v.items])
    entries = []
    for i in v.items:
        p = i.proposal
        sections = [
            (s, [f for f in el.FIELDS if f.section is s and (p.kind == "unbundled" or not f.unbundled_only)])
            for s in el.Section
        ]
        entries.append(
            {
                "item": i,
                "proposal": p,
                "owner": user_names(session, {p.owner_id}).get(p.owner_id, "?"),
                "kind_label": el.KIND_LABELS[el.Kind(p.kind)],
                "sections": sections,
                "redlines": redlines_of(session, p, lookups)[0],
                "checklist": agendas.checklist_status(session, p, policies),
                "votes": views.votes_with_names(session, p),
            }
        )
    return {
        "v": v,
        "entries": entries,
        "lookups": lookups,
        "display_value": display_value,
        "display_list": display_list,
        "choices": CHOICE_LABELS,
    }


@router.get("/agendas/{agenda_id}/pack")
def meeting_pack(
    request: Request, agenda_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    ctx = {**pack_context(session, agenda_id, actor, policies), "pdf_url": f"/agendas/{agenda_id}/pack.pdf"}
    return print_response(request, "agendas/pack.html", ctx)


@router.get("/agendas/{agenda_id}/pack.pdf")
def meeting_pack_pdf(
    request: Request, agenda_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    ctx = {**pack_context(session, agenda_id, actor, policies), "pdf_url": ""}
    agenda = ctx["v"].agenda
    return pdf_response(request, "agendas/pack.html", ctx, f"meeting-pack-{agenda.meets_on.isoformat()}.pdf")
