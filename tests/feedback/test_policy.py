"""feedback.yaml: the shipped file loads, and a bad one stops start-up naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.feedback.policy import FeedbackPolicy
from app.policies import PolicyError, load_policies
from app.settings import ROOT

SHIPPED = ROOT / "policies"


def _with(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    path = target / "feedback.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return target


def test_the_shipped_questionnaire_has_esg_groups_in_two_languages() -> None:
    policy = load_policies(SHIPPED).of(FeedbackPolicy)
    assert {g.esg for g in policy.groups} == {"1.3", "1.6", "1.8", None}
    assert policy.anonymity_threshold == 5
    assert policy.version.startswith("feedback@")
    dutch = policy.questions("nl")
    assert dutch[0]["text"].startswith("De leerresultaten")
    assert policy.questions("fr")[0]["text"].startswith("The learning outcomes")  # falls back to English
    assert {q["kind"] for q in dutch} == {"likert", "open"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  5: {en: Strongly agree, nl: Helemaal eens}\n", "", "field 'scale': Value error, the scale must label"),
        ("nl: Onderwijs en toetsing", "fr: Enseignement", "groups.teaching.title: no text in nl"),
        ("reminder_days_after_open: [5, 10]", "reminder_days_after_open: [5, 20]", "before the survey closes"),
        ("default_language: en", "default_language: de", "default_language 'de' is not one of"),
        ("anonymity_threshold: 5", "anonymity_threshold: 1", "field 'anonymity_threshold'"),
        ('esg: "1.6"', 'esg: "1.9"', "field 'groups.1.esg'"),
        ("key: support", "key: materials", "repeated: materials"),
    ],
)
def test_a_bad_file_is_refused_naming_file_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policies(_with(tmp_path, old, new))
    assert "feedback.yaml" in str(refused.value)
    assert message in str(refused.value)
