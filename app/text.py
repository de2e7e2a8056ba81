"""Small helpers for writing labels into sentences."""

from __future__ import annotations


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence: "Faculty council" -> "faculty council", but "QA office" stays."""
    if label[1:2].islower() or label[1:2] in (" ", "-", ""):
        return label[:1].lower() + label[1:]
    return label
