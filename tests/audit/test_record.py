"""Writing an audit row: one plain INSERT that asks nothing back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.models import AuditEvent


def test_an_audit_row_is_one_insert_that_returns_nothing(db: Session) -> None:
    """Every action writes one: PostgreSQL would otherwise send its new id back (RETURNING) for nobody to read."""
    sent: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        audit.record(db, actor_id=None, entity_type="review", entity_id=90021, action="open", data={"n": 1})
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    inserts = [s for s in sent if "audit_event" in s]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT INTO audit_event")
    assert "RETURNING" not in inserts[0].upper()
    row = db.exec(select(AuditEvent).where(col(AuditEvent.entity_id) == 90021)).one()
    assert (row.entity_type, row.action, row.data) == ("review", "open", {"n": 1})
