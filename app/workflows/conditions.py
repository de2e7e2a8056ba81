"""The lifecycle of a condition set by an approval "with conditions".

A body that approves with conditions gives each one a text and a due date. The owner reports a condition met
with evidence (and may report again, with better evidence, until it is confirmed); the QA office confirms it,
or sends it back as not met yet with a reason. Run by the workflow core like every other lifecycle.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from statemachine import StateMachine

from app.errors import PolicyViolation
from app.workflows.core import final_states, labelled_states, state_labels


class ConditionStatus(StrEnum):
    open = "open"
    met = "met"
    confirmed = "confirmed"


C = ConditionStatus


class ConditionWorkflow(StateMachine):
    _ = labelled_states(ConditionStatus, initial=C.open, final={C.confirmed}, labels={C.met: "Reported met"})

    report_met = _.open.to(_.met, validators="evidence_given") | _.met.to(_.met, validators="evidence_given")
    confirm = _.met.to(_.confirmed)
    send_back = _.met.to(_.open, validators="reason_given")

    def evidence_given(self, evidence: str = "", **_: Any) -> None:
        if not evidence.strip():
            raise PolicyViolation("Describe the evidence that the condition is met.", errors={"evidence": "Required."})

    def reason_given(self, comment: str = "", **_: Any) -> None:
        if not comment.strip():
            raise PolicyViolation(
                "Say why the condition is not met yet: a reason is required.", errors={"comment": "Required."}
            )

    def on_report_met(self, evidence: str, now: datetime, actor: Any) -> None:
        self.model.evidence = evidence.strip()
        self.model.met_at, self.model.met_by_id = now, actor.id

    def on_confirm(self, now: datetime, actor: Any) -> None:
        self.model.confirmed_at, self.model.confirmed_by_id = now, getattr(actor, "id", None)


LABELS = state_labels(ConditionWorkflow)
FINAL_STATES = final_states(ConditionWorkflow)
PARTICIPLES = {"report_met": "reported as met", "confirm": "confirmed", "send_back": "sent back"}
