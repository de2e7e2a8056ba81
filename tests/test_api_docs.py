"""The interactive API documentation works offline: every file it loads comes from the app itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import api_headers, login

# Any address naming a host: absolute (http://, https://) or protocol-relative (//host).
EXTERNAL = re.compile(r"""(?:https?:)?//[\w.-]+""", re.IGNORECASE)
REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def test_api_docs_reference_no_external_host(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.text
    assert "'/api/v1/openapi.json'" in response.text
    assert EXTERNAL.findall(response.text) == []
    assert '"validatorUrl": null' in response.text  # no call to the public validator service either


def test_api_docs_assets_are_served_by_the_app(client: TestClient) -> None:
    html = client.get("/api/docs").text
    references = REFERENCES.findall(html)
    scripts = [ref for ref in references if ref.endswith(".js")]
    styles = [ref for ref in references if ref.endswith(".css")]
    assert scripts and styles, references
    for ref in references:
        assert ref.startswith("/api/docs/"), ref
        response = client.get(ref)
        assert response.status_code == 200, ref
        assert len(response.content) > 0, ref
    assert "SwaggerUIBundle" in client.get(scripts[0]).text
    assert client.get(styles[0]).headers["content-type"].startswith("text/css")


def test_openapi_document_keeps_its_address(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/docs" not in schema["paths"]


# A sample of operations: writes and reads of each API router, logged in.
DECLARED_ERRORS = ("401", "403", "404", "409", "413", "422")
SAMPLE = [
    ("post", "/api/v1/proposals"),
    ("get", "/api/v1/proposals/{proposal_id}"),
    ("patch", "/api/v1/proposals/{proposal_id}"),
    ("post", "/api/v1/proposals/{proposal_id}/votes"),
    ("post", "/api/v1/conditions/{condition_id}/met"),
    ("patch", "/api/v1/users/{user_id}"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/auth/tokens"),
]


def test_openapi_declares_the_error_responses_with_their_body(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"title", "detail"} and "errors" in error["properties"]
    for method, path in SAMPLE:
        responses = document["paths"][path][method]["responses"]
        for status in DECLARED_ERRORS:
            assert status in responses, f"{method.upper()} {path} does not declare {status}"
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status, schema)
    catalogue = document["paths"]["/api/v1/catalogue/{credential_id}"]["get"]["responses"]
    assert {"404", "422"} <= set(catalogue) and "401" not in catalogue  # anonymous reading
    assert "HTTPValidationError" not in document["components"]["schemas"]  # no 422 shape the API never sends


def test_error_bodies_match_the_declared_schema(client: TestClient) -> None:
    from app.handlers import ErrorBody

    login(client, "admin@example.org")
    headers = api_headers(client)
    invalid = client.post("/api/v1/users", json={"email": "not-an-address"}, headers=headers)
    missing = client.get("/api/v1/proposals/999999", headers=headers)
    anonymous = TestClient(client.app).get("/api/v1/me")
    too_large = client.post("/api/v1/auth/tokens", content=b"x" * (10**8), headers=headers)
    for response, status in [(invalid, 422), (missing, 404), (anonymous, 401), (too_large, 413)]:
        assert response.status_code == status, response.text
        ErrorBody.model_validate(response.json())  # extra keys are refused
    assert set(ErrorBody.model_validate(invalid.json()).errors) == {"email", "name"}
