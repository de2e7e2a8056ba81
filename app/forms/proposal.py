"""The proposal form: turn a posted form into element values, and stored content back into form values.

Lists are typed one per line (languages comma-separated), assessment types are checkboxes, and the outcome-by-
assessment matrix posts one checkbox group per outcome (``lo_1``, ``lo_2``, ...). Empty inputs mean "not given".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import PolicyViolation
from app.proposals import elements as el


@dataclass
class ProposalForm:
    kind: el.Kind | None
    org_unit_id: int | None
    co_proposers: list[int]
    values: dict[str, Any]  # element values as posted (strings), for re-rendering
    elements: dict[str, Any]  # element values ready for validation


def _int_or_none(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_proposal_form(form: Any) -> ProposalForm:
    values: dict[str, Any] = {}
    elements: dict[str, Any] = {}
    for spec in el.FIELDS:
        if spec.name == "lo_assessment":
            matrix = {
                key.removeprefix("lo_"): form.getlist(key)
                for key in form
                if key.startswith("lo_") and key.removeprefix("lo_").isdigit() and form.getlist(key)
            }
            values["lo_assessment"] = matrix
            if matrix:
                elements["lo_assessment"] = matrix
        elif spec.widget == "checks":
            chosen = [v for v in form.getlist(spec.name) if v]
            values[spec.name] = chosen
            if chosen:
                elements[spec.name] = chosen
        else:
            raw = str(form.get(spec.name) or "").strip()
            values[spec.name] = raw
            if raw:
                elements[spec.name] = raw
    kind_raw = form.get("kind") or ""
    kind = el.Kind(kind_raw) if kind_raw in el.Kind.__members__ else None
    co = [uid for uid in (_int_or_none(v) for v in form.getlist("co_proposers")) if uid is not None]
    values.update(kind=kind_raw, org_unit_id=form.get("org_unit_id") or "", co_proposers=[str(c) for c in co])
    return ProposalForm(kind, _int_or_none(form.get("org_unit_id")), co, values, elements)


def require_kind(form: ProposalForm) -> el.Kind:
    if form.kind is None:
        raise PolicyViolation("Choose the kind of micro-credential.", errors={"kind": "Choose one."})
    return form.kind


def content_to_values(content: dict[str, Any]) -> dict[str, Any]:
    """Stored content as form values: lists one per line (languages comma-separated), None as empty."""
    values: dict[str, Any] = {}
    for spec in el.FIELDS:
        value = content.get(spec.name)
        if spec.widget == "lines" and isinstance(value, list):
            values[spec.name] = (", " if spec.name == "languages" else "\n").join(value)
        elif value is None:
            values[spec.name] = [] if spec.widget == "checks" else ""
        else:
            values[spec.name] = value
    return values
