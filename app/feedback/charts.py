"""Server-rendered SVG charts of survey results: geometry computed here, drawn by templates/feedback/_charts.html.

No inline styles (the CSP forbids them): colours come from classes in static/css/app.css. Each chart carries a
text summary (its accessible name) and the page shows a table with the same figures beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from app.feedback.service import QuestionResult, Results

WIDTH = 320
LABEL_W = 120
ROW_H = 22
BAR_MAX = WIDTH - LABEL_W - 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    length: float
    css: str  # class of the bar


@dataclass(frozen=True)
class Chart:
    id: str
    summary: str
    bars: list[Bar]
    width: int = WIDTH
    label_w: int = LABEL_W
    row_h: int = ROW_H

    @property
    def height(self) -> int:
        return self.row_h * len(self.bars) + 4


def distribution(q: QuestionResult) -> Chart:
    """How many answered 1 to 5 (and not applicable): one bar each."""
    rows = [(str(p), q.counts.get(p, 0), f"bar-{p}") for p in sorted(q.counts)]
    if q.not_applicable:
        rows.append(("n/a", q.not_applicable, "bar-na"))
    top = max((c for _l, c, _css in rows), default=0) or 1
    bars = [
        Bar(label, count, str(count), i * ROW_H, round(BAR_MAX * count / top, 1), css)
        for i, (label, count, css) in enumerate(rows)
    ]
    return Chart(id=f"chart-{q.key}", summary=f"{q.text} {q.summary}", bars=bars)


def means(res: Results) -> Chart:
    """Each group's mean (1 to 5) beside the earlier offerings' and the faculty's, where known."""
    titles: dict[str, str] = {}
    earlier: dict[str, list[float]] = {}
    faculty: dict[str, list[float]] = {}
    for q in res.questions:
        if q.kind == "likert" and not q.hidden:
            titles.setdefault(q.group, q.group_title or "Own questions")
            if q.earlier_mean is not None:
                earlier.setdefault(q.group, []).append(q.earlier_mean)
            if q.faculty_mean is not None:
                faculty.setdefault(q.group, []).append(q.faculty_mean)
    rows: list[tuple[str, float, str]] = []
    parts: list[str] = []
    for group, mean in res.group_means().items():
        rows.append((titles[group], mean, "bar-this"))
        part = f"{titles[group]} {mean:.2f}"
        if group in earlier:
            e = sum(earlier[group]) / len(earlier[group])
            rows.append(("earlier", e, "bar-earlier"))
            part += f" (earlier offerings {e:.2f}"
        if group in faculty:
            f = sum(faculty[group]) / len(faculty[group])
            rows.append(("faculty", f, "bar-faculty"))
            part += f"{', ' if group in earlier else ' ('}faculty {f:.2f}"
        parts.append(part + (")" if group in earlier or group in faculty else ""))
    bars = [
        Bar(label, value, f"{value:.2f}", i * ROW_H, round(BAR_MAX * value / 5, 1), css)
        for i, (label, value, css) in enumerate(rows)
    ]
    return Chart(id="chart-means", summary="Mean per group on a scale of 1 to 5: " + "; ".join(parts) + ".", bars=bars)


@lru_cache(maxsize=64)
def comment_items(comments: tuple[str, ...]) -> Markup:
    """An open question's comments as the results page lists them (``<li>`` each, escaped). Remembered: the
    comments of a closed survey never change, and the tuple is the one its cached tally holds."""
    item = Markup('<li class="comment-body">%s</li>')
    return Markup("").join(item % c for c in comments)  # % escapes each comment
