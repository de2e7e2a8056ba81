"""esg_part1.yaml: all ten standards, versions per item and per file, and what start-up refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.checklists.policy import STANDARDS, AutomaticCheck, Body, ChecklistPolicy
from app.org.models import CommitteeKind
from app.policies import PolicyError, load_policies
from app.settings import ROOT


def _with(tmp_path: Path, old: str, new: str) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", directory)
    path = directory / "esg_part1.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return directory


def test_shipped_checklist_covers_all_ten_standards_with_versions() -> None:
    policy = load_policies(ROOT / "policies").of(ChecklistPolicy)
    assert {i.standard for i in policy.items} == set(STANDARDS)
    assert policy.version.startswith("esg_part1@")
    versions = {i.version for i in policy.items}
    assert len(versions) == len(policy.items)  # each item has its own content hash
    assert {i.automatic for i in policy.items if i.automatic} == set(AutomaticCheck)


def test_the_bodies_are_the_approval_bodies_and_the_review() -> None:
    assert {b.value for b in Body} == {k.value for k in CommitteeKind} | {"review"}


def test_editing_one_item_changes_its_version_only(tmp_path: Path) -> None:
    before = load_policies(ROOT / "policies").of(ChecklistPolicy)
    after = load_policies(
        _with(tmp_path, "title: ECTS are consistent with the declared hours of learning", "title: ECTS match hours")
    ).of(ChecklistPolicy)
    changed = [i.key for i in after.items if i.version != before.item(i.key).version]  # type: ignore[union-attr]
    assert changed == ["ects-hours"]
    assert after.version != before.version


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        ('standard: "1.10"', 'standard: "1.11"', "items.", "not an ESG Part 1 standard"),
        ("key: owning-unit", "key: qa-policy-scope", "items", "used twice"),
        ("automatic: ects_hours", "automatic: ects_magic", ".automatic", "Input should be 'eu_elements'"),
        (
            "body: qa_office\n    contexts: [approval_standalone, approval_unbundled]\n",
            "body: senate\n    contexts: [approval_standalone, approval_unbundled]\n",
            ".body",
            "'faculty_council'",
        ),
    ],
)
def test_start_up_refuses_a_bad_checklist(tmp_path: Path, old: str, new: str, field: str, says: str) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policies(_with(tmp_path, old, new))
    message = str(refused.value)
    assert "esg_part1.yaml" in message and field in message and says in message


def test_start_up_refuses_a_standard_without_items(tmp_path: Path) -> None:
    directory = _with(tmp_path, 'standard: "1.10"', 'standard: "1.8"')
    with pytest.raises(PolicyError, match=r"esg_part1.yaml.*no item for standard\(s\) 1.10"):
        load_policies(directory)
