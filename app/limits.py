"""The longest free text the app accepts in each field: far above what a person writes, far below what would make a
page or the database suffer (a 20 MB comment once made a 63 MB page). The proposal's own text elements have their
ceilings on ``app.proposals.elements.Elements``; an institution may set lower ones in credentials.yaml
(``text_max_length``)."""

from __future__ import annotations

from app.errors import PolicyViolation

COMMENT = 10_000
VOTE_COMMENT = 10_000
CONDITION_TEXT = 1_000
EVIDENCE = 4_000
REASON = 4_000  # why a condition is sent back, why a proposal is withdrawn
LIST_ITEM = 1_000  # one learning outcome, awarding body, evidence link or language


def refuse_too_long(value: str, limit: int, field: str, label: str) -> None:
    """A 422 naming the field, before anything is stored."""
    if len(value) > limit:
        raise PolicyViolation(
            f"{label} is too long: at most {limit:,} characters, this has {len(value):,}.",
            errors={field: f"Must be at most {limit:,} characters (this has {len(value):,})."},
        )
