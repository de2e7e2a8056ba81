"""Feedback pages: the owner's and QA office's survey page (create, open, close, release, invite, respond), the
results page with charts and tables, and the learner's form behind a link (no login, no JavaScript needed).

The learner's link takes a plain form post or, at the same address, a JSON body (``{"answers": {...}}``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from app import pdf
from app.db import SessionDep, utcnow
from app.errors import NotFound, PolicyViolation
from app.feedback import access, charts, service
from app.feedback.models import Survey
from app.feedback.policy import FeedbackPolicy
from app.feedback.service import LinkRefused
from app.forms import PostedForm, domain_errors, errors_by_field, form_values
from app.offerings.models import Offering
from app.policies import PoliciesDep
from app.routing import page_router
from app.security import CurrentActor, SettingsDep
from app.web import redirect, render
from app.workflows.survey import LABELS

router = page_router()
EVENT_LABELS = {"open": "Open the survey", "close": "Close the survey", "release": "Release the results"}


def _today() -> date:
    return utcnow().date()


# --- the owner's and the QA office's pages -------------------------------------------------------------


@router.get("/offerings/{offering_id}/feedback")
def offering_feedback(
    request: Request, offering_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    """The offering's survey, or the form that makes one."""
    offering, credential = service.offering_for(session, offering_id, actor)
    existing = service.surveys_of_offering(session, offering_id)
    if existing:
        return redirect(request, f"/surveys/{existing[0].id}")
    return _new_form(request, offering, credential.title, policies, {}, {})


def _new_form(
    request: Request,
    offering: Offering,
    title: str,
    policies: PoliciesDep,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    policy = policies.of(FeedbackPolicy)
    ctx = {
        "offering": offering,
        "credential_title": title,
        "values": values,
        "errors": errors,
        "max_own": policy.owner_questions_max,
        "days_open": policy.auto_open.days_open,
    }
    return render(request, "feedback/new.html", ctx, status=status)


@router.post("/offerings/{offering_id}/feedback")
def create_survey(
    request: Request,
    offering_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    form: PostedForm,
) -> Response:
    offering, credential = service.offering_for(session, offering_id, actor)
    values = form_values(form)
    own = [
        {"text": str(values.get(f"own_{i}_text") or "").strip(), "kind": values.get(f"own_{i}_kind") or "likert"}
        for i in range(1, policies.of(FeedbackPolicy).owner_questions_max + 1)
    ]
    raw = {
        "opens_on": values.get("opens_on") or None,
        "closes_on": values.get("closes_on") or None,
        "owner_questions": [q for q in own if q["text"]],
    }
    try:
        data = service.SurveyIn.model_validate(raw)
        survey = service.create_survey(session, offering_id, actor, policies, data)
    except ValidationError as exc:
        return _new_form(request, offering, credential.title, policies, values, errors_by_field(exc), 422)
    except PolicyViolation as exc:
        return _new_form(request, offering, credential.title, policies, values, domain_errors(exc), 422)
    return redirect(request, f"/surveys/{survey.id}", message="The survey is ready as a draft.")


@router.get("/surveys/{survey_id}")
def survey_page(
    request: Request, survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    ctx = service.get_survey(session, survey_id, actor)
    res = service.results(session, survey_id, actor, policies)
    events = service.offered_events(ctx, actor)
    return render(
        request,
        "feedback/survey.html",
        {
            "s": ctx.survey,
            "offering": ctx.offering,
            "credential": ctx.credential,
            "status_label": LABELS[ctx.survey.status],
            "events": [(e, EVENT_LABELS[e]) for e in events],
            "res": res,
            "runs": access.runs(ctx.credential, actor),
            "is_owner": actor.id == ctx.credential.owner_id,
            "in_qa": actor.in_qa_office,
            "flags": service.below_thresholds(res, policies),
            "values": {},
            "errors": {},
        },
    )


@router.post("/surveys/{survey_id}/{event}")
def survey_event(
    request: Request,
    survey_id: int,
    event: str,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    settings: SettingsDep,
    form: PostedForm,
) -> Response:
    """Every action of the survey page, each a plain form post."""
    values = form_values(form)
    back = f"/surveys/{survey_id}"
    if event in EVENT_LABELS:
        opens_on, closes_on = _dates(values) if event == "open" else (None, None)
        service.act(session, survey_id, event, actor, policies, opens_on=opens_on, closes_on=closes_on)
        return redirect(request, back, message=f"The survey is {LABELS[_status_after(event)].lower()}.")
    if event == "links":
        count = _count(values.get("count"))
        links = service.make_links(session, survey_id, actor, count, base_url=settings.base_url)
        return Response(
            service.links_csv(links),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-links.csv"'},
        )
    if event == "mail":
        addresses = service.parse_addresses(str(values.get("emails") or ""))
        sent = service.mail_links(session, survey_id, actor, addresses, policies, base_url=settings.base_url)
        return redirect(request, back, message=f"{sent} invitations are on their way; the addresses were not kept.")
    if event == "open-link":
        link = service.open_link(session, survey_id, actor, base_url=settings.base_url)
        return render(request, "feedback/open_link.html", {"link": link, "survey_id": survey_id})
    if event == "response":
        data = service.ResponseIn.model_validate(
            {"owner_response": values.get("owner_response") or "", "action_plan": values.get("action_plan") or ""}
        )
        service.respond(session, survey_id, actor, data)
        return redirect(request, back, message="Your response and action plan are saved; the QA office is told.")
    if event == "seen":
        service.mark_seen(session, survey_id, actor)
        return redirect(request, back, message="Marked as seen.")
    raise NotFound(f"A survey has no action {event!r}.")


def _status_after(event: str) -> str:
    return {"open": "open", "close": "closed", "release": "released"}[event]


def _dates(values: dict[str, Any]) -> tuple[date | None, date | None]:
    try:
        opens, closes = (
            date.fromisoformat(str(values[k])) if values.get(k) else None for k in ("opens_on", "closes_on")
        )
        return opens, closes
    except ValueError:
        raise PolicyViolation("Enter the dates as YYYY-MM-DD.", errors={"opens_on": "Not a date."}) from None


def _count(raw: Any) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise PolicyViolation(
            "Enter how many links you need, as a number.", errors={"count": "Not a number."}
        ) from None


def _results_context(session: SessionDep, survey_id: int, actor: CurrentActor, policies: PoliciesDep) -> dict[str, Any]:
    ctx = service.get_survey(session, survey_id, actor)
    res = service.results(session, survey_id, actor, policies, ctx=ctx)
    return {
        "res": res,
        "s": res.survey,
        "credential": ctx.credential,
        "offering": ctx.offering,
        "charts": {q.key: charts.distribution(q) for q in res.questions if q.mean is not None},
        "comments": {q.key: charts.comment_items(q.comments) for q in res.questions if q.kind == "open"},
        "means_chart": charts.means(res) if res.shown else None,
        "flags": service.below_thresholds(res, policies),
        "pdf_available": True,
    }


@router.get("/surveys/{survey_id}/results")
def results_page(
    request: Request, survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    return render(request, "feedback/results.html", _results_context(session, survey_id, actor, policies))


@router.get("/surveys/{survey_id}/report")
def results_report(
    request: Request, survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    """The results as a print-friendly document (refused below the anonymity threshold, like every export)."""
    context = _results_context(session, survey_id, actor, policies)
    service.require_shown(context["res"])
    return pdf.print_response(
        request, "feedback/report.html", context | {"pdf_url": f"/surveys/{survey_id}/results.pdf"}
    )


@router.get("/surveys/{survey_id}/results.pdf")
def results_pdf(
    request: Request, survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> Response:
    """The same report as a PDF download."""
    context = _results_context(session, survey_id, actor, policies)
    service.require_shown(context["res"])
    return pdf.pdf_response(request, "feedback/report.html", context, f"feedback-survey-{survey_id}.pdf")


@router.get("/surveys/{survey_id}/results.csv")
def results_csv(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> Response:
    text = service.results_csv(service.results(session, survey_id, actor, policies))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-results.csv"'},
    )


# --- the learner's form ---------------------------------------------------------------------------


class LearnerJson(BaseModel):
    answers: dict[str, int | str]


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


def _refused(request: Request, refused: LinkRefused, *, as_json: bool) -> Response:
    if as_json:
        return JSONResponse({"detail": refused.message, "state": refused.link.state.value}, refused.status)
    return render(
        request,
        "feedback/link_state.html",
        {"title": refused.title, "message": refused.message, "state": refused.link.state.value},
        status=refused.status,
    )


def _form(
    request: Request,
    link: service.Link,
    policies: PoliciesDep,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    assert link.survey is not None
    survey = link.survey
    groups: list[tuple[str, str | None, list[dict[str, Any]]]] = []
    for q in survey.questions:
        title = q["group_title"] or ("Your teacher's questions" if q["group"] == "owner" else "")
        if q["kind"] == "open":
            title = "In your own words"
        if not groups or groups[-1][0] != title:
            groups.append((title, q["esg"], []))
        groups[-1][2].append(q)
    ctx = {
        "survey": survey,
        "groups": groups,
        "scale": service.scale_labels(survey, policies),
        "values": values,
        "errors": errors,
        "lang": survey.language,
        "path": request.url.path,
    }
    return render(request, "feedback/form.html", ctx, status=status)


@router.get("/feedback/{token}")
def learner_form(request: Request, token: str, session: SessionDep, policies: PoliciesDep) -> Response:
    link = service.resolve(session, token, today=_today())
    if link.state is not service.LinkState.ready:
        return _refused(request, LinkRefused(link), as_json=False)
    assert link.survey is not None
    if link.is_open_link and service.already_done(request.cookies.get(service.DONE_COOKIE), link.survey.id or 0):
        return _refused(request, _already_answered(), as_json=False)
    return _form(request, link, policies, {}, {})


def _already_answered() -> LinkRefused:
    refused = LinkRefused(service.Link(service.LinkState.used))
    refused.message = "You have already answered this survey from this browser. Thank you."
    return refused


async def _body(request: Request) -> dict[str, Any]:
    if _wants_json(request):
        try:
            return {"json": LearnerJson.model_validate_json(await request.body()).answers}
        except ValidationError:
            return {"bad_json": True}
    form = await request.form()
    return {"form": {k[2:]: v for k, v in form.items() if k.startswith("q_") and isinstance(v, str)}}


@router.post("/feedback/{token}")
def learner_submit(
    request: Request,
    token: str,
    session: SessionDep,
    policies: PoliciesDep,
    body: Annotated[dict[str, Any], Depends(_body)],
) -> Response:
    as_json = "form" not in body
    if body.get("bad_json"):
        return JSONResponse({"detail": 'Send {"answers": {"question key": 1 to 5, "na" or a text}}.'}, 422)
    answers: dict[str, Any] = body.get("json") or body.get("form") or {}
    cookie = request.cookies.get(service.DONE_COOKIE)

    def open_link_check(survey: Survey) -> None:  # the classroom link: once per browser, a few a minute per address
        if service.already_done(cookie, survey.id or 0):
            raise _already_answered()
        service.OPEN_LINK_GUARD.check(request.client.host if request.client else "unknown")

    try:
        accepted = service.submit(session, token, answers, today=_today(), open_link_check=open_link_check)
    except LinkRefused as refused:
        return _refused(request, refused, as_json=as_json)
    except PolicyViolation as exc:  # answers out of range: the link is still unused
        if as_json:
            body = {"detail": exc.message, "title": exc.title, "errors": exc.errors}
            return JSONResponse(body, exc.status_code)
        return _form(
            request,
            service.resolve(session, token, today=_today()),
            policies,
            answers,
            domain_errors(exc),
            exc.status_code,
        )
    message = service.confirmation(accepted.language, policies)
    if as_json:
        response: Response = JSONResponse({"status": "accepted", "message": message}, 201)
    else:
        response = render(request, "feedback/thanks.html", {"message": message, "lang": accepted.language})
    if accepted.open_link:
        response.set_cookie(
            service.DONE_COOKIE,
            service.done_cookie_value(request.cookies.get(service.DONE_COOKIE), accepted.survey_id),
            max_age=180 * 24 * 3600,
            httponly=True,
            samesite="lax",
            path="/feedback",
        )
    return response
