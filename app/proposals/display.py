"""Stored element values as readers see them: choice labels instead of codes, names instead of ids.

Content is JSON (``Proposal.content``, ``CredentialVersion.content``), so a value arrives as a string, number,
list or dict; dates are ISO strings. Anything that needs the database (programme and module names) comes in a
``Lookups`` loaded once per page by ``load_lookups``, so rendering many values never queries per value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, literal, union_all
from sqlmodel import Session, col, select

from app.org.models import Module, Programme
from app.proposals import elements as el

EMPTY = "—"
# Items that may themselves contain commas (outcomes, body names) are joined with semicolons.
_SEMICOLON_JOINED = frozenset({"learning_outcomes", "awarding_bodies", "evidence_links", "lo_assessment"})


@dataclass(frozen=True)
class Lookups:
    """Names of the programmes and modules a content refers to, by id."""

    programmes: Mapping[int, str] = field(default_factory=dict)
    modules: Mapping[int, str] = field(default_factory=dict)


def load_lookups(
    session: Session, contents: Iterable[Mapping[str, Any] | None] | None = None, known: Lookups | None = None
) -> Lookups:
    """Programme and module names: all of them, or only those ``contents`` refer to and ``known`` does not name
    yet (the result names both). One query for both kinds, none when nothing new is referred to."""
    known = known or Lookups()
    programme_ids: set[int] | None = None
    module_ids: set[int] | None = None
    if contents is not None:
        programme_ids, module_ids = set(), set()
        for content in contents:
            if not content:
                continue
            if isinstance(pid := content.get("parent_programme_id"), int) and pid not in known.programmes:
                programme_ids.add(pid)
            if isinstance(mid := content.get("parent_module_id"), int) and mid not in known.modules:
                module_ids.add(mid)
    programmes: dict[int, str] = dict(known.programmes)
    modules: dict[int, str] = dict(known.modules)
    kinds = (programme_ids is None or bool(programme_ids), module_ids is None or bool(module_ids))
    if any(kinds):
        params = {"programme_ids": sorted(programme_ids or ()), "module_ids": sorted(module_ids or ())}
        for kind, item_id, code, name in session.connection().execute(
            _names_statement(*kinds, contents is None), params
        ):
            (programmes if kind == "programme" else modules)[item_id] = f"{name} ({code})"
    return Lookups(programmes=programmes, modules=modules)


@cache
def _names_statement(programmes: bool, modules: bool, every: bool) -> Any:
    """Built once per shape (building a statement costs more than running it): the names of the programmes, the
    modules or both, every row or those of the ids given, as (kind, id, code, name)."""
    parts = []
    for wanted, model, kind, ids in (
        (programmes, Programme, "programme", "programme_ids"),
        (modules, Module, "module", "module_ids"),
    ):
        if wanted:
            part = select(literal(kind), col(model.id), col(model.code), col(model.name))
            parts.append(part if every else part.where(col(model.id).in_(bindparam(ids, expanding=True))))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _number(value: Any) -> str:
    """5.0 -> '5', 7.5 -> '7.5': no trailing '.0' on whole numbers."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:g}" if float(value) != int(value) else str(int(value))
    return str(value)


def _choice(name: str, value: Any) -> str:
    return el.CHOICES.get(name, {}).get(str(value), str(value))


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


def _outcome_assessment(value: Mapping[str, Any]) -> list[str]:
    """{"2": ["project"], "1": ["written_exam", "project"]} -> ['Outcome 1: Written exam, Project', ...]."""

    def order(key: str) -> tuple[int, str]:
        return (int(key), "") if key.isdigit() else (10**9, key)

    items = []
    for key in sorted(value, key=order):
        types = value[key] or []
        labels = ", ".join(_choice("assessment_types", t) for t in types) or EMPTY
        items.append(f"Outcome {key}: {labels}")
    return items


def _scalar(name: str, value: Any, lookups: Lookups) -> str:
    spec = el.FIELD_BY_NAME.get(name)
    if name in el.CHOICES:
        return _choice(name, value)
    if name == "ects":
        return f"{_number(value)} ECTS"
    if name == "hours":
        return f"{_number(value)} hours"
    if name == "fee_eur":
        amount = float(value)
        return f"EUR {int(amount)}" if amount == int(amount) else f"EUR {amount:.2f}"
    if name == "parent_programme_id":
        return lookups.programmes.get(int(value), f"Programme {value}")
    if name == "parent_module_id":
        return lookups.modules.get(int(value), f"Module {value}")
    if spec is not None and spec.widget == "date":
        return _date(value)
    if isinstance(value, int | float):
        return _number(value)
    return str(value)


def display_list(name: str, value: Any, lookups: Lookups) -> list[str]:
    """The value as a list of readable items: one per list entry, one line per outcome in the matrix,
    a single item for a scalar, none when empty."""
    if not el.is_filled(value):
        return []
    if name == "lo_assessment" and isinstance(value, Mapping):
        return _outcome_assessment(value)
    if isinstance(value, list | tuple):
        return [_scalar(name, item, lookups) for item in value if el.is_filled(item)]
    if isinstance(value, Mapping):
        return [f"{key}: {item}" for key, item in value.items()]
    return [_scalar(name, value, lookups)]


def display_value(name: str, value: Any, lookups: Lookups) -> str:
    """The value as one line of readable text; '—' when empty."""
    items = display_list(name, value, lookups)
    if not items:
        return EMPTY
    return ("; " if name in _SEMICOLON_JOINED else ", ").join(items)


def is_list_field(name: str) -> bool:
    """Fields shown as a list of items (and diffed item by item)."""
    spec = el.FIELD_BY_NAME.get(name)
    return name == "lo_assessment" or (spec is not None and spec.widget in ("lines", "checks"))
