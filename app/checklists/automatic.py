"""The automatic checks: each reads a subject's elements (and, for some, the catalogue) and concludes met, partly
met or not met with its reasoning, which pre-fills a checklist item. The rules an institution varies come from
policies/credentials.yaml (ECTS bounds, hours per ECTS, action verbs: the proposal checks of
``app.proposals.checks`` are reused) and policies/esg_part1.yaml (online assessment, stacking, duplication,
evidence of need).

The results are cached per process (``results``): a check's conclusion depends only on the subject's content, kind,
own micro-credential and number of evidence files (``Facts.fingerprint``), the policies, and, for the checks that
read the catalogue, what is published, which the catalogue's stamp (``app.catalogue.cache``) names: every
transaction that changes a published micro-credential or an edition raises it. A page therefore runs the checks
once per content and catalogue, not on every request, and never shows a conclusion drawn from other content or an
older catalogue."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.catalogue.cache import STAMP
from app.catalogue.models import Credential, CredentialVersion
from app.checklists.policy import AutomaticCheck, ChecklistPolicy
from app.policies import Policies
from app.proposals import checks
from app.proposals.elements import CHOICES, LABELS, Elements, Kind, Stackability, is_filled
from app.proposals.policy import CredentialPolicy
from app.workflows.checklist import AnswerStatus

# Annex I of Council Recommendation 2022/C 243/02: the mandatory elements that describe an offer (the learner's
# identification and the date of issuing belong to the certificate, not to the proposal).
MANDATORY_EU_ELEMENTS = (
    "title",
    "issuer_country",
    "awarding_bodies",
    "learning_outcomes",
    "ects",
    "eqf_level",
    "assessment_types",
    "participation_form",
    "quality_assurance",
)


@dataclass(frozen=True)
class Facts:
    """What the checks read about one subject."""

    session: Session
    policies: Policies
    elements: Elements
    kind: Kind
    credential_id: int | None  # its own offer, left out of the catalogue comparisons
    attachments: int = 0
    # The content the elements were parsed from, hashed (``fingerprint``): what the cache of results is keyed on.
    # Empty: the results are not cached.
    content_hash: str = ""

    @property
    def key(self) -> tuple[str, str, int | None, int] | None:
        """Everything about the subject a check reads, or None when that is not known (not cached)."""
        if not self.content_hash:
            return None
        return (self.content_hash, self.kind.value, self.credential_id, self.attachments)


def fingerprint(content: Mapping[str, Any]) -> str:
    """A hash of a subject's content (a proposal's or an edition's JSON elements)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class Result:
    status: AnswerStatus
    reasons: list[str]
    # Side by side: published micro-credentials that look alike (duplication only).
    matches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A copy (a cached result is shared by every request that reads it)."""
        return {"status": self.status.value, "reasons": list(self.reasons), "matches": [dict(m) for m in self.matches]}


MET, PARTLY, NOT_MET = AnswerStatus.met, AnswerStatus.partly_met, AnswerStatus.not_met


def eu_elements(f: Facts) -> Result:
    missing = [LABELS[name] for name in MANDATORY_EU_ELEMENTS if not is_filled(getattr(f.elements, name))]
    if missing:
        return Result(NOT_MET, [f"Missing: {', '.join(missing)}."])
    return Result(MET, [f"All {len(MANDATORY_EU_ELEMENTS)} mandatory elements describing the offer are given."])


def _proposal_check(f: Facts) -> checks.Check:
    return checks.check(f.elements, f.policies.of(CredentialPolicy), f.kind)


def ects_bounds(f: Facts) -> Result:
    ects = f.elements.ects
    if ects is None:
        return Result(NOT_MET, ["No workload in ECTS is given."])
    found = _proposal_check(f)
    if "ects" in found.errors:
        return Result(NOT_MET, [f"{ects:g} ECTS: {found.errors['ects']}"])
    if "ects" in found.warnings:
        return Result(PARTLY, [f"{ects:g} ECTS is within the bounds. {found.warnings['ects']}"])
    policy = f.policies.of(CredentialPolicy)
    band = policy.ects_recommended
    return Result(MET, [f"{ects:g} ECTS is within the recommended {band.min:g}-{band.max:g} ECTS."])


def ects_hours(f: Facts) -> Result:
    e = f.elements
    if e.ects is None or e.hours is None:
        return Result(NOT_MET, ["Both the ECTS and the hours of learning must be given."])
    found = _proposal_check(f)
    if "ects" in found.errors:
        return Result(NOT_MET, [f"The ECTS are outside the bounds: {found.errors['ects']}"])
    if "hours" in found.errors:
        return Result(NOT_MET, [f"{e.hours} hours declared. {found.errors['hours']}"])
    rate = f.policies.of(CredentialPolicy).hours_per_ects
    return Result(
        MET,
        [f"{e.hours} hours for {e.ects:g} ECTS is {e.hours / e.ects:.1f} hours per ECTS ({rate.min:g}-{rate.max:g})."],
    )


def outcomes(f: Facts) -> Result:
    e = f.elements
    if not e.learning_outcomes:
        return Result(NOT_MET, ["No learning outcomes are given."])
    policy = f.policies.of(CredentialPolicy)
    reasons: list[str] = []
    for number, outcome in enumerate(e.learning_outcomes, start=1):
        problem = checks.outcome_problem(outcome, policy)
        if problem:
            reasons.append(f"Outcome {number} ('{outcome}'): {problem}")
        if not e.lo_assessment.get(str(number)):
            reasons.append(f"Outcome {number} ('{outcome}') is covered by no assessment in the matrix.")
    if reasons:
        return Result(NOT_MET, reasons)
    return Result(
        MET, [f"All {len(e.learning_outcomes)} outcomes start with an action verb and are covered by an assessment."]
    )


def online_assessment(f: Facts) -> Result:
    e = f.elements
    if e.supervision is None:
        return Result(NOT_MET, ["Supervision and identity verification during assessment are not declared."])
    declared = CHOICES["supervision"][e.supervision.value]
    rule = f.policies.of(ChecklistPolicy).checks.online_assessment
    if e.participation_form in rule.forms and e.supervision not in rule.supervision:
        accepted = "; ".join(CHOICES["supervision"][s.value] for s in rule.supervision)
        form = CHOICES["participation_form"][e.participation_form.value]
        return Result(NOT_MET, [f"Declared: {declared}. {form} participation needs: {accepted}."])
    return Result(MET, [f"Declared: {declared}; proportionate to the form of participation."])


@dataclass
class Published:
    """The current edition of a published micro-credential, as the catalogue checks compare with it."""

    credential_id: int
    title: str
    lowered_title: str  # lower(title), folded by the database
    ects: float | None
    towards: str | None  # lower(stackable_towards), folded by the database
    learning_outcomes: list[str]
    _tokens: tuple[frozenset[str], frozenset[str]] | None = None

    @property
    def tokens(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words of its title and of its outcomes (``tokens``), computed once."""
        if self._tokens is None:
            self._tokens = (tokens(self.title), tokens(" ".join(self.learning_outcomes)))
        return self._tokens


class Catalogue:
    """Every published micro-credential's current edition, read in one statement; what the stackability and
    duplication checks compare a subject with. Kept per process under the catalogue's stamp (``published``)."""

    def __init__(self, entries: list[Published]) -> None:
        self.entries = sorted(entries, key=lambda p: p.credential_id)
        self.by_towards: dict[str, list[Published]] = {}
        for p in self.entries:
            if p.towards is not None:
                self.by_towards.setdefault(p.towards, []).append(p)

    @classmethod
    def read(cls, session: Session) -> Catalogue:
        stmt = sa_select(
            col(Credential.id),
            col(Credential.title),
            func.lower(Credential.title),
            col(Credential.ects),
            func.lower(CredentialVersion.content["stackable_towards"].as_string()),
            CredentialVersion.content["learning_outcomes"],
        ).join(
            CredentialVersion,
            (col(CredentialVersion.credential_id) == Credential.id)
            & (col(CredentialVersion.version_no) == Credential.current_version_no),
        )
        rows = session.execute(stmt.where(col(Credential.current_version_no) > 0)).all()
        return cls(
            [
                Published(cid or 0, title, lowered or "", ects, towards, list(outcomes or []))
                for cid, title, lowered, ects, towards, outcomes in rows
            ]
        )

    def stacking_towards(self, towards: str, *, but: int | None) -> list[Published]:
        """Those whose stackable_towards, lower-cased, is ``towards`` (lower-cased here), the subject's own left out."""
        return [p for p in self.by_towards.get(towards.lower(), []) if p.credential_id != (but or 0)]

    def sharing(self, words: list[str], *, but: int | None, limit: int) -> list[Published]:
        """Those whose lower-cased title contains one of ``words``, the most words first (then by id), at most
        ``limit``, the subject's own left out."""
        scored = []
        for p in self.entries:
            if p.credential_id == (but or 0):
                continue
            shared = sum(1 for w in words if w in p.lowered_title)
            if shared:
                scored.append((-shared, p.credential_id, p))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [p for _, _, p in scored[:limit]]


class _Catalogues:
    """The catalogue read under each recent stamp (a few: requests straddling a publication), one read at a time."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._by_stamp: OrderedDict[tuple[int, datetime], Catalogue] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session) -> Catalogue:
        stamp = catalogue_stamp(session)
        if stamp is None:
            return Catalogue.read(session)
        with self._lock:  # one thread reads it; the others wait for it rather than read it too
            found = self._by_stamp.get(stamp)
            if found is None:
                found = self._by_stamp[stamp] = Catalogue.read(session)
                while len(self._by_stamp) > self.size:
                    self._by_stamp.popitem(last=False)
            self._by_stamp.move_to_end(stamp)
            return found

    def clear(self) -> None:
        with self._lock:
            self._by_stamp.clear()


CATALOGUES = _Catalogues()


def published(session: Session) -> Catalogue:
    """The published catalogue as this session sees it (read once per catalogue stamp and process)."""
    return CATALOGUES.get(session)


def stackability(f: Facts) -> Result:
    e = f.elements
    if e.stackability is not Stackability.stackable:
        return Result(MET, ["It is not declared stackable towards a larger credential."])
    towards = (e.stackable_towards or "").strip()
    if not towards:
        return Result(NOT_MET, ["It is declared stackable but names no degree it stacks towards."])
    maximum = f.policies.of(ChecklistPolicy).checks.stackability.max_ects_towards_degree
    others = published(f.session).stacking_towards(towards, but=f.credential_id)
    total = (e.ects or 0) + sum(p.ects or 0 for p in others)
    listed = f" with {len(others)} published micro-credential(s) stacking towards it" if others else ""
    reason = f"{total:g} ECTS stack towards '{towards}'{listed}; the maximum is {maximum:g}."
    return Result(NOT_MET if total > maximum else MET, [reason])


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {"and", "the", "for", "with", "from", "into", "of", "in", "on", "to", "a", "an", "by", "at", "or", "as", "its"}
)


def tokens(text: str) -> frozenset[str]:
    """The words of a text that carry meaning: lower case, three letters or more, no stop words."""
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def duplication(f: Facts) -> Result:
    """Published micro-credentials with a very similar title or learning outcomes (token-set Jaccard). Only those
    whose title shares one of this title's five longest words are compared: at most ``max_candidates``, those
    sharing the most first, chosen from the catalogue read once per publication (``published``)."""
    e = f.elements
    rule = f.policies.of(ChecklistPolicy).checks.duplication
    title = tokens(e.title or "")
    mine_outcomes = tokens(" ".join(e.learning_outcomes))
    if not title:
        return Result(MET, ["No title to compare yet."])
    words = sorted(title, key=lambda w: (-len(w), w))[:5]  # the longest words are the rarest
    candidates = published(f.session).sharing(words, but=f.credential_id, limit=rule.max_candidates)
    matches: list[dict[str, Any]] = []
    for other in candidates:
        their_title, their_outcomes = other.tokens
        by_title = jaccard(title, their_title)
        by_outcomes = jaccard(mine_outcomes, their_outcomes)
        score = max(by_title, by_outcomes)
        if score >= rule.threshold:
            matches.append(
                {
                    "credential_id": other.credential_id,
                    "title": other.title,
                    "learning_outcomes": list(other.learning_outcomes),
                    "title_similarity": round(by_title, 2),
                    "outcome_similarity": round(by_outcomes, 2),
                    "mine": {"title": e.title, "learning_outcomes": e.learning_outcomes},
                }
            )
    matches.sort(key=lambda m: -max(m["title_similarity"], m["outcome_similarity"]))
    compared = f"{len(candidates)} published micro-credential(s) with a title word in common compared"
    if matches:
        names = "; ".join(f"'{m['title']}'" for m in matches[:5])
        return Result(
            NOT_MET,
            [f"{compared}; similar from {rule.threshold:g}: {names}. Compare them side by side."],
            matches[:10],
        )
    return Result(MET, [f"{compared}; none is similar from {rule.threshold:g}."])


def evidence_of_need(f: Facts) -> Result:
    e = f.elements
    if f.kind is not Kind.standalone:
        return Result(MET, ["Unbundled from a degree programme: its programme's evidence of need covers it."])
    rule = f.policies.of(ChecklistPolicy).checks.evidence_of_need
    given = len(e.evidence_links) + f.attachments
    reasons = []
    if not is_filled(e.labour_market_evidence):
        reasons.append("No labour-market evidence is described.")
    if given < rule.min_files_or_links:
        reasons.append(f"{given} evidence file(s) or link(s); at least {rule.min_files_or_links} needed.")
    if reasons:
        return Result(NOT_MET, reasons)
    return Result(MET, [f"Labour-market evidence is described, with {given} evidence file(s) or link(s)."])


CHECKS: dict[AutomaticCheck, Callable[[Facts], Result]] = {
    AutomaticCheck.eu_elements: eu_elements,
    AutomaticCheck.ects_bounds: ects_bounds,
    AutomaticCheck.ects_hours: ects_hours,
    AutomaticCheck.outcomes: outcomes,
    AutomaticCheck.online_assessment: online_assessment,
    AutomaticCheck.stackability: stackability,
    AutomaticCheck.duplication: duplication,
    AutomaticCheck.evidence_of_need: evidence_of_need,
}
assert set(CHECKS) == set(AutomaticCheck), "every automatic check the policy may name has a function"


# The checks whose conclusion depends on what is published, besides the subject itself.
READS_CATALOGUE = frozenset({AutomaticCheck.stackability, AutomaticCheck.duplication})


def run(check: AutomaticCheck, facts: Facts) -> Result:
    return CHECKS[check](facts)


# --- the cache of results ------------------------------------------------------------------------------


@dataclass
class _Entry:
    policies: Policies  # the results hold for these policies only (compared by identity)
    results: dict[AutomaticCheck, Result]


class ResultCache:
    """The results of the automatic checks per subject fingerprint, the catalogue's stamp and the policies, in
    memory (least recently used first out). Thread-safe; results are computed outside the lock."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], policies: Policies) -> dict[AutomaticCheck, Result] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.policies is not policies:
                return None
            self._entries.move_to_end(key)
            return entry.results

    def put(self, key: tuple[Any, ...], policies: Policies, results: dict[AutomaticCheck, Result]) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.policies is policies:
                entry.results.update(results)
            else:
                self._entries[key] = _Entry(policies, dict(results))
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = ResultCache()


def catalogue_stamp(session: Session) -> tuple[int, datetime] | None:
    """The catalogue's stamp as this session sees it: its generation and the time it was raised. The time makes it
    unique: a generation raised in a transaction that is rolled back, then raised again by another, is stamped
    with another time, so a result drawn from the rolled-back catalogue is never found under the new stamp."""
    row = session.execute(STAMP).first()
    return (int(row[0]), row[1]) if row is not None else None


def results(checks: Iterable[AutomaticCheck], facts: Facts, cache: ResultCache = CACHE) -> dict[AutomaticCheck, Result]:
    """The conclusion of each check on ``facts``: from the cache when these facts, policies and (for the checks
    that read it) catalogue were checked before, else run now and kept."""
    wanted = list(dict.fromkeys(checks))
    subject = facts.key
    if subject is None or not wanted:
        return {c: run(c, facts) for c in wanted}
    stamp: tuple[int, datetime] | None = None
    if any(c in READS_CATALOGUE for c in wanted):
        stamp = catalogue_stamp(facts.session)
    found: dict[AutomaticCheck, Result] = {}
    fresh: dict[tuple[Any, ...], dict[AutomaticCheck, Result]] = {}
    for check in wanted:
        if check in READS_CATALOGUE:
            if stamp is None:  # no stamp row: what is published cannot be told apart, so nothing is kept
                found[check] = run(check, facts)
                continue
            key: tuple[Any, ...] = (*subject, stamp)
        else:
            key = subject
        cached = cache.get(key, facts.policies)
        if cached is not None and check in cached:
            found[check] = cached[check]
        else:
            found[check] = fresh.setdefault(key, {})[check] = run(check, facts)
    for key, computed in fresh.items():
        cache.put(key, facts.policies, computed)
    return {c: found[c] for c in wanted}
