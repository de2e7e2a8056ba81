"""The feedback pages and API: the learner's form (plain post and JSON at the same link, each refusal with a
clear page), the owner's and QA office's survey page, results hidden below the threshold then shown with charts
and tables, the CSV exports."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.db import utcnow
from app.feedback import access, service
from app.feedback.models import Survey, SurveyResponse
from app.notifications.models import OutboxMessage
from app.policies import Policies
from tests.conftest import actor_for, api_headers, csrf_token, login, post_form
from tests.feedback.factories import fill, likert_answers, make_offering, open_survey, owner_of, owner_of_survey


def _current(db: Session, policies: Policies, language: str = "en") -> Survey:
    """An open survey whose dates include today (the pages use the real date)."""
    today = utcnow().date()
    offering = make_offering(db, ends_on=today - timedelta(days=1), language=language)
    return open_survey(db, policies, offering, opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=7))


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def _link(db: Session, survey: Survey) -> str:
    (link,) = service.make_links(db, survey.id or 0, owner_of_survey(db, survey), 1, base_url="http://t")
    return _path(link)


def test_a_learner_answers_with_a_plain_form_post_once(client: TestClient, db: Session, policies: Policies) -> None:
    survey = _current(db, policies, language="nl")
    path = _link(db, survey)
    page = client.get(path)
    assert page.status_code == 200
    assert 'lang="nl"' in page.text and "De leerresultaten waren me vanaf het begin duidelijk." in page.text
    assert 'type="radio" name="q_outcomes_clear" value="na"' in page.text and "Niet van toepassing" in page.text

    bad = post_form(client, path, {"q_outcomes_clear": "9", "q_improve": "Meer labo's"})
    assert bad.status_code == 422
    assert "Choose 1 to 5" in bad.text and "Meer labo&#39;s" in bad.text  # what they typed is kept

    done = post_form(client, path, {"q_outcomes_clear": "4", "q_support": "na", "q_improve": "Meer labo's"})
    assert done.status_code == 200 and "zonder enige koppeling" in done.text
    stored = db.exec(select(SurveyResponse.answers).where(SurveyResponse.survey_id == survey.id)).one()
    assert stored == {"outcomes_clear": 4, "support": "na", "improve": "Meer labo's"}

    again = post_form(client, path, {"q_outcomes_clear": "1"})
    assert again.status_code == 409 and "already been used" in again.text
    assert client.get(path).status_code == 409
    assert service.response_count(db, survey.id or 0) == 1


def test_the_same_link_takes_json(client: TestClient, db: Session, policies: Policies) -> None:
    survey = _current(db, policies)
    path = _link(db, survey)
    bad = client.post(path, json={"answers": {"outcomes_clear": 6}})
    assert bad.status_code == 422 and bad.json()["errors"] == {"outcomes_clear": "Choose 1 to 5, or not applicable."}
    assert client.post(path, json={"nonsense": 1}).status_code == 422
    ok = client.post(path, json={"answers": likert_answers(survey, 5) | {"best": "The labs"}})
    assert ok.status_code == 201 and ok.json()["status"] == "accepted"
    second = client.post(path, json={"answers": {"outcomes_clear": 1}})
    assert second.status_code == 409 and second.json()["state"] == "used"


def test_links_that_cannot_take_answers_say_why(client: TestClient, db: Session, policies: Policies) -> None:
    assert client.get("/feedback/fb_unknown").status_code == 404
    assert "not recognised" in client.get("/feedback/whatever").text
    today = utcnow().date()
    later = make_offering(db, ends_on=today + timedelta(days=30))
    draft = service.create_survey(db, later.id or 0, owner_of(db, later), policies, service.SurveyIn())
    page = client.get(_link(db, draft))
    assert page.status_code == 409 and "not open yet" in page.text
    past = make_offering(db, ends_on=date(2025, 1, 31))
    old = open_survey(db, policies, past)
    expired = client.get(_link(db, old))
    assert expired.status_code == 410 and "expired" in expired.text
    closed = _current(db, policies)
    path = _link(db, closed)
    service.act(db, closed.id or 0, "close", owner_of_survey(db, closed), policies)
    response = client.post(path, json={"answers": {}}, headers={"x-csrftoken": csrf_token(client)})
    assert response.status_code == 410 and "closed" in response.json()["detail"]


def test_the_open_link_takes_one_answer_per_browser(client: TestClient, db: Session, policies: Policies) -> None:
    survey = _current(db, policies)
    path = _path(service.open_link(db, survey.id or 0, owner_of_survey(db, survey), base_url="http://t"))
    assert client.get(path).status_code == 200
    assert post_form(client, path, {"q_outcomes_clear": "5"}).status_code == 200
    refused = post_form(client, path, {"q_outcomes_clear": "1"})
    assert refused.status_code == 409 and "from this browser" in refused.text
    client.cookies.delete(service.DONE_COOKIE, path="/feedback")
    assert post_form(client, path, {"q_outcomes_clear": "2"}).status_code == 200
    assert service.response_count(db, survey.id or 0) == 2


def test_qa_runs_a_survey_from_its_page(client: TestClient, db: Session, policies: Policies) -> None:
    today = utcnow().date()
    offering = make_offering(db, ends_on=today)
    login(client, "qa@example.org")
    form = client.get(f"/offerings/{offering.id}/feedback")
    assert form.status_code == 200 and "Your own question 1" in form.text
    bad = post_form(client, f"/offerings/{offering.id}/feedback", {"opens_on": "2027-05-10", "closes_on": "2027-05-01"})
    assert bad.status_code == 422 and "close on or after" in bad.text
    made = post_form(client, f"/offerings/{offering.id}/feedback", {"own_1_text": "Was the lab useful?"})
    assert made.status_code == 303
    survey_url = made.headers["location"]
    survey_id = int(survey_url.rsplit("/", 1)[1])
    assert client.get(f"/offerings/{offering.id}/feedback").headers["location"] == survey_url
    page = client.get(survey_url)
    assert "Open the survey" in page.text and "Draft" in page.text
    opened = post_form(
        client, f"{survey_url}/open", {"opens_on": today.isoformat(), "closes_on": (today + timedelta(7)).isoformat()}
    )
    assert opened.status_code == 303
    csv_links = post_form(client, f"{survey_url}/links", {"count": "3"})
    assert csv_links.headers["content-type"].startswith("text/csv")
    links = re.findall(r"https?://\S+/feedback/fb_[\w-]+", csv_links.text)
    assert len(links) == 3
    mailed = post_form(client, f"{survey_url}/mail", {"emails": "ann@example.org\nbob@example.org"})
    assert mailed.status_code == 303
    assert db.exec(select(OutboxMessage).where(OutboxMessage.to_address == "ann@example.org")).first() is not None
    page = client.get(survey_url)
    assert "0 of 5 invited" in page.text
    results = client.get(f"{survey_url}/results")
    assert results.status_code == 200 and "results are shown once it is closed" in results.text
    client.cookies.clear()
    for link, score in zip(links, (4, 5, 3), strict=True):
        assert client.post(_path(link), json={"answers": {"outcomes_clear": score}}).status_code == 201
    login(client, "qa@example.org")
    assert post_form(client, f"{survey_url}/close").status_code == 303
    hidden = client.get(f"{survey_url}/results")
    assert "Fewer than 5 learners answered (3)" in hidden.text and "<svg" not in hidden.text
    assert client.get(f"{survey_url}/results.csv").status_code == 409
    api = client.get(f"/api/v1/surveys/{survey_id}/results", headers=api_headers(client))
    assert api.status_code == 409 and "anonymous" in api.json()["detail"]


def test_results_above_the_threshold_show_charts_tables_and_csv(
    client: TestClient, db: Session, policies: Policies
) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    fill(db, survey, owner, [4, 5, 5, 3, 4, 2], comment="More labs")
    service.act(db, survey.id or 0, "close", owner, policies)
    login(client, "academic@example.org")
    page = client.get(f"/surveys/{survey.id}/results")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart-svg"') == 1 + len(likert_answers(survey, 1))
    assert "style=" not in page.text.split("<main", 1)[1]  # CSP: classes only
    assert '<rect class="bar-5"' in page.text and "<table" in page.text
    assert "6 answers, mean 3.83, median 4" in page.text
    assert "More labs" in page.text
    exported = client.get(f"/surveys/{survey.id}/results.csv")
    assert exported.status_code == 200 and "mean" in exported.text.splitlines()[0]
    api = client.get(f"/api/v1/surveys/{survey.id}/results", headers=api_headers(client))
    assert api.status_code == 200
    first = api.json()["questions"][0]
    assert (first["n"], first["counts"]["5"], first["hidden"]) == (6, 2, False)
    assert next(q for q in api.json()["questions"] if q["key"] == "best")["hidden"] is True

    response = post_form(
        client, f"/surveys/{survey.id}/response", {"owner_response": "Thanks.", "action_plan": "More lab time."}
    )
    assert response.status_code == 303
    assert "More lab time." in client.get(f"/surveys/{survey.id}").text


def test_the_api_makes_opens_and_invites(client: TestClient, db: Session, policies: Policies) -> None:
    offering = make_offering(db, ends_on=utcnow().date())
    login(client, "academic@example.org")
    headers = api_headers(client)
    made = client.post(f"/api/v1/offerings/{offering.id}/surveys", json={"owner_questions": []}, headers=headers)
    assert made.status_code == 201, made.text
    survey_id = made.json()["id"]
    assert made.json()["actions"] == ["open"]
    assert client.post(f"/api/v1/surveys/{survey_id}/open", json={}, headers=headers).json()["status"] == "open"
    links = client.post(f"/api/v1/surveys/{survey_id}/invitations", json={"count": 2}, headers=headers)
    assert links.status_code == 201 and len(links.json()["links"]) == 2
    mailed = client.post(
        f"/api/v1/surveys/{survey_id}/invitations", json={"emails": ["x@example.org"]}, headers=headers
    )
    assert mailed.json()["mailed"] == 1
    both = client.post(f"/api/v1/surveys/{survey_id}/invitations", json={"count": 1, "emails": []}, headers=headers)
    assert both.status_code == 422
    assert client.get(f"/api/v1/surveys/{survey_id}", headers=headers).json()["invited"] == 3
    assert client.post(f"/api/v1/surveys/{survey_id}/release", headers=headers).status_code == 409
    csrf_token(client)


def test_the_catalogue_entry_shows_what_changed_after_feedback(
    client: TestClient, db: Session, policies: Policies
) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    offering_credential = access.load_ctx(db, survey).credential.id
    fill(db, survey, owner, [3, 4, 4, 5, 2])
    service.act(db, survey.id or 0, "close", owner, policies)
    service.respond(
        db, survey.id or 0, owner, service.ResponseIn(owner_response="Thanks.", action_plan="Shorter labs.")
    )
    before = client.get(f"/catalogue/{offering_credential}")
    assert "What we changed after your feedback" not in before.text  # not until the QA office has seen it
    service.mark_seen(db, survey.id or 0, actor_for(db, "qa@example.org"))
    after = client.get(f"/catalogue/{offering_credential}")
    assert "What we changed after your feedback" in after.text and "Shorter labs." in after.text


def test_the_pdf_and_printable_report_only_above_the_threshold(
    client: TestClient, db: Session, policies: Policies
) -> None:
    survey = open_survey(db, policies)
    owner = owner_of_survey(db, survey)
    fill(db, survey, owner, [4, 4, 3])
    db.commit()  # a refused request rolls its transaction back: keep what the test made
    login(client, "academic@example.org")
    assert client.get(f"/surveys/{survey.id}/results.pdf").status_code == 409
    fill(db, survey, owner, [5, 2])
    db.commit()
    assert client.get(f"/surveys/{survey.id}/report").status_code == 409  # still open
    service.act(db, survey.id or 0, "close", owner, policies)
    printable = client.get(f"/surveys/{survey.id}/report")
    assert printable.status_code == 200 and "5 responses" in printable.text and '<rect class="bar-4"' in printable.text
    document = client.get(f"/surveys/{survey.id}/results.pdf")
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-") and len(document.content) > 2000
