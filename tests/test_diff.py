"""Readable element values and the redline between two contents."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from app.org.models import Module, Programme
from app.proposals.diff import diff_contents, word_diff
from app.proposals.display import Lookups, display_list, display_value, load_lookups
from app.web import templates

LOOKUPS = Lookups(programmes={7: "BSc Computer Science (BSC-CS)"}, modules={9: "Machine Learning (CS320)"})


# --- display -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("participation_form", "blended", "Blended"),
        ("participation_form", "onsite", "On site"),
        ("supervision", "supervised_no_id", "Supervised, no identity verification"),
        ("assessment_types", ["project", "written_exam"], "Project, Written exam"),
        ("qf_ehea_cycle", "second", "Second cycle"),
        ("stackability", "stackable", "Stackable towards a larger credential"),
        ("learning_outcomes", ["Analyse data, with Python", "Design models"], "Analyse data, with Python; Design models"),
        ("languages", ["English", "Dutch"], "English, Dutch"),
        ("ects", 5.0, "5 ECTS"),
        ("ects", 5, "5 ECTS"),
        ("ects", 7.5, "7.5 ECTS"),
        ("hours", 140, "140 hours"),
        ("fee_eur", 450.0, "EUR 450"),
        ("fee_eur", 99.5, "EUR 99.50"),
        ("fee_eur", 0, "EUR 0"),
        ("eqf_level", 6, "6"),
        ("capacity", 30, "30"),
        ("planned_start", "2025-09-15", "2025-09-15"),
        ("parent_programme_id", 7, "BSc Computer Science (BSC-CS)"),
        ("parent_module_id", 9, "Machine Learning (CS320)"),
        ("parent_module_id", 404, "Module 404"),
        ("lo_assessment", {"2": ["oral_exam"], "1": ["project", "written_exam"]},
         "Outcome 1: Project, Written exam; Outcome 2: Oral exam"),
        ("title", "Energy Data Analytics", "Energy Data Analytics"),
        ("national_level", None, "—"),
        ("prerequisites", "", "—"),
        ("languages", [], "—"),
        ("lo_assessment", {}, "—"),
    ],
)  # fmt: skip
def test_display_value(name: str, value: Any, expected: str) -> None:
    assert display_value(name, value, LOOKUPS) == expected


def test_display_list_keeps_items_apart() -> None:
    outcomes = ["Analyse data, with Python", "Design models"]
    assert display_list("learning_outcomes", outcomes, LOOKUPS) == outcomes
    assert display_list("assessment_types", ["oral_exam"], LOOKUPS) == ["Oral exam"]
    assert display_list("lo_assessment", {"10": ["project"], "2": ["project"]}, LOOKUPS) == [
        "Outcome 2: Project",
        "Outcome 10: Project",
    ]
    assert display_list("ects", 6, LOOKUPS) == ["6 ECTS"]
    assert display_list("title", None, LOOKUPS) == []


def test_load_lookups_names_programmes_and_modules_in_one_query(db: Session, engine: Engine) -> None:
    module = db.exec(select(Module).where(Module.code == "CS320")).one()
    programme = db.get(Programme, module.programme_id)
    assert programme is not None and programme.id is not None and module.id is not None
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        only = load_lookups(db, [{"parent_programme_id": programme.id, "parent_module_id": module.id}, None])
        everything = load_lookups(db)
        none_needed = load_lookups(db, [{"title": "Standalone"}])
        programme_only = load_lookups(db, [{"parent_programme_id": programme.id}])
        already_known = load_lookups(db, [{"parent_programme_id": programme.id, "parent_module_id": module.id}], only)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert only.programmes == {programme.id: f"{programme.name} ({programme.code})"}
    assert only.modules == {module.id: "Machine Learning (CS320)"}
    assert len(everything.programmes) >= 2 and module.id in everything.modules
    assert none_needed == Lookups()
    assert programme_only == Lookups(programmes=only.programmes)
    assert already_known == only
    # One for the referenced names of both kinds, one for all, one for a programme alone, none when nothing new is
    # referenced.
    assert len(statements) == 3


# --- diff ----------------------------------------------------------------------------------------


def _by_name(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    return {d.name: d for d in diff_contents(old, new, LOOKUPS)}


def test_only_differing_fields_in_form_order() -> None:
    old = {"title": "A title", "ects": 5, "eqf_level": 6, "participation_form": "online", "national_level": None}
    new = {"title": "A title", "ects": 6, "eqf_level": 6, "participation_form": "blended", "national_level": ""}
    diffs = diff_contents(old, new, LOOKUPS)
    assert [d.name for d in diffs] == ["ects", "participation_form"]  # FIELDS order; None and "" are equal
    ects = diffs[0]
    assert (ects.label, ects.change, ects.old, ects.new) == ("Notional workload (ECTS)", "changed", "5 ECTS", "6 ECTS")
    assert diffs[1].old == "Online" and diffs[1].new == "Blended"
    assert diff_contents(old, dict(old), LOOKUPS) == []


def test_added_and_removed_fields() -> None:
    diffs = _by_name({"prerequisites": "Basic Python", "fee_eur": 450}, {"capacity": 30, "fee_eur": 450})
    assert set(diffs) == {"prerequisites", "capacity"}
    assert (diffs["prerequisites"].change, diffs["prerequisites"].old, diffs["prerequisites"].new) == (
        "removed",
        "Basic Python",
        "—",
    )
    assert (diffs["capacity"].change, diffs["capacity"].old, diffs["capacity"].new) == ("added", "—", "30")
    assert diffs["capacity"].change_label == "Added"


def test_first_edition_has_everything_added() -> None:
    diffs = diff_contents(None, {"title": "New one", "ects": 3, "languages": []}, LOOKUPS)
    assert [(d.name, d.change) for d in diffs] == [("title", "added"), ("ects", "added")]


def test_list_fields_report_items_added_and_removed() -> None:
    old = {"learning_outcomes": ["Analyse data", "Build models"], "assessment_types": ["project", "written_exam"]}
    new = {"learning_outcomes": ["Analyse data", "Evaluate models"], "assessment_types": ["project", "oral_exam"]}
    diffs = _by_name(old, new)
    outcomes = diffs["learning_outcomes"]
    assert outcomes.is_list
    assert outcomes.added_items == ["Evaluate models"]
    assert outcomes.removed_items == ["Build models"]
    assert outcomes.old_items == ["Analyse data", "Build models"]
    assessment = diffs["assessment_types"]
    assert (assessment.added_items, assessment.removed_items) == (["Oral exam"], ["Written exam"])
    # a reordering is a change without items added or removed
    reordered = _by_name(old, {**old, "learning_outcomes": ["Build models", "Analyse data"]})["learning_outcomes"]
    assert (reordered.change, reordered.added_items, reordered.removed_items) == ("changed", [], [])
    matrix = _by_name({"lo_assessment": {"1": ["project"]}}, {"lo_assessment": {"1": ["project", "oral_exam"]}})
    assert matrix["lo_assessment"].added_items == ["Outcome 1: Project, Oral exam"]
    assert matrix["lo_assessment"].removed_items == ["Outcome 1: Project"]


def test_long_text_gets_a_word_level_diff() -> None:
    old = {"assessment_description": "A group project and a written exam."}
    new = {"assessment_description": "A group project and an oral exam."}
    d = _by_name(old, new)["assessment_description"]
    assert d.word_diff == "A group project and <del>a written</del><ins>an oral</ins> exam."
    assert d.old_html == "A group project and <del>a written</del> exam."
    assert d.new_html == "A group project and <ins>an oral</ins> exam."
    # short texts and additions have no word diff
    assert _by_name({"title": "Old title"}, {"title": "New title"})["title"].word_diff is None
    assert _by_name({}, new)["assessment_description"].word_diff is None


def test_word_diff_escapes_the_text() -> None:
    before, after, both = word_diff("Plain <b>text</b> & more", "Plain <script>alert(1)</script> & more")
    assert "<script>" not in both and "<b>" not in both
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in after
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in both
    assert "&amp; more" in before
    assert str(both).startswith("Plain ")


def test_word_diff_keeps_line_breaks() -> None:
    _before, after, _both = word_diff("First line.\nSecond line.", "First line.\nSecond line, revised.")
    assert after == "First line.\nSecond <ins>line, revised.</ins>"


def test_redline_partial_renders_an_accessible_table() -> None:
    old = {"title": "Old <b>title</b>", "learning_outcomes": ["Analyse data"], "assessment_description": "A b c"}
    new = {"title": "New title", "learning_outcomes": ["Analyse data", "Design <script>x</script>"],
           "assessment_description": "A x c", "capacity": 20}  # fmt: skip
    template = templates.env.get_template("proposals/_redline.html")
    out = template.render(diffs=diff_contents(old, new, LOOKUPS), caption="Proposal against edition 1")
    assert "<caption>Proposal against edition 1</caption>" in out
    assert out.count('<th scope="col">') == 3
    assert '<th scope="row">Title <span class="badge">Changed</span></th>' in out
    assert "<del>Old &lt;b&gt;title&lt;/b&gt;</del>" in out and "<ins>New title</ins>" in out
    assert "<li>Analyse data</li>" in out and "<li><ins>Design &lt;script&gt;x&lt;/script&gt;</ins></li>" in out
    assert "A <del>b</del> c" in out and "A <ins>x</ins> c" in out
    assert "<script>" not in out
    assert "No changes." not in out
    empty = template.render(diffs=[], caption="Nothing")
    assert "No changes." in empty and "<caption>Nothing</caption>" in empty
