"""A large, consistent dataset for the load test, inserted with bulk Core inserts.

``generate(url, Sizes(...))`` fills an empty, migrated database with faculties and their councils, the
lifelong-learning committee, the QA office and a final body, academics, proposals in every workflow state with
their whole history (proposal versions, votes, decisions, conditions, audit rows, published editions), and one
bench user per load-test role with API tokens. Everything comes from ``random.Random(seed)``: the same sizes and
seed give the same rows (timestamps are relative to the day it runs).

The history of each proposal is simulated against the real policy (``policies/approval.yaml``): routes per kind,
each body's voting rule and quorum. A decided round holds exactly the votes that decided it; an open round holds
fewer votes than its rule needs, so no stored round should already have been decided. The bulk inserts bypass the
ORM, and with it the flush guard that refuses a status change without an audit row: the audit rows are generated
here, one per transition, with their from/to states.

Run on its own: ``python -m bench.generate <database-url> [--proposals N ...]`` (the database must be migrated).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from app.approvals.models import Condition, Decision, Vote
from app.approvals.policy import ApprovalPolicy, VotingPolicy, VotingRule
from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.catalogue.service import search_text_of
from app.db import make_engine, table_of
from app.org.models import COMMITTEE_KIND_LABELS, Committee, CommitteeKind, CommitteeMember, Module, OrgUnit, Programme
from app.org.policy import InstitutionPolicy
from app.policies import Policies, load_policies
from app.proposals import elements as el
from app.proposals.models import CoProposer, Proposal, ProposalVersion
from app.proposals.policy import CredentialPolicy
from app.security import hash_password, hash_token
from app.settings import ROOT
from app.users.models import ApiToken, Role, User, UserRole
from app.workflows.approval import REVIEW_STATE_OF_BODY

BENCH_PASSWORD = "bench-password"
BENCH_COUNCIL_EMAIL = "bench-council@example.org"
BENCH_QA_EMAIL = "bench-qa@example.org"
BENCH_ADMIN_EMAIL = "bench-admin@example.org"

REVIEW_STATE: dict[str, str] = {body.value: state.value for body, state in REVIEW_STATE_OF_BODY.items()}
BODY_OF_STATE = {state: body for body, state in REVIEW_STATE.items()}

# Share of proposals per final state (``submitted`` is transient and never stored).
STATE_WEIGHTS: dict[str, float] = {
    "draft": 11,
    "faculty_council_review": 16,
    "lll_committee_review": 8,
    "qa_office_review": 8,
    "final_body_review": 0.5,
    "changes_requested": 7,
    "approved": 0.5,
    "published": 36,
    "rejected": 5,
    "withdrawn": 8,
}
# Revisions of published micro-credentials (a second proposal on the same credential).
REVISION_SHARE = 0.08
REVISION_WEIGHTS: dict[str, float] = {
    "draft": 25,
    "faculty_council_review": 15,
    "qa_office_review": 20,
    "changes_requested": 10,
    "published": 15,
    "withdrawn": 10,
    "rejected": 5,
}
LOOP_SHARE = 0.25  # proposals sent back for changes once on the way, then resubmitted
CO_PROPOSER_SHARE = 0.1
CONDITIONS_SHARE = 0.08  # approvals that come with conditions


@dataclass(frozen=True)
class Sizes:
    faculties: int = 10
    council_size: int = 5
    academics: int = 200
    lll_members: int = 9
    qa_members: int = 3
    final_members: int = 5
    proposals: int = 10_000
    audit_events: int = 100_000
    votes: int = 50_000
    # Proposals of faculty 1 in council review on which only the bench council member has voted: the vote
    # scenario changes that vote again and again, which never decides (one vote is below the quorum).
    vote_targets: int = 200
    tokens_per_role: int = 10
    seed: int = 20261123

    def scaled(self, factor: float) -> Sizes:
        """The same organisation with fewer or more proposals, audit rows and votes."""
        return Sizes(
            faculties=self.faculties,
            council_size=self.council_size,
            academics=self.academics,
            lll_members=self.lll_members,
            qa_members=self.qa_members,
            final_members=self.final_members,
            proposals=max(1, round(self.proposals * factor)),
            audit_events=max(1, round(self.audit_events * factor)),
            votes=max(1, round(self.votes * factor)),
            vote_targets=max(1, round(self.vote_targets * min(1.0, factor))),
            tokens_per_role=self.tokens_per_role,
            seed=self.seed,
        )


@dataclass
class Generated:
    """What the load runner needs from the generated data, and what was inserted."""

    seconds: float
    counts: dict[str, int]
    council_member_id: int
    qa_officer_id: int
    # Plain API tokens per role ("council", "qa", "admin"); only their SHA-256 is stored.
    tokens: dict[str, list[str]]
    vote_target_ids: list[int]
    awaiting_count: int
    search_words: list[str]
    agenda_id: int = 0  # set by bench.agenda after generation: the council's next meeting
    survey_id: int = 0  # set by bench.feedback after generation: a closed survey with 5,000 responses


# --- vocabulary ----------------------------------------------------------------------------------

FIRST_NAMES = [
    "Anna", "Bram", "Chloe", "Daan", "Elif", "Finn", "Greet", "Hugo", "Ines", "Jonas", "Kato", "Lars", "Mila",
    "Noah", "Olivia", "Pieter", "Quinten", "Rosa", "Sam", "Tess", "Umar", "Vera", "Wout", "Xena", "Yara",
    "Zeno", "Amira", "Bilal", "Carmen", "Dries", "Emma", "Femke", "Gilles", "Hanne", "Ilse", "Jasper", "Lotte",
    "Maarten", "Nora",
]  # fmt: skip
LAST_NAMES = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois",
    "Lambert", "Dupont", "Martin", "Simon", "Laurent", "Leroy", "Vermeulen", "Hermans", "Aerts", "Michiels",
    "Desmet", "Pauwels", "Coppens", "Smets", "Wuyts", "Claessens", "Verhoeven", "Bogaert", "Lemmens",
]  # fmt: skip
FACULTY_NAMES = [
    "Science", "Engineering", "Medicine", "Economics and Business", "Arts and Humanities", "Law", "Psychology",
    "Social Sciences", "Bioscience Engineering", "Architecture", "Pharmacy", "Theology", "Kinesiology",
    "Education", "Veterinary Medicine",
]  # fmt: skip
TOPICS = [
    "Data Analysis with Python", "Climate Risk Assessment", "Machine Learning", "Cybersecurity Essentials",
    "Sustainable Supply Chains", "Digital Marketing Analytics", "Public History", "Renewable Energy Systems",
    "Project Management", "Circular Economy", "Biostatistics", "Health Data Governance", "Urban Mobility Planning",
    "Academic Writing", "Social Entrepreneurship", "Ethics of Artificial Intelligence", "Cloud Computing",
    "Geographic Information Systems", "Water Management", "Food Safety", "Leadership in Healthcare",
    "Intercultural Communication", "Blockchain Applications", "Quantum Computing", "Clinical Research Methods",
    "Corporate Sustainability Reporting", "Digital Humanities", "Robotics and Automation", "Energy Data Science",
    "Mediation and Conflict Resolution", "European Privacy Law", "Learning Analytics", "Precision Agriculture",
    "Battery Technology", "Financial Technology", "Mental Health at Work", "Science Communication",
    "Building Information Modelling", "Pharmacovigilance", "Inclusive Education",
]  # fmt: skip
PREFIXES = ["", "", "Introduction to", "Applied", "Advanced", "Foundations of", "Practical"]
SUFFIXES = ["", "", "", "for Professionals", "for Teachers", "in Industry", "for Public Servants", "for Engineers"]
# Words that occur in many titles: the catalogue search scenario rotates through them.
SEARCH_WORDS = ["data", "energy", "health", "management", "climate", "digital", "sustainable", "law"]
OUTCOME_TEMPLATES = [
    ("analyse", "{t} problems with appropriate quantitative methods"),
    ("apply", "the core methods of {t} to a case from practice"),
    ("design", "a {t} intervention for a real organisation"),
    ("evaluate", "the quality and limits of {t} evidence"),
    ("explain", "the key concepts of {t} to non-specialists"),
    ("implement", "a small {t} project in a team"),
    ("assess", "risks and ethical issues in {t}"),
    ("communicate", "{t} results to stakeholders in writing and orally"),
    ("compare", "current approaches to {t}"),
    ("develop", "a plan to introduce {t} in their workplace"),
    ("interpret", "{t} results and their uncertainty"),
    ("use", "standard tools for {t}"),
]
TARGET_GROUPS = [
    "Professionals with a bachelor's degree who want to update their skills in {t}.",
    "Teachers in secondary education who want to bring {t} into their classes.",
    "Public servants who work with {t} in policy and need a practical grounding.",
    "Engineers and technicians in industry who are moving into {t}.",
    "Alumni and returning learners who want a recognised credential in {t}.",
]
NEEDS = [
    "Employers in the region report a shortage of people with skills in {t}.",
    "The regional skills agenda names {t} as a priority for upskilling.",
    "Our industry advisory board asked for a short, stackable offer in {t}.",
]
COMMENTS = [
    "The learning outcomes need to be assessable; please rephrase outcomes 2 and 3.",
    "The workload does not match the planned contact hours.",
    "Please add labour-market evidence from at least two employers.",
    "The assessment does not cover every learning outcome.",
    "This overlaps too much with an existing programme module.",
]
CONDITION_TEXTS = [
    "Add an assessment rubric for the project.",
    "Confirm the agreement with the industry partner in writing.",
    "Align the learning outcomes with the parent module.",
    "Publish the recognition rules for prior learning.",
]
EDITED_FIELDS = ["title", "learning_outcomes", "ects", "hours", "assessment_description", "target_group", "need"]


# --- the history of one proposal -----------------------------------------------------------------


@dataclass
class Step:
    action: str
    from_state: str | None
    to_state: str | None
    gap_hours: float  # time since the previous step
    by_owner: bool  # the proposer did it; otherwise the system (a body's decision, routing, publication)
    role: str
    comment: str = ""
    at: datetime = datetime.min


@dataclass
class Round:
    no: int
    body: str
    outcome: str | None  # approve | request_changes | reject; None while open
    enter_step: int
    decide_step: int | None = None
    conditions: bool = False


@dataclass
class Plan:
    target: str
    route: list[str]
    steps: list[Step]
    rounds: list[Round]
    return_to_body: str | None
    submissions: int


@dataclass
class P:
    """One generated proposal with everything derived from its plan."""

    id: int
    credential_id: int
    revision_no: int
    change_type: str
    kind: str
    org_unit_id: int
    owner_id: int
    co_ids: list[int]
    content: dict[str, Any]
    plan: Plan
    created_at: datetime = datetime.min
    published_at: datetime | None = None


def _days(rng: random.Random, low: float, high: float) -> float:
    return rng.uniform(low, high) * 24


def plan_history(rng: random.Random, target: str, route: list[str], policies: Policies) -> Plan:
    """The steps that lead a proposal from its creation to ``target`` along ``route``, and its review rounds."""
    steps = [Step("created", None, "draft", 0, True, "proposer")]
    rounds: list[Round] = []
    if target == "draft":
        return Plan(target, [], steps, rounds, None, 0)
    withdraw_from = None
    if target == "withdrawn":
        withdraw_from = rng.choices(["draft", "review", "changes_requested"], [3, 5, 2])[0]
        if withdraw_from == "draft":
            steps.append(Step("withdraw", "draft", "withdrawn", _days(rng, 1, 90), True, "proposer"))
            return Plan(target, [], steps, rounds, None, 0)
    n = len(route)
    if target in BODY_OF_STATE:
        end_k, end = route.index(BODY_OF_STATE[target]), "open"
    elif target == "changes_requested":
        end_k, end = rng.randrange(n), "request_changes"
    elif target == "rejected":
        end_k, end = rng.randrange(n), "reject"
    elif target in ("approved", "published"):
        end_k, end = n, "approve"
    else:  # withdrawn during review or after changes were requested
        end_k = rng.randrange(n)
        end = "open" if withdraw_from == "review" else "request_changes"
    loop_at = rng.randrange(min(end_k, n - 1) + 1) if rng.random() < LOOP_SHARE else None

    def label(body: str) -> str:
        rule = policies.of(ApprovalPolicy).voting[CommitteeKind(body)].rule
        reason = {VotingRule.chair: "decided by the chair", VotingRule.m_of_n: "first side to reach m votes"}.get(
            rule, "majority"
        )
        return f"{COMMITTEE_KIND_LABELS[CommitteeKind(body)].lower()} ({reason})"

    def enter(body: str, from_state: str, gap: float, role: str) -> None:
        action = "route" if from_state == "submitted" else "approve"
        steps.append(Step(action, from_state, REVIEW_STATE[body], gap, False, role))
        rounds.append(Round(len(rounds) + 1, body, None, len(steps) - 1))

    def decide(outcome: str, to_state: str) -> None:
        current = rounds[-1]
        current.outcome, current.decide_step = outcome, len(steps)
        comment = rng.choice(COMMENTS) if outcome in ("request_changes", "reject") else "Approve"
        steps.append(
            Step(outcome, REVIEW_STATE[current.body], to_state, _days(rng, 2, 45), False, label(current.body), comment)
        )

    routed = "system (route from policy)"
    submissions = 1
    steps.append(Step("submit", "draft", "submitted", _days(rng, 3, 60), True, "proposer", "version 1"))
    enter(route[0], "submitted", 0.01, routed)
    i = 0
    return_to: str | None = None
    while True:
        body = route[i]
        if loop_at == i:
            loop_at = -1  # once
            decide("request_changes", "changes_requested")
            submissions += 1
            steps.append(
                Step(
                    "submit",
                    "changes_requested",
                    "submitted",
                    _days(rng, 3, 40),
                    True,
                    "proposer",
                    f"version {submissions}",
                )
            )
            if policies.of(ApprovalPolicy).resubmit_to == "start":
                i = 0
            enter(route[i], "submitted", 0.01, routed)
            continue
        if i == end_k:
            if end == "request_changes":
                decide("request_changes", "changes_requested")
                return_to = body if policies.of(ApprovalPolicy).resubmit_to == "same_body" else None
            elif end == "reject":
                decide("reject", "rejected")
            break
        if i + 1 < n:  # approved: the same transition enters the next body's review
            rounds[-1].outcome, rounds[-1].decide_step = "approve", len(steps)
            enter(route[i + 1], REVIEW_STATE[body], _days(rng, 2, 45), label(body))
            steps[-1].comment = "Approve"
            i += 1
        else:
            decide("approve", "approved")
            break
    if target == "published":
        steps.append(Step("publish", "approved", "published", 0.001, False, "system (publish on approval)"))
    if target == "withdrawn":
        state = steps[-1].to_state
        steps.append(Step("withdraw", state, "withdrawn", _days(rng, 1, 30), True, "proposer"))
    return Plan(target, list(route), steps, rounds, return_to, submissions)


def place(plan: Plan, rng: random.Random, now: datetime, lo: datetime) -> None:
    """Give every step a time: the last one ``slack`` before now, earlier ones by their gaps (squeezed into
    [lo, now] when they do not fit)."""
    final = plan.target
    slack_days = {"draft": 120, "changes_requested": 60, "approved": 5}.get(
        final, 900 if final in ("published", "rejected", "withdrawn") else 75
    )
    room = (now - lo).total_seconds() / 3600
    slack = min(rng.uniform(0.05, slack_days * 24), room * 0.5)
    total = sum(s.gap_hours for s in plan.steps)
    span = room - slack
    scale = min(1.0, span * 0.98 / total) if total > 0 else 1.0
    end = now - timedelta(hours=slack)
    t = end - timedelta(hours=total * scale)
    for s in plan.steps:
        t += timedelta(hours=s.gap_hours * scale)
        s.at = t


# --- content -------------------------------------------------------------------------------------


def make_content(
    rng: random.Random, policies: Policies, kind: str, programme: tuple[int, int] | None, complete: bool
) -> dict[str, Any]:
    topic = rng.choice(TOPICS)
    title = " ".join(w for w in (rng.choice(PREFIXES), topic, rng.choice(SUFFIXES)) if w)
    t = topic.lower()
    ects = float(rng.choices([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20], [1, 3, 8, 6, 10, 10, 6, 5, 3, 2, 1])[0])
    level = rng.choices([4, 5, 6, 7, 8], [5, 15, 40, 30, 10])[0]
    outcomes = [
        f"{verb.capitalize()} {obj.format(t=t)}" for verb, obj in rng.sample(OUTCOME_TEMPLATES, rng.randint(3, 6))
    ]
    types = rng.sample(list(el.AssessmentType), rng.randint(1, 3))
    start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 900))
    inst = policies.of(InstitutionPolicy)
    values: dict[str, Any] = {
        "title": title,
        "awarding_bodies": [inst.awarding_body],
        "issuer_country": inst.country,
        "issuer_region": inst.region or None,
        "learning_outcomes": outcomes,
        "ects": ects,
        "hours": round(ects * rng.uniform(25, 30)),
        "eqf_level": level,
        "qf_ehea_cycle": {5: "short", 6: "first", 7: "second", 8: "third"}.get(level),
        "national_level": f"{inst.national_framework} level {level}" if inst.national_framework else None,
        "assessment_types": [a.value for a in types],
        "assessment_description": f"Learners complete a {types[0].value.replace('_', ' ')} on a case in {t}; "
        "criteria are published in the course guide.",
        "lo_assessment": {str(i): [rng.choice(types).value] for i in range(1, len(outcomes) + 1)},
        "participation_form": rng.choice(list(el.Participation)).value,
        "participation_description": "Weekly online sessions and two on-site workshops.",
        "quality_assurance": inst.quality_assurance,
        "supervision": rng.choice(list(el.Supervision)).value,
        "stackability": "standalone",
        "target_group": rng.choice(TARGET_GROUPS).format(t=t),
        "need": rng.choice(NEEDS).format(t=t),
        "languages": rng.choice([["English"], ["English", "Dutch"], ["Dutch"], ["French", "English"]]),
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(days=rng.choice([42, 70, 98, 120]))).isoformat(),
        "capacity": rng.choice([20, 25, 30, 40, 60, 100]),
        "fee_eur": float(rng.choice([0, 150, 250, 450, 750, 1200])),
        "further_information": f"https://example.org/micro-credentials/{rng.randrange(10**6)}",
    }
    if rng.random() < 0.3:
        values["stackability"] = "stackable"
        values["stackable_towards"] = f"Postgraduate certificate in {topic}"
    if kind == el.Kind.standalone:
        values["labour_market_evidence"] = "Letters of support from three regional employers and the sector federation."
        values["evidence_links"] = [f"https://example.org/evidence/{rng.randrange(10**5)}"]
        values["partners"] = "Regional employers' federation"
    elif programme is not None:
        values["parent_programme_id"], values["parent_module_id"] = programme
    if not complete:  # a draft being written: some required elements still empty
        for name in rng.sample(["learning_outcomes", "need", "target_group", "assessment_description", "hours"], 2):
            values.pop(name, None)
        values.pop("lo_assessment", None)
    content: dict[str, Any] = el.Elements.model_validate(values).model_dump(mode="json")
    return content


# --- votes ---------------------------------------------------------------------------------------


@dataclass
class VoteSlot:
    proposal: P
    round: Round
    committee_id: int
    voter_id: int
    choice: str
    role: str
    deciding: bool = False
    conditions: list[dict[str, Any]] = field(default_factory=list)


def round_slots(
    rng: random.Random,
    p: P,
    rnd: Round,
    rule: VotingPolicy,
    committee_id: int,
    members: list[tuple[int, bool]],
    exclude_optional: set[int],
) -> tuple[list[VoteSlot], list[VoteSlot]]:
    """The votes a round must hold (they decided it), and the votes it may hold besides, within its rule."""
    proposers = {p.owner_id, *p.co_ids}
    eligible = [uid for uid, _ in members if uid not in proposers]
    chair = next((uid for uid, is_chair in members if is_chair), None)
    label = COMMITTEE_KIND_LABELS[CommitteeKind(rnd.body)].lower()

    def slot(uid: int, choice: str, deciding: bool = False) -> VoteSlot:
        role = f"chair, {label}" if uid == chair else label
        return VoteSlot(p, rnd, committee_id, uid, choice, role, deciding)

    def other(outcome: str) -> str:
        return rng.choice([c for c in ("approve", "request_changes", "reject") if c != outcome])

    if not eligible:
        return [], []
    voters = rng.sample(eligible, len(eligible))
    chair_rule = rule.rule is VotingRule.chair and chair in eligible
    if rnd.outcome is None:  # open: fewer votes than the rule needs
        pool = [uid for uid in voters if uid not in exclude_optional]
        if chair_rule:
            cap = len(eligible) - 1
            pool = [uid for uid in pool if uid != chair]
        elif rule.rule is VotingRule.m_of_n:
            cap = min(rule.m or 1, len(eligible)) - 1
        elif rule.rule is VotingRule.unanimous:
            cap = len(eligible) - 1
        else:
            cap = max(1, math.ceil(rule.quorum * len(eligible))) - 1
        choices = ["approve", "approve", "approve", "request_changes"]
        return [], [slot(uid, rng.choice(choices)) for uid in pool[:cap]]
    outcome = rnd.outcome
    if chair_rule:
        assert chair is not None
        optional = [slot(uid, rng.choice([outcome, other(outcome)])) for uid in voters if uid != chair]
        return [slot(chair, outcome, True)], optional
    if rule.rule is VotingRule.m_of_n:
        needed = min(rule.m or 1, len(eligible))
        mandatory = [slot(uid, outcome) for uid in voters[:needed]]
    elif rule.rule is VotingRule.unanimous:
        mandatory = [slot(uid, outcome) for uid in voters]
    else:
        quorum = max(1, math.ceil(rule.quorum * len(eligible)))
        winners = quorum // 2 + 1
        mandatory = [slot(uid, outcome if k < winners else other(outcome)) for k, uid in enumerate(voters[:quorum])]
        rng.shuffle(mandatory)
    mandatory[-1].deciding = True
    return mandatory, []


# --- the generator -------------------------------------------------------------------------------


def _insert(conn: Connection, model: type[SQLModel], rows: list[dict[str, Any]], batch: int = 5000) -> None:
    table = table_of(model)
    for start in range(0, len(rows), batch):
        conn.execute(table.insert(), rows[start : start + batch])


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


class _Generator:
    def __init__(self, sizes: Sizes, policies: Policies, now: datetime) -> None:
        self.s, self.pol, self.now = sizes, policies, now
        self.rng = random.Random(sizes.seed)
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        self.ids: dict[type[SQLModel], int] = defaultdict(int)
        self.vote_roles: list[str] = []  # the voter's role for each Vote row, for its audit row

    def add(self, model: type[SQLModel], **values: Any) -> int:
        self.ids[model] += 1
        self.rows[model].append({"id": self.ids[model], **values})
        return self.ids[model]

    # -- organisation and people

    def organisation(self) -> None:
        s, rng = self.s, self.rng
        t0 = self.now - timedelta(days=1200)
        pw = hash_password(BENCH_PASSWORD)
        self.faculties = [
            self.add(
                OrgUnit,
                code=f"F{f + 1:02d}",
                name=f"Faculty of {FACULTY_NAMES[f % len(FACULTY_NAMES)]}"
                + (f" {f // len(FACULTY_NAMES) + 1}" if f >= len(FACULTY_NAMES) else ""),
                created_at=t0,
            )
            for f in range(s.faculties)
        ]

        def user(name: str, email: str, unit: int | None, roles: list[Role]) -> int:
            uid = self.add(
                User, email=email, name=name, password_hash=pw, is_active=True, org_unit_id=unit, created_at=t0
            )
            for role in roles:
                self.add(UserRole, user_id=uid, role=role.value)
            return uid

        self.admin_id = user("Bench Admin", BENCH_ADMIN_EMAIL, None, [Role.admin])
        self.academics: dict[int, list[int]] = defaultdict(list)  # faculty id -> academics
        councils: dict[int, list[int]] = {}
        others: list[int] = []
        for i in range(max(s.academics, s.faculties * s.council_size)):
            unit = self.faculties[i % s.faculties]
            in_council = len(self.academics[unit]) < s.council_size
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            email = f"{name.lower().replace(' ', '.')}.{i + 1}@example.org"
            if unit == self.faculties[0] and len(self.academics[unit]) == 1:
                name, email = "Bench Council Member", BENCH_COUNCIL_EMAIL
            uid = user(name, email, unit, [Role.academic])
            self.academics[unit].append(uid)
            if in_council:
                councils.setdefault(unit, []).append(uid)
            else:
                others.append(uid)
        self.council_member_id = councils[self.faculties[0]][1 if s.council_size > 1 else 0]
        qa = [user("Bench QA Officer", BENCH_QA_EMAIL, None, [Role.qa_officer])]
        qa += [
            user(f"QA Officer {k + 1}", f"qa{k + 1}@example.org", None, [Role.qa_officer])
            for k in range(s.qa_members - 1)
        ]
        self.qa_officer_id = qa[0]
        pool = rng.sample(others, len(others))
        lll, senate = pool[: s.lll_members], pool[s.lll_members : s.lll_members + s.final_members]
        if len(lll) < s.lll_members or len(senate) < s.final_members:
            raise ValueError("Not enough academics outside the councils for the LLL committee and the final body.")

        self.members: dict[int, list[tuple[int, bool]]] = {}
        self.committee_of: dict[tuple[str, int | None], int] = {}

        def committee(name: str, kind: CommitteeKind, unit: int | None, people: list[int]) -> None:
            cid = self.add(Committee, name=name, kind=kind.value, org_unit_id=unit, created_at=t0)
            self.members[cid] = [(uid, k == 0) for k, uid in enumerate(people)]
            for uid, chair in self.members[cid]:
                self.add(
                    CommitteeMember, committee_id=cid, user_id=uid, is_chair=chair, is_learner_representative=False
                )
            self.committee_of[(kind.value, unit)] = cid

        for unit in self.faculties:
            committee(f"Faculty Council F{unit:02d}", CommitteeKind.faculty_council, unit, councils[unit])
        committee("Lifelong-Learning Committee", CommitteeKind.lll_committee, None, lll)
        committee("QA Office", CommitteeKind.qa_office, None, qa)
        committee("Senate", CommitteeKind.final_body, None, senate)

        self.programmes: dict[int, list[tuple[int, int]]] = defaultdict(list)  # faculty -> (programme, module)
        for unit in self.faculties:
            for j, (level, ects) in enumerate([(6, 180), (7, 120)]):
                pid = self.add(
                    Programme,
                    code=f"F{unit:02d}-P{j + 1}",
                    name=f"{rng.choice(TOPICS)} programme",
                    org_unit_id=unit,
                    eqf_level=level,
                    ects=ects,
                    created_at=t0,
                )
                for m in range(4):
                    mid = self.add(
                        Module,
                        programme_id=pid,
                        code=f"M{m + 1}",
                        name=rng.choice(TOPICS),
                        ects=float(rng.choice([5, 6])),
                    )
                    self.programmes[unit].append((pid, mid))

        self.tokens: dict[str, list[str]] = {}
        for role, uid in [("council", self.council_member_id), ("qa", self.qa_officer_id), ("admin", self.admin_id)]:
            self.tokens[role] = []
            for k in range(s.tokens_per_role):
                token = f"mcqa_bench_{role}_{k}_{rng.getrandbits(128):032x}"
                self.tokens[role].append(token)
                self.add(
                    ApiToken,
                    user_id=uid,
                    name=f"bench {role} {k + 1}",
                    token_hash=hash_token(token),
                    created_at=t0,
                    last_used_at=None,
                    revoked_at=None,
                )

    # -- proposals

    def committee_for(self, body: str, unit: int) -> int:
        return self.committee_of[(body, unit if body == CommitteeKind.faculty_council.value else None)]

    def new_proposal(self, target: str, *, base: P | None = None) -> P:
        rng, pol = self.rng, self.pol
        if base is None:
            weights = [4.0] + [1.0] * (len(self.faculties) - 1)
            unit = rng.choices(self.faculties, weights)[0]
            kind = el.Kind.standalone.value if target == "lll_committee_review" or rng.random() < 0.6 else "unbundled"
            owner = rng.choice(self.academics[unit])
            co = (
                [c for c in [rng.choice(self.academics[unit])] if c != owner]
                if rng.random() < CO_PROPOSER_SHARE
                else []
            )
            content = make_content(rng, pol, kind, rng.choice(self.programmes[unit]), target != "draft")
            route = [b.value for b in pol.of(ApprovalPolicy).route_for(kind)]
            change_type, revision_no, credential_id = "new", 1, 0
        else:
            unit, kind, owner, co = base.org_unit_id, base.kind, base.owner_id, list(base.co_ids)
            content = dict(base.content)
            major = target == "faculty_council_review" or (target != "qa_office_review" and rng.random() < 0.4)
            if major:
                content["learning_outcomes"] = [
                    *content["learning_outcomes"][:-1],
                    f"Evaluate recent developments in {content['title'].lower()}",
                ]
                route = [b.value for b in pol.of(ApprovalPolicy).route_for(kind)]
            else:
                content["further_information"] = f"https://example.org/micro-credentials/{rng.randrange(10**6)}"
                content["capacity"] = (content.get("capacity") or 20) + 10
                route = [b.value for b in pol.of(ApprovalPolicy).minor_change_route]
            change_type, revision_no, credential_id = ("major" if major else "minor"), 2, base.credential_id
        if target == "final_body_review" and CommitteeKind.final_body.value not in route:
            route = [*route, CommitteeKind.final_body.value]
        plan = plan_history(rng, target, route, pol)
        lo = (base.published_at + timedelta(days=1)) if base and base.published_at else self.now - timedelta(days=1100)
        place(plan, rng, self.now, lo)
        self.ids[Proposal] += 1
        if base is None:  # the first proposal creates the credential (published later, if ever)
            credential_id = self.add(
                Credential,
                kind=kind,
                org_unit_id=unit,
                owner_id=owner,
                created_at=plan.steps[0].at,
                current_version_no=0,
                title="",
                ects=None,
                eqf_level=None,
                participation_form=None,
                search_text="",
                published_at=None,
            )
        p = P(self.ids[Proposal], credential_id, revision_no, change_type, kind, unit, owner, co, content, plan)
        p.created_at = plan.steps[0].at
        p.published_at = next((s.at for s in plan.steps if s.to_state == "published"), None)
        return p

    def proposals(self) -> None:
        s, rng = self.s, self.rng
        n_revisions = round(s.proposals * REVISION_SHARE) if s.proposals >= 20 else 0
        self.all: list[P] = [self.new_proposal(_weighted(rng, STATE_WEIGHTS)) for _ in range(s.proposals - n_revisions)]
        old_enough = self.now - timedelta(days=90)
        bases = [p for p in self.all if p.published_at and p.published_at < old_enough]
        rng.shuffle(bases)
        for k in range(n_revisions):
            if k < len(bases):
                self.all.append(self.new_proposal(_weighted(rng, REVISION_WEIGHTS), base=bases[k]))
            else:
                self.all.append(self.new_proposal(_weighted(rng, STATE_WEIGHTS)))
        by_credential: dict[int, list[P]] = defaultdict(list)
        for p in self.all:
            by_credential[p.credential_id].append(p)
        credential_rows = {row["id"]: row for row in self.rows[Credential]}
        for cid, ps in by_credential.items():
            previous: dict[str, Any] | None = None
            for p in sorted((p for p in ps if p.published_at), key=lambda p: p.revision_no):
                assert p.published_at is not None
                row = credential_rows[cid]
                version_no = row["current_version_no"] + 1
                if previous is not None:
                    previous["effective_to"] = p.published_at
                previous = {
                    "credential_id": cid,
                    "version_no": version_no,
                    "proposal_id": p.id,
                    "content": p.content,
                    "change_type": p.change_type,
                    "changes": [] if version_no == 1 else ["learning_outcomes"],
                    "effective_from": p.published_at,
                    "effective_to": None,
                }
                self.add(CredentialVersion, **previous)
                previous = self.rows[CredentialVersion][-1]
                row.update(
                    current_version_no=version_no,
                    title=p.content["title"],
                    ects=p.content["ects"],
                    eqf_level=p.content["eqf_level"],
                    participation_form=p.content["participation_form"],
                    search_text=search_text_of(p.content),
                    published_at=p.published_at,
                )
        for p in self.all:
            steps, last = p.plan.steps, p.plan.steps[-1]
            status = last.to_state or "draft"
            entered = [s for s in steps if s.to_state]
            decided = next(
                (s.at for s in steps if s.to_state in ("approved", "published", "rejected", "withdrawn")), None
            )
            current = BODY_OF_STATE.get(status)
            due = (
                self.pol.of(ApprovalPolicy).deadlines.due_at(CommitteeKind(current), entered[-1].at)
                if current
                else None
            )
            self.rows[Proposal].append({
                "id": p.id, "credential_id": p.credential_id, "revision_no": p.revision_no,
                "change_type": p.change_type, "kind": p.kind, "org_unit_id": p.org_unit_id, "owner_id": p.owner_id,
                "title": p.content.get("title") or "", "content": p.content, "status": status,
                "route": p.plan.route, "current_body": current,
                "return_to_body": p.plan.return_to_body if status in ("changes_requested", "withdrawn") else None,
                "review_round": len(p.plan.rounds), "submission_count": p.plan.submissions,
                "stage_entered_at": entered[-1].at,
                "stage_due_at": due,
                "created_at": p.created_at, "updated_at": last.at,
                "decided_at": decided, "lock_version": len(steps),
            })  # fmt: skip
            for uid in p.co_ids:
                self.add(CoProposer, proposal_id=p.id, user_id=uid)
            for version, step in enumerate((s for s in steps if s.action == "submit"), start=1):
                self.add(
                    ProposalVersion,
                    proposal_id=p.id,
                    version_no=version,
                    content=p.content,
                    submitted_at=step.at,
                    submitted_by_id=p.owner_id,
                )

    # -- votes, decisions, conditions

    def votes(self) -> None:
        s, rng, pol = self.s, self.rng, self.pol
        bench = self.council_member_id
        faculty1 = self.faculties[0]
        targets: set[int] = set()
        target_votes: list[VoteSlot] = []
        mandatory: list[VoteSlot] = []
        optional: list[VoteSlot] = []
        for p in self.all:
            for rnd in p.plan.rounds:
                cid = self.committee_for(rnd.body, p.org_unit_id)
                members = self.members[cid]
                rule = pol.of(ApprovalPolicy).voting[CommitteeKind(rnd.body)]
                is_target = (
                    rnd.outcome is None
                    and p.plan.target == "faculty_council_review"
                    and rnd is p.plan.rounds[-1]
                    and p.org_unit_id == faculty1
                    and bench not in (p.owner_id, *p.co_ids)
                    and len(targets) < s.vote_targets
                )
                if is_target:
                    targets.add(p.id)
                    target_votes.append(VoteSlot(p, rnd, cid, bench, "approve", "faculty council"))
                    continue
                must, may = round_slots(rng, p, rnd, rule, cid, members, {bench})
                mandatory += must
                optional += may
        self.vote_target_ids = sorted(targets)
        rng.shuffle(optional)
        chosen = (target_votes + mandatory + optional)[: s.votes]
        # Conditions on some approvals: the deciding vote approves with conditions.
        for v in chosen:
            if v.deciding and v.round.outcome == "approve" and rng.random() < CONDITIONS_SHARE:
                v.round.conditions = True
                v.choice = "approve_with_conditions"
        by_round: dict[tuple[int, int], list[VoteSlot]] = defaultdict(list)
        for v in chosen:
            by_round[(v.proposal.id, v.round.no)].append(v)
        for (_pid, _no), votes in by_round.items():
            p, rnd = votes[0].proposal, votes[0].round
            steps = p.plan.steps
            start = steps[rnd.enter_step].at
            if rnd.decide_step is not None:
                end = steps[rnd.decide_step].at
            else:  # open, or the proposal was withdrawn during this round
                end = steps[rnd.enter_step + 1].at if rnd.enter_step + 1 < len(steps) else self.now
            votes.sort(key=lambda v: v.deciding)
            span = max(60.0, (end - start).total_seconds())
            times = sorted(start + timedelta(seconds=rng.uniform(1, span - 1)) for _ in votes)
            if rnd.decide_step is not None and votes[-1].deciding:
                times[-1] = end - timedelta(seconds=1)
            for v, at in zip(votes, times, strict=True):
                if v.choice == "approve_with_conditions":
                    v.conditions = [
                        {
                            "text": rng.choice(CONDITION_TEXTS),
                            "due_on": (at + timedelta(days=rng.randint(30, 180))).date().isoformat(),
                        }
                    ]
                comment = (
                    "bench seed"
                    if p.id in targets
                    else (rng.choice(COMMENTS) if v.choice in ("request_changes", "reject") else "")
                )
                self.add(
                    Vote,
                    proposal_id=p.id,
                    review_round=rnd.no,
                    body=rnd.body,
                    committee_id=v.committee_id,
                    voter_id=v.voter_id,
                    choice=v.choice,
                    comment=comment,
                    conditions=v.conditions,
                    created_at=at,
                    updated_at=at,
                )
                self.vote_roles.append(v.role)
        self.decisions(by_round)

    def decisions(self, by_round: dict[tuple[int, int], list[VoteSlot]]) -> None:
        rng, pol = self.rng, self.pol
        for p in self.all:
            for rnd in p.plan.rounds:
                if rnd.outcome is None or rnd.decide_step is None:
                    continue
                at = p.plan.steps[rnd.decide_step].at
                votes = by_round.get((p.id, rnd.no), [])
                tally = {"approve": 0, "request_changes": 0, "reject": 0}
                for v in votes:
                    tally["approve" if v.choice.startswith("approve") else v.choice] += 1
                rule = pol.of(ApprovalPolicy).voting[CommitteeKind(rnd.body)]
                outcome = "approve_with_conditions" if rnd.conditions else rnd.outcome
                cid = self.committee_for(rnd.body, p.org_unit_id)
                eligible = len({uid for uid, _ in self.members[cid]} - {p.owner_id, *p.co_ids})
                did = self.add(
                    Decision,
                    proposal_id=p.id,
                    review_round=rnd.no,
                    body=rnd.body,
                    committee_id=cid,
                    outcome=outcome,
                    rule=rule.rule.value,
                    tally={**tally, "eligible": eligible, "reason": rule.rule.value},
                    comment=p.plan.steps[rnd.decide_step].comment,
                    policy_version=pol.of(ApprovalPolicy).version,
                    decided_at=at,
                )
                for v in votes:
                    for cond in v.conditions:
                        due = date.fromisoformat(cond["due_on"])
                        published = p.published_at is not None
                        past = due < self.now.date()
                        weights = ([15, 15, 70] if past else [60, 30, 10]) if published else [1, 0, 0]
                        status = rng.choices(["open", "met", "confirmed"], weights)[0]
                        met_at = at + timedelta(days=rng.randint(5, 25)) if status != "open" else None
                        confirmed_at = (
                            met_at + timedelta(days=rng.randint(1, 10)) if met_at and status == "confirmed" else None
                        )
                        self.add(
                            Condition,
                            proposal_id=p.id,
                            decision_id=did,
                            text=cond["text"],
                            due_on=due,
                            status=status,
                            evidence="Rubric attached to the course guide." if met_at else "",
                            met_at=met_at if met_at and met_at < self.now else None,
                            met_by_id=p.owner_id if met_at else None,
                            confirmed_at=confirmed_at if confirmed_at and confirmed_at < self.now else None,
                            confirmed_by_id=self.qa_officer_id if confirmed_at else None,
                            created_at=at,
                        )

    def awaiting_count(self) -> int:
        """Proposals before the bench council member's council without their vote: what /awaiting lists."""
        me = self.council_member_id
        voted = {v["proposal_id"] for v in self.rows[Vote] if v["voter_id"] == me}
        return sum(
            1 for p in self.all
            if p.plan.target == "faculty_council_review" and p.org_unit_id == self.faculties[0]
            and me not in (p.owner_id, *p.co_ids) and p.id not in voted
        )  # fmt: skip

    # -- audit

    def audit(self) -> None:
        s, rng, pol = self.s, self.rng, self.pol
        events: list[dict[str, Any]] = []

        def event(at: datetime, actor: int | None, role: str, pid: int, action: str, **extra: Any) -> dict[str, Any]:
            row: dict[str, Any] = {
                "at": at,
                "actor_id": actor,
                "actor_role": role,
                "entity_type": "proposal",
                "entity_id": pid,
                "action": action,
                "from_state": None,
                "to_state": None,
                "policy_version": pol.of(ApprovalPolicy).version,
                "comment": "",
                "data": {},
            }
            row.update(extra)
            return row

        for p in self.all:
            for step in p.plan.steps:
                action = step.action
                data: dict[str, Any] = {}
                if action == "created" and p.revision_no > 1:
                    action, data = "revision_opened", {"credential_id": p.credential_id}
                events.append(
                    event(
                        step.at,
                        p.owner_id if step.by_owner else None,
                        step.role,
                        p.id,
                        action,
                        from_state=step.from_state,
                        to_state=step.to_state,
                        comment=step.comment,
                        data=data,
                    )
                )
        for vr, role in zip(self.rows[Vote], self.vote_roles, strict=True):
            events.append(
                event(
                    vr["created_at"],
                    vr["voter_id"],
                    role,
                    vr["proposal_id"],
                    "vote.cast",
                    comment=vr["comment"],
                    data={
                        "choice": vr["choice"],
                        "body": vr["body"],
                        "round": vr["review_round"],
                        "conditions": vr["conditions"],
                    },
                )
            )
        events = events[: s.audit_events]
        while len(events) < s.audit_events:
            p = rng.choice(self.all)
            first_submit = next((st.at for st in p.plan.steps if st.action == "submit"), self.now)
            span = max(60.0, (first_submit - p.created_at).total_seconds())
            at = p.created_at + timedelta(seconds=rng.uniform(1, span - 1))
            events.append(
                event(
                    at,
                    p.owner_id,
                    "proposer",
                    p.id,
                    "edited",
                    policy_version=pol.of(CredentialPolicy).version,
                    data={"fields": sorted(rng.sample(EDITED_FIELDS, rng.randint(1, 3)))},
                )
            )
        events.sort(key=lambda r: r["at"])
        for row in events:
            self.add(AuditEvent, **row)


_VISIBILITY = text(
    "SELECT relname, relpages, relallvisible FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relpages > 0 ORDER BY relpages DESC"
)


def vacuum_for_index_only_scans(engine: Engine, attempts: int = 5) -> dict[str, str]:
    """VACUUM (ANALYZE) until the visibility map covers the tables, as on a database that has been running a while.

    Index-only scans (the pipeline's counts, the awaiting queue) skip the heap only for pages marked all-visible.
    VACUUM cannot mark a page while any transaction that began before the load is still open (another
    session's snapshot), so it is repeated a few times; the share of pages marked is returned per table."""
    rows: list[Any] = []
    for attempt in range(attempts):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            rows = list(conn.execute(_VISIBILITY))
        if all(row.relallvisible >= 0.95 * row.relpages for row in rows):
            break
        time.sleep(1 + attempt)
    return {row.relname: f"{row.relallvisible}/{row.relpages}" for row in rows[:6]}


def generate(url: str | Engine, sizes: Sizes | None = None, *, quiet: bool = False) -> Generated:
    """Fill an empty, migrated database. Returns the bench users' tokens and what the runner needs."""
    sizes = sizes or Sizes()
    started = time.perf_counter()
    engine = make_engine(url) if isinstance(url, str) else url
    policies = load_policies(ROOT / "policies")
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1)
    gen = _Generator(sizes, policies, now)
    gen.organisation()
    gen.proposals()
    gen.votes()
    gen.audit()
    built = time.perf_counter()
    order: list[type[SQLModel]] = [
        OrgUnit, User, UserRole, Committee, CommitteeMember, Programme, Module, ApiToken, Credential, Proposal,
        CoProposer, ProposalVersion, CredentialVersion, Decision, Condition, Vote, AuditEvent,
    ]  # fmt: skip
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(table_of(User))).scalar_one():
            raise RuntimeError("The database already has accounts; the generator fills an empty database only.")
        for model in order:
            _insert(conn, model, gen.rows[model])
        if conn.dialect.name == "postgresql":
            for model in order:
                name = table_of(model).name
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                        f'(SELECT coalesce(max(id), 0) + 1 FROM "{name}"), false)'
                    )
                )
    if engine.dialect.name == "postgresql":
        visible = vacuum_for_index_only_scans(engine)
        if not quiet:
            print(
                "Pages marked all-visible after VACUUM (ANALYZE): " + ", ".join(f"{t} {v}" for t, v in visible.items())
            )
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    counts = {table_of(m).name: len(gen.rows[m]) for m in order}
    awaiting = gen.awaiting_count()
    seconds = time.perf_counter() - started
    if isinstance(url, str):
        engine.dispose()
    if not quiet:
        print(
            f"Generated in {seconds:.1f} s (built in memory {built - started:.1f} s, "
            f"inserted {seconds - built + started:.1f} s): "
            + ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        )
    return Generated(
        seconds=seconds,
        counts=counts,
        council_member_id=gen.council_member_id,
        qa_officer_id=gen.qa_officer_id,
        tokens=gen.tokens,
        vote_target_ids=gen.vote_target_ids,
        awaiting_count=awaiting,
        search_words=SEARCH_WORDS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url", help="database URL of a migrated, empty database")
    for name, default in vars(Sizes()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args(argv)
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes())})
    generate(args.url, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
