"""feedback.yaml: the learner questionnaire (Likert items in groups mapped to ESG standards, open questions) in
every language the institution offers, the anonymity threshold, the results that trigger a review, when surveys
open on their own and when learners are reminded, and whether the catalogue shows what changed after feedback.

A survey copies the questions it asks (in its language) and records this file's version, so its results always
say which questionnaire they come from, whatever the file says later.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from app.policies import PolicyModel, register_policy

Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Texts = dict[Language, Annotated[str, Field(min_length=1, max_length=1000)]]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
SCALE = (1, 2, 3, 4, 5)
ESG_STANDARDS = ("1.3", "1.6", "1.8")


class Item(PolicyModel):
    key: Key
    text: Texts


class Group(PolicyModel):
    key: Key
    esg: Literal["1.3", "1.6", "1.8"] | None = None
    title: Texts
    items: list[Item] = Field(min_length=1)


class ReviewTriggers(PolicyModel):
    group_mean_below: float = Field(ge=1, le=5)
    item_mean_below: float = Field(ge=1, le=5)
    response_rate_below: float = Field(default=0, ge=0, le=1)


class AutoOpen(PolicyModel):
    enabled: bool
    days_open: int = Field(ge=1, le=120)


class FeedbackPolicy(PolicyModel):
    languages: list[Language] = Field(min_length=1)
    default_language: Language
    scale: dict[int, Texts]
    not_applicable: Texts
    groups: list[Group] = Field(min_length=1)
    open_questions: list[Item] = Field(default_factory=list)
    owner_questions_max: int = Field(ge=0, le=10)
    anonymity_threshold: int = Field(default=5, ge=2, le=100)
    review_triggers: ReviewTriggers
    auto_open: AutoOpen
    reminder_days_after_open: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    show_changes_in_catalogue: bool
    confirmation: Texts

    @field_validator("scale")
    @classmethod
    def _five_points(cls, scale: dict[int, Texts]) -> dict[int, Texts]:
        if sorted(scale) != list(SCALE):
            raise ValueError(f"the scale must label exactly the points 1 to 5 (found {sorted(scale)})")
        return scale

    @field_validator("reminder_days_after_open")
    @classmethod
    def _ascending(cls, days: list[int]) -> list[int]:
        if days != sorted(set(days)):
            raise ValueError("reminder days must be distinct and in ascending order")
        return days

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not one of languages {self.languages}")
        keys = [item.key for item in self.likert_items()] + [q.key for q in self.open_questions]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"question keys must be unique; repeated: {', '.join(duplicates)}")
        group_keys = [g.key for g in self.groups]
        if len(set(group_keys)) != len(group_keys):
            raise ValueError("group keys must be unique")
        for where, texts in self._all_texts():
            missing = [lang for lang in self.languages if lang not in texts]
            if missing:
                raise ValueError(f"{where}: no text in {', '.join(missing)} (every language listed must be given)")
        if self.auto_open.enabled and any(d >= self.auto_open.days_open for d in self.reminder_days_after_open):
            raise ValueError(
                f"reminder_days_after_open: every reminder must come before the survey closes "
                f"(auto_open.days_open is {self.auto_open.days_open})"
            )
        return self

    def _all_texts(self) -> list[tuple[str, Texts]]:
        found: list[tuple[str, Texts]] = [(f"scale.{p}", t) for p, t in self.scale.items()]
        found += [("not_applicable", self.not_applicable), ("confirmation", self.confirmation)]
        for group in self.groups:
            found.append((f"groups.{group.key}.title", group.title))
            found += [(f"groups.{group.key}.items.{i.key}.text", i.text) for i in group.items]
        found += [(f"open_questions.{q.key}.text", q.text) for q in self.open_questions]
        return found

    def likert_items(self) -> list[Item]:
        return [item for group in self.groups for item in group.items]

    def language_for(self, wanted: str) -> str:
        """The offering's language when the questionnaire has it, the default language otherwise."""
        return wanted if wanted in self.languages else self.default_language

    def questions(self, language: str) -> list[dict[str, Any]]:
        """The questionnaire in one language, as a survey stores it: one dict per question, in order."""
        lang = self.language_for(language)
        found: list[dict[str, Any]] = []
        for group in self.groups:
            found += [
                {
                    "key": item.key,
                    "kind": "likert",
                    "group": group.key,
                    "group_title": group.title[lang],
                    "esg": group.esg,
                    "text": item.text[lang],
                }
                for item in group.items
            ]
        found += [
            {"key": q.key, "kind": "open", "group": "", "group_title": "", "esg": None, "text": q.text[lang]}
            for q in self.open_questions
        ]
        return found


register_policy("feedback.yaml")(FeedbackPolicy)
