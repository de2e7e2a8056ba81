from __future__ import annotations

import pytest

from app.policies import Policies, load_policies
from tests.credentials.factories import POLICIES_DIR


@pytest.fixture(scope="session")
def policies() -> Policies:
    return load_policies(POLICIES_DIR)
