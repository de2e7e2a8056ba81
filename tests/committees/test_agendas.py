"""Agendas: a chair (or the QA office) drafts one from the proposals awaiting the committee, orders and annotates
it, publishes it to the members, and records the body's decisions from it as minutes, each through the same path
as a decision reached by votes. On both databases: services, pages, API and their refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals.models import Condition, Decision
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.committees import agendas, delegation
from app.committees.models import Agenda
from app.db import utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.notifications.models import Notification, OutboxMessage
from app.org.models import Committee
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from tests.conftest import actor_for, api_headers, checklist_gate, demo_user, login, post_form
from tests.proposals.factories import complete_content, submitted, vote

CHAIR = "council1@example.org"
MEETING = utcnow().date() + timedelta(days=7)


def council(db: Session) -> Committee:
    return db.exec(select(Committee).where(Committee.name == "Science Faculty Council")).one()


def two_proposals(db: Session, policies: Policies) -> tuple[Proposal, Proposal]:
    first = submitted(db, policies)
    second = submitted(db, policies, content=complete_content(title="Data Stewardship Basics"))
    return first, second


def draft(db: Session, policies: Policies, who: str = CHAIR) -> Agenda:
    return agendas.create(db, actor_for(db, who), policies, committee_id=council(db).id or 0, meets_on=MEETING)


def entries(view: agendas.AgendaView, *outcomes: tuple[str, str]) -> dict[int, agendas.Entry]:
    return {i.item.id or 0: agendas.Entry(o, c) for i, (o, c) in zip(view.items, outcomes, strict=True)}


def test_a_chair_drafts_orders_publishes_and_minutes(db: Session, policies: Policies) -> None:
    first, second = two_proposals(db, policies)
    agenda = draft(db, policies)
    chair = actor_for(db, CHAIR)
    view = agendas.view(db, agenda.id or 0, chair)
    assert [i.proposal.id for i in view.items] == [first.id, second.id]
    assert view.agenda.status == "draft" and view.actions == ["publish", "cancel"]

    agendas.move(db, agenda.id or 0, view.items[1].item.id or 0, chair, by=-1, revision=0)
    agendas.annotate(db, agenda.id or 0, view.items[0].item.id or 0, chair, "Needs the dean's view.", revision=1)
    view = agendas.view(db, agenda.id or 0, chair)
    assert [i.proposal.id for i in view.items] == [second.id, first.id]
    assert view.items[1].item.note == "Needs the dean's view." and view.agenda.revision == 2

    agendas.publish(db, agenda.id or 0, chair, policies)
    told = db.exec(select(Notification.user_id).where(Notification.kind == "agenda.published")).all()
    assert set(told) == {demo_user(db, "council2@example.org").id, demo_user(db, "council3@example.org").id}
    assert db.exec(select(OutboxMessage).where(OutboxMessage.kind == "agenda.published")).all()

    view = agendas.view(db, agenda.id or 0, chair)
    agendas.record_minutes(
        db, agenda.id or 0, chair, policies, entries(view, ("approve", ""), ("request_changes", "Outcome 3 is vague."))
    )
    db.refresh(first)
    db.refresh(second)
    assert second.status == "lll_committee_review"
    assert first.status == "changes_requested"
    decision = db.exec(select(Decision).where(Decision.proposal_id == first.id)).one()
    assert decision.rule == "minutes" and decision.comment == "Outcome 3 is vague."
    # The same audit rows as a decision by votes: the body's event (system), and who recorded it.
    rows = db.exec(
        select(AuditEvent.action, AuditEvent.actor_role, AuditEvent.actor_id)
        .where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == first.id)
        .order_by(col(AuditEvent.id))
    ).all()
    assert ("minutes.recorded", "chair, faculty council", chair.id) in rows
    assert rows[-1][0] == "request_changes"
    assert rows[-1][1] == f"Faculty council decision (minutes, {MEETING.isoformat()})"
    # The proposer was told as after a vote.
    assert db.exec(
        select(Notification).where(
            Notification.kind == "proposal.changes_requested", Notification.link == f"/proposals/{first.id}"
        )
    ).first()
    db.refresh(agenda)
    assert agenda.status == "minuted"
    with pytest.raises(TransitionNotAllowed, match="minuted"):  # twice
        agendas.record_minutes(db, agenda.id or 0, chair, policies, {})
    with pytest.raises(Conflict, match="can no longer change"):
        agendas.annotate(db, agenda.id or 0, view.items[0].item.id or 0, chair, "late", revision=None)


def test_only_the_chair_or_the_qa_office_runs_agendas(db: Session, policies: Policies) -> None:
    two_proposals(db, policies)
    with pytest.raises(PermissionDenied, match="Only the chair of Science Faculty Council"):
        draft(db, policies, who="council2@example.org")
    agenda = draft(db, policies, who="qa@example.org")  # the QA office may
    member = actor_for(db, "council2@example.org")
    assert agendas.view(db, agenda.id or 0, member).actions == []  # members read it
    with pytest.raises(PermissionDenied):
        agendas.publish(db, agenda.id or 0, member, policies)
    with pytest.raises(PermissionDenied):
        agendas.move(db, agenda.id or 0, 1, member, by=1, revision=None)
    with pytest.raises(NotFound):  # not on the committee: no agenda at all
        agendas.view(db, agenda.id or 0, actor_for(db, "lll1@example.org"))
    with pytest.raises(PolicyViolation, match="in the past"):
        agendas.create(
            db,
            actor_for(db, CHAIR),
            policies,
            committee_id=council(db).id or 0,
            meets_on=utcnow().date() - timedelta(days=1),
        )


def test_a_reorder_from_a_stale_page_is_refused(db: Session, policies: Policies) -> None:
    two_proposals(db, policies)
    agenda = draft(db, policies)
    chair = actor_for(db, CHAIR)
    items = [i.item.id or 0 for i in agendas.view(db, agenda.id or 0, chair).items]
    agendas.reorder(db, agenda.id or 0, list(reversed(items)), chair, revision=0)
    with pytest.raises(Conflict, match="changed by someone else"):
        agendas.reorder(db, agenda.id or 0, items, chair, revision=0)
    with pytest.raises(PolicyViolation, match="every item"):
        agendas.reorder(db, agenda.id or 0, items[:1], chair, revision=1)
    assert [i.item.id for i in agendas.view(db, agenda.id or 0, chair).items] == list(reversed(items))


def test_minutes_are_all_or_nothing_and_name_each_problem(db: Session, policies: Policies) -> None:
    first, second = two_proposals(db, policies)
    agenda = draft(db, policies)
    chair = actor_for(db, CHAIR)
    agendas.publish(db, agenda.id or 0, chair, policies)
    # The first left the council's queue before the meeting (withdrawn); the second was decided by vote meanwhile.
    service.withdraw(db, first.id or 0, actor_for(db, "academic@example.org"), policies, "Not this year.")
    view = agendas.view(db, agenda.id or 0, chair)
    assert [i.still_awaiting for i in view.items] == [False, True]
    with pytest.raises(agendas.MinutesRefused) as refused:
        agendas.record_minutes(db, agenda.id or 0, chair, policies, entries(view, ("approve", ""), ("reject", "")))
    errors = refused.value.errors
    assert errors[f"item-{view.items[0].item.id}"].startswith(
        "Item 1: “Applied Data Analytics for Energy” has left this committee's queue since the agenda was made (it is now withdrawn, round 1)"
    )
    assert "Item 2: Say the reason for rejecting: a comment is required." in errors[f"item-{view.items[1].item.id}"]
    assert refused.value.message == "Nothing was recorded: 2 items need attention."
    db.refresh(second)
    assert second.status == "faculty_council_review"  # nothing half saved

    vote(db, policies, second, "council2@example.org", Choice.approve)
    vote(db, policies, second, "council3@example.org", Choice.approve)
    db.refresh(second)
    assert second.status == "lll_committee_review"
    with pytest.raises(agendas.MinutesRefused) as refused:
        agendas.record_minutes(db, agenda.id or 0, chair, policies, entries(view, ("none", ""), ("approve", "")))
    assert "has left this committee's queue" in refused.value.errors[f"item-{view.items[1].item.id}"]
    agendas.record_minutes(db, agenda.id or 0, chair, policies, entries(view, ("none", ""), ("none", "")))
    db.refresh(agenda)
    assert agenda.status == "minuted"


def test_pages_and_api(client: TestClient, db: Session, policies: Policies) -> None:
    first, _second = two_proposals(db, policies)
    login(client, "council2@example.org")
    refused = post_form(client, "/agendas", {"committee_id": council(db).id, "meets_on": MEETING.isoformat()})
    assert refused.status_code == 403 and "Only the chair" in refused.text

    login(client, CHAIR)
    assert "New agenda" in client.get("/agendas").text
    missing = post_form(client, "/agendas", {"committee_id": council(db).id, "meets_on": ""})
    assert missing.status_code == 422 and 'id="e-meets_on">This field is required.' in missing.text
    made = post_form(client, "/agendas", {"committee_id": council(db).id, "meets_on": MEETING.isoformat()})
    assert made.status_code == 303
    url = made.headers["location"]
    agenda_id = int(url.rsplit("/", 1)[1])
    page = client.get(url)
    assert "Move up" in page.text and first.title in page.text
    items = client.get(f"/api/v1/agendas/{agenda_id}", headers=api_headers(client)).json()["items"]
    # No JavaScript: a plain post and a redirect; htmx: the items swapped in place.
    moved = post_form(client, f"/agendas/{agenda_id}/items/{items[1]['id']}/move", {"direction": "up", "revision": 0})
    assert moved.status_code == 303
    swapped = client.post(
        f"/agendas/{agenda_id}/items/{items[1]['id']}/move",
        data={"direction": "down", "revision": 1, "csrftoken": client.cookies["csrftoken"]},
        headers={"hx-request": "true"},
    )
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith('<section id="agenda-items"')
    stale = post_form(client, f"/agendas/{agenda_id}/items/{items[1]['id']}/move", {"direction": "up", "revision": 0})
    assert stale.status_code == 409 and "changed by someone else" in stale.text

    h = api_headers(client)
    order = client.put(
        f"/api/v1/agendas/{agenda_id}/order",
        json={"item_ids": [items[1]["id"], items[0]["id"]], "revision": 2},
        headers=h,
    )
    assert order.status_code == 200 and [i["id"] for i in order.json()["items"]] == [items[1]["id"], items[0]["id"]]
    assert (
        client.put(f"/api/v1/agendas/{agenda_id}/order", json={"item_ids": [], "revision": 2}, headers=h).status_code
        == 409
    )
    noted = client.put(
        f"/api/v1/agendas/{agenda_id}/items/{items[0]['id']}/note", json={"note": "Dean attends."}, headers=h
    )
    assert noted.json()["items"][1]["note"] == "Dean attends."
    published = client.post(f"/api/v1/agendas/{agenda_id}/publish", headers=h)
    assert published.json()["status"] == "published" and published.json()["allowed_actions"] == [
        "record_minutes",
        "cancel",
    ]

    pack = client.get(f"/agendas/{agenda_id}/pack")
    assert pack.status_code == 200 and "Meeting pack" in pack.text and "Dean attends." in pack.text
    assert "Checklist of the faculty council" in pack.text and first.title in pack.text
    assert f'href="/agendas/{agenda_id}/pack.pdf"' in pack.text
    pdf = client.get(f"/agendas/{agenda_id}/pack.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "meeting-pack-" in pdf.headers["content-disposition"]

    form = post_form(client, f"/agendas/{agenda_id}/minutes", {f"outcome_{items[0]['id']}": "reject"})
    assert form.status_code == 422 and "Nothing was recorded" in form.text and "choose the decision" in form.text
    assert 'value="reject" checked' in form.text  # what was typed is kept
    body = {
        "items": [{"item_id": items[0]["id"], "outcome": "approve"}, {"item_id": items[1]["id"], "outcome": "approve"}]
    }
    done = client.post(f"/api/v1/agendas/{agenda_id}/minutes", json=body, headers=h)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "minuted" and [i["outcome"] for i in done.json()["items"]] == ["approve", "approve"]
    again = client.post(f"/api/v1/agendas/{agenda_id}/minutes", json=body, headers=h)
    assert again.status_code == 409
    assert [a["id"] for a in client.get("/api/v1/agendas", headers=h).json()] == [agenda_id]


def test_the_chairs_substitute_runs_the_agenda_during_the_leave(db: Session, policies: Policies) -> None:
    two_proposals(db, policies)
    delegation.name_substitute(
        db,
        actor_for(db, CHAIR),
        member_id=demo_user(db, CHAIR).id or 0,
        substitute_id=demo_user(db, "historian@example.org").id or 0,
        starts_on=utcnow().date(),
        ends_on=MEETING,
    )
    agenda = draft(db, policies, who="historian@example.org")
    role = db.exec(
        select(AuditEvent.actor_role).where(AuditEvent.entity_type == "agenda", AuditEvent.entity_id == agenda.id)
    ).one()
    assert role == "Harper Historian for Carla Chair, chair, Science Faculty Council"


def test_minutes_pass_the_same_checklist_gate_as_votes(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    vote(db, policies, proposal, CHAIR, Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    db.refresh(proposal)
    assert proposal.status == "qa_office_review"
    qa = actor_for(db, "qa@example.org")
    policies = checklist_gate(policies, True)  # as shipped: the QA office's mandatory items must be answered
    office = db.exec(select(Committee).where(Committee.name == "QA Office")).one()
    agenda = agendas.create(db, qa, policies, committee_id=office.id or 0, meets_on=MEETING)
    agendas.publish(db, agenda.id or 0, qa, policies)
    view = agendas.view(db, agenda.id or 0, qa)
    mine = {i.item.id or 0: agendas.Entry("approve" if i.proposal.id == proposal.id else "none") for i in view.items}
    with pytest.raises(agendas.MinutesRefused) as refused:
        agendas.record_minutes(db, agenda.id or 0, qa, policies, mine)
    [message] = refused.value.errors.values()
    assert "The QA office cannot approve yet: these mandatory items are unanswered" in message
    db.refresh(proposal)
    assert proposal.status == "qa_office_review"


def test_minutes_approve_with_conditions_as_a_vote_would(client: TestClient, db: Session, policies: Policies) -> None:
    """ "Approve with conditions" at the meeting: the same rules as a vote's (a text and a future due date, at
    least one), the conditions set on the approval; a refusal names the item and keeps what was typed."""
    first, second = two_proposals(db, policies)
    agenda = draft(db, policies)
    chair = actor_for(db, CHAIR)
    agendas.publish(db, agenda.id or 0, chair, policies)
    view = agendas.view(db, agenda.id or 0, chair)
    first_item, second_item = (i.item.id or 0 for i in view.items)
    due = (utcnow().date() + timedelta(days=60)).isoformat()

    login(client, CHAIR)
    form = {
        f"outcome_{first_item}": "approve_with_conditions",
        f"condition_text_{first_item}": "",
        f"condition_due_{first_item}": "",
        f"outcome_{second_item}": "none",
    }
    refused = post_form(client, f"/agendas/{agenda.id}/minutes", form)
    assert refused.status_code == 422 and "Nothing was recorded" in refused.text
    assert "Item 1: Approving with conditions needs at least one condition with a due date." in refused.text
    assert 'value="approve_with_conditions" checked' in refused.text
    plain = {f"outcome_{first_item}": "approve", f"condition_text_{first_item}": "Add a rubric"}
    wrong = post_form(client, f"/agendas/{agenda.id}/minutes", {**form, **plain, f"condition_due_{first_item}": due})
    assert wrong.status_code == 422 and "Conditions go with" in wrong.text
    assert 'value="Add a rubric"' in wrong.text  # what was typed is kept
    db.refresh(first)
    assert first.status == "faculty_council_review"  # nothing half saved

    text = {f"condition_text_{first_item}": "Publish the assessment rubric", f"condition_due_{first_item}": due}
    done = post_form(client, f"/agendas/{agenda.id}/minutes", {**form, **text})
    assert done.status_code == 303, done.text
    db.refresh(first)
    assert first.status == "lll_committee_review"
    decision = db.exec(select(Decision).where(Decision.proposal_id == first.id)).one()
    assert decision.rule == "minutes"
    set_on = db.exec(select(Condition).where(Condition.decision_id == decision.id)).all()
    assert [(c.text, c.due_on.isoformat()) for c in set_on] == [("Publish the assessment rubric", due)]
    assert "Minuted: Approve with conditions" in client.get(f"/agendas/{agenda.id}").text

    # The JSON twin takes a list of conditions.
    later = MEETING + timedelta(days=7)
    again = agendas.create(db, chair, policies, committee_id=council(db).id or 0, meets_on=later)
    agendas.publish(db, again.id or 0, chair, policies)
    [item] = agendas.view(db, again.id or 0, chair).items
    assert item.proposal.id == second.id
    conditions = [{"text": "Name a second assessor", "due_on": due}, {"text": "Add a reading list", "due_on": due}]
    body = {"items": [{"item_id": item.item.id, "outcome": "approve_with_conditions", "conditions": conditions}]}
    answered = client.post(f"/api/v1/agendas/{again.id}/minutes", json=body, headers=api_headers(client))
    assert answered.status_code == 200, answered.text
    decision = db.exec(select(Decision).where(Decision.proposal_id == second.id)).one()
    set_on = db.exec(select(Condition).where(Condition.decision_id == decision.id).order_by(col(Condition.id))).all()
    assert [c.text for c in set_on] == ["Name a second assessor", "Add a reading list"]
