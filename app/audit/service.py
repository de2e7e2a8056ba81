"""Write and read audit rows. Writing only appends; nothing here updates or deletes."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit.models import AuditEvent
from app.db import IN_FLIGHT, mark_written, table_of, utcnow

ROLE_MAX = 64  # AuditEvent.actor_role's length


# Built once: every action writes one, as a plain INSERT at once, without the ORM's unit of work (nothing reads
# the row back in the transaction that writes it, and the log is append-only). ``inline``: nor its new id, which
# PostgreSQL would otherwise send back (``RETURNING id``) as a result to read on every action.
# ``IN_FLIGHT``: sent without waiting for it, with the statement or the COMMIT that follows (app.db).
_INSERT = table_of(AuditEvent).insert().inline().execution_options(**{IN_FLIGHT: True})
# Where a session keeps the status changes it has audited and not yet flushed: the workflow core's flush guard
# (app.workflows.core) refuses a status change without its audit row.
AUDITED = "mcqa_audited"


def record(
    session: Session,
    *,
    actor_id: int | None,
    entity_type: str,
    entity_id: int,
    action: str,
    actor_role: str = "",
    from_state: str | None = None,
    to_state: str | None = None,
    policy_version: str | None = None,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    session.connection().execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor_id": actor_id,
            # The role is a label ("Sam Sub for Carla Chair (faculty council)"): clipped to its column, never refused.
            "actor_role": actor_role if len(actor_role) <= ROLE_MAX else actor_role[: ROLE_MAX - 1] + "…",
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "from_state": from_state,
            "to_state": to_state,
            "policy_version": policy_version,
            "comment": comment,
            "data": data or {},
        },
    )
    mark_written(session)
    if to_state is not None:
        session.info.setdefault(AUDITED, set()).add((entity_type, entity_id, to_state))
