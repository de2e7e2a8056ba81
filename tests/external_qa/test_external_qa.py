"""The institution's external QA record (ESG 1.10): its page and API, validation, audit, and the "type of quality
assurance" element it gives drafts and the catalogue's current entries while published editions keep their text."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.catalogue import service as catalogue
from app.catalogue.models import CredentialVersion
from app.db import utcnow
from app.external_qa import service as external_qa
from app.external_qa.models import Decision, ExternalQaRecord, ExternalQaUpdate
from app.external_qa.statement import statement
from app.org.policy import InstitutionPolicy
from app.policies import Policies
from app.proposals import service as proposals
from app.proposals.models import Proposal
from app.workflows.approval import ProposalStatus
from tests.conftest import actor_for, api_headers, field_error, login, post_form
from tests.proposals.factories import new_proposal, submitted, vote

ADMIN = "admin@example.org"
TODAY = utcnow().date()
VOTERS = {
    ProposalStatus.faculty_council_review: ("council1@example.org", "council2@example.org"),
    ProposalStatus.lll_committee_review: ("lll1@example.org", "lll2@example.org"),
    ProposalStatus.qa_office_review: ("qa@example.org",),
}


def record_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "agency_name": "Flemish Accreditation Agency",
        "eqar_registered": True,
        "decision": "positive",
        "decision_on": (TODAY - timedelta(days=400)).isoformat(),
        "next_review_on": (TODAY + timedelta(days=5 * 365)).isoformat(),
        "deqar_report_id": "12345",
        "deqar_report_url": "https://data.deqar.eu/report/12345",
    }
    values.update(overrides)
    return values


def save(db: Session, **overrides: Any) -> ExternalQaRecord:
    record, _ = external_qa.save(db, actor_for(db, ADMIN), ExternalQaUpdate.model_validate(record_values(**overrides)))
    return record


def published(db: Session, policies: Policies, proposal: Proposal) -> Proposal:
    """Every body on the route approves (the faculty council, the lifelong-learning committee, the QA office)."""
    while proposal.status in VOTERS:
        for email in VOTERS[ProposalStatus(proposal.status)]:
            if proposal.status in VOTERS:
                vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == ProposalStatus.published
    return proposal


# --- the API -------------------------------------------------------------------------------------


def test_api_records_reads_and_changes_the_record(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    assert client.get("/api/v1/external-qa").status_code == 404

    created = client.put("/api/v1/external-qa", json=record_values(), headers=api_headers(client))
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["agency_name"] == "Flemish Accreditation Agency"
    assert body["decision_label"] == "Positive"
    assert body["deqar_report_id"] == "12345"
    assert "Flemish Accreditation Agency (an EQAR-registered agency)" in body["quality_assurance"]
    assert "Report in DEQAR: 12345 https://data.deqar.eu/report/12345." in body["quality_assurance"]

    changed = client.put(
        "/api/v1/external-qa",
        json=record_values(decision="positive_with_conditions", deqar_report_id="", deqar_report_url=None),
        headers=api_headers(client),
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/external-qa").json()["decision"] == "positive_with_conditions"
    assert client.get("/api/v1/external-qa").json()["deqar_report_id"] is None

    events = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "external_qa").order_by(col(AuditEvent.id))
    ).all()
    assert [e.action for e in events] == ["recorded", "changed"]
    assert events[1].data["fields"] == ["decision", "deqar_report_id", "deqar_report_url"]
    assert events[1].data["before"]["decision"] == "positive"
    assert events[1].data["after"]["decision"] == "positive_with_conditions"
    assert events[1].actor_id == actor_for(db, ADMIN).id
    assert events[1].comment.startswith("Decision, DEQAR report ID, DEQAR report link;")


def test_saving_the_same_values_again_changes_nothing(db: Session) -> None:
    save(db)
    save(db)
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "external_qa")).all()
    assert actions == ["recorded"]


def test_only_administrators_change_it_everyone_signed_in_reads_it(client: TestClient, db: Session) -> None:
    save(db)
    login(client, "academic@example.org")
    assert client.get("/api/v1/external-qa").status_code == 200
    refused = client.put("/api/v1/external-qa", json=record_values(agency_name="Other"), headers=api_headers(client))
    assert refused.status_code == 403
    assert client.get("/admin/external-qa").status_code == 403
    assert db.exec(select(ExternalQaRecord.agency_name)).one() == "Flemish Accreditation Agency"


BAD_INPUT = [
    ({"decision_on": (TODAY + timedelta(days=1)).isoformat()}, "decision_on", "cannot be in the future"),
    ({"decision_on": "2024-02-30"}, "decision_on", "date"),
    ({"next_review_on": (TODAY - timedelta(days=400)).isoformat()}, "next_review_on", "after the decision date"),
    ({"deqar_report_id": "DEQAR-12"}, "deqar_report_id", "digits only"),
    ({"deqar_report_id": "0123"}, "deqar_report_id", "digits only"),
    ({"deqar_report_url": "ftp://data.deqar.eu/report/1"}, "deqar_report_url", "is not a web address"),
    ({"deqar_report_url": "https://deqar"}, "deqar_report_url", "is not a web address"),
    ({"eqar_registered": False}, "eqar_registered", "DEQAR only holds reports of EQAR-registered agencies"),
    ({"decision": "excellent"}, "decision", ""),
    ({"agency_name": " "}, "agency_name", ""),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_is_a_422_naming_the_field_and_saves_nothing(
    client: TestClient, db: Session, overrides: dict[str, Any], field: str, message: str
) -> None:
    login(client, ADMIN)
    response = client.put("/api/v1/external-qa", json=record_values(**overrides), headers=api_headers(client))
    assert response.status_code == 422
    assert field in response.text
    assert message.lower() in response.text.lower()
    assert client.get("/api/v1/external-qa").status_code == 404
    assert db.exec(select(AuditEvent).where(AuditEvent.entity_type == "external_qa")).first() is None


# --- the page ------------------------------------------------------------------------------------


def test_the_page_records_it_and_shows_the_text_and_history(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    empty = client.get("/admin/external-qa")
    assert empty.status_code == 200
    assert "Nothing is recorded yet" in empty.text

    form = record_values(eqar_registered="true")
    saved = post_form(client, "/admin/external-qa", form)
    assert saved.status_code == 303
    page = client.get("/admin/external-qa")
    assert "External quality assurance by Flemish Accreditation Agency recorded; 0 drafts updated." in page.text
    record = db.exec(select(ExternalQaRecord)).one()
    assert html.escape(statement(record), quote=False) in page.text
    assert '<a href="https://data.deqar.eu/report/12345" rel="noopener noreferrer">12345</a>' in page.text
    assert "recorded</strong>" in page.text  # the timeline
    assert 'value="Flemish Accreditation Agency"' in page.text  # the form shows what is recorded


def test_a_refused_form_keeps_what_was_typed(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    form = record_values(
        agency_name="Agence pour l'évaluation", eqar_registered="false", deqar_report_id="ABC", decision="negative"
    )
    refused = post_form(client, "/admin/external-qa", form)
    assert refused.status_code == 422
    assert "digits only" in field_error(refused.text, "deqar_report_id")
    assert 'value="Agence pour l&#39;évaluation"' in refused.text
    assert 'value="ABC"' in refused.text
    assert '<option value="negative" selected>' in refused.text
    assert db.exec(select(ExternalQaRecord)).first() is None

    # A rule across fields (a DEQAR report of an agency outside EQAR) is refused the same way.
    refused = post_form(client, "/admin/external-qa", record_values(eqar_registered="false"))
    assert refused.status_code == 422
    assert "DEQAR only holds reports of EQAR-registered agencies" in refused.text
    assert 'value="https://data.deqar.eu/report/12345"' in refused.text
    assert db.exec(select(ExternalQaRecord)).first() is None


# --- the element in proposals and the catalogue ----------------------------------------------------


def test_drafts_take_the_record_and_follow_its_changes(db: Session, policies: Policies) -> None:
    default = policies.of(InstitutionPolicy).quality_assurance
    before = new_proposal(db, policies)
    assert before.content["quality_assurance"] == default

    first = save(db)
    db.refresh(before)
    assert before.content["quality_assurance"] == statement(first)

    typed = new_proposal(db, policies, content={"title": "Typed", "quality_assurance": "We check it ourselves."})
    assert typed.content["quality_assurance"] == statement(first)  # not free text
    in_review = submitted(db, policies)
    submitted_text = in_review.content["quality_assurance"]

    second = save(db, agency_name="European Agency for Quality", next_review_on="2031-06-30")
    db.refresh(before)
    db.refresh(typed)
    db.refresh(in_review)
    assert "European Agency for Quality" in statement(second)
    assert before.content["quality_assurance"] == statement(second)
    assert typed.content["quality_assurance"] == statement(second)
    assert in_review.content["quality_assurance"] == submitted_text  # what the bodies are deciding on stays

    # An edit by the proposer keeps the record's text whatever is posted.
    assert before.id is not None
    edited, _ = proposals.update_proposal(
        db,
        before.id,
        actor_for(db, "academic@example.org"),
        policies,
        {**before.content, "quality_assurance": "Free text again"},
    )
    assert edited.content["quality_assurance"] == statement(second)


def test_catalogue_shows_the_record_on_the_current_edition_and_old_editions_keep_theirs(
    client: TestClient, db: Session, policies: Policies
) -> None:
    text_a = statement(save(db, agency_name="Agency A"))
    first = published(db, policies, submitted(db, policies))
    credential_id = first.credential_id

    text_b = statement(save(db, agency_name="Agency B"))
    assert catalogue.get_entry(db, credential_id).public_elements().quality_assurance == text_b
    edition_1 = db.exec(select(CredentialVersion).where(CredentialVersion.credential_id == credential_id)).one()
    assert edition_1.content["quality_assurance"] == text_a  # stored as published

    revision = proposals.open_revision(db, credential_id, actor_for(db, "academic@example.org"), policies)
    assert revision.content["quality_assurance"] == text_b
    assert revision.id is not None
    proposals.submit(db, revision.id, actor_for(db, "academic@example.org"), policies)
    text_c = statement(save(db, agency_name="Agency C"))  # changed while the revision is under review
    published(db, policies, revision)

    editions = {
        v.version_no: v.content["quality_assurance"]
        for v in db.exec(select(CredentialVersion).where(CredentialVersion.credential_id == credential_id))
    }
    assert editions == {1: text_a, 2: text_c}  # the new edition states the record at publication

    text_d = statement(save(db, agency_name="Agency D", decision=Decision.negative.value))
    assert catalogue.get_entry(db, credential_id).public_elements().quality_assurance == text_d
    assert catalogue.get_entry(db, credential_id, 1).public_elements().quality_assurance == text_a
    assert edition_content(db, credential_id, 2)["quality_assurance"] == text_c  # the stored edition is unchanged

    current = client.get(f"/api/v1/catalogue/{credential_id}").json()
    assert current["elements"]["quality_assurance"] == text_d
    old = client.get(f"/api/v1/catalogue/{credential_id}?version=1").json()
    assert old["elements"]["quality_assurance"] == text_a
    page = client.get(f"/catalogue/{credential_id}")
    assert html.escape(text_d, quote=False) in page.text
    old_page = client.get(f"/catalogue/{credential_id}?version=1")
    assert html.escape(text_a, quote=False) in old_page.text
    assert "Agency D" not in old_page.text


def edition_content(db: Session, credential_id: int, version_no: int) -> dict[str, Any]:
    return dict(
        db.exec(
            select(CredentialVersion.content).where(
                CredentialVersion.credential_id == credential_id, CredentialVersion.version_no == version_no
            )
        ).one()
    )


def test_statement_names_an_agency_outside_eqar_and_omits_an_absent_report() -> None:
    record = ExternalQaRecord(
        agency_name="National Agency",
        eqar_registered=False,
        decision="negative",
        decision_on=date(2025, 3, 1),
        next_review_on=date(2027, 3, 1),
    )
    assert statement(record) == (
        "Internal quality assurance under ESG Part 1. External quality assurance: institutional review by "
        "National Agency (an agency not registered in EQAR), decision negative on 2025-03-01; next review due by "
        "2027-03-01."
    )
