"""The lifecycle of one checklist answer: an item of the ESG Part 1 checklist answered for one subject (a
proposal, or a periodic review). Every answer, first or changed, is the event ``answer`` to the status chosen,
run by the workflow core (lock, permission, audit, listeners) like every other lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any

from statemachine import StateMachine
from statemachine.states import States

from app.workflows.core import labelled_states, state_labels


class AnswerStatus(StrEnum):
    unanswered = "unanswered"
    met = "met"
    partly_met = "partly_met"
    not_met = "not_met"
    not_applicable = "not_applicable"


A = AnswerStatus
ANSWERS = (A.met, A.partly_met, A.not_met, A.not_applicable)


def _answer(states: States) -> Any:
    """From any status to the one chosen (the same one again: new evidence, a new comment)."""
    return reduce(
        or_,
        (
            getattr(states, source.value).to(getattr(states, target.value), cond=f"chose_{target.value}")
            for source in AnswerStatus
            for target in ANSWERS
        ),
    )


class ChecklistAnswerWorkflow(StateMachine):
    _ = labelled_states(AnswerStatus, initial=A.unanswered, final=set(), labels={A.not_applicable: "Not applicable"})

    answer = _answer(_)

    def chose_met(self, status: str = "", **_: Any) -> bool:
        return status == A.met

    def chose_partly_met(self, status: str = "", **_: Any) -> bool:
        return status == A.partly_met

    def chose_not_met(self, status: str = "", **_: Any) -> bool:
        return status == A.not_met

    def chose_not_applicable(self, status: str = "", **_: Any) -> bool:
        return status == A.not_applicable

    def on_answer(self, now: datetime, actor: Any, fields: dict[str, Any], **_: Any) -> None:
        for name, value in fields.items():
            setattr(self.model, name, value)
        self.model.answered_at, self.model.answered_by_id = now, getattr(actor, "id", None)


LABELS = state_labels(ChecklistAnswerWorkflow)
PARTICIPLES = {"answer": "answered"}
