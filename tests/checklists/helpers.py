"""Proposals at a given stage for checklist tests, and answering a body's checklist."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.approvals.voting import Choice
from app.checklists import service
from app.policies import Policies
from app.proposals.models import Proposal
from tests.conftest import actor_for
from tests.proposals.factories import complete_content, submitted, vote

QA = "qa@example.org"


def at_qa_office(db: Session, policies: Policies, **kwargs: Any) -> Proposal:
    """A standalone proposal the faculty council and the lifelong-learning committee have approved (``policies``:
    the checklist does not gate them), now with the QA office."""
    kwargs.setdefault("content", covered_content())
    proposal = submitted(db, policies, **kwargs)
    for email in ("council1@example.org", "council2@example.org", "lll1@example.org", "lll2@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "qa_office_review"
    return proposal


def publish_with(db: Session, policies: Policies, **content: Any) -> Proposal:
    """A micro-credential with this content (over ``covered_content``), approved by the QA office: published."""
    proposal = at_qa_office(db, policies, content=covered_content(**content))
    vote(db, policies, proposal, QA, Choice.approve)
    assert proposal.status == "published"
    return proposal


def covered_content(**overrides: Any) -> dict[str, Any]:
    """Complete content whose every outcome is covered by an assessment (the matrix the automatic check reads)."""
    matrix = {"1": ["project"], "2": ["project"], "3": ["oral_exam"]}
    return complete_content(**{"lo_assessment": matrix, **overrides})


def answer(db: Session, policies: Policies, proposal: Proposal, key: str, who: str = QA, **given: Any) -> Any:
    assert proposal.id is not None
    values = {"status": "met", **given}
    return service.answer(db, proposal.id, key, actor_for(db, who), policies, service.Answer(**values))


def answer_mandatory(db: Session, policies: Policies, proposal: Proposal, body: str, who: str = QA) -> list[str]:
    """Answer every mandatory item of ``body`` as its automatic check concludes (met when it has none)."""
    found = service.checklist_of(db, proposal, actor_for(db, who), policies)
    keys = []
    for view in found.items:
        if view.item.body.value == body and view.item.mandatory:
            answer(db, policies, proposal, view.key, who, status=view.suggested or "met")
            keys.append(view.key)
    return keys
