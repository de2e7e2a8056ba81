"""The automatic checks' results are cached per content and catalogue: a cached result is used again while
nothing it depends on changed, and never once the proposal's content, its evidence files, what is published or
the policies changed (a publication that is rolled back leaves nothing behind)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.checklists import automatic, service
from app.checklists.policy import AutomaticCheck, ChecklistPolicy
from app.policies import Policies
from app.proposals.models import Attachment, Proposal
from tests.checklists.helpers import QA, at_qa_office, covered_content, publish_with
from tests.checklists.test_automatic import with_rules
from tests.conftest import actor_for, login

# A title and outcomes nothing in the demo catalogue resembles.
MANUSCRIPTS: dict[str, Any] = {
    "title": "Medieval Manuscripts in Practice",
    "learning_outcomes": [
        "Describe medieval book production",
        "Analyse a Gothic script",
        "Compare regional scribal hands",
    ],
    "lo_assessment": {"1": ["project"], "2": ["project"], "3": ["oral_exam"]},
}


def auto(db: Session, policies: Policies, proposal: Proposal, check: AutomaticCheck) -> automatic.Result:
    found = service.checklist_of(db, proposal, actor_for(db, QA), policies)
    (view,) = [v for v in found.items if v.item.automatic is check]
    assert view.auto is not None
    return view.auto


def test_a_cached_result_is_used_again_while_nothing_changed(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    first = auto(db, policies, proposal, AutomaticCheck.duplication)
    assert first.status == "met"
    assert auto(db, policies, proposal, AutomaticCheck.duplication) is first
    assert auto(db, policies, proposal, AutomaticCheck.ects_bounds) is auto(
        db, policies, proposal, AutomaticCheck.ects_bounds
    )


def test_the_result_changes_when_the_proposal_changes(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    assert auto(db, policies, proposal, AutomaticCheck.ects_bounds).status == "met"
    proposal.content = {**proposal.content, "ects": 40, "hours": 1100}
    db.add(proposal)
    db.flush()
    changed = auto(db, policies, proposal, AutomaticCheck.ects_bounds)
    assert changed.status == "not_met" and "40 ECTS" in changed.reasons[0]
    # The same content as another proposal's, and the other's result holds for it: the content is the key.
    proposal.content = {**proposal.content, "ects": 6, "hours": 160}
    db.add(proposal)
    db.flush()
    assert auto(db, policies, proposal, AutomaticCheck.ects_bounds).status == "met"


def test_the_result_changes_when_an_evidence_file_is_added(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS, evidence_links=[]))
    assert auto(db, policies, proposal, AutomaticCheck.evidence_of_need).status == "not_met"
    db.add(
        Attachment(
            proposal_id=proposal.id or 0,
            filename="letter.pdf",
            content_type="application/pdf",
            size=3,
            data=b"pdf",
            uploaded_by_id=proposal.owner_id,
        )
    )
    db.flush()
    assert auto(db, policies, proposal, AutomaticCheck.evidence_of_need).status == "met"


def test_the_duplication_result_changes_when_a_duplicate_is_published(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "met"
    publish_with(db, policies, **MANUSCRIPTS)
    found = auto(db, policies, proposal, AutomaticCheck.duplication)
    assert found.status == "not_met"
    assert [m["title"] for m in found.matches] == [MANUSCRIPTS["title"]]


def test_a_rolled_back_publication_leaves_no_cached_result_behind(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "met"
    published = db.begin_nested()
    publish_with(db, policies, **MANUSCRIPTS)
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "not_met"
    published.rollback()
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "met"
    # Another publication raises the catalogue's generation to the number the rolled-back one had: the duplicate
    # found then is not found now.
    beekeeping = ["Apply hive hygiene on a roof", "Assess a colony for disease", "Describe a safe honey harvest"]
    publish_with(db, policies, title="Urban Beekeeping", learning_outcomes=beekeeping)
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "met"


def test_the_result_follows_the_policies(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    publish_with(db, policies, **{**MANUSCRIPTS, "title": "Medieval Manuscripts in Practice and Theory"})
    assert auto(db, policies, proposal, AutomaticCheck.duplication).status == "not_met"
    exact = with_rules(
        policies, duplication=policies.of(ChecklistPolicy).checks.duplication.model_copy(update={"threshold": 1.01})
    )
    assert auto(db, exact, proposal, AutomaticCheck.duplication).status == "met"


def test_the_checklist_page_shows_a_duplicate_published_after_it_was_first_shown(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(**MANUSCRIPTS))
    login(client, QA)
    before = client.get(f"/proposals/{proposal.id}/checklist")
    assert before.status_code == 200 and "none is similar" in before.text
    publish_with(db, policies, **MANUSCRIPTS)
    after = client.get(f"/proposals/{proposal.id}/checklist")
    assert "none is similar" not in after.text and "Compare them side by side" in after.text
