"""The catalogue's response cache, on committed data as in production: publication shows at once (in the worker
that published and in another one that had the page cached), validators and 304s, and what is never cached.

Each test gets its own database (SQLite file or PostgreSQL) with the demo organisation, and two app instances
on it, as two workers: the shared test app reads its test's uncommitted rows, which a cache cannot.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.catalogue.cache import changes_catalogue
from app.catalogue.models import CatalogueStamp, Credential
from app.org.models import OrgUnit
from app.proposals.models import Proposal
from app.users.models import User
from tests.catalogue_factories import content
from tests.conftest import api_headers, login
from tests.workers import Site, two_workers


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with two_workers(tmp_path_factory.mktemp("cache"), "cache") as both:
        assert both.settings.catalogue_cache
        yield both


def approved_proposal(engine: Engine, title: str) -> int:
    """A proposal every body has approved, waiting for the QA office to publish it (committed)."""
    with Session(engine) as session:
        unit = session.exec(select(OrgUnit.id).where(OrgUnit.code == "SCI")).one()
        owner = session.exec(select(User.id).where(User.email == "academic@example.org")).one()
        credential = Credential(kind="standalone", org_unit_id=unit or 0, owner_id=owner or 0)
        session.add(credential)
        session.flush()
        values = content(title=title, learning_outcomes=["Train ML models on sensor data"])
        proposal = Proposal(
            credential_id=credential.id or 0,
            revision_no=1,
            change_type="new",
            kind="standalone",
            org_unit_id=unit or 0,
            owner_id=owner or 0,
            title=title,
            content=values,
            status="approved",
        )
        session.add(proposal)
        session.commit()
        return proposal.id or 0


def publish(site: Site, proposal_id: int) -> None:
    with TestClient(site.worker_a.app, follow_redirects=False) as qa:
        login(qa, "qa@example.org")
        response = qa.post(f"/api/v1/proposals/{proposal_id}/publish", headers=api_headers(qa))
        assert response.status_code == 200, response.text


def generation(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(CatalogueStamp.generation)).one()


def test_publication_shows_at_once_in_every_worker(site: Site) -> None:
    title = f"Sensor Analytics {uuid.uuid4().hex[:6]}"
    proposal_id = approved_proposal(site.engine, title)
    before = generation(site.engine)
    for worker in (site.worker_a, site.worker_b):
        for url in ("/catalogue", "/catalogue?q=sensor", "/api/v1/catalogue?q=sensor"):
            first = worker.get(url)
            assert first.status_code == 200
            assert title not in first.text
            assert worker.get(url).headers["etag"] == first.headers["etag"]  # the same answer, from memory

    publish(site, proposal_id)

    assert generation(site.engine) > before
    for worker in (site.worker_a, site.worker_b):  # worker b did not publish, and had every page cached
        for url in ("/catalogue", "/catalogue?q=sensor", "/api/v1/catalogue?q=sensor"):
            assert title in worker.get(url).text, url
    # the new entry itself, and "ML" finding it through its outcomes
    assert title in site.worker_b.get("/catalogue?q=ml").text


def test_validators_and_not_modified(site: Site) -> None:
    first = site.worker_a.get("/catalogue")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "public, no-cache"
    assert "HX-Request" in first.headers["vary"]
    again = site.worker_b.get("/catalogue", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert site.worker_a.get("/catalogue", headers={"if-modified-since": last_modified}).status_code == 304
    assert site.worker_a.get("/catalogue", headers={"if-none-match": '"0-other"'}).status_code == 200

    publish(site, approved_proposal(site.engine, f"Grid Planning {uuid.uuid4().hex[:6]}"))

    changed = site.worker_b.get("/catalogue", headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    # the security headers are on answers from memory too
    assert changed.headers["content-security-policy"].startswith("default-src 'self'")


def test_htmx_fragment_and_full_page_are_cached_apart(site: Site) -> None:
    page = site.worker_a.get("/catalogue?q=energy")
    fragment = site.worker_a.get(
        "/catalogue?q=energy", headers={"hx-request": "true", "hx-target": "catalogue-results"}
    )
    assert "<html" in page.text
    assert "<html" not in fragment.text
    assert "<html" in site.worker_a.get("/catalogue?q=energy").text


def test_a_faculty_rename_changes_the_catalogue(site: Site) -> None:
    publish(site, approved_proposal(site.engine, f"Soil Science {uuid.uuid4().hex[:6]}"))
    assert "Faculty of Science" in site.worker_b.get("/catalogue?q=soil").text
    with Session(site.engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.code == "SCI")).one()
        unit.name = "Faculty of Natural Sciences"
        session.add(unit)
        session.commit()
    assert "Faculty of Natural Sciences" in site.worker_b.get("/catalogue?q=soil").text


def test_logged_in_visitors_get_their_own_page(site: Site) -> None:
    anonymous = site.worker_a.get("/catalogue")
    assert anonymous.status_code == 200
    assert "set-cookie" not in anonymous.headers  # no CSRF cookie minted for a shared page
    assert '<meta name="csrf-token" content="">' in anonymous.text
    with TestClient(site.worker_a.app, follow_redirects=False) as member:
        login(member, "council1@example.org")
        page = member.get("/catalogue")
        assert "Carla Chair" in page.text
        assert page.headers["cache-control"] == "private, no-cache"  # their own page, kept as theirs only
        assert 'content=""' not in page.text.split("csrf-token", 1)[1][:20]
    assert "Carla Chair" not in site.worker_a.get("/catalogue").text


def test_a_rolled_back_change_leaves_the_cache_valid(site: Site) -> None:
    before = generation(site.engine)
    with Session(site.engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.code == "SCI")).one()
        unit.name = "Never committed"
        session.add(unit)
        session.flush()
        session.rollback()
    assert generation(site.engine) == before
    assert "Never committed" not in site.worker_a.get("/catalogue").text


def test_what_changes_the_catalogue() -> None:
    assert not changes_catalogue([Credential(kind="standalone", org_unit_id=1, owner_id=1)])  # a draft's offer
    assert changes_catalogue([Credential(kind="standalone", org_unit_id=1, owner_id=1, current_version_no=2)])
    assert changes_catalogue([OrgUnit(code="X", name="X")])
    assert not changes_catalogue(
        [Proposal(credential_id=1, revision_no=1, kind="standalone", org_unit_id=1, owner_id=1)]
    )
