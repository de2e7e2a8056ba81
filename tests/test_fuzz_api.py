"""Every API operation under generated input (schemathesis), with an administrator's token: no request gets a server
error. `make test` runs a few examples per operation; `make fuzz` many more (MCQA_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok

from tests.conftest import api_headers, login

EXAMPLES = int(os.environ.get("MCQA_FUZZ_EXAMPLES", "8"))


@pytest.fixture
def admin_token(client: TestClient) -> str:
    login(client, "admin@example.org")
    response = client.post("/api/v1/auth/tokens", json={"name": "fuzz"}, headers=api_headers(client))
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_no_operation_gives_a_server_error(client: TestClient, admin_token: str) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    headers = {"authorization": f"Bearer {admin_token}"}
    server_errors: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        if operation.path == "/healthz":
            continue  # 503 is its true answer while the test's transaction holds SQLite's write lock
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case: Any) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert operations >= 40
    assert server_errors == []
