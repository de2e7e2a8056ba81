"""JSON API of feedback surveys: make one for an offering, run its lifecycle, invite learners (links returned, or
mailed), the results (refused below the anonymity threshold), and the owner's response. The learner's own
submission is a JSON post to the link itself (``POST /feedback/{token}``, see pages.py)."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.db import SessionDep
from app.feedback import service
from app.feedback.models import Survey
from app.policies import PoliciesDep
from app.routing import api_router
from app.security import CurrentActor, SettingsDep

router = api_router(tags=["feedback"])


class SurveyPublic(BaseModel):
    id: int
    offering_id: int
    status: str
    language: str
    questionnaire_version: str
    questions: list[dict[str, Any]]
    opens_on: date
    closes_on: date
    invited: int
    responses: int
    response_rate: float | None
    owner_response: str
    action_plan: str
    response_seen: bool
    actions: list[str] = Field(description="What the caller may do now")


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opens_on: date | None = None
    closes_on: date | None = None


class InvitationsIn(BaseModel):
    """Either ``count`` links returned in the answer, or ``emails`` each mailed a link (never both)."""

    model_config = ConfigDict(extra="forbid")
    count: int | None = Field(default=None, ge=1, le=service.INVITATIONS_MAX)
    emails: list[str] | None = Field(default=None, min_length=1, max_length=service.INVITATIONS_MAX)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.count is None) == (self.emails is None):
            raise ValueError('Give either "count" (links returned) or "emails" (links mailed).')
        return self


class InvitationsOut(BaseModel):
    links: list[str] = Field(default_factory=list, description="Single-use links, shown only now")
    mailed: int = 0


class LinkOut(BaseModel):
    link: str


class QuestionPublic(BaseModel):
    key: str
    text: str
    kind: str
    group: str
    esg: str | None
    n: int
    not_applicable: int
    counts: dict[int, int]
    mean: float | None
    median: float | None
    comments: list[str]
    hidden: bool = Field(description="Fewer answers than the anonymity threshold: no figures")
    earlier_mean: float | None
    faculty_mean: float | None


class ResultsPublic(BaseModel):
    survey_id: int
    questionnaire_version: str
    responses: int
    invited: int
    response_rate: float | None
    anonymity_threshold: int
    questions: list[QuestionPublic]
    review_flags: list[str]


def _public(session: SessionDep, survey: Survey, actor: CurrentActor, policies: PoliciesDep) -> SurveyPublic:
    ctx = service.get_survey(session, survey.id or 0, actor)
    res = service.results(session, survey.id or 0, actor, policies)
    return SurveyPublic(
        id=survey.id or 0,
        offering_id=survey.offering_id,
        status=survey.status,
        language=survey.language,
        questionnaire_version=survey.questionnaire_version,
        questions=survey.questions,
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        invited=res.invited,
        responses=res.responses,
        response_rate=res.response_rate,
        owner_response=survey.owner_response,
        action_plan=survey.action_plan,
        response_seen=survey.response_seen_at is not None,
        actions=service.offered_events(ctx, actor),
    )


@router.post("/offerings/{offering_id}/surveys", response_model=SurveyPublic, status_code=201)
def create_survey(
    offering_id: int, data: service.SurveyIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> SurveyPublic:
    """A draft survey for the offering, in its language, with the owner's own questions."""
    survey = service.create_survey(session, offering_id, actor, policies, data)
    return _public(session, survey, actor, policies)


@router.get("/surveys/{survey_id}", response_model=SurveyPublic)
def get_survey(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> SurveyPublic:
    """The survey, its response rate and what the caller may do now."""
    return _public(session, service.get_survey(session, survey_id, actor).survey, actor, policies)


@router.post("/surveys/{survey_id}/open", response_model=SurveyPublic)
def open_survey(
    survey_id: int, data: OpenIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> SurveyPublic:
    """Open a draft survey, optionally with new dates."""
    survey = service.act(session, survey_id, "open", actor, policies, opens_on=data.opens_on, closes_on=data.closes_on)
    return _public(session, survey, actor, policies)


@router.post("/surveys/{survey_id}/close", response_model=SurveyPublic)
def close_survey(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> SurveyPublic:
    return _public(session, service.act(session, survey_id, "close", actor, policies), actor, policies)


@router.post("/surveys/{survey_id}/release", response_model=SurveyPublic)
def release_results(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> SurveyPublic:
    return _public(session, service.act(session, survey_id, "release", actor, policies), actor, policies)


@router.post("/surveys/{survey_id}/invitations", response_model=InvitationsOut, status_code=201)
def invite(
    survey_id: int,
    data: InvitationsIn,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    settings: SettingsDep,
) -> InvitationsOut:
    """``{"count": n}``: n single-use links, returned now only. ``{"emails": [...]}``: one link mailed to each
    address (with reminders until it is used); the addresses are not kept."""
    if data.count is not None:
        return InvitationsOut(
            links=service.make_links(session, survey_id, actor, data.count, base_url=settings.base_url)
        )
    addresses = service.parse_addresses(data.emails or [])
    mailed = service.mail_links(session, survey_id, actor, addresses, policies, base_url=settings.base_url)
    return InvitationsOut(mailed=mailed)


@router.post("/surveys/{survey_id}/open-link", response_model=LinkOut, status_code=201)
def make_open_link(survey_id: int, session: SessionDep, actor: CurrentActor, settings: SettingsDep) -> LinkOut:
    """A new open link (classroom QR code): one answer per browser; an earlier open link stops working."""
    return LinkOut(link=service.open_link(session, survey_id, actor, base_url=settings.base_url))


@router.get("/surveys/{survey_id}/results", response_model=ResultsPublic)
def get_results(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ResultsPublic:
    """Per question: distribution, n, mean, median, comparisons and comments. Refused (409) while the survey is
    open and when fewer learners answered than the anonymity threshold; hidden questions carry no figures."""
    res = service.results(session, survey_id, actor, policies)
    service.require_shown(res)
    return ResultsPublic(
        survey_id=survey_id,
        questionnaire_version=res.survey.questionnaire_version,
        responses=res.responses,
        invited=res.invited,
        response_rate=res.response_rate,
        anonymity_threshold=res.threshold,
        questions=[
            QuestionPublic(
                key=q.key,
                text=q.text,
                kind=q.kind,
                group=q.group,
                esg=q.esg,
                n=q.n,
                not_applicable=q.not_applicable,
                counts=q.counts,
                mean=q.mean,
                median=q.median,
                comments=list(q.comments),
                hidden=q.hidden,
                earlier_mean=q.earlier_mean,
                faculty_mean=q.faculty_mean,
            )
            for q in res.questions
        ],
        review_flags=service.below_thresholds(res, policies),
    )


@router.post("/surveys/{survey_id}/response", response_model=SurveyPublic)
def respond(
    survey_id: int, data: service.ResponseIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> SurveyPublic:
    """The owner's response and action plan (once the survey is closed)."""
    return _public(session, service.respond(session, survey_id, actor, data), actor, policies)


@router.post("/surveys/{survey_id}/seen", response_model=SurveyPublic)
def mark_seen(survey_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> SurveyPublic:
    """The QA office has seen the owner's response."""
    return _public(session, service.mark_seen(session, survey_id, actor), actor, policies)
