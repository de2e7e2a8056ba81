"""Every API operation under generated input (schemathesis), with an administrator's and an academic's token: no
request gets a server error, and every answer is as the document declares. `make test` runs a few examples per
operation; `make fuzz` many more (MCQA_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import api_headers, login

EXAMPLES = int(os.environ.get("MCQA_FUZZ_EXAMPLES", "8"))


@pytest.fixture(params=["admin@example.org", "academic@example.org"])
def token(client: TestClient, request: pytest.FixtureRequest) -> str:
    login(client, request.param)
    response = client.post("/api/v1/auth/tokens", json={"name": "fuzz"}, headers=api_headers(client))
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_no_operation_gives_a_server_error_or_breaks_its_schema(client: TestClient, token: str) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    headers = {"authorization": f"Bearer {token}"}
    server_errors: list[str] = []
    violations: list[str] = []
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
            try:
                # Status codes, content types and bodies as documented. Not "a schema-valid request is accepted":
                # the schema does not spell out the database's integer range or the policy rules (refused with 422).
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            except FailureGroup as failure:
                violations.append(f"{case.method} {case.formatted_path}: {str(failure)[:300]}")
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert operations >= 40
    assert server_errors == []
    assert violations == []
