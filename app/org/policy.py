"""institution.yaml: who the institution is (issuer country and region, awarding body, default type of quality
assurance), the defaults of a new proposal's institutional elements."""

from __future__ import annotations

from pydantic import Field

from app.policies import PolicyModel, register_policy


@register_policy("institution.yaml")
class InstitutionPolicy(PolicyModel):
    name: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code of the issuer")
    region: str = ""
    awarding_body: str = Field(min_length=1)
    quality_assurance: str = Field(min_length=1, description="Default 'type of quality assurance' element")
    national_framework: str = ""
