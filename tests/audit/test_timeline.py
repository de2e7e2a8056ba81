"""The generic timeline: the audit rows of several entities in one chronological list."""

from __future__ import annotations

from sqlmodel import Session

from app.audit import service as audit
from app.audit.timeline import timeline
from tests.conftest import actor_for


def test_rows_of_several_entities_in_one_list_with_labels_and_names(db: Session) -> None:
    qa = actor_for(db, "qa@example.org")
    audit.record(db, actor_id=qa.id, actor_role="QA office", entity_type="review", entity_id=90001, action="open")
    audit.record(
        db, actor_id=None, entity_type="answer", entity_id=90002, action="answer", from_state="open", to_state="done"
    )
    audit.record(db, actor_id=qa.id, entity_type="review", entity_id=90003, action="not mine")
    audit.record(db, actor_id=None, actor_role="system", entity_type="review", entity_id=90001, action="close")

    result = timeline(
        db,
        [("review", 90001), ("answer", 90002)],
        state_labels={"answer": {"open": "Open", "done": "Answered"}},
        subject_names={("answer", 90002): "Answer 1"},
    )

    assert [(e.entity_type, e.entity_id, e.action) for e in result.events] == [
        ("review", 90001, "open"),
        ("answer", 90002, "answer"),
        ("review", 90001, "close"),
    ]
    first, answer, last = result.entries
    assert (first.who, first.role, first.subject) == (qa.name, "QA office", "")
    assert (answer.subject, answer.from_label, answer.to_label, answer.who) == (
        "Answer 1",
        "Open",
        "Answered",
        "the system",
    )
    assert last.role == "" and [e.action for e in result.newest_first] == ["close", "answer", "open"]
    assert timeline(db, []).entries == []
