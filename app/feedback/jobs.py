"""Scheduled work for feedback surveys, called by the sweep as ``job(session, now)`` (bound in app/jobs.py).

- ``feedback.open_at_offering_end``: when the policy says so, an offering that has ended gets its survey, opened
  for the policy's number of days (one per offering: a unique index; a second sweep finds it made);
- ``feedback.close_due``: an open survey whose closing date has passed is closed (the core's compare-and-set
  lets one sweeper do it).

Reminders are outbox messages queued when the invitations are mailed, due on the reminder days; the outbox's own
sender delivers them, and using a link withdraws its reminders (see app/feedback/service.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.feedback import service
from app.policies import Policies


def open_at_offering_end(session: Session, now: datetime, *, policies: Policies) -> int:
    return service.open_at_offering_end(session, now, policies)


def close_due(session: Session, now: datetime, *, policies: Policies) -> int:
    return service.close_due(session, now, policies)
