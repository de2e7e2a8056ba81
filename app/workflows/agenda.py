"""The lifecycle of a committee meeting's agenda.

A chair (or the QA office) drafts an agenda for a meeting date from the proposals awaiting the committee, orders
and annotates it, and publishes it to the members. After the meeting the body's decisions are recorded from it,
item by item, as its minutes: the agenda is then minuted, and stays as the record of the meeting. A draft or
published agenda may be cancelled. Run by the workflow core like every other lifecycle.
"""

from __future__ import annotations

from enum import StrEnum

from statemachine import StateMachine

from app.workflows.core import final_states, labelled_states, state_labels, states_allowing


class AgendaStatus(StrEnum):
    draft = "draft"
    published = "published"
    minuted = "minuted"
    cancelled = "cancelled"


A = AgendaStatus


class AgendaWorkflow(StateMachine):
    _ = labelled_states(AgendaStatus, initial=A.draft, final={A.minuted, A.cancelled})

    publish = _.draft.to(_.published)
    record_minutes = _.published.to(_.minuted)
    cancel = _.draft.to(_.cancelled) | _.published.to(_.cancelled)


LABELS = state_labels(AgendaWorkflow)
FINAL_STATES = final_states(AgendaWorkflow)
# Its items can be changed (added, ordered, annotated) until the minutes are recorded.
EDITABLE_STATES = states_allowing(AgendaWorkflow, "cancel")
PARTICIPLES = {"publish": "published", "record_minutes": "minuted", "cancel": "cancelled"}
