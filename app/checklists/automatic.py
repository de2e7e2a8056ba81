"""The automatic checks: each reads a subject's elements (and, for some, the catalogue) and concludes met, partly
met or not met with its reasoning, which pre-fills a checklist item. The rules an institution varies come from
policies/credentials.yaml (ECTS bounds, hours per ECTS, action verbs: the proposal checks of
``app.proposals.checks`` are reused) and policies/esg_part1.yaml (online assessment, stacking, duplication,
evidence of need)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from app.catalogue.models import Credential, CredentialVersion
from app.checklists.policy import AutomaticCheck, ChecklistPolicy
from app.policies import Policies
from app.proposals import checks
from app.proposals.elements import CHOICES, LABELS, Elements, Kind, Stackability, is_filled
from app.proposals.policy import CredentialPolicy
from app.workflows.checklist import AnswerStatus

# Annex I of Council Recommendation 2022/C 243/02: the mandatory elements that describe an offer (the learner's
# identification and the date of issuing belong to the certificate, not to the proposal).
MANDATORY_EU_ELEMENTS = (
    "title",
    "issuer_country",
    "awarding_bodies",
    "learning_outcomes",
    "ects",
    "eqf_level",
    "assessment_types",
    "participation_form",
    "quality_assurance",
)


@dataclass(frozen=True)
class Facts:
    """What the checks read about one subject."""

    session: Session
    policies: Policies
    elements: Elements
    kind: Kind
    credential_id: int | None  # its own offer, left out of the catalogue comparisons
    attachments: int = 0


@dataclass
class Result:
    status: AnswerStatus
    reasons: list[str]
    # Side by side: published micro-credentials that look alike (duplication only).
    matches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status.value, "reasons": self.reasons, "matches": self.matches}


MET, PARTLY, NOT_MET = AnswerStatus.met, AnswerStatus.partly_met, AnswerStatus.not_met


def eu_elements(f: Facts) -> Result:
    missing = [LABELS[name] for name in MANDATORY_EU_ELEMENTS if not is_filled(getattr(f.elements, name))]
    if missing:
        return Result(NOT_MET, [f"Missing: {', '.join(missing)}."])
    return Result(MET, [f"All {len(MANDATORY_EU_ELEMENTS)} mandatory elements describing the offer are given."])


def _proposal_check(f: Facts) -> checks.Check:
    return checks.check(f.elements, f.policies.of(CredentialPolicy), f.kind)


def ects_bounds(f: Facts) -> Result:
    ects = f.elements.ects
    if ects is None:
        return Result(NOT_MET, ["No workload in ECTS is given."])
    found = _proposal_check(f)
    if "ects" in found.errors:
        return Result(NOT_MET, [f"{ects:g} ECTS: {found.errors['ects']}"])
    if "ects" in found.warnings:
        return Result(PARTLY, [f"{ects:g} ECTS is within the bounds. {found.warnings['ects']}"])
    policy = f.policies.of(CredentialPolicy)
    band = policy.ects_recommended
    return Result(MET, [f"{ects:g} ECTS is within the recommended {band.min:g}-{band.max:g} ECTS."])


def ects_hours(f: Facts) -> Result:
    e = f.elements
    if e.ects is None or e.hours is None:
        return Result(NOT_MET, ["Both the ECTS and the hours of learning must be given."])
    found = _proposal_check(f)
    if "ects" in found.errors:
        return Result(NOT_MET, [f"The ECTS are outside the bounds: {found.errors['ects']}"])
    if "hours" in found.errors:
        return Result(NOT_MET, [f"{e.hours} hours declared. {found.errors['hours']}"])
    rate = f.policies.of(CredentialPolicy).hours_per_ects
    return Result(
        MET,
        [f"{e.hours} hours for {e.ects:g} ECTS is {e.hours / e.ects:.1f} hours per ECTS ({rate.min:g}-{rate.max:g})."],
    )


def outcomes(f: Facts) -> Result:
    e = f.elements
    if not e.learning_outcomes:
        return Result(NOT_MET, ["No learning outcomes are given."])
    policy = f.policies.of(CredentialPolicy)
    reasons: list[str] = []
    for number, outcome in enumerate(e.learning_outcomes, start=1):
        problem = checks.outcome_problem(outcome, policy)
        if problem:
            reasons.append(f"Outcome {number} ('{outcome}'): {problem}")
        if not e.lo_assessment.get(str(number)):
            reasons.append(f"Outcome {number} ('{outcome}') is covered by no assessment in the matrix.")
    if reasons:
        return Result(NOT_MET, reasons)
    return Result(
        MET, [f"All {len(e.learning_outcomes)} outcomes start with an action verb and are covered by an assessment."]
    )


def online_assessment(f: Facts) -> Result:
    e = f.elements
    if e.supervision is None:
        return Result(NOT_MET, ["Supervision and identity verification during assessment are not declared."])
    declared = CHOICES["supervision"][e.supervision.value]
    rule = f.policies.of(ChecklistPolicy).checks.online_assessment
    if e.participation_form in rule.forms and e.supervision not in rule.supervision:
        accepted = "; ".join(CHOICES["supervision"][s.value] for s in rule.supervision)
        form = CHOICES["participation_form"][e.participation_form.value]
        return Result(NOT_MET, [f"Declared: {declared}. {form} participation needs: {accepted}."])
    return Result(MET, [f"Declared: {declared}; proportionate to the form of participation."])


def _published_editions(stmt: Any, f: Facts) -> Any:
    """``stmt`` over the current edition of every published micro-credential but the subject's own."""
    return stmt.join(
        CredentialVersion,
        (col(CredentialVersion.credential_id) == Credential.id)
        & (col(CredentialVersion.version_no) == Credential.current_version_no),
    ).where(col(Credential.current_version_no) > 0, col(Credential.id) != (f.credential_id or 0))


def stackability(f: Facts) -> Result:
    e = f.elements
    if e.stackability is not Stackability.stackable:
        return Result(MET, ["It is not declared stackable towards a larger credential."])
    towards = (e.stackable_towards or "").strip()
    if not towards:
        return Result(NOT_MET, ["It is declared stackable but names no degree it stacks towards."])
    maximum = f.policies.of(ChecklistPolicy).checks.stackability.max_ects_towards_degree
    others = f.session.exec(
        _published_editions(select(Credential.title, Credential.ects), f).where(
            func.lower(CredentialVersion.content["stackable_towards"].as_string()) == towards.lower(),
        )
    ).all()
    total = (e.ects or 0) + sum(ects or 0 for _, ects in others)
    listed = f" with {len(others)} published micro-credential(s) stacking towards it" if others else ""
    reason = f"{total:g} ECTS stack towards '{towards}'{listed}; the maximum is {maximum:g}."
    return Result(NOT_MET if total > maximum else MET, [reason])


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {"and", "the", "for", "with", "from", "into", "of", "in", "on", "to", "a", "an", "by", "at", "or", "as", "its"}
)


def tokens(text: str) -> frozenset[str]:
    """The words of a text that carry meaning: lower case, three letters or more, no stop words."""
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def duplication(f: Facts) -> Result:
    """Published micro-credentials with a very similar title or learning outcomes (token-set Jaccard). Only those
    whose title shares one of this title's five longest words are compared: at most ``max_candidates``, those
    sharing the most first, chosen in SQL, so the check stays fast however large the catalogue."""
    e = f.elements
    rule = f.policies.of(ChecklistPolicy).checks.duplication
    title = tokens(e.title or "")
    mine_outcomes = tokens(" ".join(e.learning_outcomes))
    if not title:
        return Result(MET, ["No title to compare yet."])
    words = sorted(title, key=lambda w: (-len(w), w))[:5]  # the longest words are the rarest
    shares = [func.lower(Credential.title).contains(w, autoescape=True) for w in words]
    overlap: Any = reduce(operator.add, [case((c, 1), else_=0) for c in shares])  # words in common
    candidates = f.session.exec(
        _published_editions(select(Credential.id, Credential.title, CredentialVersion.content["learning_outcomes"]), f)
        .where(or_(*shares))
        .order_by(overlap.desc(), col(Credential.id))
        .limit(rule.max_candidates)
    ).all()
    matches: list[dict[str, Any]] = []
    for credential_id, other_title, their_outcomes in candidates:
        other_outcomes: list[str] = list(their_outcomes or [])
        by_title = jaccard(title, tokens(other_title))
        by_outcomes = jaccard(mine_outcomes, tokens(" ".join(other_outcomes)))
        score = max(by_title, by_outcomes)
        if score >= rule.threshold:
            matches.append(
                {
                    "credential_id": credential_id,
                    "title": other_title,
                    "learning_outcomes": other_outcomes,
                    "title_similarity": round(by_title, 2),
                    "outcome_similarity": round(by_outcomes, 2),
                    "mine": {"title": e.title, "learning_outcomes": e.learning_outcomes},
                }
            )
    matches.sort(key=lambda m: -max(m["title_similarity"], m["outcome_similarity"]))
    compared = f"{len(candidates)} published micro-credential(s) with a title word in common compared"
    if matches:
        names = "; ".join(f"'{m['title']}'" for m in matches[:5])
        return Result(
            NOT_MET,
            [f"{compared}; similar from {rule.threshold:g}: {names}. Compare them side by side."],
            matches[:10],
        )
    return Result(MET, [f"{compared}; none is similar from {rule.threshold:g}."])


def evidence_of_need(f: Facts) -> Result:
    e = f.elements
    if f.kind is not Kind.standalone:
        return Result(MET, ["Unbundled from a degree programme: its programme's evidence of need covers it."])
    rule = f.policies.of(ChecklistPolicy).checks.evidence_of_need
    given = len(e.evidence_links) + f.attachments
    reasons = []
    if not is_filled(e.labour_market_evidence):
        reasons.append("No labour-market evidence is described.")
    if given < rule.min_files_or_links:
        reasons.append(f"{given} evidence file(s) or link(s); at least {rule.min_files_or_links} needed.")
    if reasons:
        return Result(NOT_MET, reasons)
    return Result(MET, [f"Labour-market evidence is described, with {given} evidence file(s) or link(s)."])


CHECKS: dict[AutomaticCheck, Callable[[Facts], Result]] = {
    AutomaticCheck.eu_elements: eu_elements,
    AutomaticCheck.ects_bounds: ects_bounds,
    AutomaticCheck.ects_hours: ects_hours,
    AutomaticCheck.outcomes: outcomes,
    AutomaticCheck.online_assessment: online_assessment,
    AutomaticCheck.stackability: stackability,
    AutomaticCheck.duplication: duplication,
    AutomaticCheck.evidence_of_need: evidence_of_need,
}
assert set(CHECKS) == set(AutomaticCheck), "every automatic check the policy may name has a function"


def run(check: AutomaticCheck, facts: Facts) -> Result:
    return CHECKS[check](facts)
