"""Factories for proposals: complete content, and helpers that walk a proposal through its route."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.approvals import service as approvals
from app.approvals.models import Condition
from app.approvals.voting import Choice
from app.org.models import Module, Programme
from app.policies import Policies, load_policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.proposals.policy import CredentialPolicy
from app.settings import ROOT
from tests.conftest import actor_for, checklist_gate, csrf_token

POLICIES_DIR = ROOT / "policies"
LETTER = b"%PDF-1.4 letter of support from GridCo"


def complete_content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "title": "Applied Data Analytics for Energy",
        "learning_outcomes": [
            "Analyse energy consumption data with Python",
            "Design a dashboard for operational decisions",
            "Evaluate forecasting models against real data",
        ],
        "ects": 6,
        "hours": 160,
        "eqf_level": 6,
        "qf_ehea_cycle": "first",
        "assessment_types": ["project", "oral_exam"],
        "assessment_description": "A group project on real data and an individual oral defence.",
        "participation_form": "blended",
        "participation_description": "Six online weeks and two days on campus.",
        "target_group": "Engineers working in the energy sector.",
        "need": "Utilities report a shortage of staff who can analyse smart-meter data.",
        "labour_market_evidence": "Letters of support from two regional grid operators.",
        "languages": ["English"],
        "supervision": "supervised_with_id",
    }
    content.update(overrides)
    return content


def unbundled_content(db: Session, **overrides: Any) -> dict[str, Any]:
    programme = db.exec(select(Programme).where(Programme.code == "BSC-CS")).one()
    module = db.exec(select(Module).where(Module.code == "CS320")).one()
    return complete_content(
        title="Machine Learning (unbundled)",
        parent_programme_id=programme.id,
        parent_module_id=module.id,
        **overrides,
    )


def new_proposal(
    db: Session,
    policies: Policies,
    *,
    kind: Kind = Kind.standalone,
    owner: str = "academic@example.org",
    content: dict[str, Any] | None = None,
    co_proposers: list[int] | None = None,
) -> Proposal:
    values = (
        content if content is not None else (complete_content() if kind is Kind.standalone else unbundled_content(db))
    )
    proposal, _ = service.create_proposal(
        db, actor_for(db, owner), policies, kind=kind, values=values, co_proposer_ids=co_proposers
    )
    return proposal


def submitted(db: Session, policies: Policies, **kwargs: Any) -> Proposal:
    proposal = new_proposal(db, policies, **kwargs)
    owner = kwargs.get("owner", "academic@example.org")
    assert proposal.id is not None
    return service.submit(db, proposal.id, actor_for(db, owner), policies)


def vote(db: Session, policies: Policies, proposal: Proposal, email: str, choice: Choice, **kwargs: Any) -> Any:
    assert proposal.id is not None
    return approvals.cast_vote(db, proposal.id, actor_for(db, email), policies, choice=choice, **kwargs)


def approved_with_condition(
    db: Session, policies: Policies, text: str, *, due_on: str = "2031-01-31", **kwargs: Any
) -> tuple[Proposal, Condition]:
    """A submitted proposal the faculty council approves with one condition (``kwargs`` go to ``submitted``)."""
    proposal = submitted(db, policies, **kwargs)
    conditions = [{"text": text, "due_on": due_on}]
    vote(db, policies, proposal, "council1@example.org", Choice.approve_with_conditions, conditions=conditions)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    condition = db.exec(select(Condition).where(Condition.proposal_id == proposal.id)).one()
    return proposal, condition


def upload(client: TestClient, pid: int, name: str, data: bytes, media: str, description: str = "") -> Any:
    # The CSRF token must come before the file in a multipart form, as the page's form sends it.
    return client.post(
        f"/proposals/{pid}/attachments",
        data={"csrftoken": csrf_token(client), "description": description},
        files={"file": (name, data, media)},
    )


def policies_with(tmp_path: Path, *replacements: tuple[str, str]) -> Policies:
    """The shipped policies with (old, new) text replaced in approval.yaml; each old text must be there."""
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES_DIR, directory)
    approval = directory / "approval.yaml"
    text = approval.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    approval.write_text(text)
    return checklist_gate(load_policies(directory), False)  # as the ``policies`` fixture


def credentials_with(policies: Policies, **changes: Any) -> Policies:
    """The policies with these credentials.yaml settings changed (``co_proposers`` given as a dict of its fields)."""
    credentials = policies.of(CredentialPolicy)
    if "co_proposers" in changes:
        changes["co_proposers"] = credentials.co_proposers.model_copy(update=changes["co_proposers"])
    name = next(name for name, policy in policies.files.items() if policy is credentials)
    return Policies(files={**policies.files, name: credentials.model_copy(update=changes)})


def allowing_route_members(policies: Policies) -> Policies:
    """Members of a body on the route may be co-proposers (the body must keep its quorum)."""
    return credentials_with(policies, co_proposers={"members_of_route_bodies": True})
