"""Editing and deactivating committees, programmes and modules, ending and reinstating memberships, with the change
history: the service rules, the pages (forms keep what was typed), the JSON API, and what the approvals make of
it (an ended member and a deactivated committee no longer decide). On both databases.

Deactivating a committee that proposals wait for is refused (409 naming them): they are decided or reassigned
first. A committee deactivated with an empty queue leaves its body without a committee, so a proposal reaching
it later is taken over by the ``when_no_eligible_voter`` substitute and the QA office is told.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.approvals import deciders
from app.approvals.models import Decision, Vote
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.db import utcnow
from app.errors import Conflict, NotFound, PolicyViolation
from app.org import service as org
from app.org.models import (
    Committee,
    CommitteeCreate,
    CommitteeKind,
    CommitteeUpdate,
    MemberSet,
    Module,
    ModuleCreate,
    OrgUnit,
    Programme,
    ProgrammeUpdate,
)
from app.policies import Policies
from app.proposals import service as proposal_service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from tests.approvals.test_takeover import history_content, humanities_proposal, stage_events
from tests.conftest import actor_for, api_headers, demo_user, field_error, login, post_form
from tests.proposals.factories import submitted, vote

ADMIN = "admin@example.org"


def committee(db: Session, name: str) -> Committee:
    return db.exec(select(Committee).where(Committee.name == name)).one()


def panel_of(db: Session, kind: CommitteeKind, org_unit_id: int | None) -> deciders.Panel:
    """The committee of this kind for the faculty, which the test expects to exist."""
    panel = deciders.panel_of(db, kind, org_unit_id)
    assert panel is not None
    return panel


def unit(db: Session, code: str) -> OrgUnit:
    return db.exec(select(OrgUnit).where(OrgUnit.code == code)).one()


def programme(db: Session, code: str = "BA-HIS") -> Programme:
    return db.exec(select(Programme).where(Programme.code == code)).one()


def audit_rows(db: Session, entity_type: str, entity_id: int | None, action: str) -> list[AuditEvent]:
    return list(
        db.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id, AuditEvent.action == action
            )
        )
    )


def edit(c: Committee, **changes: Any) -> CommitteeUpdate:
    data: dict[str, Any] = {"name": c.name, "kind": c.kind, "org_unit_id": c.org_unit_id, "chair_user_id": None}
    return CommitteeUpdate(**{**data, **changes})


# --- committees: the service ---------------------------------------------------------------------


def test_renaming_and_changing_the_chair_is_recorded_before_and_after(db: Session, policies: Policies) -> None:
    council = committee(db, "Science Faculty Council")
    carla, chris = demo_user(db, "council1@example.org"), demo_user(db, "council2@example.org")
    assert [m.name for m in org.committee_public(db, council).members if m.is_chair] == [carla.name]
    org.update_committee(
        db,
        council,
        edit(council, name="Science Council", chair_user_id=chris.id),
        by=actor_for(db, ADMIN),
        policies=policies,
    )
    public = org.committee_public(db, council)
    assert public.name == "Science Council"
    assert [m.name for m in public.members if m.is_chair] == [chris.name]
    [row] = audit_rows(db, "committee", council.id, "committee.edited")
    assert row.data["before"]["name"] == "Science Faculty Council" and row.data["after"]["name"] == "Science Council"
    assert (row.data["before"]["chair_user_id"], row.data["after"]["chair_user_id"]) == (carla.id, chris.id)
    assert "name: Science Faculty Council → Science Council" in row.comment
    assert panel_of(db, CommitteeKind.faculty_council, council.org_unit_id).chair_id == chris.id


def test_the_chair_must_be_a_current_member(db: Session, policies: Policies) -> None:
    council = committee(db, "Science Faculty Council")
    outsider = demo_user(db, "academic@example.org")
    with pytest.raises(PolicyViolation, match="current member") as refused:
        org.update_committee(db, council, edit(council, chair_user_id=outsider.id), by=None, policies=policies)
    assert "chair_user_id" in refused.value.errors


def test_kind_and_faculty_change_only_while_nothing_was_decided(db: Session, policies: Policies) -> None:
    lll = committee(db, "Lifelong-Learning Committee")
    # The QA office exists: the LLL committee cannot take its place.
    with pytest.raises(Conflict, match="already an active body of this kind, QA Office"):
        org.update_committee(db, lll, edit(lll, kind="qa_office"), by=None, policies=policies)
    proposal = submitted(db, policies)  # it waits for its faculty's council
    council = committee(db, "Science Faculty Council")
    with pytest.raises(Conflict, match="proposals wait for it") as refused:
        org.update_committee(
            db, council, edit(council, kind="final_body", org_unit_id=None), by=None, policies=policies
        )
    assert f"(#{proposal.id})" in refused.value.message
    assert db.get_one(Committee, council.id).org_unit_id == unit(db, "SCI").id


def test_deactivating_a_committee_that_proposals_wait_for_is_refused_naming_them(
    db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies)
    council = committee(db, "Science Faculty Council")
    with pytest.raises(Conflict) as refused:
        org.set_committee_active(db, council, False, by=None, policies=policies)
    assert refused.value.message.startswith("Science Faculty Council cannot be deactivated: 1 proposal waits")
    assert f"“{proposal.title}” (#{proposal.id})" in refused.value.message
    assert db.get_one(Committee, council.id).is_active
    assert not audit_rows(db, "committee", council.id, "committee.deactivated")


def test_a_deactivated_council_decides_nothing_and_the_substitute_takes_over(db: Session, policies: Policies) -> None:
    council = committee(db, "Humanities Faculty Council")
    vote_before = submitted(db, policies)  # a Science proposal: not this council's
    org.set_committee_active(db, council, False, by=actor_for(db, ADMIN), policies=policies)
    [row] = audit_rows(db, "committee", council.id, "committee.deactivated")
    assert (row.data["before"]["is_active"], row.data["after"]["is_active"]) == (True, False)
    assert deciders.panel_of(db, CommitteeKind.faculty_council, council.org_unit_id) is None
    # A Humanities proposal (its owner is not the council's member) finds no active council: the substitute decides.
    proposal = humanities_proposal(db, policies, owner="historian@example.org")
    assert proposal.deciding_committee_id == committee(db, "QA Office").id
    [(action, comment)] = stage_events(db, proposal)
    assert action == "stage.taken_over"
    assert "(it is not set up)" in comment
    # The humanities member no longer sits on an active body.
    assert not actor_for(db, "humanities@example.org").memberships
    assert vote_before.status == "faculty_council_review"


def test_a_faculty_gets_a_new_council_and_the_old_one_cannot_come_back_beside_it(
    db: Session, policies: Policies
) -> None:
    old = committee(db, "Humanities Faculty Council")
    hum = unit(db, "HUM").id
    data = CommitteeCreate(name="Humanities Council (new)", kind=CommitteeKind.faculty_council, org_unit_id=hum)
    with pytest.raises(Conflict, match="already has an active council, Humanities Faculty Council"):
        org.create_committee(db, data, by=None, policies=policies)
    org.set_committee_active(db, old, False, by=None, policies=policies)
    new = org.create_committee(db, data, by=None, policies=policies)
    assert panel_of(db, CommitteeKind.faculty_council, hum).committee.id == new.id
    with pytest.raises(Conflict, match="already has an active council, Humanities Council"):
        org.set_committee_active(db, old, True, by=None, policies=policies)
    org.set_committee_active(db, new, False, by=None, policies=policies)
    org.set_committee_active(db, old, True, by=None, policies=policies)
    assert panel_of(db, CommitteeKind.faculty_council, hum).committee.id == old.id
    assert [r.event.action for r in org.committee_history(db, old).entries][-2:] == [
        "committee.deactivated",
        "committee.reactivated",
    ]


# --- memberships ---------------------------------------------------------------------------------


def test_an_ended_member_no_longer_votes_and_their_vote_stays(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    council = committee(db, "Science Faculty Council")
    council1 = demo_user(db, "council1@example.org")
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    org.end_membership(db, council, council1.id or 0, by=actor_for(db, ADMIN), policies=policies)
    panel = deciders.deciding_panel(db, db.get_one(Proposal, proposal.id))
    assert panel is not None and council1.id not in panel.member_ids
    assert not actor_for(db, "council1@example.org").memberships
    public = org.committee_public(db, council)
    assert council1.id not in [m.user_id for m in public.members]
    [past] = public.past_members
    assert (past.user_id, past.ended_on) == (council1.id, utcnow().date())
    assert db.exec(select(Vote).where(Vote.proposal_id == proposal.id, Vote.voter_id == council1.id)).one()
    with pytest.raises(Exception, match="that you can see"):
        vote(db, policies, proposal, "council1@example.org", Choice.approve)
    # Reinstated: a member again from today.
    org.reinstate_member(db, council, council1.id or 0, by=None, policies=policies)
    assert council1.id in [m.user_id for m in org.committee_public(db, council).members]
    assert actor_for(db, "council1@example.org").memberships


def test_a_deactivated_member_no_longer_counts_and_the_body_decides_without_them(
    client: TestClient, db: Session, policies: Policies
) -> None:
    """Deactivating an account takes the person out of every body they sit on, as ending the membership does:
    the votes cast may then meet the rule. Here the chair approves, one member asks for changes, and the third
    is deactivated: everyone who counts has voted, so the chair breaks the tie. Activated again, they count."""
    proposal = submitted(db, policies)
    council = committee(db, "Science Faculty Council")
    council3 = demo_user(db, "council3@example.org")
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.request_changes, comment="More on assessment.")
    db.commit()
    assert db.get_one(Proposal, proposal.id).status == "faculty_council_review"
    login(client, ADMIN)
    url = f"/api/v1/users/{council3.id}"
    assert client.patch(url, json={"is_active": False}, headers=api_headers(client)).status_code == 200
    db.expire_all()
    assert council3.id not in panel_of(db, CommitteeKind.faculty_council, council.org_unit_id).member_ids
    decided = db.get_one(Proposal, proposal.id)
    assert decided.status != "faculty_council_review"
    [decision] = db.exec(select(Decision).where(Decision.proposal_id == proposal.id)).all()
    assert (decision.body, decision.outcome) == ("faculty_council", "approve")
    assert decision.comment == "Tie broken by the chair."
    # Still listed among the body's members, marked; the membership itself has not ended.
    [listed] = [m for m in org.committee_public(db, council).members if m.user_id == council3.id]
    assert (listed.account_active, listed.ended_on) == (False, None)
    page = client.get(f"/admin/committees/{council.id}")
    assert "account deactivated" in page.text
    assert client.patch(url, json={"is_active": True}, headers=api_headers(client)).status_code == 200
    db.expire_all()
    assert council3.id in panel_of(db, CommitteeKind.faculty_council, council.org_unit_id).member_ids


def test_a_membership_ending_in_the_future_still_counts_until_then(db: Session, policies: Policies) -> None:
    council = committee(db, "Science Faculty Council")
    council2 = demo_user(db, "council2@example.org")
    tomorrow = utcnow().date() + timedelta(days=1)
    org.end_membership(db, council, council2.id or 0, on=tomorrow, by=None, policies=policies)
    public = org.committee_public(db, council)
    [member] = [m for m in public.members if m.user_id == council2.id]
    assert member.ended_on == tomorrow
    assert council2.id in panel_of(db, CommitteeKind.faculty_council, council.org_unit_id).member_ids
    # Changing their role keeps the end date; adding a past member again starts a new membership.
    org.set_member(
        db, council, MemberSet(user_id=council2.id or 0, is_learner_representative=True), by=None, policies=policies
    )
    assert [m.ended_on for m in org.committee_public(db, council).members if m.user_id == council2.id] == [tomorrow]
    council3 = demo_user(db, "council3@example.org")
    org.end_membership(db, council, council3.id or 0, by=None, policies=policies)
    org.set_member(db, council, MemberSet(user_id=council3.id or 0), by=None, policies=policies)
    [again] = [m for m in org.committee_public(db, council).members if m.user_id == council3.id]
    assert (again.started_on, again.ended_on) == (utcnow().date(), None)


def test_membership_errors(db: Session, policies: Policies) -> None:
    council = committee(db, "Science Faculty Council")
    outsider = demo_user(db, "academic@example.org")
    with pytest.raises(NotFound, match="not a member"):
        org.end_membership(db, council, outsider.id or 0, by=None, policies=policies)
    with pytest.raises(NotFound, match="not a past member"):
        org.reinstate_member(db, council, demo_user(db, "council1@example.org").id or 0, by=None, policies=policies)
    # A membership that started today cannot end yesterday.
    org.set_member(db, council, MemberSet(user_id=outsider.id or 0), by=None, policies=policies)
    with pytest.raises(PolicyViolation, match="cannot end before") as refused:
        org.end_membership(
            db, council, outsider.id or 0, on=utcnow().date() - timedelta(days=1), by=None, policies=policies
        )
    assert "ended_on" in refused.value.errors


# --- programmes and modules ----------------------------------------------------------------------


def test_programme_edit_deactivation_and_the_proposal_form(client: TestClient, db: Session) -> None:
    history = programme(db)
    module = db.exec(select(Module).where(Module.programme_id == history.id, Module.code == "HIS240")).one()
    admin = actor_for(db, ADMIN)
    org.update_programme(
        db, history, ProgrammeUpdate(code="ba-his", name="History (BA)", eqf_level=6, ects=180), by=admin
    )
    [row] = audit_rows(db, "programme", history.id, "programme.edited")
    assert row.data["before"]["name"] == "BA History"
    assert row.data["after"]["name"] == "History (BA)" and history.code == "BA-HIS"
    org.update_module(db, history, module, ModuleCreate(code="his240", name="Oral history", ects=6), by=admin)
    org.set_module_active(db, history, module, False, by=admin)
    login(client, "academic@example.org")
    form = client.get("/proposals/new?kind=unbundled").text
    assert "History (BA)" in form and "Oral history" not in form
    org.set_programme_active(db, history, False, by=admin)
    assert "History (BA)" not in client.get("/proposals/new?kind=unbundled").text
    actions = [e.event.action for e in org.programme_history(db, history).entries]
    assert actions[-4:] == [
        "programme.edited",
        "programme.module_edited",
        "programme.module_deactivated",
        "programme.deactivated",
    ]
    other = programme(db, "BSC-CS")
    with pytest.raises(Conflict, match="already exists"):
        org.update_programme(
            db, other, ProgrammeUpdate(code="BA-HIS", name=other.name, eqf_level=6, ects=180), by=admin
        )


def test_an_existing_proposal_keeps_showing_its_deactivated_programme(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = humanities_proposal(db, policies, owner="historian@example.org")
    history = programme(db)
    org.set_programme_active(db, history, False, by=None)
    login(client, "historian@example.org")
    assert history.name in client.get(f"/proposals/{proposal.id}").text


# --- pages ---------------------------------------------------------------------------------------


def test_committee_page_edit_keeps_what_was_typed_and_shows_the_history(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    council = committee(db, "Science Faculty Council")
    bad = post_form(
        client,
        f"/admin/committees/{council.id}/edit",
        {"name": "", "kind": "lll_committee", "org_unit_id": str(council.org_unit_id), "chair_user_id": ""},
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "name") != ""
    assert '<option value="lll_committee" selected>' in bad.text
    assert db.get_one(Committee, council.id).name == "Science Faculty Council"
    ok = post_form(
        client,
        f"/admin/committees/{council.id}/edit",
        {"name": "Science Council", "kind": "faculty_council", "org_unit_id": str(council.org_unit_id)},
    )
    assert ok.status_code == 303
    page = client.get(ok.headers["location"]).text
    assert "Science Council saved." in page
    assert "committee: edited" in page and "name: Science Faculty Council → Science Council" in page
    assert 'id="timeline"' in page


def test_committee_page_deactivation_dialog_and_refusal(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, ADMIN)
    council = committee(db, "Science Faculty Council")
    dialog = client.get(f"/admin/committees/{council.id}?confirm=confirm-deactivate").text
    assert (
        '<dialog id="confirm-deactivate" class="confirm-dialog" aria-labelledby="confirm-deactivate-heading" open>'
        in dialog
    )
    assert "It cannot be deactivated yet" in dialog and f'href="/proposals/{proposal.id}"' in dialog
    refused = post_form(client, f"/admin/committees/{council.id}/deactivate")
    assert refused.status_code == 422
    assert "cannot be deactivated: 1 proposal waits for its decision" in refused.text
    humanities = committee(db, "Humanities Faculty Council")
    assert "Yes, deactivate" in client.get(f"/admin/committees/{humanities.id}?confirm=confirm-deactivate").text
    done = post_form(client, f"/admin/committees/{humanities.id}/deactivate")
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "deactivated: it decides nothing more" in page
    assert "Reactivate Humanities Faculty Council" in page
    assert "deactivated" in client.get("/admin/committees").text


def test_ending_and_reinstating_a_member_on_the_page(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    council = committee(db, "Science Faculty Council")
    council3 = demo_user(db, "council3@example.org")
    bad = post_form(client, f"/admin/committees/{council.id}/members/{council3.id}/end", {"ended_on": "someday"})
    assert bad.status_code == 422
    assert "was not ended" in bad.text
    ended = post_form(client, f"/admin/committees/{council.id}/members/{council3.id}/end", {"ended_on": ""})
    assert ended.status_code == 303
    page = client.get(ended.headers["location"]).text
    past = page[page.index("past member") :]
    assert "1 past member</caption>" in page
    assert council3.email in past and utcnow().date().isoformat() in past
    assert f"/members/{council3.id}/reinstate" in page
    back = post_form(
        client, f"/admin/committees/{council.id}/members/{council3.id}/reinstate", headers={"HX-Request": "true"}
    )
    assert back.status_code == 200 and back.text.lstrip().startswith('<div id="members">')
    assert "past member</caption>" not in back.text


def test_programme_page_edit_errors_keep_what_was_typed(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    history = programme(db)
    bad = post_form(
        client,
        f"/admin/programmes/{history.id}/edit",
        {"code": "BA-HIS", "name": "Typed name", "eqf_level": "9", "ects": "180"},
    )
    assert bad.status_code == 422
    assert 'value="Typed name"' in bad.text and field_error(bad.text, "eqf_level") != ""
    module = db.exec(select(Module).where(Module.programme_id == history.id)).first()
    assert module is not None
    bad_module = post_form(
        client, f"/admin/programmes/{history.id}/modules/{module.id}/edit", {"code": "M1", "name": "Kept", "ects": "0"}
    )
    assert bad_module.status_code == 422 and 'value="Kept"' in bad_module.text
    done = post_form(client, f"/admin/programmes/{history.id}/deactivate")
    assert done.status_code == 303
    assert "Reactivate BA-HIS" in client.get(done.headers["location"]).text


# --- the JSON API --------------------------------------------------------------------------------


def test_api_edit_deactivate_and_memberships(client: TestClient, db: Session, policies: Policies) -> None:
    login(client, ADMIN)
    headers = api_headers(client)
    council = committee(db, "Humanities Faculty Council")
    url = f"/api/v1/committees/{council.id}"
    body = {"name": "Humanities Council", "kind": "faculty_council", "org_unit_id": council.org_unit_id}
    put = client.put(url, json=body, headers=headers)
    assert put.status_code == 200 and put.json()["name"] == "Humanities Council"
    bad = client.put(url, json={**body, "kind": "nonsense"}, headers=headers)
    assert bad.status_code == 422
    member = demo_user(db, "humanities@example.org")
    end = client.post(f"{url}/members/{member.id}/end", json={"ended_on": None}, headers=headers)
    assert end.status_code == 200
    assert end.json()["members"] == [] and member.id in [m["user_id"] for m in end.json()["past_members"]]
    again = client.post(f"{url}/members/{member.id}/end", headers=headers)
    assert again.status_code == 404 and again.json()["detail"] == "This person is not a member of the committee."
    back = client.post(f"{url}/members/{member.id}/reinstate", headers=headers)
    assert back.status_code == 200 and back.json()["members"][0]["user_id"] == member.id
    off = client.post(f"{url}/deactivate", headers=headers)
    assert off.status_code == 200 and off.json()["is_active"] is False
    on = client.post(f"{url}/reactivate", headers=headers)
    assert on.status_code == 200 and on.json()["is_active"] is True
    proposal = submitted(db, policies)
    science = committee(db, "Science Faculty Council")
    refused = client.post(f"/api/v1/committees/{science.id}/deactivate", headers=headers)
    assert refused.status_code == 409
    assert f"(#{proposal.id})" in refused.json()["detail"]
    assert client.post("/api/v1/committees/999999/deactivate", headers=headers).status_code == 404


def test_api_programmes_and_modules(client: TestClient, db: Session) -> None:
    login(client, ADMIN)
    headers = api_headers(client)
    history = programme(db)
    url = f"/api/v1/programmes/{history.id}"
    put = client.put(url, json={"code": "BA-HIS", "name": "History", "eqf_level": 6, "ects": 180}, headers=headers)
    assert put.status_code == 200 and put.json()["name"] == "History"
    bad = client.put(url, json={"code": "", "name": "History", "eqf_level": 6, "ects": 180}, headers=headers)
    assert bad.status_code == 422
    module = put.json()["modules"][0]
    mod = client.put(
        f"{url}/modules/{module['id']}", json={"code": "X1", "name": "Renamed", "ects": 5}, headers=headers
    )
    assert mod.status_code == 200 and mod.json()["code"] == "X1"
    assert client.post(f"{url}/modules/{module['id']}/deactivate", headers=headers).json()["is_active"] is False
    assert client.post(f"{url}/modules/{module['id']}/reactivate", headers=headers).json()["is_active"] is True
    assert client.post(f"{url}/deactivate", headers=headers).json()["is_active"] is False
    assert client.post(f"{url}/modules/999999/deactivate", headers=headers).status_code == 404
    login(client, "academic@example.org")
    assert client.post(f"{url}/reactivate", headers=api_headers(client)).status_code == 403


def test_the_new_actions_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/committees/{committee_id}", "put"),
        ("/api/v1/committees/{committee_id}/deactivate", "post"),
        ("/api/v1/committees/{committee_id}/reactivate", "post"),
        ("/api/v1/committees/{committee_id}/members/{user_id}/end", "post"),
        ("/api/v1/committees/{committee_id}/members/{user_id}/reinstate", "post"),
        ("/api/v1/programmes/{programme_id}", "put"),
        ("/api/v1/programmes/{programme_id}/deactivate", "post"),
        ("/api/v1/programmes/{programme_id}/modules/{module_id}", "put"),
        ("/api/v1/programmes/{programme_id}/modules/{module_id}/deactivate", "post"),
    ]:
        assert method in paths[path], path


def test_a_committee_that_has_decided_can_be_deactivated_and_its_decisions_stay(
    client: TestClient, db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies)
    for member in ("council1@example.org", "council2@example.org"):
        vote(db, policies, proposal, member, Choice.approve)
    council = committee(db, "Science Faculty Council")
    assert db.get_one(Proposal, proposal.id).current_body == "lll_committee"
    assert org.awaiting(db, council) == []
    org.set_committee_active(db, council, False, by=None, policies=policies)
    [decision] = db.exec(select(Decision).where(Decision.proposal_id == proposal.id)).all()
    assert db.get_one(Committee, decision.committee_id).name == "Science Faculty Council"
    assert len(db.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all()) == 2
    login(client, "academic@example.org")
    page = client.get(f"/proposals/{proposal.id}").text
    assert "Carla Chair" in page and "Chris Council" in page  # the votes, by name, as before


def test_a_deactivated_programme_cannot_be_newly_chosen_but_a_draft_keeps_it(
    client: TestClient, db: Session, policies: Policies
) -> None:
    """Straight to the API as through the form: a programme or module no longer offered is refused when chosen,
    with a message on the field; a draft that chose it before may still be saved."""
    history = programme(db)
    hum = db.exec(select(OrgUnit).where(OrgUnit.code == "HUM")).one()
    owner = actor_for(db, "historian@example.org")
    draft, _ = proposal_service.create_proposal(
        db, owner, policies, kind=Kind.unbundled, values=history_content(db), org_unit_id=hum.id
    )
    module = db.exec(select(Module).where(Module.id == draft.content["parent_module_id"])).one()
    org.set_programme_active(db, history, False, by=None)
    org.set_module_active(db, history, module, False, by=None)

    login(client, "historian@example.org")
    body = {"kind": "unbundled", "org_unit_id": hum.id, "elements": history_content(db)}
    refused = client.post("/api/v1/proposals", json=body, headers=api_headers(client))
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert errors["parent_programme_id"] == "This programme is no longer offered: choose another."
    assert errors["parent_module_id"] == "This module is no longer offered: choose another."
    # The draft that chose them before they were deactivated is saved as before.
    kept, _ = proposal_service.update_proposal(db, draft.id or 0, owner, policies, {**draft.content, "title": "Kept"})
    assert kept.content["parent_programme_id"] == history.id and kept.title == "Kept"
