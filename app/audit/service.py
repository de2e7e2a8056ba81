"""Write and read audit rows. Writing only appends; nothing here updates or deletes."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit.models import AuditEvent

ROLE_MAX = 64  # AuditEvent.actor_role's length


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
) -> AuditEvent:
    row = AuditEvent(
        actor_id=actor_id,
        # The role is a label ("Sam Sub for Carla Chair (faculty council)"): clipped to its column, never refused.
        actor_role=actor_role if len(actor_role) <= ROLE_MAX else actor_role[: ROLE_MAX - 1] + "…",
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        policy_version=policy_version,
        comment=comment,
        data=data or {},
    )
    session.add(row)
    return row
