"""Evidence files: policy limits, who may add and download, the JSON twin."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.audit.models import AuditEvent
from app.policies import Policies
from app.proposals.models import Attachment
from app.proposals.policy import CredentialPolicy
from tests.conftest import api_headers, login
from tests.proposals.factories import LETTER, new_proposal, submitted, upload


def test_proposer_attaches_evidence_and_reviewers_download_it(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    login(client, "academic@example.org")
    response = upload(client, proposal.id, "gridco.pdf", LETTER, "application/pdf", "Employer letter")
    assert response.status_code == 303
    row = db.exec(select(Attachment).where(Attachment.proposal_id == proposal.id)).one()
    assert row.size == len(LETTER)
    page = client.get(f"/proposals/{proposal.id}").text
    assert "gridco.pdf" in page and "Employer letter" in page
    audit = db.exec(select(AuditEvent).where(AuditEvent.action == "attachment.added")).all()
    assert audit[-1].entity_id == proposal.id

    login(client, "qa@example.org")
    file = client.get(f"/attachments/{row.id}")
    assert file.status_code == 200
    assert file.content == LETTER
    assert file.headers["content-disposition"].startswith("attachment;")
    login(client, "humanities@example.org")
    assert client.get(f"/attachments/{row.id}").status_code == 404


def test_wrong_type_too_large_and_wrong_person_are_refused(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    login(client, "academic@example.org")
    html = upload(client, proposal.id, "x.html", b"<script>alert(1)</script>", "text/html")
    assert html.status_code == 422
    assert "cannot be attached" in html.text
    big = b"x" * int(policies.of(CredentialPolicy).attachments.max_mb * 1024 * 1024 + 1)
    too_large = upload(client, proposal.id, "big.txt", big, "text/plain")
    assert too_large.status_code == 422
    assert "larger than 10 MB" in too_large.text
    login(client, "council1@example.org")
    assert upload(client, proposal.id, "a.pdf", LETTER, "application/pdf").status_code in (403, 404)
    assert db.exec(select(func.count()).select_from(Attachment)).one() == 0


def test_no_new_evidence_once_submitted_and_api_twin(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "academic@example.org")
    headers = api_headers(client)
    refused = client.post(
        f"/api/v1/proposals/{proposal.id}/attachments",
        files={"file": ("a.pdf", LETTER, "application/pdf")},
        headers=headers,
    )
    assert refused.status_code == 409
    draft = new_proposal(db, policies)
    created = client.post(
        f"/api/v1/proposals/{draft.id}/attachments",
        files={"file": ("a.pdf", LETTER, "application/pdf")},
        data={"description": "via API"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/v1/proposals/{draft.id}/attachments", headers=headers).json()
    assert [a["filename"] for a in listed] == ["a.pdf"]
    assert client.get(f"/api/v1/attachments/{listed[0]['id']}", headers=headers).content == LETTER


def test_multipart_upload_without_the_csrf_token_is_refused(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = new_proposal(db, policies)
    login(client, "academic@example.org")
    files = {"file": ("a.pdf", LETTER, "application/pdf")}
    assert client.post(f"/proposals/{proposal.id}/attachments", files=files).status_code == 403
    forged = client.post(f"/proposals/{proposal.id}/attachments", data={"csrftoken": "forged"}, files=files)
    assert forged.status_code == 403
    assert db.exec(select(func.count()).select_from(Attachment)).one() == 0
