"""The public catalogue: search and filters, pagination, htmx fragments, entries with every standard element,
editions and what changed, the JSON twins, and a constant number of queries per page.

Published credentials are inserted directly (credential + proposal already "published" + editions), bypassing
the approval workflow. Every title carries a tag unique to the test, so searches see only that test's rows.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from app.catalogue.models import Credential
from app.catalogue.service import PUBLIC_FIELD_NAMES, PublicElements, record_edition
from app.org.models import Module, Programme
from app.proposals import elements as el
from app.proposals.models import Proposal
from tests.catalogue_factories import content, faculty_id, make_published, tag
from tests.conftest import demo_user, login


def api_titles(client: TestClient, **params: Any) -> set[str]:
    response = client.get("/api/v1/catalogue", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return {item["title"] for item in response.json()["items"]}


def section(html_text: str, heading_id: str) -> str:
    match = re.search(rf'<h2 id="{heading_id}">.*?</section>', html_text, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


def element_value(html_text: str, name: str) -> str:
    match = re.search(rf'<dt id="el-{name}">[^<]*</dt>\s*<dd>(.*?)</dd>', html_text, re.S)
    assert match, f"no element {name}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --- search, filters, pagination -----------------------------------------------------------------


def test_anonymous_visitor_sees_the_catalogue(client: TestClient, db: Session) -> None:
    t = tag()
    make_published(db, content(title=f"Energy Data Analytics {t}"))
    response = client.get("/catalogue", params={"q": t})
    assert response.status_code == 200
    assert 'href="/login"' in response.text  # anonymous header
    assert f"Energy Data Analytics {t}" in response.text
    assert "Faculty of Science" in response.text
    assert "<h1>Catalogue of micro-credentials</h1>" in response.text
    for label in (
        "Search words or the start of words",
        "Faculty",
        "ECTS from",
        "ECTS up to",
        "EQF level",
        "Form of participation",
    ):
        assert f">{label}" in response.text


def test_logged_in_visitor_sees_their_header(client: TestClient, db: Session) -> None:
    login(client, "qa@example.org")
    response = client.get("/catalogue")
    assert response.status_code == 200
    assert "Quinn Auditor" in response.text
    assert "Log out" in response.text


def test_each_result_shows_its_summary(client: TestClient, db: Session) -> None:
    t = tag()
    credential = make_published(
        db,
        content(title=f"Old {t}"),
        content(title=f"Energy Data Analytics {t}", ects=7.5, eqf_level=7, participation_form="online"),
        kind="standalone",
        faculty="HUM",
    )
    text = client.get("/catalogue", params={"q": t}).text
    row = re.search(r"<tbody>(.*?)</tbody>", text, re.S)
    assert row is not None
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)]
    assert cells == [
        f"Energy Data Analytics {t}",
        "Faculty of Humanities",
        "7.5 ECTS",
        "7",
        "Online",
        "Standalone",
        "2 (2024-04-09)",
    ]
    assert f'href="/catalogue/{credential.id}"' in text


def test_search_matches_title_and_outcomes_case_insensitively(client: TestClient, db: Session) -> None:
    t = tag()
    make_published(db, content(title=f"Energy Data Analytics {t}"))
    make_published(
        db,
        content(title=f"Medieval Manuscripts {t}", learning_outcomes=["Interpret palaeographic evidence"]),
        faculty="HUM",
    )
    make_published(db, content(title=f"Urban Ecology {t}", target_group="City planners and ecologists"))
    assert api_titles(client, q=f"ANALYTICS {t}") == {f"Energy Data Analytics {t}"}
    assert api_titles(client, q=f"palaeographic {t}") == {f"Medieval Manuscripts {t}"}
    assert api_titles(client, q=f"{t} planners") == {f"Urban Ecology {t}"}
    assert api_titles(client, q=f"{t} nothing-like-this") == set()
    # a LIKE wildcard is no wildcard: "ana%ytics" looks for words starting with "ana" and with "ytics"
    assert api_titles(client, q=f"{t} ana%ytics") == set()


def test_search_finds_abbreviations_prefixes_and_descriptions(client: TestClient, db: Session) -> None:
    t = tag()
    make_published(
        db,
        content(
            title=f"Machine Learning for Engineers {t}",
            learning_outcomes=["Train ML models on sensor data", "Evaluate classifiers"],
        ),
    )
    make_published(
        db,
        content(
            title=f"Spreadsheet Skills {t}",
            learning_outcomes=["Build formulas in HTML reports"],
            assessment_description="A portfolio of dashboards built in the workplace.",
            prerequisites="Basic numeracy.",
        ),
    )
    # "ML" finds the course whose text says ML, not a word that merely contains the letters ("HTML")
    assert api_titles(client, q=f"ML {t}") == {f"Machine Learning for Engineers {t}"}
    assert api_titles(client, q=f"ml {t}") == {f"Machine Learning for Engineers {t}"}
    # the start of a word finds the word
    assert api_titles(client, q=f"mach learn {t}") == {f"Machine Learning for Engineers {t}"}
    assert api_titles(client, q=f"classif {t}") == {f"Machine Learning for Engineers {t}"}
    # the descriptions are searched too
    assert api_titles(client, q=f"portfolio {t}") == {f"Spreadsheet Skills {t}"}
    assert api_titles(client, q=f"numeracy {t}") == {f"Spreadsheet Skills {t}"}
    # every word must match; punctuation is no part of a word
    assert api_titles(client, q=f"{t} machine portfolio") == set()
    assert api_titles(client, q=f"({t}) & machine!") == {f"Machine Learning for Engineers {t}"}
    # the page counts what the single search statement found
    assert "1 micro-credential found" in client.get("/catalogue", params={"q": f"ml {t}"}).text


def test_publication_makes_the_descriptions_searchable(client: TestClient, db: Session) -> None:
    t = tag()
    owner = demo_user(db, "academic@example.org")
    credential = Credential(kind="standalone", org_unit_id=faculty_id(db, "SCI"), owner_id=owner.id or 0)
    db.add(credential)
    db.flush()
    values = content(title=f"Offshore Wind {t}", further_information="Field trip to a turbine maintenance hub.")
    proposal = Proposal(
        credential_id=credential.id or 0,
        revision_no=1,
        change_type="new",
        kind="standalone",
        org_unit_id=credential.org_unit_id,
        owner_id=owner.id or 0,
        title=values["title"],
        content=values,
        status="approved",
    )
    db.add(proposal)
    db.flush()
    assert api_titles(client, q=f"turbine {t}") == set()
    record_edition(db, proposal)
    db.flush()
    assert api_titles(client, q=f"turbine {t}") == {f"Offshore Wind {t}"}


def test_unpublished_credentials_are_not_listed(client: TestClient, db: Session) -> None:
    t = tag()
    make_published(db, content(title=f"Published {t}"))
    owner = demo_user(db, "academic@example.org")
    draft = Credential(kind="standalone", org_unit_id=faculty_id(db, "SCI"), owner_id=owner.id or 0, title=f"Draft {t}",
                       search_text=f"draft {t}")  # fmt: skip
    db.add(draft)
    db.flush()
    assert api_titles(client, q=t) == {f"Published {t}"}
    assert client.get(f"/catalogue/{draft.id}").status_code == 404


@pytest.fixture
def variety(db: Session) -> str:
    """Five credentials that differ in one filter each from the first."""
    t = tag()
    make_published(db, content(title=f"Base {t}"))  # SCI, 5 ECTS, EQF 6, blended, standalone
    make_published(db, content(title=f"Humanities {t}"), faculty="HUM")
    make_published(db, content(title=f"Big {t}", ects=15, hours=400))
    make_published(db, content(title=f"Level seven {t}", eqf_level=7))
    make_published(db, content(title=f"Online {t}", participation_form="online"))
    make_published(db, content(title=f"Unbundled {t}"), kind="unbundled")
    return t


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"faculty": "HUM"}, {"Humanities"}),
        ({"ects_min": "10"}, {"Big"}),
        ({"ects_max": "5"}, {"Base", "Humanities", "Level seven", "Online", "Unbundled"}),
        ({"ects_min": "5", "ects_max": "15"}, {"Base", "Humanities", "Big", "Level seven", "Online", "Unbundled"}),
        ({"eqf_level": "7"}, {"Level seven"}),
        ({"participation_form": "online"}, {"Online"}),
        ({"kind": "unbundled"}, {"Unbundled"}),
        ({"kind": "standalone", "eqf_level": "6", "participation_form": "blended", "faculty": "SCI", "ects_max": "6"},
         {"Base"}),
    ],
)  # fmt: skip
def test_each_filter_filters(
    client: TestClient, db: Session, variety: str, params: dict[str, str], expected: set[str]
) -> None:
    t = variety
    if "faculty" in params:
        params = {**params, "faculty": str(faculty_id(db, params["faculty"]))}
    titles = {f"{name} {t}" for name in expected}
    assert api_titles(client, q=t, **params) == titles
    page = client.get("/catalogue", params={"q": t, **params}).text
    everyone = {"Base", "Humanities", "Big", "Level seven", "Online", "Unbundled"}
    for name in everyone:
        assert (f"{name} {t}</a>" in page) is (name in expected), name


def test_plain_get_form_with_empty_filters_works(client: TestClient, db: Session, variety: str) -> None:
    empty = {"faculty": "", "ects_min": "", "ects_max": "", "eqf_level": "", "participation_form": "", "kind": ""}
    response = client.get("/catalogue", params={"q": variety, **empty})
    assert response.status_code == 200
    assert "6 micro-credentials found" in response.text
    # the chosen values are kept in the form
    kept = client.get("/catalogue", params={"q": variety, **empty, "ects_min": "5", "kind": "unbundled"}).text
    assert 'name="ects_min" type="number" value="5"' in kept
    assert '<option value="unbundled" selected>' in kept
    assert client.get("/catalogue", params={"eqf_level": "nine"}).status_code == 422


def test_nothing_matches_shows_the_empty_state(client: TestClient, db: Session) -> None:
    response = client.get("/catalogue", params={"q": tag()})
    assert response.status_code == 200
    assert "No micro-credential matches this search" in response.text
    assert '<table class="catalogue-table"' not in response.text


def test_pagination(client: TestClient, db: Session) -> None:
    t = tag()
    for number in range(7):
        make_published(db, content(title=f"Course {number} {t}"))
    pages = [client.get("/api/v1/catalogue", params={"q": t, "limit": 3, "offset": o}).json() for o in (0, 3, 6)]
    assert [p["total"] for p in pages] == [7, 7, 7]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    ids = [item["id"] for p in pages for item in p["items"]]
    assert len(set(ids)) == 7
    assert [item["title"] for item in pages[0]["items"]] == [f"Course {n} {t}" for n in range(3)]

    first = client.get("/catalogue", params={"q": t, "limit": 3}).text
    assert "1\u20133 of 7" in first
    assert f'href="/catalogue?q={t}&offset=3&limit=3" rel="next"' in html.unescape(first)
    second = client.get("/catalogue", params={"q": t, "limit": 3, "offset": 3}).text
    assert f"Course 3 {t}" in second and f"Course 0 {t}" not in second
    assert 'rel="prev"' in second


def test_htmx_request_returns_only_the_results_fragment(client: TestClient, db: Session, variety: str) -> None:
    headers = {"hx-request": "true", "hx-target": "catalogue-results"}
    response = client.get("/catalogue", params={"q": variety, "eqf_level": "7"}, headers=headers)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<h1" not in response.text
    assert 'id="catalogue-filters"' not in response.text
    assert response.text.lstrip().startswith('<div id="catalogue-results"')
    assert f"Level seven {variety}" in response.text
    assert f"Base {variety}" not in response.text
    assert 'id="catalogue-status" data-hx-swap-oob="innerHTML">1 micro-credential found<' in response.text
    assert "HX-Request" in response.headers["vary"]
    # the full page includes the same block, and the form asks htmx for it
    page = client.get("/catalogue", params={"q": variety}).text
    assert 'data-hx-target="#catalogue-results"' in page
    assert '<div id="catalogue-results"' in page


# --- one entry -----------------------------------------------------------------------------------


def test_entry_shows_every_standard_element_by_section(client: TestClient, db: Session) -> None:
    credential = make_published(db, content(national_level=None, prerequisites=None))
    response = client.get(f"/catalogue/{credential.id}")
    assert response.status_code == 200
    text = response.text
    assert text.count("<h1") == 1
    for spec in el.FIELDS:
        if spec.eu_element:
            assert f">{html.escape(spec.label)}</dt>" in text, spec.label
    for name in ("target_group", "languages", "planned_start", "planned_end", "capacity", "fee_eur", "stackability"):
        assert f'<dt id="el-{name}">' in text, name
    headings = re.findall(r"<h2 id=\"section-\d+\">([^<]+)</h2>", text)
    assert headings == [s.value for s in el.Section]
    assert element_value(text, "national_level") == "—"
    assert element_value(text, "prerequisites") == "—"
    assert element_value(text, "participation_form") == "Blended"
    assert element_value(text, "ects") == "5 ECTS"
    assert element_value(text, "fee_eur") == "EUR 450"
    assert element_value(text, "planned_start") == "2025-09-15"
    assert element_value(text, "supervision") == "Supervised online or on site, with identity verification"
    assert "Outcome 2: Project, Written exam" in element_value(text, "lo_assessment")
    # internal committee material is not published
    assert "Letters from two grid operators" not in text
    assert "shortage of staff" not in text
    # a standalone credential has no parent programme
    assert 'id="el-parent_programme_id"' not in text


def test_unbundled_entry_names_its_parent_programme_and_module(client: TestClient, db: Session) -> None:
    module = db.exec(select(Module).where(Module.code == "CS320")).one()
    programme = db.get(Programme, module.programme_id)
    assert programme is not None
    credential = make_published(
        db, content(parent_programme_id=programme.id, parent_module_id=module.id), kind="unbundled"
    )
    text = client.get(f"/catalogue/{credential.id}").text
    assert element_value(text, "parent_programme_id") == f"{programme.name} ({programme.code})"
    assert element_value(text, "parent_module_id") == "Machine Learning (CS320)"
    assert "Unbundled from a degree programme" in text


def test_history_and_changes_since_the_last_edition(client: TestClient, db: Session) -> None:
    first = content(title="Energy Data Basics")
    second = content(
        title="Energy Data Analytics",
        ects=6,
        hours=170,
        learning_outcomes=[*first["learning_outcomes"], "Design a dashboard for grid operators"],
        need="Changed internal justification.",
    )
    credential = make_published(db, first, second)
    text = client.get(f"/catalogue/{credential.id}").text
    assert "<h1>Energy Data Analytics</h1>" in text
    assert "not the current edition" not in text

    history = section(text, "history")
    assert history.count("<tr") == 3  # header + two editions
    assert "Edition 2</a> (shown)" in history and "Edition 1</a>" in history
    assert "2024-01-10" in history and "2024-04-09" in history
    assert "Major change" in history and "New" in history
    assert "Title, Learning outcomes, Notional workload (ECTS), Notional workload (hours)" in history
    assert "Need it answers" not in history  # an internal element

    changes = section(text, "changes")
    assert "<caption>Edition 2 compared with edition 1</caption>" in changes
    assert "<del>5 ECTS</del>" in changes and "<ins>6 ECTS</ins>" in changes
    assert "<del>Energy Data Basics</del>" in changes and "<ins>Energy Data Analytics</ins>" in changes
    assert "<ins>Design a dashboard for grid operators</ins>" in changes
    assert "Target group" not in changes  # unchanged
    assert "Form of participation" not in changes
    assert "Need it answers" not in changes  # changed, but not public


def test_earlier_edition_is_marked_not_current(client: TestClient, db: Session) -> None:
    credential = make_published(db, content(title="Energy Data Basics"), content(title="Energy Data Analytics"))
    response = client.get(f"/catalogue/{credential.id}", params={"version": 1})
    assert response.status_code == 200
    assert "<h1>Energy Data Basics</h1>" in response.text
    assert "This is edition 1, not the current edition." in response.text
    assert f'href="/catalogue/{credential.id}">See the current edition (2)' in response.text
    assert "This is the first edition" in section(response.text, "changes")
    assert client.get(f"/catalogue/{credential.id}", params={"version": 9}).status_code == 404


def test_unknown_entry_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/catalogue/99999999")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text
    assert "There is no published micro-credential 99999999 in the catalogue." in response.text
    api = client.get("/api/v1/catalogue/99999999")
    assert api.status_code == 404
    assert api.json()["detail"] == "There is no published micro-credential 99999999 in the catalogue."


# --- JSON twins ----------------------------------------------------------------------------------


def test_api_list_matches_the_page(client: TestClient, db: Session, variety: str) -> None:
    data = client.get("/api/v1/catalogue", params={"q": variety, "kind": "unbundled"}).json()
    assert data["total"] == 1
    (item,) = data["items"]
    assert set(item) == {
        "id", "title", "faculty", "ects", "eqf_level", "participation_form", "kind", "version_no", "published_at"
    }  # fmt: skip
    assert item["title"] == f"Unbundled {variety}"
    assert item["faculty"] == "Faculty of Science"
    assert (item["ects"], item["eqf_level"], item["participation_form"]) == (5, 6, "blended")
    assert (item["kind"], item["version_no"]) == ("unbundled", 1)
    assert item["published_at"].startswith("2024-01-10")
    page = client.get("/catalogue", params={"q": variety, "kind": "unbundled"}).text
    assert f'href="/catalogue/{item["id"]}">{item["title"]}</a>' in page


def test_api_entry_returns_elements_and_editions(client: TestClient, db: Session) -> None:
    credential = make_published(db, content(title="Energy Data Basics"), content(title="Energy Data Analytics", ects=6,
                                                                                  hours=170))  # fmt: skip
    data = client.get(f"/api/v1/catalogue/{credential.id}").json()
    assert data["title"] == "Energy Data Analytics"
    assert (data["version_no"], data["current_version_no"], data["is_current"]) == (2, 2, True)
    assert data["faculty"] == "Faculty of Science"
    assert data["elements"]["ects"] == 6
    assert data["elements"]["participation_form"] == "blended"
    assert data["elements"]["learning_outcomes"][0] == "Analyse energy consumption data with Python"
    assert "need" not in data["elements"] and "labour_market_evidence" not in data["elements"]
    assert [v["version_no"] for v in data["versions"]] == [2, 1]
    assert data["versions"][0]["changes"] == ["title", "ects", "hours"]
    assert data["versions"][0]["changed_labels"][0] == "Title"
    assert data["versions"][1]["effective_to"].startswith("2024-04-09")
    old = client.get(f"/api/v1/catalogue/{credential.id}", params={"version": 1}).json()
    assert (old["title"], old["is_current"], old["elements"]["ects"]) == ("Energy Data Basics", False, 5)


def test_api_is_in_the_openapi_document_without_auth(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/catalogue", "/api/v1/catalogue/{credential_id}"):
        operation = schema["paths"][path]["get"]
        assert operation["tags"] == ["catalogue"]
        assert "security" not in operation
    params = {p["name"] for p in schema["paths"]["/api/v1/catalogue"]["get"]["parameters"]}
    assert {
        "q",
        "faculty",
        "ects_min",
        "ects_max",
        "eqf_level",
        "participation_form",
        "kind",
        "offset",
        "limit",
    } <= params
    assert "PublicElements" in schema["components"]["schemas"]


def test_public_elements_mirror_the_element_types() -> None:
    assert set(PublicElements.model_fields) == PUBLIC_FIELD_NAMES
    for name, info in PublicElements.model_fields.items():
        assert info.annotation == el.Elements.model_fields[name].annotation, name


# --- queries -------------------------------------------------------------------------------------


def test_query_count_does_not_grow_with_the_page_size(client: TestClient, db: Session, engine: Engine) -> None:
    t = tag()
    for number in range(60):
        make_published(db, content(title=f"Course {number:02d} {t}"), faculty="SCI" if number % 2 else "HUM")
    counts: dict[tuple[str, int], int] = {}
    selects: dict[tuple[str, int], int] = {}
    for limit in (5, 50):
        for url in ("/catalogue", "/api/v1/catalogue"):
            client.get(url, params={"q": t, "limit": limit})  # warm up
            with count_queries(engine) as statements:
                response = client.get(url, params={"q": t, "limit": limit})
            assert response.status_code == 200
            assert response.text.count(f" {t}") >= limit
            counts[(url, limit)] = len(statements)
            selects[(url, limit)] = sum(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert counts[("/catalogue", 5)] == counts[("/catalogue", 50)]
    assert counts[("/api/v1/catalogue", 5)] == counts[("/api/v1/catalogue", 50)]
    # a search is one statement: the page of rows joined with the faculty name, the count riding along;
    # the page also lists the faculties
    assert selects[("/api/v1/catalogue", 50)] == 1, selects
    assert selects[("/catalogue", 50)] == 2, selects


def test_entry_query_count_does_not_grow_with_editions(client: TestClient, db: Session, engine: Engine) -> None:
    few = make_published(db, content(), content(ects=6, hours=170))
    many = make_published(db, *[content(ects=5 + n % 3, hours=140 + 30 * (n % 3)) for n in range(8)])
    counts = []
    for credential in (few, many):
        client.get(f"/catalogue/{credential.id}")
        with count_queries(engine) as statements:
            assert client.get(f"/catalogue/{credential.id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_eqf_filter_offers_the_levels_policy_allows(client: TestClient, policies: Any) -> None:
    from app.proposals.policy import CredentialPolicy

    allowed = policies.of(CredentialPolicy).eqf_levels
    assert allowed != list(range(1, 9))  # the shipped policy leaves some out, so this test can fail
    select_html = client.get("/catalogue").text.split('name="eqf_level"', 1)[1].split("</select>", 1)[0]
    offered = [int(v) for v in re.findall(r'<option value="(\d+)"', select_html)]
    assert offered == sorted(allowed)
    # a level from a shared address stays chosen even where policy no longer offers it
    shared = client.get("/catalogue", params={"eqf_level": 2}).text.split('name="eqf_level"', 1)[1]
    assert re.search(r'<option value="2"[^>]*selected', shared.split("</select>", 1)[0])


def test_live_search_updates_the_address_and_works_as_a_plain_form(client: TestClient) -> None:
    page = client.get("/catalogue").text
    form = page.split('<form id="catalogue-filters"', 1)[1].split(">", 1)[0]
    assert 'method="get"' in form and 'action="/catalogue"' in form  # without JavaScript
    assert 'data-hx-push-url="true"' in form  # the address bar shows the search, to share it
    assert "delay:400ms" in form  # debounced while typing
