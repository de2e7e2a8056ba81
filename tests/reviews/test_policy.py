"""reviews.yaml: the shipped cadence, and start-up refusing a full-review interval that is not strictly shorter
than the degree cadence, naming the file and the field."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.main import create_app
from app.policies import PolicyError, load_policies
from app.reviews.policy import ReviewPolicy, add_months
from app.settings import Settings
from tests.test_policies import SHIPPED, copy_policies


def test_the_shipped_cadence_reviews_micro_credentials_more_often_than_degrees() -> None:
    policy = load_policies(SHIPPED).of(ReviewPolicy)
    standalone, unbundled = policy.of("standalone"), policy.of("unbundled")
    assert (standalone.full_review_every_months, standalone.degree_cadence_months) == (36, 72)
    assert unbundled.full_review_every_months == 24
    assert standalone.monitoring.at_least_every_months == 12 and standalone.monitoring.after_every_offering
    assert standalone.overdue_consequence.days_after_due == 60
    assert standalone.monitoring_due(date(2027, 1, 15)) == date(2028, 1, 15)
    assert standalone.full_review_due(date(2027, 1, 15)) == date(2030, 1, 15)


@pytest.mark.parametrize("months", ["72", "96"])
def test_start_up_refuses_a_full_review_interval_not_shorter_than_the_degree_cadence(
    tmp_path: Path, months: str
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "reviews.yaml"
    path.write_text(path.read_text().replace("full_review_every_months: 36", f"full_review_every_months: {months}"))
    settings = Settings(policy_dir=directory, database_url=f"sqlite:///{tmp_path}/x.db", run_scheduler=False)
    with pytest.raises(PolicyError) as refused:
        create_app(settings)
    message = str(refused.value)
    assert "reviews.yaml" in message
    assert "kinds.standalone.full_review_every_months" in message
    assert re.search(rf"\({months} months\) must be strictly shorter than the degree-programme cadence \(72", message)


def test_every_kind_needs_its_cadence(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "reviews.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  # Unbundled")])
    with pytest.raises(PolicyError, match=r"reviews\.yaml: field 'kinds': .*missing: unbundled"):
        load_policies(directory)


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "reviews.yaml"
    path.write_text(path.read_text().replace("  # Unbundled", "  evening:\n    <<: *standard\n  # Unbundled"))
    with pytest.raises(PolicyError, match=r"reviews\.yaml: field 'kinds': .*no such kind: evening"):
        load_policies(directory)


def test_months_are_added_to_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)
