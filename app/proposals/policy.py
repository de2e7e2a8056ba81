"""credentials.yaml: ECTS bounds and the recommended band, hours per ECTS, allowed EQF levels, the elements each kind
requires, which elements make a change major, the action verbs learning outcomes start with (and the ones
refused), the evidence files a proposal may carry, who may be a co-proposer and under which faculty an academic may
file a proposal. The element names it lists are checked against the
elements (``app.proposals.elements``), which are code."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from app.policies import PolicyModel, register_policy
from app.proposals.elements import Elements


class Band(PolicyModel):
    min: float = Field(ge=0)
    max: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class AttachmentPolicy(PolicyModel):
    max_mb: float = Field(gt=0, le=100)
    allowed_types: dict[str, str] = Field(min_length=1, description="Media type -> file extension shown to users")


class CoProposerPolicy(PolicyModel):
    """Who a proposer may name as co-proposer. Co-proposers never vote on the proposal, so naming them must not
    change who decides it."""

    from_: Literal["owning_faculty", "any_faculty"] = Field(
        default="owning_faculty", alias="from", description="Academics of the owning faculty, or of any faculty"
    )
    members_of_route_bodies: bool = Field(
        default=False,
        description="Whether a member of a body on the proposal's route may be a co-proposer (the body must keep "
        "its quorum even then)",
    )


@register_policy("credentials.yaml")
class CredentialPolicy(PolicyModel):
    ects: Band = Field(description="Hard bounds: a proposal outside them cannot be submitted")
    ects_recommended: Band = Field(description="Recommended band: outside it the form warns only")
    hours_per_ects: Band
    eqf_levels: list[int] = Field(min_length=1)
    required_fields: dict[Literal["common", "standalone", "unbundled"], list[str]]
    major_change_fields: list[str]
    outcome_verbs: list[str] = Field(default_factory=list, description="Action verbs an outcome may start with")
    outcome_verbs_discouraged: list[str] = Field(default_factory=list, description="Verbs that cannot be assessed")
    attachments: AttachmentPolicy
    co_proposers: CoProposerPolicy = Field(default_factory=CoProposerPolicy)
    file_under: Literal["own_faculty", "any_faculty"] = Field(
        default="own_faculty", description="Under which faculty an academic may file a proposal"
    )
    text_max_length: dict[str, int] = Field(
        default_factory=dict,
        description="Lower ceilings, in characters, on text elements (the code's ceilings on Elements still hold)",
    )

    @model_validator(mode="after")
    def _levels_and_fields_valid(self) -> Self:
        if any(level < 1 or level > 8 for level in self.eqf_levels):
            raise ValueError("eqf_levels must be between 1 and 8")
        known = set(Elements.model_fields)
        for group, names in [*self.required_fields.items(), ("major_change_fields", self.major_change_fields)]:
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"{group} names unknown element(s): {', '.join(unknown)}")
        for name, limit in self.text_max_length.items():
            if name not in known or limit < 1:
                raise ValueError(f"text_max_length: {name} is not an element, or {limit} is not a positive length")
        return self
