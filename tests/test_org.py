"""Administering the organisation: faculties, committees and members, programmes and modules, through the
pages (plain form posts and htmx) and the JSON API (bearer token and session cookie)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.org.models import Committee, CommitteeMember, Module, OrgUnit, Programme, membership_current
from app.users import service as users
from tests.conftest import actor_for, api_headers, demo_user, field_error, login, post_form

HTMX = {"HX-Request": "true"}


def _committee(db: Session, name: str) -> Committee:
    return db.exec(select(Committee).where(Committee.name == name)).one()


def _count(db: Session, model: type, *where: object) -> int:
    return db.exec(select(func.count()).select_from(model).where(*where)).one()  # type: ignore[arg-type]


def _members(db: Session, committee: Committee) -> dict[str, CommitteeMember]:
    """The current members (an ended membership is kept, among the past members)."""
    rows = db.exec(
        select(CommitteeMember).where(CommitteeMember.committee_id == committee.id, membership_current())
    ).all()
    return {_email(db, m.user_id): m for m in rows}


def _past(db: Session, committee: Committee) -> dict[str, CommitteeMember]:
    rows = db.exec(
        select(CommitteeMember).where(CommitteeMember.committee_id == committee.id, ~membership_current())
    ).all()
    return {_email(db, m.user_id): m for m in rows}


def _email(db: Session, user_id: int) -> str:
    return users.get_user(db, user_id).email


def _faculty(db: Session, code: str) -> OrgUnit:
    return db.exec(select(OrgUnit).where(OrgUnit.code == code)).one()


def _bearer(db: Session, email: str) -> dict[str, str]:
    issued = users.issue_token(db, actor_for(db, email), "test integration")
    db.commit()  # a savepoint release here: a later failed request rolls back only its own work
    return {"Authorization": f"Bearer {issued.token}"}


# --- committees: pages ---------------------------------------------------------------------------


def test_committee_list_shows_kind_faculty_chair_and_member_count(client: TestClient) -> None:
    login(client, "admin@example.org")
    response = client.get("/admin/committees")
    assert response.status_code == 200
    html = response.text
    row = html[html.index("Science Faculty Council") :].split("</tr>")[0]
    assert "Faculty council" in row
    assert "Faculty of Science" in row
    assert "Carla Chair" in row
    assert "<td>3</td>" in row
    assert 'href="/admin/org-units"' in html
    assert 'name="csrftoken"' in html
    assert html.count("<h1") == 1


def test_admin_creates_a_committee_through_the_form(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    response = post_form(
        client, "/admin/committees", {"name": "University Senate", "kind": "final_body", "org_unit_id": ""}
    )
    assert response.status_code == 303
    committee = _committee(db, "University Senate")
    assert committee.kind == "final_body"
    assert committee.org_unit_id is None
    assert response.headers["location"] == f"/admin/committees/{committee.id}"
    audit = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "committee", AuditEvent.entity_id == committee.id)
    ).one()
    assert audit.action == "committee.created"
    page = client.get(response.headers["location"]).text
    assert "Committee University Senate created." in page
    assert "This committee has no members yet." in page


def test_faculty_council_without_faculty_is_refused_and_keeps_the_input(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = _count(db, Committee)
    response = post_form(
        client,
        "/admin/committees",
        {"name": "Engineering Council", "kind": "faculty_council", "org_unit_id": ""},
    )
    assert response.status_code == 422
    assert 'value="Engineering Council"' in response.text
    assert field_error(response.text, "org_unit_id") == "Choose the faculty."
    assert "A faculty council belongs to a faculty." in response.text
    assert '<option value="faculty_council" selected>' in response.text
    assert _count(db, Committee) == before
    assert _count(db, Committee, Committee.name == "Engineering Council") == 0


def test_missing_fields_are_explained(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = _count(db, Committee)
    response = post_form(client, "/admin/committees", {"name": "", "kind": "not-a-kind"})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "This field is required."
    assert field_error(response.text, "kind") == "Choose one of the options."
    assert _count(db, Committee) == before


def test_duplicate_committee_name_is_a_clear_error(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    response = post_form(client, "/admin/committees", {"name": "QA Office", "kind": "final_body"})
    assert response.status_code == 422
    assert "A committee named QA Office already exists." in response.text
    assert field_error(response.text, "name") == "This value is already in use."
    assert _count(db, Committee, Committee.name == "QA Office") == 1
    assert _count(db, Committee, Committee.kind == "final_body") == 0
    # The session is still usable after the refused insert: the next write goes through.
    ok = post_form(client, "/admin/committees", {"name": "Senate", "kind": "final_body"})
    assert ok.status_code == 303
    assert _committee(db, "Senate").kind == "final_body"


def test_second_council_for_a_faculty_is_refused(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    sci = _faculty(db, "SCI")
    response = post_form(
        client,
        "/admin/committees",
        {"name": "Another Council", "kind": "faculty_council", "org_unit_id": sci.id},
    )
    assert response.status_code == 422
    assert field_error(response.text, "org_unit_id") == "Already has a council."
    assert _count(db, Committee, Committee.org_unit_id == sci.id) == 1


def test_committee_page_lists_members(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Science Faculty Council")
    response = client.get(f"/admin/committees/{committee.id}")
    assert response.status_code == 200
    html = response.text
    assert 'id="members"' in html
    for email in ("council1@example.org", "council2@example.org", "council3@example.org"):
        assert email in html
    assert f'action="/admin/committees/{committee.id}/members/{demo_user(db, "council2@example.org").id}/end"' in html
    assert 'data-hx-target="#members"' in html
    assert 'Yes, end the membership<span class="visually-hidden"> of Chris Council</span>' in html
    assert 'data-confirm="confirm-remove-' in html and '<dialog id="confirm-remove-' in html


def test_setting_a_chair_moves_the_chair(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Science Faculty Council")
    council2 = demo_user(db, "council2@example.org")
    response = post_form(
        client,
        f"/admin/committees/{committee.id}/members",
        {"user_id": council2.id, "is_chair": "true", "is_learner_representative": "false"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/committees/{committee.id}"
    members = _members(db, committee)
    assert members["council2@example.org"].is_chair
    assert not members["council1@example.org"].is_chair
    assert sum(m.is_chair for m in members.values()) == 1
    assert len(members) == 3
    assert "Chris Council saved as a member" in client.get(response.headers["location"]).text


def test_adding_a_member_with_htmx_returns_the_members_block(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Science Faculty Council")
    academic = demo_user(db, "academic@example.org")
    response = post_form(
        client,
        f"/admin/committees/{committee.id}/members",
        {"user_id": academic.id, "is_chair": "false", "is_learner_representative": "true"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="members">')
    assert "<html" not in response.text
    assert "academic@example.org" in response.text
    assert "toast" in response.headers["HX-Trigger"]
    member = _members(db, committee)["academic@example.org"]
    assert member.is_learner_representative
    assert not member.is_chair
    assert _committee(db, "Science Faculty Council").id == committee.id


def test_member_form_errors_are_rendered_in_the_block(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "QA Office")
    before = _count(db, CommitteeMember, CommitteeMember.committee_id == committee.id)
    missing = post_form(client, f"/admin/committees/{committee.id}/members", {"is_chair": "true"}, headers=HTMX)
    assert missing.status_code == 422
    assert missing.text.lstrip().startswith('<div id="members">')
    assert field_error(missing.text, "user_id") == "This field is required."
    unknown = post_form(client, f"/admin/committees/{committee.id}/members", {"user_id": 999999})
    assert unknown.status_code == 422
    assert "<html" in unknown.text
    assert field_error(unknown.text, "user_id") == "Unknown user."
    assert _count(db, CommitteeMember, CommitteeMember.committee_id == committee.id) == before


def test_removing_a_member(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Lifelong-Learning Committee")
    lll2 = demo_user(db, "lll2@example.org")
    response = post_form(client, f"/admin/committees/{committee.id}/members/{lll2.id}/remove")
    assert response.status_code == 303
    assert set(_members(db, committee)) == {"lll1@example.org"}
    assert "Liam Learner removed from Lifelong-Learning Committee." in client.get(response.headers["location"]).text
    audit = db.exec(
        select(AuditEvent).where(
            AuditEvent.entity_id == committee.id, AuditEvent.action == "committee.membership_ended"
        )
    ).one()
    ended = _past(db, committee)["lll2@example.org"].ended_on
    assert ended is not None
    assert audit.data == {
        "before": {"user_id": lll2.id, "ended_on": None, "is_chair": False},
        "after": {"user_id": lll2.id, "ended_on": ended.isoformat(), "is_chair": False},
    }


def test_removing_a_member_with_htmx_and_removing_a_non_member(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Lifelong-Learning Committee")
    lll1 = demo_user(db, "lll1@example.org")
    response = post_form(client, f"/admin/committees/{committee.id}/members/{lll1.id}/remove", headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="members">')
    table = response.text.split("</table>")[0]
    assert "lll1@example.org" not in table
    assert "lll2@example.org" in table
    assert set(_members(db, committee)) == {"lll2@example.org"}
    again = post_form(client, f"/admin/committees/{committee.id}/members/{lll1.id}/remove")
    assert again.status_code == 404
    assert "not a member" in again.text


def test_unknown_committee_is_404(client: TestClient) -> None:
    login(client, "admin@example.org")
    assert client.get("/admin/committees/999999").status_code == 404
    response = post_form(client, "/admin/committees/999999/members", {"user_id": 1})
    assert response.status_code == 404
    assert "There is no committee with id 999999." in response.text


# --- programmes, modules and faculties: pages ----------------------------------------------------


def test_programme_list_and_create(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    listing = client.get("/admin/programmes")
    assert listing.status_code == 200
    row = listing.text[listing.text.index("BSc Computer Science") :].split("</tr>")[0]
    assert "Faculty of Science" in row
    assert "<td>6</td>" in row
    assert "<td>180</td>" in row
    assert "<td>3</td>" in row  # modules
    hum = _faculty(db, "HUM")
    response = post_form(
        client,
        "/admin/programmes",
        {"code": "ma-phil", "name": "MA Philosophy", "org_unit_id": hum.id, "eqf_level": "7", "ects": "120"},
    )
    assert response.status_code == 303
    programme = db.exec(select(Programme).where(Programme.code == "MA-PHIL")).one()
    assert (programme.name, programme.org_unit_id, programme.eqf_level, programme.ects) == (
        "MA Philosophy",
        hum.id,
        7,
        120,
    )
    assert response.headers["location"] == f"/admin/programmes/{programme.id}"
    page = client.get(response.headers["location"])
    assert "This programme has no modules yet." in page.text


def test_invalid_programme_keeps_input_and_saves_nothing(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = _count(db, Programme)
    response = post_form(
        client,
        "/admin/programmes",
        {"code": "BA-ART", "name": "BA Art", "org_unit_id": "", "eqf_level": "9", "ects": "lots"},
    )
    assert response.status_code == 422
    assert field_error(response.text, "eqf_level") == "Enter 8 or less."
    assert field_error(response.text, "ects") == "Enter a whole number."
    assert field_error(response.text, "org_unit_id") == "This field is required."
    assert 'value="BA Art"' in response.text
    assert 'value="9"' in response.text
    unknown = post_form(
        client,
        "/admin/programmes",
        {"code": "BA-ART", "name": "BA Art", "org_unit_id": "999999", "eqf_level": "6", "ects": "180"},
    )
    assert unknown.status_code == 422
    assert field_error(unknown.text, "org_unit_id") == "Unknown faculty."
    duplicate = post_form(
        client,
        "/admin/programmes",
        {
            "code": "bsc-cs",
            "name": "Again",
            "org_unit_id": _faculty(db, "SCI").id,
            "eqf_level": "6",
            "ects": "180",
        },
    )
    assert duplicate.status_code == 422
    assert "A programme with code BSC-CS already exists." in duplicate.text
    assert _count(db, Programme) == before


def test_add_module_to_a_programme(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    programme = db.exec(select(Programme).where(Programme.code == "BA-HIS")).one()
    page = client.get(f"/admin/programmes/{programme.id}")
    assert page.status_code == 200
    assert "Digital Humanities Methods" in page.text
    response = post_form(
        client,
        f"/admin/programmes/{programme.id}/modules",
        {"code": "his250", "name": "Oral History", "ects": "2.5"},
    )
    assert response.status_code == 303
    module = db.exec(select(Module).where(Module.programme_id == programme.id, Module.code == "HIS250")).one()
    assert (module.name, module.ects) == ("Oral History", 2.5)
    assert "Oral History" in client.get(response.headers["location"]).text
    duplicate = post_form(
        client, f"/admin/programmes/{programme.id}/modules", {"code": "HIS250", "name": "Twice", "ects": "5"}
    )
    assert duplicate.status_code == 422
    assert field_error(duplicate.text, "code") == "This value is already in use."
    assert 'value="Twice"' in duplicate.text
    assert _count(db, Module, Module.programme_id == programme.id) == 3
    assert client.get("/admin/programmes/999999").status_code == 404


def test_org_units_list_and_create(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    listing = client.get("/admin/org-units")
    assert listing.status_code == 200
    assert "Faculty of Science" in listing.text
    assert "Faculty of Humanities" in listing.text
    response = post_form(client, "/admin/org-units", {"code": "eng", "name": "Faculty of Engineering"})
    assert response.status_code == 303
    unit = _faculty(db, "ENG")
    assert unit.name == "Faculty of Engineering"
    assert "Faculty of Engineering (ENG) created." in client.get("/admin/org-units").text
    before = _count(db, OrgUnit)
    duplicate = post_form(client, "/admin/org-units", {"code": "SCI", "name": "Science Again"})
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.text
    assert 'value="Science Again"' in duplicate.text
    assert _count(db, OrgUnit) == before
    # The new faculty can now get its council.
    council = post_form(
        client,
        "/admin/committees",
        {"name": "Engineering Council", "kind": "faculty_council", "org_unit_id": unit.id},
    )
    assert council.status_code == 303
    assert _committee(db, "Engineering Council").org_unit_id == unit.id


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/committees", "/admin/programmes", "/admin/org-units"])
def test_non_admin_gets_403_on_pages(client: TestClient, path: str) -> None:
    login(client, "academic@example.org")
    response = client.get(path)
    assert response.status_code == 403
    assert "Only administrators" in response.text


def test_non_admin_cannot_change_the_organisation(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    committee = _committee(db, "Science Faculty Council")
    academic = demo_user(db, "academic@example.org")
    before = _count(db, Committee)
    assert client.get(f"/admin/committees/{committee.id}").status_code == 403
    assert post_form(client, "/admin/committees", {"name": "Sneaky", "kind": "final_body"}).status_code == 403
    grab = post_form(client, f"/admin/committees/{committee.id}/members", {"user_id": academic.id, "is_chair": "true"})
    assert grab.status_code == 403
    council1 = demo_user(db, "council1@example.org")
    assert post_form(client, f"/admin/committees/{committee.id}/members/{council1.id}/remove").status_code == 403
    assert post_form(client, "/admin/org-units", {"code": "X", "name": "X"}).status_code == 403
    assert _count(db, Committee) == before
    assert "academic@example.org" not in _members(db, committee)
    assert _members(db, committee)["council1@example.org"].is_chair


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/admin/committees")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/committees"


# --- JSON API ------------------------------------------------------------------------------------


def test_api_lists_with_bearer_token(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "academic@example.org")
    committees = client.get("/api/v1/committees", headers=headers)
    assert committees.status_code == 200
    by_name = {c["name"]: c for c in committees.json()}
    assert by_name["Science Faculty Council"]["kind"] == "faculty_council"
    assert len(by_name["Science Faculty Council"]["members"]) == 3
    units = client.get("/api/v1/org-units", headers=headers).json()
    assert {u["code"] for u in units} >= {"SCI", "HUM"}
    programmes = client.get("/api/v1/programmes", headers=headers).json()
    bsc = next(p for p in programmes if p["code"] == "BSC-CS")
    assert [m["code"] for m in bsc["modules"]] == ["CS210", "CS320", "CS330"]
    committee = by_name["QA Office"]
    one = client.get(f"/api/v1/committees/{committee['id']}", headers=headers)
    assert one.json()["members"][0]["email"] == "qa@example.org"


def test_api_creates_committee_with_bearer_token(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    response = client.post("/api/v1/committees", json={"name": "Senate", "kind": "final_body"}, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Senate"
    assert body["members"] == []
    assert _committee(db, "Senate").id == body["id"]


def test_api_create_committee_bad_input(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    before = _count(db, Committee)
    bad_kind = client.post("/api/v1/committees", json={"name": "Senate", "kind": "senate"}, headers=headers)
    assert bad_kind.status_code == 422
    assert "kind" in bad_kind.json()["detail"]
    council = client.post("/api/v1/committees", json={"name": "X Council", "kind": "faculty_council"}, headers=headers)
    assert council.status_code == 422
    assert council.json()["detail"] == "A faculty council belongs to a faculty."
    assert council.json()["errors"] == {"org_unit_id": "Choose the faculty."}
    duplicate = client.post("/api/v1/committees", json={"name": "QA Office", "kind": "final_body"}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "A committee named QA Office already exists."
    assert _count(db, Committee) == before


def test_api_members_with_session_cookie_and_csrf_header(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Humanities Faculty Council")
    academic = demo_user(db, "academic@example.org")
    url = f"/api/v1/committees/{committee.id}/members"
    put = client.put(url, json={"user_id": academic.id, "is_chair": True}, headers=api_headers(client))
    assert put.status_code == 200
    chairs = [m["email"] for m in put.json()["members"] if m["is_chair"]]
    assert chairs == ["academic@example.org"]
    members = _members(db, committee)
    assert members["academic@example.org"].is_chair
    assert not members["humanities@example.org"].is_chair
    delete = client.delete(f"{url}/{academic.id}", headers=api_headers(client))
    assert delete.status_code == 200
    assert [m["email"] for m in delete.json()["members"]] == ["humanities@example.org"]
    assert set(_members(db, committee)) == {"humanities@example.org"}


def test_api_cookie_call_without_csrf_header_is_refused(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    committee = _committee(db, "Humanities Faculty Council")
    academic = demo_user(db, "academic@example.org")
    response = client.put(
        f"/api/v1/committees/{committee.id}/members",
        json={"user_id": academic.id},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]
    assert "academic@example.org" not in _members(db, committee)


def test_api_member_errors(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    committee = _committee(db, "QA Office")
    qa = demo_user(db, "qa@example.org")
    unknown_committee = client.put("/api/v1/committees/999999/members", json={"user_id": qa.id}, headers=headers)
    assert unknown_committee.status_code == 404
    assert unknown_committee.json()["detail"] == "There is no committee with id 999999."
    unknown_user = client.put(f"/api/v1/committees/{committee.id}/members", json={"user_id": 999999}, headers=headers)
    assert unknown_user.status_code == 404
    assert unknown_user.json()["detail"] == "There is no user with id 999999."
    bad = client.put(f"/api/v1/committees/{committee.id}/members", json={"user_id": "someone"}, headers=headers)
    assert bad.status_code == 422
    assert "user_id" in bad.json()["detail"]
    not_member = client.delete(
        f"/api/v1/committees/{committee.id}/members/{demo_user(db, 'lll1@example.org').id}", headers=headers
    )
    assert not_member.status_code == 404
    assert not_member.json()["detail"] == "This person is not a member of the committee."
    assert set(_members(db, committee)) == {"qa@example.org"}


def test_api_non_admin_cannot_write(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "academic@example.org")
    before = _count(db, Committee)
    response = client.post("/api/v1/committees", json={"name": "Senate", "kind": "final_body"}, headers=headers)
    assert response.status_code == 403
    assert "Only administrators" in response.json()["detail"]
    assert _count(db, Committee) == before
    unit = client.post("/api/v1/org-units", json={"code": "X", "name": "X"}, headers=headers)
    assert unit.status_code == 403
    assert _count(db, OrgUnit, OrgUnit.code == "X") == 0


def test_api_programmes_and_modules(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    sci = _faculty(db, "SCI")
    created = client.post(
        "/api/v1/programmes",
        json={
            "code": "msc-ai",
            "name": "MSc Artificial Intelligence",
            "org_unit_id": sci.id,
            "eqf_level": 7,
            "ects": 120,
        },
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["code"] == "MSC-AI"
    assert body["modules"] == []
    module = client.post(
        f"/api/v1/programmes/{body['id']}/modules",
        json={"code": "AI501", "name": "Deep Learning", "ects": 6},
        headers=headers,
    )
    assert module.status_code == 201
    assert module.json()["programme_id"] == body["id"]
    stored = db.exec(select(Module).where(Module.programme_id == body["id"])).one()
    assert (stored.code, stored.name, stored.ects) == ("AI501", "Deep Learning", 6)


def test_api_programme_bad_input(client: TestClient, db: Session) -> None:
    login(client, "admin@example.org")
    before = _count(db, Programme)
    payload = {"code": "BA-ART", "name": "BA Art", "org_unit_id": 999999, "eqf_level": 6, "ects": 180}
    unknown_faculty = client.post("/api/v1/programmes", json=payload, headers=api_headers(client))
    assert unknown_faculty.status_code in (404, 422)
    assert unknown_faculty.json()["detail"] == "There is no faculty with id 999999."
    bad_level = client.post(
        "/api/v1/programmes",
        json={**payload, "org_unit_id": _faculty(db, "HUM").id, "eqf_level": 12},
        headers=api_headers(client),
    )
    assert bad_level.status_code == 422
    assert "eqf_level" in bad_level.json()["detail"]
    assert "less than or equal to 8" in bad_level.json()["detail"]
    assert _count(db, Programme) == before
    missing_programme = client.post(
        "/api/v1/programmes/999999/modules",
        json={"code": "X1", "name": "X", "ects": 5},
        headers=api_headers(client),
    )
    assert missing_programme.status_code == 404
    assert missing_programme.json()["detail"] == "There is no programme with id 999999."
    bsc = db.exec(select(Programme).where(Programme.code == "BSC-CS")).one()
    zero = client.post(
        f"/api/v1/programmes/{bsc.id}/modules",
        json={"code": "X1", "name": "X", "ects": 0},
        headers=api_headers(client),
    )
    assert zero.status_code == 422
    assert "ects" in zero.json()["detail"]
    assert _count(db, Module, col(Module.code) == "X1") == 0


def test_api_org_units(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    created = client.post("/api/v1/org-units", json={"code": "law", "name": "Faculty of Law"}, headers=headers)
    assert created.status_code == 201
    assert created.json()["code"] == "LAW"
    assert _faculty(db, "LAW").name == "Faculty of Law"
    empty = client.post("/api/v1/org-units", json={"code": "", "name": "Nameless"}, headers=headers)
    assert empty.status_code == 422
    assert "code" in empty.json()["detail"]
    duplicate = client.post("/api/v1/org-units", json={"code": "LAW", "name": "Law again"}, headers=headers)
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["detail"]
    assert _count(db, OrgUnit, OrgUnit.name == "Law again") == 0


def test_api_unknown_committee_is_404(client: TestClient, db: Session) -> None:
    headers = _bearer(db, "admin@example.org")
    response = client.get("/api/v1/committees/999999", headers=headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no committee with id 999999."
    delete = client.delete("/api/v1/committees/999999/members/1", headers=headers)
    assert delete.status_code == 404
    assert delete.json()["detail"] == "There is no committee with id 999999."
