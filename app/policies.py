"""Institution rules as data: the generic machinery (the policy models live in their domains).

Every YAML file in the policy directory is parsed at start-up into a frozen pydantic model. A file that
is missing, unknown or invalid stops start-up with a message naming the file and the field. Each policy
carries a version (a hash of its content) that decisions record, so an audit row says which rules applied.

Design:

- Each domain declares the model of its file next to its code, in ``app/<domain>/policy.py``, and registers it
  with the file's name: ``@register_policy("approval.yaml") class ApprovalPolicy(PolicyModel)``. Today:
  ``app/org/policy.py`` (institution.yaml), ``app/approvals/policy.py`` (approval.yaml),
  ``app/proposals/policy.py`` (credentials.yaml) and ``app/checklists/policy.py`` (esg_part1.yaml).
- ``load_policies`` first imports every ``app/<domain>/policy.py`` there is (``discover``), so the registry
  is complete, then reads one file per registered model; a YAML file no model claims is refused.
- Code asks for a policy by its model: ``policies.of(ApprovalPolicy)``. The return type is that model, so mypy
  checks every field read.

So a new policy file is one model with one ``@register_policy`` line in its domain: no list here to edit. This
module imports nothing from the app (the domains import it, never the reverse), so it cannot be in an import
cycle; and a domain's policy module must not import the code that reads the policy.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

APP_DIR = Path(__file__).parent


class PolicyError(Exception):
    """A policy file is missing or invalid. The message names the file and the field."""


class PolicyModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    _version: str = PrivateAttr(default="unversioned")

    @property
    def version(self) -> str:
        return self._version


P = TypeVar("P", bound=PolicyModel)
M = TypeVar("M", bound=type[PolicyModel])

# File name -> the model it is parsed into. Filled by ``register_policy`` as the domains' policy modules load.
POLICY_FILES: dict[str, type[PolicyModel]] = {}


def register_policy(file_name: str) -> Callable[[M], M]:
    """Class decorator: the model of the policy file ``file_name``."""

    def register(model: M) -> M:
        known = POLICY_FILES.setdefault(file_name, model)
        if known is not model:
            raise PolicyError(f"{file_name}: claimed by both {known.__qualname__} and {model.__qualname__}")
        return model

    return register


def discover() -> dict[str, type[PolicyModel]]:
    """Import every domain's policy module (``app/<domain>/policy.py``); importing one registers its models."""
    for module in sorted(APP_DIR.glob("*/policy.py")):
        importlib.import_module(f"{__package__}.{module.parent.name}.policy")
    return POLICY_FILES


@dataclass(frozen=True)
class Policies:
    """Every loaded policy, by model; ``files`` by file name."""

    files: dict[str, PolicyModel]

    def of(self, model: type[P]) -> P:
        """The loaded policy of a registered model."""
        for policy in self.files.values():
            if type(policy) is model:
                assert isinstance(policy, model)
                return policy
        raise LookupError(f"{model.__qualname__} is not a loaded policy (is it registered with @register_policy?)")

    @property
    def versions(self) -> dict[str, str]:
        return {name: policy.version for name, policy in self.files.items()}


def load_policy_file(path: Path, model: type[P]) -> P:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file is missing") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc']) or '(top level)'}': {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"{path}: {problems}") from None
    parsed._version = f"{path.stem}@{hashlib.sha256(raw).hexdigest()[:12]}"
    return parsed


def load_policies(directory: Path) -> Policies:
    registry = dict(sorted(discover().items()))
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory does not exist")
    unknown = sorted(p.name for p in directory.glob("*.y*ml") if p.name not in registry)
    if unknown:
        raise PolicyError(f"{directory / unknown[0]}: unknown policy file (expected one of {', '.join(registry)})")
    return Policies(files={name: load_policy_file(directory / name, model) for name, model in registry.items()})


def get_policies(request: Request) -> Policies:
    """The policies loaded at start-up (a request dependency, resolved in the handler's trip: app.routing)."""
    policies: Policies = request.app.state.policies
    return policies


PoliciesDep = Annotated[Policies, Depends(get_policies)]
