"""The institution's external QA record (one row) and its API schemas.

ESG 1.10: the institution undergoes external quality assurance cyclically. The record says by which agency,
whether that agency is registered in EQAR, what it decided and when, when the next review is due, and where the
report is published in DEQAR (EQAR's database of external QA reports). Every change is audited
(``entity_type="external_qa"``); the row itself only holds the current state.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.db import utcnow

RECORD_ID = 1  # the institution has one external QA record


class Decision(StrEnum):
    """The outcome of the agency's review, in DEQAR's terms."""

    positive = "positive"
    positive_with_conditions = "positive_with_conditions"
    negative = "negative"


DECISION_LABELS = {
    Decision.positive: "Positive",
    Decision.positive_with_conditions: "Positive with conditions or restrictions",
    Decision.negative: "Negative",
}
FIELD_LABELS = {
    "agency_name": "Agency",
    "eqar_registered": "EQAR-registered",
    "decision": "Decision",
    "decision_on": "Decision date",
    "next_review_on": "Next review",
    "deqar_report_id": "DEQAR report ID",
    "deqar_report_url": "DEQAR report link",
}
DEQAR_ID_PATTERN = re.compile(r"^[1-9][0-9]{0,9}$")


class ExternalQaRecord(SQLModel, table=True):
    __tablename__ = "external_qa_record"

    id: int | None = SQLField(default=None, primary_key=True)
    agency_name: str = SQLField(max_length=200)
    eqar_registered: bool = SQLField(default=False)
    decision: str = SQLField(max_length=30)
    decision_on: date
    next_review_on: date
    deqar_report_id: str | None = SQLField(default=None, max_length=10)
    deqar_report_url: str | None = SQLField(default=None, max_length=500)
    updated_at: datetime = SQLField(default_factory=utcnow)
    updated_by_id: int | None = SQLField(default=None, foreign_key="user_account.id")


class ExternalQaUpdate(BaseModel):
    """The record as an administrator enters it (form post or ``PUT /api/v1/external-qa``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_name: str = Field(min_length=2, max_length=200, description="The quality assurance agency")
    eqar_registered: bool = Field(default=False, description="Whether the agency is registered in EQAR")
    decision: Decision = Field(description="The agency's decision")
    decision_on: date = Field(description="Date of the decision (not in the future)")
    next_review_on: date = Field(description="When the next external review is due (after the decision)")
    deqar_report_id: str | None = Field(
        default=None, max_length=10, description="The report's ID in DEQAR (digits), e.g. 12345"
    )
    deqar_report_url: str | None = Field(
        default=None, max_length=500, description="Web address of the report in DEQAR (https://...)"
    )

    @field_validator("deqar_report_id", "deqar_report_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("deqar_report_id")
    @classmethod
    def _deqar_id(cls, value: str | None) -> str | None:
        if value is not None and not DEQAR_ID_PATTERN.match(value):
            raise ValueError("A DEQAR report ID is a number, e.g. 12345 (digits only, not starting with 0)")
        return value

    @field_validator("deqar_report_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or "." not in parts.netloc or any(c.isspace() for c in value):
            raise ValueError(f"'{value}' is not a web address (it must start with https:// and name a site)")
        return value

    @field_validator("decision_on")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > utcnow().date():
            raise ValueError("The decision date cannot be in the future")
        return value


class ExternalQaPublic(BaseModel):
    agency_name: str
    eqar_registered: bool
    decision: Decision
    decision_label: str
    decision_on: date
    next_review_on: date
    deqar_report_id: str | None
    deqar_report_url: str | None
    updated_at: datetime
    quality_assurance: str = Field(
        description="The 'type of quality assurance' element this record gives proposals and the catalogue"
    )
