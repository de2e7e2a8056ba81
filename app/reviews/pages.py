"""Pages of periodic review: the QA office's dashboard (due soon, open, overdue, suspended by faculty, the load
per month, filters, CSV export), a review (the owner's self-evaluation with the figures pre-filled, the QA
office's assessment with the progress of its ESG checklist, and the outcome), and a micro-credential's review
history (where the QA office opens a review).

Handlers are thin: parse, call one service function, render. A refused action re-renders the page with 422, the
reason and what was typed; every action runs in a savepoint, so nothing is half saved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col

from app.checklists import service as checklists
from app.db import SessionDep, utcnow
from app.errors import NotFound
from app.forms import PostedForm, attempt, form_values
from app.policies import Policies, PoliciesDep
from app.reviews import queries, service, standing
from app.reviews.models import ReviewAction
from app.reviews.queries import ReviewFilters
from app.reviews.service import ActionIn, OutcomeIn, ReviewOpenIn, SelfEvaluationIn
from app.routing import page_router
from app.security import Actor, CurrentActor, OverseerActor
from app.web import redirect, render
from app.workflows.reviews import OUTCOME_LABELS, REVIEW_LABELS

router = page_router()
ACTION_ROWS = 3


def _today() -> date:
    return utcnow().date()


Offset = Annotated[int, Query(ge=0, description="Rows of this list to skip")]


@router.get("/reviews")
def dashboard(
    request: Request,
    session: SessionDep,
    actor: OverseerActor,
    filters: Annotated[ReviewFilters, Query()],
    due_soon_offset: Offset = 0,
    overdue_offset: Offset = 0,
    open_offset: Offset = 0,
    suspended_offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="Rows per list")] = queries.DashboardPages.limit,
) -> Response:
    pages = queries.DashboardPages(due_soon_offset, overdue_offset, open_offset, suspended_offset, limit)
    board = queries.dashboard(session, filters, today=_today(), pages=pages)
    values = {k: ("" if v is None else getattr(v, "value", v)) for k, v in filters.model_dump().items()}
    chosen = {k: v for k, v in values.items() if v != ""}
    offsets = {
        "due_soon": due_soon_offset,
        "overdue": overdue_offset,
        "open": open_offset,
        "suspended": suspended_offset,
    }

    def list_url(name: str) -> str:
        """The dashboard with these filters and the other lists where they are: the pager of ``name`` adds its own
        offset."""
        others = {f"{k}_offset": v for k, v in offsets.items() if k != name and v}
        return "/reviews?" + urlencode({**chosen, **others})

    ctx = {
        "board": board,
        "totals": board.totals,
        "values": values,
        "faculties": queries.faculty_options(session),
        "status_options": list(REVIEW_LABELS.items()),
        "kind_options": list(service.KIND_LABELS.items()),
        "months": queries.MONTHS,
        "export_url": "/reviews/export.csv" + (f"?{urlencode(chosen)}" if chosen else ""),
        "list_urls": {name: list_url(name) for name in offsets},
        "due_soon_days": queries.DUE_SOON_DAYS,
    }
    return render(request, "reviews/dashboard.html", ctx)


@router.get("/reviews/export.csv")
def export(session: SessionDep, actor: OverseerActor, filters: Annotated[ReviewFilters, Query()]) -> Response:
    rows = queries.listing(session, filters, today=_today(), limit=100_000)
    return Response(
        queries.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="reviews.csv"'},
    )


def _review_page(
    request: Request,
    session: Session,
    review_id: int,
    actor: Actor,
    policies: Policies,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    review = service.get_review(session, review_id, actor)
    credential = service.visible_credential(session, review.credential_id, actor)
    (row,) = [r for r in queries.of_credential(session, review.credential_id, today=_today()) if r.id == review.id]
    figures = (
        [f.as_json() for f in service.figures_since_last_review(session, review)]
        if review.status == "open"
        else review.figures
    )
    shown = (
        values
        if values is not None
        else {
            "narrative": review.narrative,
            "need_evidence": review.need_evidence,
            "need_checked_on": review.need_checked_on.isoformat() if review.need_checked_on else "",
            "action_plan": review.action_plan,
        }
    )
    ctx = {
        "review": review,
        "row": row,
        "credential": credential,
        "figures": figures,
        "feedback": service.learner_feedback_summary(session, review, policies),
        "previous_actions": queries.previous_actions(session, review),
        "actions": queries.actions(session, col(ReviewAction.review_id) == review.id),
        "offered": service.offered(session, review, actor),
        "checklist": service.review_checklist(session, review, actor, policies),
        "checklist_gate": checklists.review_gate(session, review, policies),
        "status_labels": checklists.STATUS_LABELS,
        "values": shown,
        "errors": errors or {},
        "outcome_options": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
        "action_rows": range(1, ACTION_ROWS + 1),
        "today": _today(),
        "lifecycle_label": standing.label_of(standing.status_of(session, review.credential_id)),
    }
    return render(request, "reviews/review.html", ctx, status=status)


@router.get("/reviews/{review_id}")
def review_page(
    request: Request, review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    return _review_page(request, session, review_id, actor, policies)


def _self_evaluation(values: dict[str, Any]) -> SelfEvaluationIn:
    fields = {k: values.get(k) for k in SelfEvaluationIn.model_fields if values.get(k) not in (None, "")}
    return SelfEvaluationIn.model_validate(fields)


def _outcome(values: dict[str, Any]) -> OutcomeIn:
    actions = [
        ActionIn(text=str(values.get(f"action_text_{i}") or ""), due_on=values.get(f"action_due_{i}"))
        for i in range(1, ACTION_ROWS + 1)
        if str(values.get(f"action_text_{i}") or "").strip() or values.get(f"action_due_{i}")
    ]
    return OutcomeIn(outcome=values.get("outcome") or "", comment=str(values.get("comment") or ""), actions=actions)


Step = Callable[[Session, int, Actor, Policies, dict[str, Any]], str]  # does it; returns the message shown


def _save(session: Session, review_id: int, actor: Actor, policies: Policies, values: dict[str, Any]) -> str:
    service.save_self_evaluation(session, review_id, actor, _self_evaluation(values))
    if values.get("then") != "submit":
        return "Self-evaluation saved."
    service.submit(session, review_id, actor, policies)
    return "Self-evaluation submitted to the QA office."


def _assess(session: Session, review_id: int, actor: Actor, policies: Policies, values: dict[str, Any]) -> str:
    service.start_assessment(session, review_id, actor, policies)
    return "Taken into QA assessment."


def _send_back(session: Session, review_id: int, actor: Actor, policies: Policies, values: dict[str, Any]) -> str:
    service.request_changes(session, review_id, actor, policies, str(values.get("reason") or ""))
    return "Sent back to the owner."


def _close(session: Session, review_id: int, actor: Actor, policies: Policies, values: dict[str, Any]) -> str:
    service.record_outcome(session, review_id, actor, policies, _outcome(values), today=_today())
    return "Outcome recorded."


# What each form on the review page posts to (its plain-form action and its JSON twin under /api/v1).
STEPS: dict[str, Step] = {
    "self-evaluation": _save,
    "assessment": _assess,
    "request-changes": _send_back,
    "outcome": _close,
}


@router.post("/reviews/{review_id}/{step}")
def review_step(
    request: Request,
    posted: PostedForm,
    review_id: int,
    step: str,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    """One step of a review from its page; a refusal re-renders the page with the reason and what was typed."""
    act = STEPS.get(step)
    if act is None:
        raise NotFound(f"A review has no step “{step}”.")
    values = form_values(posted)
    errors = attempt(session, lambda: act(session, review_id, actor, policies, values))
    if isinstance(errors, str):
        return redirect(request, f"/reviews/{review_id}", message=errors)
    return _review_page(request, session, review_id, actor, policies, values=values, errors=errors, status=422)


@router.post("/review-actions/{action_id}/close")
def close_action(
    request: Request, posted: PostedForm, action_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    action = service.close_action(session, action_id, actor, str(posted.get("note") or ""))
    return redirect(request, f"/reviews/{action.review_id}#action-{action.id}", message="Action closed.")


# --- a micro-credential's reviews ------------------------------------------------------------------


def _history(
    request: Request,
    session: Session,
    credential_id: int,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    credential = service.visible_credential(session, credential_id, actor)
    ctx = {
        "credential": credential,
        "rows": queries.of_credential(session, credential_id, today=_today()),
        "lifecycle_label": standing.label_of(standing.status_of(session, credential_id)),
        "may_open": actor.in_qa_office and actor.id != credential.owner_id,
        "kind_options": list(service.KIND_LABELS.items()),
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "reviews/history.html", ctx, status=status)


@router.get("/credentials/{credential_id}/reviews")
def history(request: Request, credential_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return _history(request, session, credential_id, actor)


@router.post("/credentials/{credential_id}/reviews")
def qa_opens(
    request: Request,
    posted: PostedForm,
    credential_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> Response:
    values = form_values(posted)

    def write() -> int:
        data = ReviewOpenIn.model_validate({k: v for k, v in values.items() if v != ""})
        return service.qa_opens(session, credential_id, actor, policies, data, today=_today()).id or 0

    result = attempt(session, write)
    if isinstance(result, int):
        return redirect(request, f"/reviews/{result}", message="Review opened; the owner is told.")
    return _history(request, session, credential_id, actor, values=values, errors=result, status=422)
