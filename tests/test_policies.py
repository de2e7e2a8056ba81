"""Every shipped policy loads; a bad file stops start-up naming the file and the field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.main import create_app
from app.policies import POLICY_FILES, PolicyError, load_policies
from app.settings import ROOT, Settings

SHIPPED = ROOT / "policies"


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


def test_every_shipped_policy_file_loads() -> None:
    policies = load_policies(SHIPPED)
    assert sorted(p.name for p in SHIPPED.glob("*.yaml")) == sorted(POLICY_FILES)
    assert policies.approval.routes["standalone"][0].value == "faculty_council"
    assert "lll_committee" not in [b.value for b in policies.approval.routes["unbundled"]]
    assert policies.credentials.ects.min < policies.credentials.ects.max
    for name, version in policies.versions.items():
        assert version.startswith(name.removesuffix(".yaml") + "@")


def test_version_is_a_hash_of_the_content(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory).approval.version
    path = directory / "approval.yaml"
    path.write_text(path.read_text().replace("resubmit_to: same_body", "resubmit_to: start"))
    after = load_policies(directory)
    assert after.approval.version != before
    assert after.approval.resubmit_to == "start"
    assert after.institution.version == load_policies(SHIPPED).institution.version


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
            "rule: majority, quorum: 0.51}",
            "rule: plurality}",
            "field 'voting.faculty_council.rule'",
        ),
        ("institution.yaml", "country: BE", "country: Belgium", "field 'country'"),
        (
            "credentials.yaml",
            "eqf_levels: [4, 5, 6, 7, 8]",
            "eqf_levels: [4, 9]",
            "eqf_levels must be between 1 and 8",
        ),
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
