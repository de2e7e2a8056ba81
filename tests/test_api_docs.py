"""The interactive API documentation works offline: every file it loads comes from the app itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

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
