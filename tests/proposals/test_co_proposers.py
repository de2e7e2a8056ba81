"""Who may be a co-proposer, and under which faculty an academic files a proposal (``co_proposers`` and
``file_under`` in credentials.yaml). Co-proposers never vote, so naming them must not decide who votes."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.approvals import access
from app.errors import PolicyViolation
from app.org.models import OrgUnit
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.users.models import Role, User
from tests.conftest import actor_for, api_headers, login, make_user, post_form
from tests.proposals.factories import (
    allowing_route_members,
    complete_content,
    credentials_with,
    new_proposal,
    submitted,
)
from tests.proposals.test_pages import form_data


def unit(db: Session, code: str) -> int:
    org_unit = db.exec(select(OrgUnit).where(OrgUnit.code == code)).one()
    assert org_unit.id is not None
    return org_unit.id


def colleague(db: Session, code: str = "SCI", name: str = "Sam Scientist") -> User:
    return make_user(db, name=name, roles=(Role.academic,), org_unit_id=unit(db, code))


def uid(db: Session, email: str) -> int:
    return actor_for(db, email).id


def options(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert block is not None, select_id
    return re.findall(r"<option[^>]*>([^<]+)</option>", block.group(0))


def test_co_proposers_are_academics_of_the_owning_faculty(db: Session, policies: Policies) -> None:
    sam = colleague(db)
    proposal = new_proposal(db, policies, co_proposers=[sam.id or 0])
    assert service.co_proposer_ids(db, proposal) == [sam.id]
    historian = uid(db, "historian@example.org")
    with pytest.raises(PolicyViolation, match=r"Harper Historian cannot be a co-proposer: .* owning faculty"):
        new_proposal(db, policies, co_proposers=[historian])
    not_an_academic = make_user(db, name="Pat Partner", org_unit_id=unit(db, "SCI"))
    with pytest.raises(PolicyViolation, match="Pat Partner cannot be a co-proposer: co-proposers are academics"):
        new_proposal(db, policies, co_proposers=[not_an_academic.id or 0])
    # Policy may open it to academics of any faculty.
    anyone = credentials_with(policies, co_proposers={"from_": "any_faculty"})
    assert service.co_proposer_ids(db, new_proposal(db, anyone, co_proposers=[historian])) == [historian]


def test_a_member_of_a_body_on_the_route_is_no_co_proposer_by_default(db: Session, policies: Policies) -> None:
    """A council member named co-proposer would leave the council's vote to the others."""
    council3 = uid(db, "council3@example.org")
    with pytest.raises(PolicyViolation, match="as a member of the faculty council, they vote on this proposal") as info:
        new_proposal(db, policies, co_proposers=[council3])
    assert info.value.status_code == 422
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    with pytest.raises(PolicyViolation, match="faculty council"):
        service.update_proposal(
            db, proposal.id, actor_for(db, "academic@example.org"), policies, dict(proposal.content), [council3]
        )
    assert service.co_proposer_ids(db, proposal) == []


def test_when_policy_allows_route_members_each_body_keeps_its_quorum(db: Session, policies: Policies) -> None:
    allowing = allowing_route_members(policies)
    # Three council members, quorum 0.51: two must be able to vote. One co-proposer leaves two.
    one = submitted(db, allowing, co_proposers=[uid(db, "council3@example.org")])
    assert one.status == "faculty_council_review"
    # Two co-proposers would leave one: "majority of 1 of 1 votes". Naming them is allowed; submitting is not.
    two = new_proposal(db, allowing, co_proposers=[uid(db, "council2@example.org"), uid(db, "council3@example.org")])
    assert two.id is not None
    with pytest.raises(PolicyViolation, match="The faculty council would not keep its quorum") as info:
        service.submit(db, two.id, actor_for(db, "academic@example.org"), allowing)
    assert info.value.status_code == 422
    assert db.get_one(Proposal, two.id).status == "draft"


def test_submission_refuses_route_members_named_under_an_earlier_policy(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, allowing_route_members(policies), co_proposers=[uid(db, "council3@example.org")])
    assert proposal.id is not None
    with pytest.raises(PolicyViolation, match="A co-proposer is a member of the faculty council"):
        service.submit(db, proposal.id, actor_for(db, "academic@example.org"), policies)


def test_an_academic_files_under_their_own_faculty_unless_policy_says_otherwise(
    db: Session, policies: Policies
) -> None:
    academic = actor_for(db, "academic@example.org")
    with pytest.raises(PolicyViolation, match="only under your own faculty") as info:
        service.create_proposal(
            db, academic, policies, kind=Kind.standalone, values=complete_content(), org_unit_id=unit(db, "HUM")
        )
    assert info.value.errors == {"org_unit_id": "You can file a proposal only under your own faculty."}
    anywhere = credentials_with(policies, file_under="any_faculty")
    proposal, _ = service.create_proposal(
        db, academic, anywhere, kind=Kind.standalone, values=complete_content(), org_unit_id=unit(db, "HUM")
    )
    assert proposal.org_unit_id == unit(db, "HUM")


def test_the_form_offers_only_who_and_where_policy_allows(client: TestClient, db: Session) -> None:
    colleague(db, name="Sam Scientist")
    colleague(db, "HUM", name="Hugo Humanist")
    login(client, "academic@example.org")
    page = client.get("/proposals/new")
    assert page.status_code == 200
    assert options(page.text, "f-co_proposers") == ["Sam Scientist"]  # no council member, no other faculty
    assert [o for o in options(page.text, "f-org_unit_id") if "Faculty" in o] == ["Faculty of Science"]


def test_the_pages_and_the_api_refuse_what_the_form_does_not_offer(client: TestClient, db: Session) -> None:
    login(client, "academic@example.org")
    council3 = uid(db, "council3@example.org")
    refused = post_form(client, "/proposals/new", form_data(complete_content(), co_proposers=[str(council3)]))
    assert refused.status_code == 422
    assert "Cameron Council cannot be a co-proposer" in refused.text
    elsewhere = post_form(client, "/proposals/new", form_data(complete_content(), org_unit_id=str(unit(db, "HUM"))))
    assert elsewhere.status_code == 422
    assert "only under your own faculty" in elsewhere.text
    api = client.post(
        "/api/v1/proposals",
        json={"kind": "standalone", "elements": {"title": "Data Skills"}, "co_proposer_ids": [council3]},
        headers=api_headers(client),
    )
    assert api.status_code == 422, api.text
    assert "Cameron Council cannot be a co-proposer" in api.text
    api = client.post(
        "/api/v1/proposals",
        json={"kind": "standalone", "elements": {"title": "Data Skills"}, "org_unit_id": unit(db, "HUM")},
        headers=api_headers(client),
    )
    assert api.status_code == 422, api.text
    assert "only under your own faculty" in api.text
    assert db.exec(select(Proposal)).first() is None


def test_the_dashboard_counts_co_proposed_micro_credentials_as_the_owner_does(db: Session, policies: Policies) -> None:
    sam = colleague(db)
    sam_actor = actor_for(db, sam.email)
    owner = actor_for(db, "academic@example.org")
    before_sam, before_owner = service.my_summary(db, sam_actor), service.my_summary(db, owner)
    new_proposal(db, policies, co_proposers=[sam.id or 0])  # a draft, proposed with Sam
    submitted(db, policies)  # Alex's own, not Sam's
    after_sam, after_owner = service.my_summary(db, sam_actor), service.my_summary(db, owner)
    assert after_sam.get("draft", 0) == before_sam.get("draft", 0) + 1
    assert sum(after_sam.values()) == sum(before_sam.values()) + 1
    assert after_owner.get("draft", 0) == before_owner.get("draft", 0) + 1
    assert sum(after_owner.values()) == sum(before_owner.values()) + 2


def test_a_proposals_context_names_every_co_proposer_with_or_without_a_deciding_body(
    db: Session, policies: Policies
) -> None:
    """Before a body decides, the co-proposers are read on their own; while it decides, in the same statement as
    the deciding committee (a list of ids in one column): both must give all of them."""
    allowing = allowing_route_members(policies)
    sam, council3 = colleague(db).id or 0, uid(db, "council3@example.org")
    draft = new_proposal(db, allowing, co_proposers=[sam, council3])
    ctx = access.load_ctx(db, draft)
    assert (ctx.proposer_ids, ctx.committee) == ({draft.owner_id, sam, council3}, None)

    deciding = submitted(db, allowing, co_proposers=[sam, council3])
    assert deciding.status == "faculty_council_review"
    ctx = access.load_ctx(db, deciding)
    assert ctx.proposer_ids == {deciding.owner_id, sam, council3}
    assert ctx.committee is not None and council3 in ctx.member_ids and council3 not in ctx.eligible_ids
