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


def test_only_the_newest_entries_with_the_count_of_all(db: Session) -> None:
    for n in range(7):
        audit.record(db, actor_id=None, entity_type="review", entity_id=90011, action=f"step {n}")
        audit.record(db, actor_id=None, entity_type="answer", entity_id=90012, action=f"answer {n}")
    audit.record(db, actor_id=None, entity_type="review", entity_id=90013, action="another review")
    subjects = [("review", 90011), ("answer", 90012)]

    newest = timeline(db, subjects, newest=3)

    assert [e.action for e in newest.events] == ["answer 5", "step 6", "answer 6"]  # oldest first, as in full
    assert (newest.total, newest.hidden) == (14, 11)
    everything = timeline(db, subjects)
    assert (len(everything.entries), everything.total, everything.hidden) == (14, 14, 0)
    assert everything.events[-3:] == newest.events
    few = timeline(db, subjects, newest=20)
    assert (len(few.entries), few.hidden) == (14, 0)
    assert (timeline(db, [("review", 90099)], newest=3).total, timeline(db, [], newest=3).hidden) == (0, 0)
