"""What each role sees first. Each panel is a title, a few figures and links; domains add their own."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from app.org.models import Committee, Programme
from app.security import Actor
from app.users.models import User


@dataclass
class Panel:
    title: str
    figures: list[tuple[str, int]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    empty: str = ""


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def panels(session: Session, actor: Actor) -> list[Panel]:
    result: list[Panel] = []
    if actor.is_academic:
        result.append(Panel("My proposals", empty="You have no micro-credential proposals yet."))
    for m in actor.memberships:
        result.append(Panel(f"Awaiting my decision: {m.committee_name}", empty="Nothing is waiting for your vote."))
    if actor.is_qa_officer:
        result.append(Panel("Pipeline", empty="No proposals are in the approval pipeline."))
    if actor.is_admin:
        result.append(
            Panel(
                "Organisation",
                figures=[
                    ("accounts", _count(session, User)),
                    ("committees", _count(session, Committee)),
                    ("programmes", _count(session, Programme)),
                ],
                links=[
                    ("/admin/users", "Manage accounts"),
                    ("/admin/committees", "Manage committees"),
                    ("/admin/programmes", "Manage programmes"),
                ],
            )
        )
    return result
