"""The redline: what changed between two contents, element by element, in words a reader can check.

Used for a proposal against the approved edition and for "changes since the last edition" in the public
catalogue (ESG 1.8, ETF guidance). Only elements that differ are listed, in the order of ``elements.FIELDS``.
List elements report the items added and removed; long texts get a word-level diff as HTML with ``<del>`` and
``<ins>``, built from escaped text so nothing a proposer typed can inject markup.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from markupsafe import Markup, escape

from app.proposals import elements as el
from app.proposals.display import Lookups, display_list, display_value, is_list_field

ChangeKind = Literal["added", "removed", "changed"]
CHANGE_LABELS: dict[str, str] = {"added": "Added", "removed": "Removed", "changed": "Changed"}
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class FieldDiff:
    name: str
    label: str
    change: ChangeKind
    old: str  # display text, "—" when empty
    new: str
    is_list: bool = False
    old_items: list[str] = field(default_factory=list)
    new_items: list[str] = field(default_factory=list)
    added_items: list[str] = field(default_factory=list)
    removed_items: list[str] = field(default_factory=list)
    # Long texts changed in place: the old text with deletions marked, the new one with insertions marked,
    # and both in one run of text.
    old_html: Markup | None = None
    new_html: Markup | None = None
    word_diff: Markup | None = None

    @property
    def change_label(self) -> str:
        return CHANGE_LABELS[self.change]


def _is_long_text(name: str) -> bool:
    spec = el.FIELD_BY_NAME.get(name)
    return spec is not None and spec.widget == "textarea"


def _segments(old: str, new: str) -> list[tuple[bool, str, str]]:
    """(same?, old text, new text) runs of a word-level diff. A space between two changed words joins them,
    so "a written" -> "an oral" reads as one change rather than two."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    runs: list[tuple[bool, str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        runs.append((op == "equal", "".join(a[i1:i2]), "".join(b[j1:j2])))
    merged: list[tuple[bool, str, str]] = []
    for index, run in enumerate(runs):
        same, removed, added = run
        between_changes = 0 < index < len(runs) - 1 and not runs[index + 1][0] and merged and not merged[-1][0]
        if same and between_changes and not removed.strip():
            run = (False, removed, added)
        if merged and not run[0] and not merged[-1][0]:
            _, prev_removed, prev_added = merged.pop()
            run = (False, prev_removed + run[1], prev_added + run[2])
        merged.append(run)
    return merged


def word_diff(old: str, new: str) -> tuple[Markup, Markup, Markup]:
    """Word-level diff of two texts: (old with <del>, new with <ins>, combined). Whitespace is kept."""
    before: list[Markup] = []
    after: list[Markup] = []
    both: list[Markup] = []
    for same, removed, added in _segments(old, new):
        if same:
            text = escape(removed)
            before.append(text)
            after.append(text)
            both.append(text)
            continue
        if removed:
            marked = Markup("<del>{}</del>").format(removed)
            before.append(marked)
            both.append(marked)
        if added:
            marked = Markup("<ins>{}</ins>").format(added)
            after.append(marked)
            both.append(marked)
    return Markup("").join(before), Markup("").join(after), Markup("").join(both)


def _unique(items: list[str], without: list[str]) -> list[str]:
    seen = set(without)
    result = []
    for item in items:
        if item not in seen:
            result.append(item)
            seen.add(item)
    return result


def field_diff(name: str, old_value: Any, new_value: Any, lookups: Lookups) -> FieldDiff | None:
    """How one element changed, or None when it did not (empty values of any type count as equal)."""
    old_filled, new_filled = el.is_filled(old_value), el.is_filled(new_value)
    if (not old_filled and not new_filled) or old_value == new_value:
        return None
    change: ChangeKind = "changed" if old_filled and new_filled else ("added" if new_filled else "removed")
    label = el.LABELS.get(name, name.replace("_", " ").capitalize())
    old_text, new_text = display_value(name, old_value, lookups), display_value(name, new_value, lookups)
    if is_list_field(name):
        old_items, new_items = display_list(name, old_value, lookups), display_list(name, new_value, lookups)
        return FieldDiff(
            name=name,
            label=label,
            change=change,
            old=old_text,
            new=new_text,
            is_list=True,
            old_items=old_items,
            new_items=new_items,
            added_items=_unique(new_items, old_items),
            removed_items=_unique(old_items, new_items),
        )
    if change == "changed" and _is_long_text(name):
        before, after, both = word_diff(str(old_value), str(new_value))
        return FieldDiff(
            name=name,
            label=label,
            change=change,
            old=old_text,
            new=new_text,
            old_html=before,
            new_html=after,
            word_diff=both,
        )
    return FieldDiff(name=name, label=label, change=change, old=old_text, new=new_text)


def diff_contents(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    lookups: Lookups,
    *,
    fields: Collection[str] | None = None,
) -> list[FieldDiff]:
    """Every element that differs, in form order. ``old`` None (a first edition): every filled one is added.
    ``fields`` limits the comparison to some elements (the public ones, in the catalogue)."""
    before: Mapping[str, Any] = old or {}
    diffs = []
    for spec in el.FIELDS:
        if fields is not None and spec.name not in fields:
            continue
        diff = field_diff(spec.name, before.get(spec.name), new.get(spec.name), lookups)
        if diff is not None:
            diffs.append(diff)
    return diffs
