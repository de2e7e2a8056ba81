"""Each automatic check: a case where it concludes met, and one where it does not, with its reasoning."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.checklists import automatic
from app.checklists.policy import ChecklistPolicy
from app.policies import Policies
from app.proposals import elements as el
from tests.checklists.helpers import covered_content, publish_with


def facts(db: Session, policies: Policies, *, kind: str = "standalone", files: int = 0, **content: Any) -> Any:
    elements, errors = el.parse(covered_content(**content))
    assert not errors, errors
    return automatic.Facts(db, policies, elements, el.Kind(kind), credential_id=None, attachments=files)


def with_rules(policies: Policies, **rules: Any) -> Policies:
    """The policies with some automatic-check rules of esg_part1.yaml replaced."""
    policy = policies.of(ChecklistPolicy)
    checks = policy.checks.model_copy(update=rules)
    name = next(n for n, p in policies.files.items() if p is policy)
    return Policies(files={**policies.files, name: policy.model_copy(update={"checks": checks})})


def test_eu_elements(db: Session, policies: Policies) -> None:
    given: dict[str, Any] = {"quality_assurance": "Institutional review", "awarding_bodies": ["Example University"]}
    assert automatic.eu_elements(facts(db, policies, issuer_country="BE", **given)).status == "met"
    missing = automatic.eu_elements(facts(db, policies, issuer_country="BE"))
    assert missing.status == "not_met"
    assert missing.reasons == ["Missing: Awarding body or bodies, Type of quality assurance."]


def test_ects_bounds_and_band(db: Session, policies: Policies) -> None:
    assert automatic.ects_bounds(facts(db, policies, ects=6)).status == "met"
    band = automatic.ects_bounds(facts(db, policies, ects=3, hours=80))
    assert band.status == "partly_met" and "Outside the recommended 5-15 ECTS" in band.reasons[0]
    out = automatic.ects_bounds(facts(db, policies, ects=40, hours=1100))
    assert out.status == "not_met" and "between 1 and 30 ECTS" in out.reasons[0]


def test_ects_consistent_with_hours(db: Session, policies: Policies) -> None:
    ok = automatic.ects_hours(facts(db, policies, ects=6, hours=160))
    assert ok.status == "met" and "26.7 hours per ECTS" in ok.reasons[0]
    bad = automatic.ects_hours(facts(db, policies, ects=6, hours=60))
    assert bad.status == "not_met" and "6 ECTS means 150-180 hours" in bad.reasons[0]


def test_outcomes_start_with_a_verb_and_are_assessed(db: Session, policies: Policies) -> None:
    assert automatic.outcomes(facts(db, policies)).status == "met"
    bad = automatic.outcomes(
        facts(
            db,
            policies,
            learning_outcomes=["Understand energy markets", "Design a dashboard"],
            lo_assessment={"1": ["project"]},
        )
    )
    assert bad.status == "not_met"
    assert "'understand' cannot be observed" in bad.reasons[0]
    assert bad.reasons[1] == "Outcome 2 ('Design a dashboard') is covered by no assessment in the matrix."


def test_online_assessment_needs_proportionate_supervision(db: Session, policies: Policies) -> None:
    assert automatic.online_assessment(facts(db, policies, participation_form="online")).status == "met"
    assert (
        automatic.online_assessment(
            facts(db, policies, participation_form="onsite", supervision="supervised_no_id")
        ).status
        == "met"
    )
    weak = automatic.online_assessment(
        facts(db, policies, participation_form="online", supervision="unsupervised_no_id")
    )
    assert weak.status == "not_met" and "Online participation needs" in weak.reasons[0]
    undeclared = automatic.online_assessment(facts(db, policies, supervision=None))
    assert undeclared.status == "not_met"


def test_evidence_of_need_for_standalone(db: Session, policies: Policies) -> None:
    assert automatic.evidence_of_need(facts(db, policies, files=1)).status == "met"
    assert (
        automatic.evidence_of_need(facts(db, policies, evidence_links=["https://example.org/survey"])).status == "met"
    )
    none = automatic.evidence_of_need(facts(db, policies, labour_market_evidence=None))
    assert none.status == "not_met"
    assert none.reasons == [
        "No labour-market evidence is described.",
        "0 evidence file(s) or link(s); at least 1 needed.",
    ]
    assert (
        automatic.evidence_of_need(facts(db, policies, kind="unbundled", labour_market_evidence=None)).status == "met"
    )


def test_stacking_stays_within_the_maximum(db: Session, policies: Policies) -> None:
    publish_with(db, policies, stackability="stackable", stackable_towards="MSc Energy Systems", ects=6)
    strict = with_rules(
        policies,
        stackability=policies.of(ChecklistPolicy).checks.stackability.model_copy(
            update={"max_ects_towards_degree": 10}
        ),
    )
    mine: dict[str, Any] = {"stackability": "stackable", "ects": 6, "title": "Forecasting Energy Demand"}
    over = automatic.stackability(facts(db, strict, stackable_towards="msc energy systems", **mine))
    assert over.status == "not_met"
    assert over.reasons == [
        "12 ECTS stack towards 'msc energy systems' with 1 published micro-credential(s) stacking towards it; "
        "the maximum is 10."
    ]
    assert automatic.stackability(facts(db, strict, stackable_towards="MSc Physics", **mine)).status == "met"
    assert automatic.stackability(facts(db, policies, stackable_towards="MSc Energy Systems", **mine)).status == "met"
    assert automatic.stackability(facts(db, strict, stackability="standalone")).status == "met"


def test_duplication_shows_similar_published_ones_side_by_side(db: Session, policies: Policies) -> None:
    publish_with(db, policies, title="Applied Data Analytics for the Energy Sector")
    alike = automatic.duplication(facts(db, policies, title="Applied Data Analytics for Energy"))
    assert alike.status == "not_met"
    match = alike.matches[0]
    assert match["title"] == "Applied Data Analytics for the Energy Sector"
    assert match["outcome_similarity"] == 1.0  # the same outcomes
    assert match["mine"]["title"] == "Applied Data Analytics for Energy"
    different = automatic.duplication(
        facts(
            db,
            policies,
            title="Medieval Manuscripts in Practice",
            learning_outcomes=["Describe medieval book production", "Transcribe a Gothic script"],
            lo_assessment={"1": ["project"], "2": ["project"]},
        )
    )
    assert different.status == "met" and different.matches == []
    # The threshold is the policy's: at 1.0 only identical wording matches.
    exact = with_rules(
        policies, duplication=policies.of(ChecklistPolicy).checks.duplication.model_copy(update={"threshold": 1.0})
    )
    assert (
        automatic.duplication(
            facts(
                db,
                exact,
                title="Applied Data Analytics for Energy",
                learning_outcomes=["Analyse grid data with R"],
                lo_assessment={"1": ["project"]},
            )
        ).status
        == "met"
    )


def test_similarity_measure() -> None:
    assert automatic.tokens("Applied Data-Analytics for the Energy sector") == frozenset(
        {"applied", "data", "analytics", "energy", "sector"}
    )
    assert automatic.jaccard(frozenset({"a", "b"}), frozenset({"b", "c"})) == 1 / 3
    assert automatic.jaccard(frozenset(), frozenset()) == 0.0
