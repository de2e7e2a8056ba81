"""Every shipped policy loads; a bad file stops start-up naming the file and the field."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.approvals.policy import ApprovalPolicy
from app.main import create_app
from app.org.models import CommitteeKind
from app.org.policy import InstitutionPolicy
from app.policies import POLICY_FILES, PolicyError, load_policies
from app.proposals.policy import CredentialPolicy
from app.settings import ROOT, Settings

SHIPPED = ROOT / "policies"


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


def test_every_shipped_policy_file_loads() -> None:
    policies = load_policies(SHIPPED)
    assert sorted(p.name for p in SHIPPED.glob("*.yaml")) == sorted(POLICY_FILES)
    assert policies.of(ApprovalPolicy).routes["standalone"][0].value == "faculty_council"
    assert "lll_committee" not in [b.value for b in policies.of(ApprovalPolicy).routes["unbundled"]]
    assert policies.of(CredentialPolicy).ects.min < policies.of(CredentialPolicy).ects.max
    for name, version in policies.versions.items():
        assert version.startswith(name.removesuffix(".yaml") + "@")


def test_version_is_a_hash_of_the_content(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory).of(ApprovalPolicy).version
    path = directory / "approval.yaml"
    path.write_text(path.read_text().replace("resubmit_to: same_body", "resubmit_to: start"))
    after = load_policies(directory)
    assert after.of(ApprovalPolicy).version != before
    assert after.of(ApprovalPolicy).resubmit_to == "start"
    assert after.of(InstitutionPolicy).version == load_policies(SHIPPED).of(InstitutionPolicy).version


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("credentials.yaml", "ects: {min: 1, max: 30}", "ects: {min: 40, max: 30}", "field 'ects'"),
        (
            "approval.yaml",
            "qa_office: {rule: m_of_n, m: 1}",
            "qa_office: {rule: m_of_n}",
            "field 'voting.qa_office'",
        ),
        (
            "approval.yaml",
            "rule: majority, quorum: 0.51, tie_break: chair}",
            "rule: plurality}",
            "field 'voting.faculty_council.rule'",
        ),
        ("institution.yaml", "country: BE", "country: Belgium", "field 'country'"),
        (
            "approval.yaml",
            "qa_office: 14, final_body",
            "qa_office: -14, final_body",
            "field 'deadlines.decision_days.qa_office'",
        ),
        (
            "approval.yaml",
            "reminder_days_before: [7, 2]",
            "reminder_days_before: [7, 0]",
            "field 'deadlines.reminder_days_before': Value error, a reminder comes before the due date",
        ),
        (
            "approval.yaml",
            "reminder_days_before: [7, 2]",
            "reminder_days_before: [7, -2]",
            "field 'deadlines.reminder_days_before'",
        ),
        (
            "approval.yaml",
            "reminder_days_before: [7, 2]",
            "reminder_days_before: [15, 2]",
            "field 'deadlines': Value error, reminder_days_before: a reminder 15 days before the due date would come "
            "before the qa_office even starts deciding (decision_days.qa_office: 14)",
        ),
        (
            "approval.yaml",
            "escalate_to_chair_after_days: 0",
            "escalate_to_chair_after_days: -1",
            "field 'deadlines.escalate_to_chair_after_days'",
        ),
        (
            "approval.yaml",
            "escalate_to_qa_after_days: 7",
            "escalate_to_qa_after_days: -7",
            "field 'deadlines.escalate_to_qa_after_days'",
        ),
        (
            "approval.yaml",
            "escalate_to_chair_after_days: 0",
            "escalate_to_chair_after_days: 10",
            "escalate_to_qa_after_days must not be less than escalate_to_chair_after_days",
        ),
        (
            "approval.yaml",
            "condition_reminder_days_before: 7",
            "condition_reminder_days_before: 0",
            "field 'deadlines.condition_reminder_days_before'",
        ),
        (
            "approval.yaml",
            "{faculty_council: 21, lll_committee: 21, qa_office: 14, final_body: 30}",
            "{faculty_council: 21, qa_office: 14, final_body: 30}",
            "route standalone uses lll_committee, which has no deadlines.decision_days",
        ),
        (
            "approval.yaml",
            "when_no_eligible_voter: [qa_office, final_body]",
            "when_no_eligible_voter: [faculty_council]",
            "field 'when_no_eligible_voter': Value error, a faculty council belongs to one faculty",
        ),
        (
            "approval.yaml",
            "when_no_eligible_voter: [qa_office, final_body]",
            "when_no_eligible_voter: []",
            "field 'when_no_eligible_voter'",
        ),
        (
            "approval.yaml",
            "when_no_eligible_voter: [qa_office, final_body]",
            "when_no_eligible_voter: [senate]",
            "field 'when_no_eligible_voter.0'",
        ),
        (
            "credentials.yaml",
            "eqf_levels: [4, 5, 6, 7, 8]",
            "eqf_levels: [4, 9]",
            "eqf_levels must be between 1 and 8",
        ),
        (
            "credentials.yaml",
            "co_proposers: {from: owning_faculty,",
            "co_proposers: {from: everyone,",
            "field 'co_proposers.from'",
        ),
        (
            "credentials.yaml",
            "members_of_route_bodies: false}",
            "members_of_route_bodies: sometimes}",
            "field 'co_proposers.members_of_route_bodies'",
        ),
        ("credentials.yaml", "file_under: own_faculty", "file_under: my_faculty", "field 'file_under'"),
    ],
)
def test_invalid_field_names_file_and_field(tmp_path: Path, file: str, old: str, new: str, expected: str) -> None:
    directory = copy_policies(tmp_path)
    path = directory / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_shipped_deadlines_and_the_alerts_of_a_stage() -> None:
    policy = load_policies(SHIPPED).of(ApprovalPolicy)
    entered = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    due = policy.deadlines.due_at(CommitteeKind.faculty_council, entered)
    assert due == datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
    assert policy.deadlines.due_at(CommitteeKind.qa_office, entered) == entered + timedelta(days=14)
    assert [CommitteeKind.qa_office, CommitteeKind.final_body] == policy.when_no_eligible_voter

    def due_at(moment: datetime) -> list[str]:
        return [step.name for step in policy.deadlines.stage_steps() if step.is_due(due, moment)]

    # Each reminder has its window (a sweep that was down sends the latest only); escalations stay due.
    assert due_at(due - timedelta(days=8)) == []
    assert due_at(due - timedelta(days=7)) == ["reminder_7d"]
    assert due_at(due - timedelta(days=2, seconds=1)) == ["reminder_7d"]
    assert due_at(due - timedelta(days=2)) == ["reminder_2d"]
    assert due_at(due - timedelta(seconds=1)) == ["reminder_2d"]
    assert due_at(due) == ["escalated_to_chair"]
    assert due_at(due + timedelta(days=7)) == ["escalated_to_chair", "escalated_to_qa"]


def test_reminders_may_be_given_in_any_order_and_none_at_all(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "approval.yaml"
    path.write_text(path.read_text().replace("reminder_days_before: [7, 2]", "reminder_days_before: [1, 10, 3]"))
    assert load_policies(directory).of(ApprovalPolicy).deadlines.reminder_days_before == [10, 3, 1]
    path.write_text(path.read_text().replace("reminder_days_before: [1, 10, 3]", "reminder_days_before: []"))
    steps = load_policies(directory).of(ApprovalPolicy).deadlines.stage_steps()
    assert [s.name for s in steps] == ["escalated_to_chair", "escalated_to_qa"]


def test_missing_unknown_and_malformed_files(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "approval.yaml").unlink()
    with pytest.raises(PolicyError, match=re.escape("approval.yaml: policy file is missing")):
        load_policies(directory)

    directory = copy_policies(tmp_path / "b")
    (directory / "typo.yaml").write_text("a: 1\n")
    with pytest.raises(PolicyError, match=re.escape("typo.yaml: unknown policy file")):
        load_policies(directory)

    directory = copy_policies(tmp_path / "c")
    (directory / "institution.yaml").write_text("name: [unclosed\n")
    with pytest.raises(PolicyError, match=re.escape("institution.yaml: not valid YAML")):
        load_policies(directory)


def test_bad_policy_stops_application_start_up(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "approval.yaml").write_text("routes: {}\n")
    settings = Settings(policy_dir=directory, database_url=f"sqlite:///{tmp_path}/x.db", run_scheduler=False)
    with pytest.raises(PolicyError, match=re.escape("approval.yaml")):
        create_app(settings)
