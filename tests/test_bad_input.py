"""Every bad input gets a 4xx, never a 500: a corpus of (method, path, body) and the answer expected, run on SQLite
and on PostgreSQL. The proposal-specific cases join this table when app/credentials is reorganised."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import limits
from tests.conftest import api_headers, csrf_token, field_error, login, post_form

BEYOND_SQLITE = 2**63  # beyond every database's integers
BEYOND_POSTGRES = 2**31  # beyond PostgreSQL's INTEGER, within SQLite's
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expected: int
    json: Any = None
    form: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    user: str = "admin@example.org"

    def __str__(self) -> str:
        return f"{self.method} {self.path[:60]}"


NUL = "a\x00b"
ACADEMIC = "academic@example.org"


def LONG(limit: int) -> str:
    """One character more than the limit."""
    return "x" * (limit + 1)


CASES = [
    # Integers beyond the database's range: path, query and body.
    Case("GET", f"/api/v1/users/{BEYOND_SQLITE}", 422),
    Case("GET", f"/api/v1/users/{BEYOND_POSTGRES}", 422 if ON_POSTGRES else 404),
    Case("GET", f"/admin/users/{BEYOND_SQLITE}", 422),
    Case("GET", f"/api/v1/committees/{BEYOND_SQLITE}", 422),
    Case("DELETE", f"/api/v1/auth/tokens/{BEYOND_SQLITE}", 422),
    Case("GET", f"/api/v1/catalogue/{BEYOND_SQLITE}", 422, anonymous=True),
    Case("GET", f"/catalogue?faculty={BEYOND_SQLITE}", 422, anonymous=True),
    Case("PATCH", "/api/v1/users/1", 422, json={"org_unit_id": BEYOND_SQLITE}),
    Case(
        "POST",
        "/api/v1/users",
        422,
        json={"email": "big@example.org", "name": "Big", "org_unit_id": -BEYOND_SQLITE - 1},
    ),
    # NUL characters in text.
    Case("POST", "/login", 422, form={"email": f"{NUL}@example.org", "password": "x"}, anonymous=True),
    Case("GET", "/api/v1/users?q=%00", 422),
    Case("GET", "/catalogue?q=%00", 422, anonymous=True),
    Case("POST", "/api/v1/auth/tokens", 422, json={"name": NUL}),
    Case("PATCH", "/api/v1/users/1", 422, json={"name": NUL}),
    Case("POST", "/account/tokens", 422, form={"name": NUL}),
    # Multipart without a usable boundary, sent with the cookies: was an IndexError in the CSRF check.
    Case("POST", "/admin/users/new", 400, content=b"x", headers={"content-type": "multipart/form-data"}),
    Case("POST", "/admin/users/new", 400, content=b"x", headers={"content-type": "multipart/form-data;boundary="}),
    Case("POST", "/admin/users/new", 400, content=b"x", headers={"content-type": 'multipart/form-data; boundary=""'}),
    # An unknown or negative owning faculty: refused, not a foreign-key error.
    Case("POST", "/api/v1/proposals", 422, json={"kind": "standalone", "org_unit_id": 999999}, user=ACADEMIC),
    Case("POST", "/api/v1/proposals", 422, json={"kind": "standalone", "org_unit_id": -1}, user=ACADEMIC),
    Case("POST", "/proposals/new", 422, form={"kind": "standalone", "org_unit_id": "999999"}, user=ACADEMIC),
    Case("POST", "/proposals/new", 422, form={"kind": "standalone", "org_unit_id": "-1"}, user=ACADEMIC),
    Case("POST", "/api/v1/users", 422, json={"email": "fk@example.org", "name": "Fk", "org_unit_id": 999999}),
    Case("PATCH", "/api/v1/users/1", 422, json={"org_unit_id": -1}),
    Case("POST", "/admin/users/new", 422, form={"email": "fk@example.org", "name": "Fk", "org_unit_id": "999999"}),
    # Values outside a form's choices, or of the wrong type.
    Case("POST", "/proposals/new", 422, form={"kind": "evil", "title": "Kept"}, user=ACADEMIC),
    Case("POST", "/proposals/{proposal}/comments", 422, form={"body": "Hi", "parent_id": "abc"}, user=ACADEMIC),
    Case("POST", "/api/v1/proposals", 422, json={"kind": "standalone", "elements": {"ects": True}}, user=ACADEMIC),
    Case("POST", "/api/v1/proposals", 422, json={"kind": "standalone", "elements": {"hours": True}}, user=ACADEMIC),
    Case("POST", "/api/v1/proposals", 422, json={"kind": "standalone", "org_unit_id": True}, user=ACADEMIC),
    # Free text beyond its field's longest: refused naming the field, never stored (see test_too_long_text_...).
    Case("POST", "/api/v1/proposals/{proposal}/comments", 422, json={"body": LONG(limits.COMMENT)}, user=ACADEMIC),
    Case("POST", "/proposals/{proposal}/comments", 422, form={"body": LONG(limits.COMMENT)}, user=ACADEMIC),
    Case(
        "POST",
        "/api/v1/proposals/{proposal}/votes",
        422,
        json={"choice": "approve", "comment": LONG(limits.VOTE_COMMENT)},
        user=ACADEMIC,
    ),
    Case(
        "POST",
        "/api/v1/proposals/{proposal}/votes",
        422,
        json={"choice": "approve", "conditions": [{"text": LONG(limits.CONDITION_TEXT), "due_on": "2030-01-01"}]},
        user=ACADEMIC,
    ),
    Case(
        "POST",
        "/proposals/{proposal}/votes",
        422,
        form={"choice": "approve", "comment": LONG(limits.VOTE_COMMENT)},
        user=ACADEMIC,
    ),
    Case("POST", "/api/v1/conditions/1/met", 422, json={"evidence": LONG(limits.EVIDENCE)}),
    Case("POST", "/api/v1/conditions/1/send-back", 422, json={"reason": LONG(limits.REASON)}),
    # The condition forms' refusals, with what was typed kept: tests/proposals/test_pages.py.
    Case("POST", f"/api/v1/proposals/{{proposal}}/withdraw?comment={LONG(limits.REASON)}", 422, user=ACADEMIC),
    Case("POST", "/proposals/{proposal}/withdraw", 422, form={"comment": LONG(limits.REASON)}, user=ACADEMIC),
    Case(
        "POST",
        "/api/v1/proposals",
        422,
        json={"kind": "standalone", "elements": {"learning_outcomes": [LONG(limits.LIST_ITEM)]}},
        user=ACADEMIC,
    ),
    Case(
        "POST", "/api/v1/proposals", 422, json={"kind": "standalone", "elements": {"need": LONG(3000)}}, user=ACADEMIC
    ),
    Case("POST", "/proposals/new", 422, form={"kind": "standalone", "need": LONG(3000)}, user=ACADEMIC),
    # A method the address does not take.
    Case("DELETE", "/login", 405, anonymous=True),
    Case("PUT", "/api/v1/me", 405),
]


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    login(client, "admin@example.org")
    return client


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_gets_a_4xx(client: TestClient, app: Any, case: Case) -> None:
    if case.anonymous:
        caller = TestClient(app, follow_redirects=False)
        token = csrf_token(caller)
    else:
        login(client, case.user)
        caller = client
        token = csrf_token(client)
    path = case.path
    if "{proposal}" in path:
        draft = caller.post("/api/v1/proposals", json={"kind": "standalone"}, headers=api_headers(caller))
        assert draft.status_code == 201, draft.text
        path = path.format(proposal=draft.json()["id"])
    headers = {**api_headers(caller), **case.headers}
    if case.form is not None:
        headers.pop("accept")
        response = caller.request(case.method, path, data={"csrftoken": token, **case.form}, headers=headers)
    else:
        response = caller.request(case.method, path, json=case.json, content=case.content, headers=headers)
    assert response.status_code == case.expected, response.text[:500]


def test_multipart_boundary_without_a_space_is_understood(admin: TestClient) -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n'
        + csrf_token(admin).encode()
        + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="q"\r\n\r\nada\r\n--XyZ--\r\n'
    )
    response = admin.post(
        "/admin/users/new", content=body, headers={"content-type": "multipart/form-data;boundary=XyZ"}
    )
    assert response.status_code == 422  # reached the form (name and e-mail missing), not a 400 or a 500


def test_allow_header_on_405(client: TestClient) -> None:
    response = client.delete("/login", headers={"x-csrftoken": csrf_token(client)})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    api = client.put("/api/v1/me", headers={"x-csrftoken": csrf_token(client)})
    assert api.status_code == 405, api.text
    assert api.headers["allow"] == "GET, HEAD"


def test_request_body_size_is_limited(admin: TestClient, app: Any) -> None:
    limit = app.state.settings.max_request_bytes
    announced = admin.post("/api/v1/auth/tokens", content=b"x" * (limit + 1), headers=api_headers(admin))
    assert announced.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = admin.post("/api/v1/auth/tokens", content=chunks(), headers=api_headers(admin))
    assert streamed.status_code == 413
    fine = admin.post("/api/v1/auth/tokens", json={"name": "small"}, headers=api_headers(admin))
    assert fine.status_code == 201


def test_refused_proposal_form_keeps_what_was_typed(client: TestClient) -> None:
    login(client, ACADEMIC)
    evil = post_form(client, "/proposals/new", {"kind": "evil", "title": "Kept title"})
    assert evil.status_code == 422
    assert "Kept title" in evil.text and field_error(evil.text, "kind") == "Choose one."
    unknown = post_form(client, "/proposals/new", {"kind": "standalone", "org_unit_id": "999999", "title": "Kept"})
    assert unknown.status_code == 422
    assert field_error(unknown.text, "org_unit_id").startswith("Unknown faculty")


def test_too_long_text_is_refused_naming_the_field_and_the_form_keeps_it(client: TestClient) -> None:
    login(client, ACADEMIC)
    draft = client.post("/api/v1/proposals", json={"kind": "standalone"}, headers=api_headers(client)).json()
    typed = "y" * (limits.COMMENT + 1)
    api = client.post(f"/api/v1/proposals/{draft['id']}/comments", json={"body": typed}, headers=api_headers(client))
    assert api.status_code == 422 and "body" in api.json()["errors"]
    page = post_form(client, f"/proposals/{draft['id']}/comments", {"body": typed})
    assert page.status_code == 422
    assert typed in page.text and field_error(page.text, "body").startswith("Must be at most 10,000 characters")
    need = "z" * 3001  # credentials.yaml caps the need at 3,000 characters
    form = post_form(client, "/proposals/new", {"kind": "standalone", "title": "Kept title", "need": need})
    assert form.status_code == 422
    assert need in form.text and "Kept title" in form.text
    assert field_error(form.text, "need") == "Must be at most 3,000 characters (this has 3,001)."
