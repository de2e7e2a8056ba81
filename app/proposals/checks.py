"""The elements checked against the institution's policy (credentials.yaml): bounds, consistency, required
elements, learning outcomes; the completeness meter."""

from __future__ import annotations

from dataclasses import dataclass

from app.proposals.elements import Elements, Kind, Stackability, is_filled
from app.proposals.policy import CredentialPolicy


@dataclass
class Check:
    errors: dict[str, str]
    warnings: dict[str, str]
    missing: list[str]
    required: list[str]

    @property
    def completeness(self) -> int:
        """Share of required elements filled with a valid value, in percent."""
        if not self.required:
            return 100
        done = [name for name in self.required if name not in self.missing and name not in self.errors]
        return round(100 * len(done) / len(self.required))

    @property
    def invalid(self) -> list[str]:
        """Required elements filled in, but not validly."""
        return [name for name in self.required if name in self.errors and name not in self.missing]


def required_fields(policy: CredentialPolicy, kind: Kind) -> list[str]:
    return [*policy.required_fields.get("common", []), *policy.required_fields.get(kind.value, [])]


def check(elements: Elements, policy: CredentialPolicy, kind: Kind) -> Check:
    """Policy checks that go beyond a single field's type: bounds, consistency, required elements."""
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    e = elements
    if e.ects is not None:
        if not policy.ects.min <= e.ects <= policy.ects.max:
            errors["ects"] = f"Must be between {policy.ects.min:g} and {policy.ects.max:g} ECTS."
        elif not policy.ects_recommended.min <= e.ects <= policy.ects_recommended.max:
            warnings["ects"] = (
                f"Outside the recommended {policy.ects_recommended.min:g}-{policy.ects_recommended.max:g} ECTS; "
                "explain why in the need."
            )
    if e.ects is not None and e.hours is not None and "ects" not in errors:
        low, high = policy.hours_per_ects.min * e.ects, policy.hours_per_ects.max * e.ects
        if not low <= e.hours <= high:
            errors["hours"] = (
                f"{e.ects:g} ECTS means {low:g}-{high:g} hours of learning "
                f"({policy.hours_per_ects.min:g}-{policy.hours_per_ects.max:g} hours per ECTS)."
            )
    if e.eqf_level is not None and e.eqf_level not in policy.eqf_levels:
        errors["eqf_level"] = "Micro-credentials are offered at EQF levels " + ", ".join(map(str, policy.eqf_levels))
    # Every outcome that needs rewriting, one per line (the error summary lists each).
    outcome_problems = [
        f"Outcome {number} ('{outcome}'): {problem}"
        for number, outcome in enumerate(e.learning_outcomes, start=1)
        if (problem := outcome_problem(outcome, policy))
    ]
    if outcome_problems:
        errors["learning_outcomes"] = "\n".join(outcome_problems)
    if e.planned_start and e.planned_end and e.planned_end < e.planned_start:
        errors["planned_end"] = "The end must not be before the start."
    if e.stackability is Stackability.stackable and not e.stackable_towards:
        errors["stackable_towards"] = "Name the programme or credential it stacks towards."
    unknown = [k for k in e.lo_assessment if not k.isdigit() or not 1 <= int(k) <= len(e.learning_outcomes)]
    if unknown:
        errors["lo_assessment"] = "The matrix refers to an outcome that does not exist."
    elif e.lo_assessment and any(t not in e.assessment_types for ts in e.lo_assessment.values() for t in ts):
        errors["lo_assessment"] = "The matrix uses an assessment type that is not chosen above."
    for name, limit in policy.text_max_length.items():
        value = getattr(e, name)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = f"Must be at most {limit:,} characters (this has {len(value):,})."
    required = required_fields(policy, kind)
    missing = [name for name in required if not is_filled(getattr(e, name))]
    return Check(errors=errors, warnings=warnings, missing=missing, required=required)


def outcome_problem(outcome: str, policy: CredentialPolicy) -> str | None:
    words = outcome.split()
    if len(words) < 2:
        return "write an action verb and its object."
    verb = words[0].lower().strip(",.;:")
    if verb in policy.outcome_verbs_discouraged:
        return f"'{verb}' cannot be observed or assessed; use a verb such as analyse, apply, design or evaluate."
    if policy.outcome_verbs and verb not in policy.outcome_verbs:
        return f"start with an action verb (such as {', '.join(policy.outcome_verbs[:6])})."
    return None
