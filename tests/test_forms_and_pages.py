"""Forms and pages as people meet them: the login page lists the demo accounts in demo mode only, and a person's
API token names are unique."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import demo
from app.approvals.voting import Choice
from app.db import utcnow
from app.org.models import Committee, Programme
from app.policies import Policies
from app.proposals.elements import Kind
from app.security import app_settings, hash_token, new_token
from app.settings import Mode, Settings
from app.users.models import ApiToken, User
from tests.conftest import api_headers, demo_user, field_error, login, post_form
from tests.proposals.factories import complete_content, new_proposal, submitted, vote


def test_the_login_page_lists_the_demo_accounts_with_their_roles(client: TestClient, settings: Settings) -> None:
    assert settings.mode is Mode.demo
    page = client.get("/login").text
    section = page[page.index('id="demo-accounts-heading"') :]
    assert "Every account's password is <code>demo</code>" in section
    assert "<code>qa@example.org</code>: Quinn Auditor, qa officer; chair of the QA Office" in section
    assert "<code>council1@example.org</code>: Carla Chair, academic; chair of the Science Faculty Council" in section
    assert "<code>lll2@example.org</code>: Liam Learner, member of the Lifelong-Learning Committee" in section


def test_outside_demo_mode_the_login_page_lists_no_accounts(
    app: FastAPI, client: TestClient, db: Session, settings: Settings
) -> None:
    assert demo.demo_accounts(db)  # they exist, yet are not shown
    app.dependency_overrides[app_settings] = lambda: settings.model_copy(update={"mode": Mode.production})
    page = client.get("/login")
    assert page.status_code == 200
    assert "Demo accounts" not in page.text


def test_token_names_are_unique_per_person(client: TestClient) -> None:
    login(client, "academic@example.org")
    first = client.post("/api/v1/auth/tokens", json={"name": "Nightly export"}, headers=api_headers(client))
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/auth/tokens", json={"name": "nightly export "}, headers=api_headers(client))
    assert again.status_code == 422
    assert "already have a token named" in again.json()["detail"]
    page = post_form(client, "/account/tokens", {"name": "Nightly export"}, headers={"hx-request": "true"})
    assert page.status_code == 422
    assert "choose another name, or revoke that token first" in page.text
    assert 'value="Nightly export"' in page.text
    login(client, "qa@example.org")  # another person may use the same name
    other = client.post("/api/v1/auth/tokens", json={"name": "Nightly export"}, headers=api_headers(client))
    assert other.status_code == 201


# --- the proposal form --------------------------------------------------------------------------


def proposal_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "standalone", "org_unit_id": "1"}
    for key, value in complete_content().items():
        data[key] = "\n".join(value) if key == "learning_outcomes" else value
    data["languages"] = "English"
    data.update(overrides)
    return data


def test_messages_are_written_for_people_with_the_field_s_label(client: TestClient) -> None:
    login(client, "academic@example.org")
    bad = proposal_form(issuer_country="Belgium", fee_eur="-1", capacity="0")
    response = post_form(client, "/proposals/new", bad)
    assert response.status_code == 422
    assert field_error(response.text, "issuer_country") == (
        "Enter the country as its two-letter code, for example BE for Belgium"
    )
    assert field_error(response.text, "fee_eur") == "Enter 0 or more."
    assert field_error(response.text, "capacity") == "Enter 1 or more."
    assert "0.0" not in response.text and "[A-Z]" not in response.text and "should match" not in response.text
    summary = response.text[response.text.index('id="form-errors"') :]
    summary = summary[: summary.index("</div>")]
    assert '<a href="#f-issuer_country">Country of the issuer</a>' in summary
    assert '<a href="#f-fee_eur">Fee (EUR)</a>' in summary
    assert "Fee eur" not in summary


def test_the_error_summary_lists_every_bad_learning_outcome(client: TestClient) -> None:
    login(client, "academic@example.org")
    outcomes = "Understand energy markets\nAnalyse consumption data\nKnow the grid codes"
    response = post_form(client, "/proposals/new", proposal_form(learning_outcomes=outcomes))
    assert response.status_code == 422
    summary = response.text[response.text.index('id="form-errors"') :]
    summary = summary[: summary.index("</div>")]
    items = re.findall(r'<li><a href="#f-learning_outcomes">Learning outcomes</a>: ([^<]+)</li>', summary)
    assert [item.split(" (")[0] for item in items] == ["Outcome 1", "Outcome 3"]
    assert "Please correct 2 problems" in summary


def test_the_ects_warning_is_replaced_not_stacked(client: TestClient) -> None:
    login(client, "academic@example.org")
    check = post_form(client, "/proposals/check?field=ects", proposal_form(ects="20", hours="550"))
    assert check.status_code == 200
    assert check.text.count('id="w-ects"') == 1
    warning = re.search(r'<p class="field-warning" id="w-ects"[^>]*>', check.text)
    assert warning is not None and 'data-hx-swap-oob="true"' in warning.group(0)
    fine = post_form(client, "/proposals/check?field=ects", proposal_form(ects="6", hours="160"))
    assert re.search(r'id="w-ects" role="status" data-hx-swap-oob="true"></p>', fine.text)  # emptied, once
    form = client.get("/proposals/new").text
    assert form.count('id="w-ects"') == 1


def test_the_module_list_follows_the_chosen_programme(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    form = client.get("/proposals/new?kind=unbundled").text
    assert "BSc Computer Science" in form and "BA History" in form.split('id="f-parent_module_id"')[1][:3000]
    cs = db.exec(select(Programme).where(Programme.code == "BSC-CS")).one()
    check = post_form(
        client, "/proposals/check?field=parent_programme_id", {"kind": "unbundled", "parent_programme_id": str(cs.id)}
    )
    module = check.text[check.text.index('id="field-parent_module_id"') - 60 :]
    assert 'data-hx-swap-oob="true"' in module[:200]
    module = module[: module.index("</select>")]
    assert '<optgroup label="BSc Computer Science">' in module and "HIS240" not in module
    # Without JavaScript the saved programme filters the list too.
    refused = post_form(
        client, "/proposals/new", proposal_form(kind="unbundled", parent_programme_id=str(cs.id), ects="45")
    )
    assert refused.status_code == 422
    listed = refused.text[refused.text.index('id="f-parent_module_id"') :]
    assert "CS320" in listed[: listed.index("</select>")] and "HIS240" not in listed[: listed.index("</select>")]


# --- confirmations ------------------------------------------------------------------------------


def test_submitting_asks_for_confirmation_in_a_dialog_that_works_without_javascript(
    client: TestClient, db: Session, policies: Policies
) -> None:
    draft = new_proposal(db, policies)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{draft.id}").text
    assert (
        '<button type="submit" class="button primary" data-confirm="confirm-submit">Submit for approval</button>'
        in page
    )
    assert '<dialog id="confirm-submit" class="confirm-dialog" aria-labelledby="confirm-submit-heading">' in page
    # Without JavaScript the opener reloads the page with the dialog open; its form submits for real.
    opened = client.get(f"/proposals/{draft.id}?confirm=confirm-submit").text
    assert '<dialog id="confirm-submit" class="confirm-dialog" aria-labelledby="confirm-submit-heading" open>' in opened
    dialog = opened[opened.index('<dialog id="confirm-submit"') :]
    dialog = dialog[: dialog.index("</dialog>")]
    assert "It goes to Faculty council, then Lifelong-learning committee, then QA office." in dialog
    assert f'action="/proposals/{draft.id}/submit"' in dialog and "Yes, submit" in dialog
    assert f'<a href="/proposals/{draft.id}" class="button" data-close-dialog>Cancel</a>' in dialog
    assert post_form(client, f"/proposals/{draft.id}/submit", {"confirm_of": "confirm-submit"}).status_code == 303


def test_opening_a_revision_asks_for_confirmation(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    for email in ("council1@example.org", "council2@example.org", "qa@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}?confirm=confirm-revision").text
    dialog = page[page.index('<dialog id="confirm-revision"') :]
    assert dialog.startswith(
        '<dialog id="confirm-revision" class="confirm-dialog" aria-labelledby="confirm-revision-heading" open>'
    )
    dialog = dialog[: dialog.index("</dialog>")]
    assert f'action="/credentials/{proposal.credential_id}/revisions"' in dialog and "Yes, open a revision" in dialog


def test_ending_a_membership_asks_for_confirmation(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = db.exec(select(Committee).where(Committee.name == "Science Faculty Council")).one()
    chris = db.exec(select(User).where(User.email == "council2@example.org")).one()
    page = client.get(f"/admin/committees/{committee.id}?confirm=confirm-remove-{chris.id}").text
    dialog = page[page.index(f'<dialog id="confirm-remove-{chris.id}"') :]
    assert " open>" in dialog[:200]
    dialog = dialog[: dialog.index("</dialog>")]
    assert "End the membership of Chris Council in Science Faculty Council?" in dialog
    others = [d for d in re.findall(r"<dialog [^>]*>", page) if f"confirm-remove-{chris.id}" not in d]
    assert others and all(" open" not in d for d in others)  # only the one asked for


def test_the_database_keeps_live_token_names_unique_per_person(db: Session) -> None:
    """The same rule in the database (uq_api_token_live_name), for two requests issuing one name in parallel: a
    second live token of that name is refused; a revoked one frees the name."""
    user = demo_user(db, "academic@example.org")
    assert user.id is not None
    db.add(ApiToken(user_id=user.id, name="Sync", token_hash=hash_token(new_token())))
    db.flush()
    nested = db.begin_nested()
    db.add(ApiToken(user_id=user.id, name="Sync", token_hash=hash_token(new_token())))
    with pytest.raises(IntegrityError):
        db.flush()
    nested.rollback()
    db.add(ApiToken(user_id=user.id, name="Sync", token_hash=hash_token(new_token()), revoked_at=utcnow()))
    db.flush()  # a revoked token of the same name is history, not a clash
    other = demo_user(db, "qa@example.org")
    db.add(ApiToken(user_id=other.id or 0, name="Sync", token_hash=hash_token(new_token())))
    db.flush()
