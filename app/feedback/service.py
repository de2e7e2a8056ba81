"""Feedback surveys: making one for an offering, running it through its lifecycle, inviting learners, taking
their anonymous answers, and the results, the owner's response and what the periodic review receives.

Invitations and anonymity
-------------------------
- A link's token is shown once (the CSV download, the API answer, or the mail) and only its SHA-256 is stored.
- Mailed links: the pasted addresses are used to write one outbox message per learner, then forgotten; the
  survey keeps the count. Reminders are written at the same time, as outbox messages due on the reminder days
  (``reminder_days_after_open`` after the opening). The invitation lists the ids of its messages
  (``reminder_ids``) and nothing else about them.
- When a link is used, in the submitting transaction, its pending reminders are deleted and its token is blanked
  out of the messages already sent (``withdraw_or_redact``), and the list is emptied: afterwards nothing stored
  leads from an address to a used link. Those who have not answered still get their reminders, which is the
  point; when the survey closes, every remaining message is withdrawn or blanked the same way.
- Submitting marks the invitation used (a boolean, no time) with a compare-and-set ``UPDATE ... WHERE used =
  false``: of two submissions of one link exactly one updates the row, and only that one inserts the answers,
  in the same transaction. The response has a random key and no time. The same statement checks that the survey
  is open and returns its questions, so a submission takes two statements; answers out of range set the flag
  back in that transaction, so the link stays usable and nothing is stored.
- PostgreSQL records which transaction wrote a row (``xmin``): a response and the invitation it consumed share
  it until either is written again. Closing a survey rewrites its invitations and responses, so from then on
  (when results can first be seen) that trace is gone too.
- The open link (a classroom QR code) is one token per survey; a browser that submitted gets a cookie and is
  refused a second time, and each client address may submit only a few times a minute (per process).

Results
-------
Counted per survey (``Tally``: the points given per question, the other answers sorted, so no order of arrival).
A closed survey's responses never change (a survey takes answers only while open), so its tally is kept in the
process (``TALLIES``), keyed by the survey's id, row version and closing time; the comparisons with earlier
offerings and with the faculty pool those tallies. The anonymity threshold is applied to every figure shown.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.catalogue.models import Credential
from app.db import table_of, utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TooManyAttempts
from app.feedback import access
from app.feedback.models import Survey, SurveyInvitation, SurveyResponse
from app.feedback.policy import SCALE, FeedbackPolicy
from app.notifications.service import queue_mail, withdraw_or_redact
from app.offerings.models import Offering
from app.policies import Policies
from app.security import Actor, hash_token
from app.workflows import core
from app.workflows.survey import SurveyStatus

OPEN_ANSWER_MAX = 4000
OWNER_QUESTION_MAX = 300
INVITATIONS_MAX = 5000  # links made in one request
TOKEN_PREFIX = "fb_"
NOT_APPLICABLE = "na"
ANY_TOKEN = re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]+"
REMINDER_HOUR = dtime(9, 0, tzinfo=UTC)


# --- making a survey --------------------------------------------------------------------------------


class OwnerQuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=3, max_length=OWNER_QUESTION_MAX, title="Question")
    kind: Literal["likert", "open"] = Field(default="likert", title="Kind of answer")


class SurveyIn(BaseModel):
    """A new survey for an offering; the dates default to the offering's end and the policy's days open."""

    model_config = ConfigDict(extra="forbid")
    opens_on: date | None = Field(default=None, title="Opens on")
    closes_on: date | None = Field(default=None, title="Closes on")
    owner_questions: list[OwnerQuestionIn] = Field(default_factory=list, title="Your own questions")


def _policy(policies: Policies) -> FeedbackPolicy:
    return policies.of(FeedbackPolicy)


def offering_for(session: Session, offering_id: int, actor: Actor | None) -> tuple[Offering, Credential]:
    offering = session.get(Offering, offering_id)
    if offering is None:
        raise NotFound(f"There is no offering {offering_id}.")
    credential = session.get_one(Credential, offering.credential_id)
    if actor is not None and not access.runs(credential, actor):
        raise PermissionDenied("Only the micro-credential's owner or the QA office can run its feedback survey.")
    return offering, credential


def create_survey(
    session: Session, offering_id: int, actor: Actor | None, policies: Policies, data: SurveyIn
) -> Survey:
    """A draft survey with the policy's questionnaire in the offering's language and the owner's questions."""
    policy = _policy(policies)
    offering, _credential = offering_for(session, offering_id, actor)
    if session.exec(select(Survey.id).where(Survey.offering_id == offering_id)).first() is not None:
        raise Conflict("This offering already has a feedback survey.")
    if len(data.owner_questions) > policy.owner_questions_max:
        raise PolicyViolation(
            f"At most {policy.owner_questions_max} questions of your own can be added.",
            errors={"owner_questions": f"At most {policy.owner_questions_max}."},
        )
    opens_on = data.opens_on or offering.ends_on
    closes_on = data.closes_on or opens_on + timedelta(days=policy.auto_open.days_open)
    if closes_on < opens_on:
        raise PolicyViolation("The survey must close on or after the day it opens.", errors={"closes_on": "Too early."})
    questions = policy.questions(offering.language)
    questions += [
        {"key": f"own_{i}", "kind": q.kind, "group": "owner", "group_title": "", "esg": None, "text": q.text.strip()}
        for i, q in enumerate(data.owner_questions, start=1)
    ]
    survey = Survey(
        offering_id=offering_id,
        language=policy.language_for(offering.language),
        questionnaire_version=policy.version,
        questions=questions,
        opens_on=opens_on,
        closes_on=closes_on,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(survey)
    session.flush()
    return survey


def get_survey(session: Session, survey_id: int, actor: Actor) -> access.SurveyCtx:
    """The survey with its offering and micro-credential (one query), if the actor may see it."""
    found = session.exec(
        select(Survey, Offering, Credential)
        .join(Offering, col(Offering.id) == Survey.offering_id)
        .join(Credential, col(Credential.id) == Offering.credential_id)
        .where(Survey.id == survey_id)
    ).first()
    if found is None:
        raise NotFound(f"There is no survey {survey_id}.")
    ctx = access.SurveyCtx(*found)
    if not access.can_see(ctx, actor):
        raise NotFound(f"There is no survey {survey_id} that you can see.")
    return ctx


def surveys_of_offering(session: Session, offering_id: int) -> list[Survey]:
    return list(session.exec(select(Survey).where(Survey.offering_id == offering_id).order_by(col(Survey.id))))


def offered_events(ctx: access.SurveyCtx, actor: Actor) -> list[str]:
    return core.offered(core.Subject(access.SURVEY, ctx.survey, ctx), actor)


# --- the lifecycle ----------------------------------------------------------------------------------


def act(
    session: Session,
    survey_id: int,
    event: str,
    actor: Actor | None,
    policies: Policies,
    *,
    opens_on: date | None = None,
    closes_on: date | None = None,
    comment: str = "",
) -> Survey:
    """Open, close or release a survey (the workflow core checks the state and the actor)."""
    if event not in ("open", "close", "release"):
        raise NotFound(f"A survey has no action {event!r}.")
    kwargs: dict[str, Any] = {"opens_on": opens_on, "closes_on": closes_on} if event == "open" else {}
    subject = core.run(session, access.SURVEY, survey_id, event, actor, policies, comment=comment, **kwargs)
    if event == "close":
        _forget_on_close(session, subject.row)
    return subject.row


def _forget_on_close(session: Session, survey: Survey) -> None:
    """Withdraw the reminders nobody needs now and blank the links out of sent mails, then rewrite every
    invitation and response of the survey (a new writing transaction for each row: see the module's notes)."""
    invitations = session.exec(
        select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id, col(SurveyInvitation.used).is_(False))
    ).all()
    for invitation in (i for i in invitations if i.reminder_ids):
        # The token itself is not stored: blank out every survey token in the messages.
        withdraw_or_redact(session, invitation.reminder_ids, ANY_TOKEN)
        invitation.reminder_ids = []
        session.add(invitation)
    conn = session.connection()
    conn.execute(
        update(SurveyInvitation).where(col(SurveyInvitation.survey_id) == survey.id).values(used=SurveyInvitation.used)
    )
    conn.execute(
        update(SurveyResponse).where(col(SurveyResponse.survey_id) == survey.id).values(answers=SurveyResponse.answers)
    )
    session.flush()


# --- invitations --------------------------------------------------------------------------------


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/feedback/{token}"


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def _runnable(session: Session, survey_id: int, actor: Actor) -> Survey:
    ctx = get_survey(session, survey_id, actor)
    if not access.runs(ctx.credential, actor):
        raise PermissionDenied("Only the micro-credential's owner or the QA office can invite learners.")
    if ctx.survey.status not in (SurveyStatus.draft, SurveyStatus.open):
        raise Conflict("This survey is closed: no more learners can be invited.")
    return ctx.survey


def make_links(session: Session, survey_id: int, actor: Actor, count: int, *, base_url: str) -> list[str]:
    """``count`` single-use links (shown now, never again: only their hashes are kept)."""
    if not 1 <= count <= INVITATIONS_MAX:
        raise PolicyViolation(f"Ask for 1 to {INVITATIONS_MAX:,} links at a time.", errors={"count": "Out of range."})
    survey = _runnable(session, survey_id, actor)
    tokens = [_new_token() for _ in range(count)]
    session.add_all(SurveyInvitation(survey_id=survey_id, token_hash=hash_token(t)) for t in tokens)
    survey.invited_count += count
    session.add(survey)
    session.flush()
    return [survey_url(base_url, t) for t in tokens]


def links_csv(urls: Iterable[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["link"])
    writer.writerows([u] for u in urls)
    return out.getvalue()


def parse_addresses(text: str | Iterable[str]) -> list[str]:
    """Addresses pasted one a line (or separated by commas, semicolons or spaces), each once; a 422 naming the
    first that is not an address."""
    raw = text.replace(",", " ").replace(";", " ").split() if isinstance(text, str) else list(text)
    found: list[str] = []
    for address in (a.strip() for a in raw):
        if not address:
            continue
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or len(address) > 254 or any(c in address for c in "<>\"'"):
            raise PolicyViolation(f"{address[:80]!r} is not an e-mail address.", errors={"emails": "Not an address."})
        if address.lower() not in (f.lower() for f in found):
            found.append(address)
    if not found:
        raise PolicyViolation("Paste at least one e-mail address.", errors={"emails": "Required."})
    if len(found) > INVITATIONS_MAX:
        raise PolicyViolation(f"At most {INVITATIONS_MAX:,} addresses at a time.", errors={"emails": "Too many."})
    return found


def mail_links(
    session: Session,
    survey_id: int,
    actor: Actor,
    addresses: list[str],
    policies: Policies,
    *,
    base_url: str,
    now: datetime | None = None,
) -> int:
    """Mail one link to each address, with its reminders queued; the addresses are not kept. Returns the count."""
    now = now or utcnow()
    survey = _runnable(session, survey_id, actor)
    policy = _policy(policies)
    ctx = access.load_ctx(session, survey)
    title = ctx.credential.title or f"Micro-credential {ctx.credential.id}"
    reminder_days = [
        survey.opens_on + timedelta(days=d)
        for d in policy.reminder_days_after_open
        if survey.opens_on + timedelta(days=d) < survey.closes_on
    ]
    for address in addresses:
        token = _new_token()
        url = survey_url(base_url, token)
        text = _invitation_text(title, survey, url)
        ids = [
            queue_mail(
                session,
                to=address,
                kind="feedback.invitation",
                subject=f"Your feedback on {title}",
                text_body=text,
                base_url=base_url,
                send_at=now,
            ).id
            or 0
        ]
        for day in reminder_days:
            send_at = datetime.combine(day, REMINDER_HOUR)
            if send_at > now:
                reminder = queue_mail(
                    session,
                    to=address,
                    kind="feedback.reminder",
                    subject=f"Reminder: your feedback on {title}",
                    text_body="If you have not answered yet, your link still works.\n\n" + text,
                    base_url=base_url,
                    send_at=send_at,
                )
                ids.append(reminder.id or 0)
        session.add(SurveyInvitation(survey_id=survey_id, token_hash=hash_token(token), reminder_ids=ids))
    survey.invited_count += len(addresses)
    survey.mailed_count += len(addresses)
    session.add(survey)
    session.flush()
    return len(addresses)


def _invitation_text(title: str, survey: Survey, url: str) -> str:
    return (
        f"You took part in {title}. Please tell us what you thought: the survey takes about five minutes and is "
        f"anonymous (your answers are stored without any link to you or to this e-mail).\n\n"
        f"Open it between {survey.opens_on:%d %B %Y} and {survey.closes_on:%d %B %Y}: {url}\n\n"
        "The link works once."
    )


def open_link(session: Session, survey_id: int, actor: Actor, *, base_url: str) -> str:
    """A new open link for the survey (a classroom QR code); any earlier open link stops working."""
    survey = _runnable(session, survey_id, actor)
    token = _new_token()
    survey.open_link_hash = hash_token(token)
    session.add(survey)
    session.flush()
    return survey_url(base_url, token)


# --- the learner's side -----------------------------------------------------------------------------


class LinkState(StrEnum):
    ready = "ready"
    unknown = "unknown"
    not_open = "not_open"
    expired = "expired"
    closed = "closed"
    used = "used"


LINK_MESSAGES = {
    LinkState.unknown: ("Link not recognised", "This survey link is not recognised. Check that it was copied whole."),
    LinkState.not_open: ("Not open yet", "This survey is not open yet. Please come back when it opens."),
    LinkState.expired: ("Link expired", "This survey link has expired: the survey's closing date has passed."),
    LinkState.closed: ("Survey closed", "This survey is closed. Thank you for your interest."),
    LinkState.used: ("Already answered", "This link has already been used: each link takes one set of answers."),
}
LINK_STATUS = {
    LinkState.unknown: 404,
    LinkState.not_open: 409,
    LinkState.expired: 410,
    LinkState.closed: 410,
    LinkState.used: 409,
}


@dataclass
class Link:
    state: LinkState
    survey: Survey | None = None
    invitation_id: int | None = None  # None for the open link
    opens_on: date | None = None

    @property
    def is_open_link(self) -> bool:
        return self.survey is not None and self.invitation_id is None


def _well_formed(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= 100


def resolve(session: Session, token: str, *, today: date) -> Link:
    """What a learner's link leads to now."""
    if not _well_formed(token):
        return Link(LinkState.unknown)
    digest = hash_token(token)
    found = session.exec(
        select(SurveyInvitation.id, SurveyInvitation.used, SurveyInvitation.survey_id).where(
            SurveyInvitation.token_hash == digest
        )
    ).first()
    survey: Survey | None
    if found is not None:
        invitation_id, used, survey_id = found
        survey = session.get_one(Survey, survey_id)
    else:
        survey = session.exec(select(Survey).where(Survey.open_link_hash == digest)).first()
        if survey is None:
            return Link(LinkState.unknown)
        invitation_id, used = None, False
    state = _state(survey, used, today)
    return Link(state, survey, invitation_id, survey.opens_on)


def _state(survey: Survey, used: bool, today: date) -> LinkState:
    if survey.status in (SurveyStatus.closed, SurveyStatus.released):
        return LinkState.closed
    if used:
        return LinkState.used
    if survey.status == SurveyStatus.draft or today < survey.opens_on:
        return LinkState.not_open
    if today > survey.closes_on:
        return LinkState.expired
    return LinkState.ready


class LinkRefused(Exception):
    """A learner's link that cannot take answers now; the page (or JSON) says why."""

    def __init__(self, link: Link) -> None:
        self.link = link
        title, message = LINK_MESSAGES[link.state]
        super().__init__(message)
        self.title, self.message, self.status = title, message, LINK_STATUS[link.state]


def validate_answers(questions: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The answers keyed by question (a survey's ``questions``): 1-5 or "na" for a Likert item, text for an open
    question. Unknown keys and values out of range are refused with a 422 naming the question; unanswered
    questions are left out."""
    by_key = {q["key"]: q for q in questions}
    unknown = sorted(k for k in raw if k not in by_key)
    if unknown:
        raise PolicyViolation(f"This survey has no question {unknown[0]!r}.", errors={unknown[0]: "Unknown question."})
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, question in by_key.items():
        value = raw.get(key)
        if value is None or value == "":
            continue
        if question["kind"] == "likert":
            if str(value).strip().lower() == NOT_APPLICABLE:
                answers[key] = NOT_APPLICABLE
            elif str(value).strip() in _SCALE_TEXT and not isinstance(value, bool):
                answers[key] = int(str(value).strip())
            else:
                errors[key] = "Choose 1 to 5, or not applicable."
        else:
            text = str(value).strip()
            if len(text) > OPEN_ANSWER_MAX:
                errors[key] = f"Must be at most {OPEN_ANSWER_MAX:,} characters (this has {len(text):,})."
            elif text:
                answers[key] = text
    if errors:
        first = next(iter(errors))
        raise PolicyViolation(f"{by_key[first]['text']} {errors[first]}", errors=errors)
    return answers


_SCALE_TEXT = frozenset(str(p) for p in SCALE)


@dataclass(frozen=True)
class Accepted:
    """A submission taken: which survey, in which language (for the confirmation), through its open link?"""

    survey_id: int
    language: str
    open_link: bool = False


_INVITATION = table_of(SurveyInvitation)
_SURVEY = table_of(Survey)
_RESPONSE = table_of(SurveyResponse)


def _of_survey(column: Any) -> Any:
    return select(column).where(_SURVEY.c.id == _INVITATION.c.survey_id).scalar_subquery()


# Marks a ready invitation used and returns what taking the answers needs, in one statement: the invitation (by
# its token's hash) must be unused and its survey open on ``today``. A subquery rather than ``UPDATE ... FROM
# survey``: SQLite's RETURNING may not name the FROM table.
_CONSUME = (
    update(_INVITATION)
    .where(
        _INVITATION.c.token_hash == bindparam("digest"),
        _INVITATION.c.used.is_(False),
        _INVITATION.c.survey_id.in_(
            select(_SURVEY.c.id).where(
                _SURVEY.c.status == SurveyStatus.open.value,
                _SURVEY.c.opens_on <= bindparam("today"),
                _SURVEY.c.closes_on >= bindparam("today"),
            )
        ),
    )
    .values(used=True)
    .returning(
        _INVITATION.c.id,
        _INVITATION.c.survey_id,
        _INVITATION.c.reminder_ids,
        _of_survey(_SURVEY.c.questions),
        _of_survey(_SURVEY.c.language),
    )
)


def submit(
    session: Session,
    token: str,
    raw: Mapping[str, Any],
    *,
    today: date,
    open_link_check: Callable[[Survey], None] | None = None,
) -> Accepted:
    """Take one learner's answers: consume the link and store them, in one transaction, with nothing linking
    the two. Raises ``LinkRefused`` for a link that cannot take answers (a second use: stored nothing), and
    ``PolicyViolation`` for answers out of range (the link stays unused and nothing is stored).

    The happy path is two statements: a compare-and-set ``UPDATE ... WHERE used = false ... RETURNING`` that
    consumes a ready invitation and returns its survey's questions (of two submissions of one link exactly one
    updates the row), then the insert of the answers. Only when nothing was consumed does ``resolve`` say why
    (or find the survey's open link, which has no invitation to consume: ``open_link_check`` may refuse it then,
    before anything is stored, by raising)."""
    if not _well_formed(token):
        raise LinkRefused(Link(LinkState.unknown))
    conn = session.connection()
    consumed = conn.execute(_CONSUME, {"digest": hash_token(token), "today": today}).first()
    if consumed is None:
        link = resolve(session, token, today=today)
        if link.state is not LinkState.ready or not link.is_open_link:  # an invitation: used just now by another
            raise LinkRefused(link if link.state is not LinkState.ready else Link(LinkState.used, link.survey))
        assert link.survey is not None and link.survey.id is not None
        if open_link_check is not None:
            open_link_check(link.survey)
        survey_id, questions, language = link.survey.id, link.survey.questions, link.survey.language
        answers = validate_answers(questions, raw)
    else:
        invitation_id, survey_id, reminder_ids, questions, language = consumed
        try:
            answers = validate_answers(questions, raw)
        except PolicyViolation:
            # Undo the consumption in this same transaction: the link stays usable, nothing is stored.
            conn.execute(update(_INVITATION).where(_INVITATION.c.id == invitation_id).values(used=False))
            raise
        if reminder_ids:
            withdraw_or_redact(session, reminder_ids, re.escape(token))
            conn.execute(update(_INVITATION).where(_INVITATION.c.id == invitation_id).values(reminder_ids=[]))
    conn.execute(insert(_RESPONSE).values(id=str(uuid.uuid4()), survey_id=survey_id, answers=answers))
    return Accepted(survey_id, language, open_link=consumed is None)


class OpenLinkGuard:
    """At most ``per_minute`` submissions through open links from one client address, in this process."""

    def __init__(self, per_minute: int = 10) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            recent = self._seen.setdefault(client, deque())
            while recent and recent[0] < now - 60:
                recent.popleft()
            if len(recent) >= self.per_minute:
                raise TooManyAttempts("Too many answers from this network in a minute. Please wait a minute.")
            recent.append(now)


OPEN_LINK_GUARD = OpenLinkGuard()
DONE_COOKIE = "fb_done"


def done_cookie_value(existing: str | None, survey_id: int) -> str:
    ids = [i for i in (existing or "").split(".") if i.isdigit()][-50:]
    return ".".join(dict.fromkeys([*ids, str(survey_id)]))


def already_done(cookie: str | None, survey_id: int) -> bool:
    return str(survey_id) in (cookie or "").split(".")


def confirmation(language: str, policies: Policies) -> str:
    policy = _policy(policies)
    return policy.confirmation[policy.language_for(language)]


def scale_labels(survey: Survey, policies: Policies) -> dict[str, str]:
    policy = _policy(policies)
    lang = policy.language_for(survey.language)
    labels = {str(point): texts[lang] for point, texts in policy.scale.items()}
    labels[NOT_APPLICABLE] = policy.not_applicable[lang]
    return labels


# --- results ------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    key: str
    text: str
    kind: str
    group: str
    group_title: str
    esg: str | None
    n: int = 0  # answers on the scale (not applicable apart)
    not_applicable: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    comments: tuple[str, ...] = ()  # sorted: no order of arrival
    hidden: bool = False  # fewer answers than the anonymity threshold
    earlier_mean: float | None = None  # earlier offerings of the same micro-credential
    faculty_mean: float | None = None  # every offering of the faculty

    @property
    def summary(self) -> str:
        if self.hidden:
            return "Fewer answers than the anonymity threshold: not shown."
        if self.kind == "open":
            return f"{len(self.comments)} comments."
        if self.mean is None or self.median is None:
            return "No figures yet."
        parts = [f"{self.n} answers, mean {self.mean:.2f}, median {self.median:g}"]
        if self.not_applicable:
            parts.append(f"{self.not_applicable} not applicable")
        if self.earlier_mean is not None:
            parts.append(f"earlier offerings {self.earlier_mean:.2f}")
        if self.faculty_mean is not None:
            parts.append(f"faculty {self.faculty_mean:.2f}")
        return "; ".join(parts) + "."


@dataclass
class Results:
    survey: Survey
    threshold: int
    responses: int
    invited: int
    questions: list[QuestionResult]
    shown: bool  # closed (or released) and at least the threshold of responses

    @property
    def response_rate(self) -> float | None:
        return self.responses / self.invited if self.invited else None

    def group_means(self) -> dict[str, float]:
        by_group: dict[str, Counter[int]] = {}
        for q in self.questions:
            if q.kind == "likert" and not q.hidden and q.group != "owner":
                by_group.setdefault(q.group, Counter()).update(q.counts)
        return {g: mean for g, points in by_group.items() if (mean := _mean(points)) is not None}


def _mean(points: Mapping[int, int]) -> float | None:
    n = sum(points.values())
    return sum(p * c for p, c in points.items()) / n if n else None


def _median(points: Mapping[int, int]) -> float:
    """The median of the points given (``statistics.median`` of the list the counts stand for)."""
    n = sum(points.values())
    ordered = sorted(points.items())

    def nth(i: int) -> int:
        for p, c in ordered:
            if i < c:
                return p
            i -= c
        raise IndexError(i)

    return nth(n // 2) if n % 2 else (nth(n // 2 - 1) + nth(n // 2)) / 2


@dataclass(frozen=True)
class Tally:
    """One survey's answers counted per question: the points given (1-5) and every other answer ("na", the
    texts of open questions), sorted so that nothing shows the order of arrival."""

    responses: int
    points: dict[str, Counter[int]]
    texts: dict[str, tuple[str, ...]]


def _tally(answers: Iterable[Mapping[str, Any]]) -> Tally:
    points: dict[str, Counter[int]] = {}
    texts: dict[str, list[str]] = {}
    responses = 0
    for a in answers:
        responses += 1
        for key, value in a.items():
            if isinstance(value, int):
                points.setdefault(key, Counter())[value] += 1
            else:
                texts.setdefault(key, []).append(str(value))
    return Tally(responses, points, {k: tuple(sorted(v)) for k, v in texts.items()})


class _TallyCache:
    """Tallies of closed surveys, whose responses never change (a survey takes answers only while open), in
    this process: keyed by the survey's id, row version and closing time, least recently used dropped first."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._found: OrderedDict[tuple[int, int, datetime | None], Tally] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, datetime | None]) -> Tally | None:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, datetime | None], tally: Tally) -> None:
        with self._lock:
            self._found[key] = tally
            while len(self._found) > self.size:
                self._found.popitem(last=False)


TALLIES = _TallyCache()
_DONE = (SurveyStatus.closed.value, SurveyStatus.released.value)


def tallies(session: Session, keys: Sequence[tuple[int, int, datetime | None]]) -> dict[int, Tally]:
    """The tallies of these closed surveys (id, row version, closing time), from the cache or, for the others,
    from one read of their answers."""
    found = {key[0]: tally for key in keys if (tally := TALLIES.get(key)) is not None}
    missing = [key for key in keys if key[0] not in found]
    if missing:
        by_survey: dict[int, list[Mapping[str, Any]]] = {key[0]: [] for key in missing}
        for sid, a in session.exec(
            select(SurveyResponse.survey_id, SurveyResponse.answers).where(
                col(SurveyResponse.survey_id).in_(list(by_survey))
            )
        ):
            by_survey[sid].append(a)
        for key in missing:
            found[key[0]] = tally = _tally(by_survey[key[0]])
            TALLIES.put(key, tally)
    return found


def response_count(session: Session, survey_id: int) -> int:
    return session.exec(select(func.count()).where(SurveyResponse.survey_id == survey_id)).one()


def _key(survey: Survey) -> tuple[int, int, datetime | None]:
    return survey.id or 0, survey.lock_version, survey.closed_at


def _comparable(
    session: Session, survey: Survey, ctx: access.SurveyCtx
) -> tuple[list[int], list[tuple[int, int, datetime | None]]]:
    """Closed surveys of earlier offerings of the same micro-credential (their ids), and of the faculty's
    offerings (their tally keys; this survey among them)."""
    session.flush()
    rows = (
        session.connection()
        .execute(
            sa_select(
                col(Survey.id),
                col(Survey.lock_version),
                col(Survey.closed_at),
                col(Offering.credential_id),
                col(Offering.ends_on),
            )
            .join(Offering, col(Offering.id) == Survey.offering_id)
            .join(Credential, col(Credential.id) == Offering.credential_id)
            .where(col(Survey.status).in_(_DONE), col(Credential.org_unit_id) == ctx.credential.org_unit_id)
        )
        .all()
    )
    earlier = [
        sid or 0
        for sid, _v, _c, cred, ends in rows
        if cred == ctx.credential.id and ends < ctx.offering.ends_on and sid != survey.id
    ]
    return earlier, [(sid or 0, version, closed) for sid, version, closed, _cr, _e in rows]


def _pooled_means(found: Iterable[Tally], threshold: int) -> dict[str, float]:
    pooled: dict[str, Counter[int]] = {}
    for tally in found:
        for key, points in tally.points.items():
            pooled.setdefault(key, Counter()).update(points)
    return {k: mean for k, v in pooled.items() if v.total() >= threshold and (mean := _mean(v)) is not None}


def results(
    session: Session, survey_id: int, actor: Actor | None, policies: Policies, *, ctx: access.SurveyCtx | None = None
) -> Results:
    """The survey's results as far as anonymity allows: while open only the response rate; once closed, per
    question, only questions with at least the threshold of answers, and nothing below the survey's threshold.
    ``ctx``: the survey as ``get_survey`` gave it to this actor, if the caller has it already."""
    if ctx is None:
        ctx = get_survey(session, survey_id, actor) if actor is not None else _unchecked_ctx(session, survey_id)
    survey = ctx.survey
    threshold = _policy(policies).anonymity_threshold
    closed = survey.status in _DONE
    own = tallies(session, [_key(survey)])[survey_id] if closed else None
    n = own.responses if own is not None else response_count(session, survey_id)
    shown = own is not None and n >= threshold
    questions = [
        QuestionResult(
            key=q["key"], text=q["text"], kind=q["kind"], group=q["group"], group_title=q["group_title"], esg=q["esg"]
        )
        for q in survey.questions
    ]
    if own is not None and shown:
        earlier_ids, faculty_keys = _comparable(session, survey, ctx)
        found = tallies(session, faculty_keys)  # this survey's and the earlier ones among them
        earlier = _pooled_means((found[sid] for sid in earlier_ids if sid in found), threshold)
        faculty = _pooled_means(found.values(), threshold)
        for q in questions:
            _fill(q, own, threshold)
            q.earlier_mean, q.faculty_mean = earlier.get(q.key), faculty.get(q.key)
    return Results(survey, threshold, n, survey.invited_count, questions, shown)


def _unchecked_ctx(session: Session, survey_id: int) -> access.SurveyCtx:
    """The survey for the system (the periodic review's summary): no actor to check."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(f"There is no survey {survey_id}.")
    return access.load_ctx(session, survey)


def _fill(q: QuestionResult, tally: Tally, threshold: int) -> None:
    texts = tally.texts.get(q.key, ())
    if q.kind == "open":
        q.hidden = len(texts) < threshold
        q.comments = () if q.hidden else texts
        return
    points = tally.points.get(q.key, Counter())
    if points.total() < threshold:
        q.hidden = True
        return
    q.n = points.total()
    q.not_applicable = texts.count(NOT_APPLICABLE)
    q.counts = {p: points[p] for p in SCALE}
    q.mean = _mean(points)
    q.median = _median(points)


def require_shown(res: Results) -> None:
    if not res.shown:
        if res.survey.status in (SurveyStatus.draft, SurveyStatus.open):
            raise Conflict("Results are shown once the survey is closed; while it is open only the response rate.")
        raise Conflict(
            f"Fewer than {res.threshold} learners answered ({res.responses}): to keep them anonymous, "
            "no results are shown."
        )


def results_csv(res: Results) -> str:
    """One row per question: the distribution, n, mean, median and comparisons. Refused below the threshold."""
    require_shown(res)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "question",
            "group",
            "esg",
            "n",
            *map(str, SCALE),
            "not applicable",
            "mean",
            "median",
            "earlier offerings",
            "faculty",
        ]
    )
    for q in res.questions:
        if q.kind != "likert" or q.hidden:
            continue
        writer.writerow(
            [
                q.text,
                q.group_title or q.group,
                q.esg or "",
                q.n,
                *(q.counts[p] for p in SCALE),
                q.not_applicable,
                f"{q.mean:.2f}",
                f"{q.median:g}",
                _fmt(q.earlier_mean),
                _fmt(q.faculty_mean),
            ]
        )
    return out.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


# --- closing the loop -----------------------------------------------------------------------------


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner_response: str = Field(min_length=1, max_length=10_000, title="Your response to the feedback")
    action_plan: str = Field(min_length=1, max_length=10_000, title="Action plan: what you will change")

    @field_validator("owner_response", "action_plan")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("This field is required.")
        return value.strip()


def respond(session: Session, survey_id: int, actor: Actor, data: ResponseIn) -> Survey:
    """The owner's response and action plan, once results exist (the QA office sees it and marks it seen)."""
    ctx = get_survey(session, survey_id, actor)
    if actor.id != ctx.credential.owner_id and not actor.in_qa_office:
        raise PermissionDenied("Only the micro-credential's owner can respond to its feedback.")
    survey = ctx.survey
    if survey.status not in (SurveyStatus.closed, SurveyStatus.released):
        raise Conflict("You can respond once the survey is closed.")
    survey.owner_response, survey.action_plan = data.owner_response, data.action_plan
    survey.responded_at = utcnow()
    survey.response_seen_at, survey.response_seen_by_id = None, None
    session.add(survey)
    session.flush()
    return survey


def mark_seen(session: Session, survey_id: int, actor: Actor) -> Survey:
    ctx = get_survey(session, survey_id, actor)
    if not actor.in_qa_office:
        raise PermissionDenied("Only the QA office marks a response as seen.")
    if ctx.survey.responded_at is None:
        raise Conflict("The owner has not responded yet.")
    ctx.survey.response_seen_at, ctx.survey.response_seen_by_id = utcnow(), actor.id
    session.add(ctx.survey)
    session.flush()
    return ctx.survey


def below_thresholds(res: Results, policies: Policies) -> list[str]:
    """Why these results flag the micro-credential for a triggered review (empty: they do not). Only results
    that may be shown count: below the anonymity threshold nothing is known."""
    triggers = _policy(policies).review_triggers
    reasons: list[str] = []
    rate = res.response_rate
    closed = res.survey.status in (SurveyStatus.closed, SurveyStatus.released)
    if closed and rate is not None and rate < triggers.response_rate_below:
        reasons.append(f"Response rate {rate:.0%} is below {triggers.response_rate_below:.0%}.")
    if not res.shown:
        return reasons
    titles = {q.group: q.group_title for q in res.questions}
    for group, mean in res.group_means().items():
        if mean < triggers.group_mean_below:
            reasons.append(f"{titles.get(group) or group}: mean {mean:.2f} is below {triggers.group_mean_below:g}.")
    for q in res.questions:
        if q.mean is not None and q.mean < triggers.item_mean_below:
            reasons.append(f"“{q.text}”: mean {q.mean:.2f} is below {triggers.item_mean_below:g}.")
    return reasons


@dataclass(frozen=True)
class FeedbackSummary:
    """One closed survey as the periodic review receives it (``summary_for_review``)."""

    survey_id: int
    offering_id: int
    offering_starts_on: date
    offering_ends_on: date
    questionnaire_version: str
    responses: int
    invited: int
    response_rate: float | None
    shown: bool  # False: fewer responses than the anonymity threshold, so no figures below
    group_means: dict[str, float]  # group title -> mean on the 1-5 scale
    question_means: dict[str, float]  # question text -> mean
    owner_response: str
    action_plan: str
    response_seen: bool
    review_flags: list[str]  # why these results call for a triggered review (empty: none)


def summary_for_review(
    session: Session, credential_id: int, since: date, policies: Policies | None = None
) -> list[FeedbackSummary]:
    """The closed surveys of a micro-credential's offerings that ended on or after ``since``, oldest first:
    figures (only above the anonymity threshold), the owner's response and action plan, and the review flags.
    ``policies`` defaults to the shipped files (the reviews domain may pass the app's)."""
    if policies is None:
        from app.policies import load_policies
        from app.settings import ROOT

        policies = load_policies(ROOT / "policies")
    rows = session.exec(
        select(Survey)
        .join(Offering, col(Offering.id) == Survey.offering_id)
        .where(
            Offering.credential_id == credential_id,
            col(Offering.ends_on) >= since,
            col(Survey.status).in_((SurveyStatus.closed.value, SurveyStatus.released.value)),
        )
        .order_by(col(Offering.ends_on), col(Survey.id))
    ).all()
    found: list[FeedbackSummary] = []
    for survey in rows:
        res = results(session, survey.id or 0, None, policies)
        offering = session.get_one(Offering, survey.offering_id)
        titles = {q.group: q.group_title for q in res.questions}
        found.append(
            FeedbackSummary(
                survey_id=survey.id or 0,
                offering_id=offering.id or 0,
                offering_starts_on=offering.starts_on,
                offering_ends_on=offering.ends_on,
                questionnaire_version=survey.questionnaire_version,
                responses=res.responses,
                invited=res.invited,
                response_rate=res.response_rate,
                shown=res.shown,
                group_means={titles.get(g) or g: m for g, m in res.group_means().items()},
                question_means={q.text: q.mean for q in res.questions if q.mean is not None},
                owner_response=survey.owner_response,
                action_plan=survey.action_plan,
                response_seen=survey.response_seen_at is not None,
                review_flags=below_thresholds(res, policies),
            )
        )
    return found


@dataclass(frozen=True)
class ChangeMade:
    offering_ends_on: date
    action_plan: str


def changes_for_catalogue(session: Session, credential_id: int, policies: Policies) -> list[ChangeMade]:
    """ "What we changed after your feedback": the action plans the QA office has seen, newest first (none when
    the policy says the catalogue does not show them)."""
    if not _policy(policies).show_changes_in_catalogue:
        return []
    rows = session.exec(
        select(col(Offering.ends_on), col(Survey.action_plan))
        .join(Offering, col(Offering.id) == Survey.offering_id)
        .where(Offering.credential_id == credential_id, col(Survey.response_seen_at).is_not(None))
        .order_by(col(Offering.ends_on).desc())
        .limit(5)
    ).all()
    return [ChangeMade(ends, plan) for ends, plan in rows if plan]


# --- what the scheduler does ----------------------------------------------------------------------


def open_at_offering_end(session: Session, now: datetime, policies: Policies) -> int:
    """Create and open a survey for every offering that has ended (on or before today) and has none yet, when
    the policy says so. Each offering once: a second sweep finds the survey (the unique check in create)."""
    policy = _policy(policies)
    if not policy.auto_open.enabled:
        return 0
    today = now.date()
    window = today - timedelta(days=policy.auto_open.days_open)
    has_survey = select(Survey.id).where(Survey.offering_id == Offering.id).exists()
    ids = session.exec(
        select(Offering.id).where(col(Offering.ends_on) <= today, col(Offering.ends_on) > window, ~has_survey)
    ).all()
    opened = 0
    for offering_id in ids:
        try:
            with session.begin_nested():
                survey = create_survey(session, offering_id or 0, None, policies, SurveyIn(opens_on=today))
                act(session, survey.id or 0, "open", core.SYSTEM, policies, comment="Opened when the offering ended.")
        except (Conflict, IntegrityError):  # another sweeper made it first
            continue
        opened += 1
    return opened


def close_due(session: Session, now: datetime, policies: Policies) -> int:
    """Close every open survey whose closing date has passed."""
    ids = session.exec(
        select(Survey.id).where(Survey.status == SurveyStatus.open.value, col(Survey.closes_on) < now.date())
    ).all()
    closed = 0
    for survey_id in ids:
        try:
            with session.begin_nested():
                act(session, survey_id or 0, "close", core.SYSTEM, policies, comment="Closed on its closing date.")
        except Conflict:
            continue
        closed += 1
    return closed
