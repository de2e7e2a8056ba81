"""The lifecycle of an offering's feedback survey.

The owner or the QA office prepares a survey (draft) and opens it with its dates; the scheduler may open it on
its own when the offering ends, and closes it on its close date (or a person closes it earlier). Once closed, the
results are released to the owner and, through them, to the next periodic review. Run by the workflow core like
every other lifecycle.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from statemachine import StateMachine

from app.errors import PolicyViolation
from app.workflows.core import final_states, labelled_states, state_labels


class SurveyStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    released = "released"


S = SurveyStatus


class SurveyWorkflow(StateMachine):
    _ = labelled_states(SurveyStatus, initial=S.draft, final={S.released}, labels={S.released: "Results released"})

    open = _.draft.to(_.open, validators="dates_valid")
    close = _.open.to(_.closed)
    release = _.closed.to(_.released)

    def dates_valid(self, opens_on: date | None = None, closes_on: date | None = None, **_: Any) -> None:
        opens = opens_on or self.model.opens_on
        closes = closes_on or self.model.closes_on
        if closes < opens:
            raise PolicyViolation(
                "The survey must close on or after the day it opens.", errors={"closes_on": "Before the opening."}
            )

    def on_open(self, now: datetime, opens_on: date | None = None, closes_on: date | None = None) -> None:
        if opens_on is not None:
            self.model.opens_on = opens_on
        if closes_on is not None:
            self.model.closes_on = closes_on
        self.model.opened_at = now

    def on_close(self, now: datetime) -> None:
        self.model.closed_at = now

    def on_release(self, now: datetime) -> None:
        self.model.released_at = now


LABELS = state_labels(SurveyWorkflow)
FINAL_STATES = final_states(SurveyWorkflow)
PARTICIPLES = {"open": "opened", "close": "closed", "release": "released"}
