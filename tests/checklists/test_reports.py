"""The checklist report of a proposal (HTML, PDF, JSON), the ESG coverage matrix (rules, filters, CSV, JSON) and the
QA dashboard's block of standards falling short."""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.approvals.voting import Choice
from app.checklists import coverage, reports, service
from app.checklists.coverage import Cell, CoverageFilter, cell_status
from app.checklists.policy import ChecklistPolicy
from app.policies import Policies, load_policies
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.settings import ROOT
from tests.checklists.helpers import QA, answer, at_qa_office, covered_content
from tests.conftest import actor_for, api_headers, login
from tests.proposals.factories import new_proposal, submitted, vote
from tests.test_pdf import pdf_text

EVIDENCE = "QA policy section 4 names micro-credentials and partner provision."
LINK = "https://example.org/qa-policy"


def _answered(db: Session, policies: Policies) -> Proposal:
    proposal = at_qa_office(db, policies, content=covered_content(title="Report Data Literacy"))
    assert proposal.id is not None
    upload = service.Upload("qa-policy-2026.pdf", "application/pdf", b"%PDF-1.4 evidence")
    answer(db, policies, proposal, "qa-policy-scope", evidence_text=EVIDENCE, evidence_links=[LINK], upload=upload)
    answer(db, policies, proposal, "ects-hours", status="not_met", comment="The hours ignore self-study.")
    return proposal


# --- the report ----------------------------------------------------------------------------------------


def test_report_as_html_and_pdf_shows_answers_evidence_who_when_and_versions(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = _answered(db, policies)
    version = policies.of(ChecklistPolicy).version
    item = policies.of(ChecklistPolicy).item("qa-policy-scope")
    assert item is not None
    login(client, QA)
    checklist = client.get(f"/proposals/{proposal.id}/checklist")
    assert f'href="/proposals/{proposal.id}/checklist/report"' in checklist.text
    page = client.get(f"/proposals/{proposal.id}/checklist/report")
    assert page.status_code == 200, page.text
    html = page.text
    for expected in (
        "Report Data Literacy",
        item.title,
        EVIDENCE,
        f'href="{LINK}"',
        "qa-policy-2026.pdf",
        "Quinn Auditor",
        f"item {item.version}, checklist {version}",
        "The hours ignore self-study.",
        "Automatic check when answered",  # ects-hours kept the check's reasoning as it stood
        "hours per ECTS",
        "Automatic check now",  # an unanswered item with a check: what it says today
        "Unanswered",
        f'href="/proposals/{proposal.id}/checklist/report.pdf"',
    ):
        assert expected in html, expected
    pdf = client.get(f"/proposals/{proposal.id}/checklist/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "ESG-checklist" in pdf.headers["content-disposition"]
    text = " ".join(pdf_text(pdf.content).split())
    for expected in ("Report Data Literacy", EVIDENCE, "qa-policy-2026.pdf", "Quinn Auditor", "self-study", version):
        assert expected in text, expected
    assert "Download as PDF" not in text


def test_report_json_twin(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = _answered(db, policies)
    login(client, "academic@example.org")  # the proposer reads the checklist, and so its report
    got = client.get(f"/api/v1/proposals/{proposal.id}/checklist/report", headers=api_headers(client))
    assert got.status_code == 200, got.text
    body = got.json()
    scope = next(i for i in body["items"] if i["key"] == "qa-policy-scope")
    assert scope["status"] == "met" and scope["answered_by"] == "Quinn Auditor"
    assert scope["evidence_links"] == [LINK] and scope["files"] == ["qa-policy-2026.pdf"]
    assert scope["policy_version"] == body["policy_version"] and not scope["outdated"]
    hours = next(i for i in body["items"] if i["key"] == "ects-hours")
    assert hours["automatic_when"] == "answered" and hours["automatic"]["status"] == "met"
    assert body["counts"]["met"] == 1 and body["counts"]["not_met"] == 1
    assert body["counts"]["unanswered"] == len(body["items"]) - 2


def test_someone_who_may_not_see_the_checklist_gets_no_report(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = _answered(db, policies)
    login(client, "humanities@example.org")  # an academic of another faculty: the checklist is a 404 for them
    assert client.get(f"/proposals/{proposal.id}/checklist").status_code == 404
    assert client.get(f"/proposals/{proposal.id}/checklist/report").status_code == 404
    assert client.get(f"/proposals/{proposal.id}/checklist/report.pdf").status_code == 404
    api = client.get(f"/api/v1/proposals/{proposal.id}/checklist/report", headers=api_headers(client))
    assert api.status_code == 404
    assert client.get("/proposals/999999/checklist/report").status_code == 404


def test_a_changed_policy_leaves_an_existing_report_as_it_was(db: Session, policies: Policies, tmp_path: Path) -> None:
    proposal = _answered(db, policies)
    assert proposal.id is not None
    answer(db, policies, proposal, "stackability", comment="Not stackable.")
    item = policies.of(ChecklistPolicy).item("qa-policy-scope")
    assert item is not None
    qa = actor_for(db, QA)
    before = reports.report_of(db, proposal.id, qa, policies)
    directory = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", directory)
    path = directory / "esg_part1.yaml"
    text = path.read_text()
    assert item.title in text and item.guidance in text
    text = text.replace(item.title, "Rewritten question").replace(item.guidance, "Rewritten guidance")
    start = text.index("  - key: stackability")  # the item is removed from the checklist
    path.write_text(text[:start] + text[text.index("  - key:", start + 1) :])
    changed = load_policies(directory)  # as a restart reads it
    after = reports.report_of(db, proposal.id, qa, changed)
    assert after.policy_version != before.policy_version
    old, new = (next(i for i in r.items if i.key == "qa-policy-scope") for r in (before, after))
    assert new.outdated and not old.outdated
    assert dataclasses.replace(new, outdated=False) == old  # text, guidance, versions, evidence, who and when
    assert new.title == item.title and new.policy_version == before.policy_version
    removed = next(i for i in after.items if i.key == "stackability")
    assert not removed.in_checklist and removed.status == "met" and removed.comment == "Not stackable."
    assert dataclasses.replace(removed, in_checklist=True) == next(i for i in before.items if i.key == "stackability")
    others = [
        [i for i in r.items if i.answered and i.key not in ("qa-policy-scope", "stackability")] for r in (before, after)
    ]
    assert others[0] and others[0] == others[1]


# --- the coverage matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applicable", "mandatory", "answered", "mandatory_answered", "cell"),
    [
        (0, 0, {}, 0, Cell.none),
        (3, 1, {}, 0, Cell.missing),  # nothing answered
        (3, 0, {}, 0, Cell.missing),  # nothing answered, even with no mandatory item
        (3, 2, {"met": 2}, 1, Cell.missing),  # a mandatory item unanswered beats answers
        (3, 2, {"not_met": 1, "met": 2}, 2, Cell.not_met),  # worst wins
        (3, 2, {"partly_met": 1, "met": 1}, 2, Cell.partly_met),
        (3, 2, {"met": 2, "not_applicable": 1}, 2, Cell.met),  # not applicable does not count against
        (2, 1, {"not_applicable": 2}, 1, Cell.not_applicable),
        (3, 1, {"met": 1}, 1, Cell.met),  # an optional item unanswered does not make it missing
    ],
)
def test_how_the_items_of_a_standard_make_its_cell(
    applicable: int, mandatory: int, answered: dict[str, int], mandatory_answered: int, cell: Cell
) -> None:
    assert cell_status(applicable, mandatory, answered, mandatory_answered) is cell


def _row(db: Session, policies: Policies, f: CoverageFilter, proposal_id: int | None) -> coverage.MatrixRow | None:
    return next((r for r in coverage.all_rows(db, f, policies) if r.proposal_id == proposal_id), None)


def test_matrix_cells_of_a_proposal_and_its_filters(db: Session, policies: Policies) -> None:
    qa = CoverageFilter(standard="1.2", cell="problems")
    before = coverage.matrix(db, qa, policies, offset=0, limit=10).total
    proposal = submitted(db, policies, content=covered_content(title="Matrix Data Literacy"))
    row = _row(db, policies, CoverageFilter(), proposal.id)
    assert row is not None and row.status == "faculty_council_review" and row.title == "Matrix Data Literacy"
    assert set(row.cells.values()) == {Cell.missing}  # nothing answered yet
    answer(db, policies, proposal, "owning-unit", "council1@example.org")
    for email in ("council1@example.org", "council2@example.org", "lll1@example.org", "lll2@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    answer(db, policies, proposal, "qa-policy-scope")
    answer(db, policies, proposal, "ects-hours", status="not_met", comment="The hours ignore self-study.")
    row = _row(db, policies, CoverageFilter(), proposal.id)
    assert row is not None and row.status == "qa_office_review"
    # 1.1: both mandatory items met; partner-agreement (optional, unanswered) does not make it missing.
    assert row.cells["1.1"] is Cell.met
    # 1.2: ects-hours not met, but other mandatory items are unanswered: missing wins.
    assert row.cells["1.2"] is Cell.missing
    assert coverage.matrix(db, qa, policies, offset=0, limit=10).total == before + 1
    # Filters: faculty, kind, status, year, standard.
    assert _row(db, policies, CoverageFilter(kind="unbundled"), proposal.id) is None
    assert _row(db, policies, CoverageFilter(kind="standalone", status="qa_office_review"), proposal.id)
    assert _row(db, policies, CoverageFilter(status="published"), proposal.id) is None
    year = proposal.created_at.year
    assert _row(db, policies, CoverageFilter(year=year), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(year=year - 1), proposal.id) is None
    assert _row(db, policies, CoverageFilter(org_unit_id=proposal.org_unit_id), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(org_unit_id=proposal.org_unit_id + 999), proposal.id) is None
    only = _row(db, policies, CoverageFilter(standard="1.1"), proposal.id)
    assert only is not None and list(only.cells) == ["1.1"]
    assert _row(db, policies, CoverageFilter(standard="1.1", cell="met"), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(standard="1.1", cell="problems"), proposal.id) is None
    assert _row(db, policies, CoverageFilter(standard="1.2", cell="missing"), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(standard="1.2", cell="not_met"), proposal.id) is None
    # 1.3: both mandatory items are the QA office's; the worst answer wins, in the page and in the filter alike.
    answer(db, policies, proposal, "outcome-assessment", status="not_met", comment="Outcome 3 is not assessed.")
    answer(db, policies, proposal, "supervision", status="partly_met", comment="Identity checks are planned.")
    assert _cell(db, policies, proposal.id, "1.3") is Cell.not_met
    assert _row(db, policies, CoverageFilter(standard="1.3", cell="not_met"), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(standard="1.3", cell="problems"), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(standard="1.3", cell="partly_met"), proposal.id) is None
    answer(db, policies, proposal, "outcome-assessment", status="met", comment="The oral exam assesses it.")
    assert _cell(db, policies, proposal.id, "1.3") is Cell.partly_met
    assert _row(db, policies, CoverageFilter(standard="1.3", cell="partly_met"), proposal.id) is not None
    assert _row(db, policies, CoverageFilter(standard="1.3", cell="problems"), proposal.id) is None


def _cell(db: Session, policies: Policies, proposal_id: int | None, standard: str) -> Cell:
    row = _row(db, policies, CoverageFilter(standard=standard), proposal_id)
    assert row is not None
    return row.cells[standard]


def test_a_draft_is_listed_only_when_drafts_are_asked_for(db: Session, policies: Policies) -> None:
    draft = new_proposal(db, policies, kind=Kind.standalone)
    assert _row(db, policies, CoverageFilter(), draft.id) is None
    row = _row(db, policies, CoverageFilter(status="draft"), draft.id)
    assert row is not None and set(row.cells.values()) == {Cell.missing}


def test_matrix_page_csv_and_json(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = _answered(db, policies)
    login(client, QA)
    page = client.get("/checklists/coverage?standard=1.1&kind=standalone&limit=200")
    assert page.status_code == 200, page.text
    assert f'href="/proposals/{proposal.id}/checklist#std-1-1"' in page.text
    assert "How a cell is decided" in page.text and "worst answer wins" in page.text
    assert 'href="/checklists/coverage.csv?kind=standalone&amp;standard=1.1"' in page.text
    exported = client.get("/checklists/coverage.csv?kind=standalone&standard=1.1")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.text)))
    assert lines[0] == ["micro-credential", "proposal", "title", "faculty", "kind", "status", "started", "1.1"]
    mine = next(line for line in lines if line[1] == str(proposal.id))
    assert mine[2] == "Report Data Literacy" and mine[4] == "standalone" and mine[7] == "missing"
    assert all(line[4] == "standalone" for line in lines[1:])
    api = client.get("/api/v1/checklists/coverage?kind=standalone&limit=200", headers=api_headers(client))
    assert api.status_code == 200
    body = api.json()
    assert body["total"] == len(lines) - 1
    found = next(r for r in body["items"] if r["proposal_id"] == proposal.id)
    assert found["cells"]["1.1"] == "missing" and set(found["cells"]) == {f"1.{n}" for n in range(1, 11)}


def test_filters_that_are_not_choices_are_ignored() -> None:
    given = {"org_unit_id": "²", "kind": "x", "status": "nope", "year": "99999999999999999999", "cell": "met"}
    assert CoverageFilter.parse(standard="1.11", **given) == CoverageFilter()
    chosen = CoverageFilter.parse(org_unit_id="3", kind="unbundled", status="", year="2026", standard="1.3", cell="x")
    assert chosen == CoverageFilter(org_unit_id=3, kind="unbundled", year=2026, standard="1.3")
    assert chosen.query() == "org_unit_id=3&kind=unbundled&year=2026&standard=1.3"


def test_a_csv_title_is_never_a_formula(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies, content=covered_content(title="=HYPERLINK(1)"))
    login(client, QA)
    lines = list(csv.reader(io.StringIO(client.get("/checklists/coverage.csv?status=qa_office_review").text)))
    assert next(line for line in lines if line[1] == str(proposal.id))[2] == "'=HYPERLINK(1)"


def test_only_the_qa_office_and_administrators_see_the_matrix(client: TestClient) -> None:
    login(client, "academic@example.org")
    assert client.get("/checklists/coverage").status_code == 403
    assert client.get("/checklists/coverage.csv").status_code == 403
    assert client.get("/api/v1/checklists/coverage", headers=api_headers(client)).status_code == 403
    login(client, "admin@example.org")
    assert client.get("/checklists/coverage").status_code == 200


# --- the QA dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_shows_the_standards_falling_short(client: TestClient, db: Session, policies: Policies) -> None:
    before = {s.standard: s for s in coverage.shortfalls(db, policies, top=10)}
    proposal = _answered(db, policies)
    after = {s.standard: s for s in coverage.shortfalls(db, policies, top=10)}
    mandatory_12 = len(
        [
            i
            for i in service.applying(policies.of(ChecklistPolicy), "standalone", proposal.route)
            if i.standard == "1.2" and i.mandatory
        ]
    )
    old = before.get("1.2")
    assert after["1.2"].not_met == (old.not_met if old else 0) + 1
    # ects-hours (mandatory) is answered; the other mandatory 1.2 items of the new proposal are missing.
    assert after["1.2"].missing == (old.missing if old else 0) + mandatory_12 - 1
    login(client, QA)
    home = client.get("/")
    assert "ESG standards falling short" in home.text
    top = coverage.shortfalls(db, policies)[0]
    assert f'href="/checklists/coverage?standard={top.standard}&amp;cell=problems"' in home.text
    linked = client.get(f"/checklists/coverage?standard={top.standard}&cell=problems")
    assert linked.status_code == 200 and f"whose standard {top.standard} is not met or missing" in linked.text
    login(client, "academic@example.org")
    assert "ESG standards falling short" not in client.get("/").text
