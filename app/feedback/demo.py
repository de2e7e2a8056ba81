"""Demo feedback (loaded with the showcase): a micro-credential with an offering whose survey closed above the
anonymity threshold, with the owner's response seen by the QA office (so the catalogue shows what changed), and a
later offering whose survey is open with a few answers in. Done through the services, as people would."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel import Session

from app.catalogue.models import Credential
from app.feedback import service
from app.feedback.models import Survey
from app.offerings import service as offerings
from app.policies import Policies
from app.security import Actor

COMMENTS = [
    "The weekly labs were the best part.",
    "More worked examples before the project, please.",
    "The exam questions matched what we practised.",
    "Recorded lectures were too long; shorter clips would help.",
]


def load_feedback_demo(
    session: Session, policies: Policies, credential_id: int, owner: Actor, qa: Actor, *, today: date | None = None
) -> tuple[Survey, Survey]:
    today = today or date.today()
    credential = session.get_one(Credential, credential_id)
    assert credential.id is not None
    rng = random.Random(9)
    past = offerings.add_offering(
        session,
        credential.id,
        owner,
        offerings.OfferingIn(
            starts_on=today - timedelta(days=150),
            ends_on=today - timedelta(days=60),
            capacity=40,
            language="en",
            participation_form="online",
        ),
    )
    closed = service.create_survey(session, past.id or 0, owner, policies, service.SurveyIn())
    service.act(session, closed.id or 0, "open", qa, policies)
    for link in service.make_links(session, closed.id or 0, qa, 24, base_url="http://demo")[:14]:
        answers = {
            q["key"]: rng.choice([2, 3, 4, 4, 5, 5, "na"] if q["key"] == "support" else [3, 4, 4, 5, 5])
            for q in closed.questions
            if q["kind"] == "likert"
        }
        answers["improve"] = rng.choice(COMMENTS)
        service.submit(session, link.rsplit("/", 1)[1], answers, today=closed.opens_on)
    service.act(session, closed.id or 0, "close", qa, policies, comment="Closed for the demo.")
    service.respond(
        session,
        closed.id or 0,
        owner,
        service.ResponseIn(
            owner_response="Thank you: the labs work, the recorded lectures are too long.",
            action_plan="Lectures cut into clips of at most 12 minutes; two worked examples added before the project.",
        ),
    )
    service.mark_seen(session, closed.id or 0, qa)

    current = offerings.add_offering(
        session,
        credential.id,
        owner,
        offerings.OfferingIn(
            starts_on=today - timedelta(days=80),
            ends_on=today - timedelta(days=2),
            capacity=60,
            language="nl",
            participation_form="online",
        ),
    )
    running = service.create_survey(
        session,
        current.id or 0,
        owner,
        policies,
        service.SurveyIn(
            opens_on=today - timedelta(days=2),
            closes_on=today + timedelta(days=12),
            owner_questions=[service.OwnerQuestionIn(text="Were the Thursday evening labs at a good time?")],
        ),
    )
    service.act(session, running.id or 0, "open", owner, policies)
    for link in service.make_links(session, running.id or 0, owner, 30, base_url="http://demo")[:3]:
        service.submit(session, link.rsplit("/", 1)[1], {"outcomes_clear": rng.choice([4, 5])}, today=today)
    return closed, running
