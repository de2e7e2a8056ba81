"""Demo data for a new database: two faculties, their councils, the LLL committee, the QA office,
programmes with modules, and one account per role (password ``demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app.org import service as org
from app.org.models import (
    Committee,
    CommitteeCreate,
    CommitteeKind,
    CommitteeMember,
    MemberSet,
    ModuleCreate,
    OrgUnitCreate,
    ProgrammeCreate,
)
from app.policies import Policies
from app.security import hash_password
from app.users import service as users
from app.users.models import ROLE_LABELS, Role, User, UserCreate, UserRole

DEMO_PASSWORD = "demo"

DEMO_ACCOUNTS: list[tuple[str, str, list[Role], str | None]] = [
    ("admin@example.org", "Ada Admin", [Role.admin], None),
    ("qa@example.org", "Quinn Auditor", [Role.qa_officer], None),
    ("academic@example.org", "Alex Academic", [Role.academic], "SCI"),
    ("council1@example.org", "Carla Chair", [Role.academic], "SCI"),
    ("council2@example.org", "Chris Council", [Role.academic], "SCI"),
    ("council3@example.org", "Cameron Council", [Role.academic], "SCI"),
    ("humanities@example.org", "Hana Humanities", [Role.academic], "HUM"),
    ("historian@example.org", "Harper Historian", [Role.academic], "HUM"),
    ("lll1@example.org", "Lena Lifelong", [], None),
    ("lll2@example.org", "Liam Learner", [], None),
]

PROGRAMMES = [
    (
        "BSC-CS",
        "BSc Computer Science",
        "SCI",
        6,
        180,
        [
            ("CS210", "Data Science Foundations", 6),
            ("CS320", "Machine Learning", 6),
            ("CS330", "Cybersecurity Essentials", 5),
        ],
    ),
    (
        "MSC-ENV",
        "MSc Environmental Science",
        "SCI",
        7,
        120,
        [("ENV510", "Climate Data Analysis", 6), ("ENV520", "Sustainability Assessment", 5)],
    ),
    (
        "BA-HIS",
        "BA History",
        "HUM",
        6,
        180,
        [("HIS230", "Digital Humanities Methods", 5), ("HIS240", "Public History", 5)],
    ),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    does: str  # roles and committee seats, in words


def demo_accounts(session: Session) -> list[DemoAccount]:
    """The demo accounts still in the database, with their roles and committee seats as they are now (the login
    page lists them in demo mode only)."""
    emails = [email for email, *_ in DEMO_ACCOUNTS]
    people = session.exec(select(User).where(col(User.email).in_(emails), col(User.is_active))).all()
    ids = [p.id for p in people]
    roles: dict[int, list[str]] = {}
    for user_id, role in session.exec(select(UserRole.user_id, UserRole.role).where(col(UserRole.user_id).in_(ids))):
        roles.setdefault(user_id, []).append(ROLE_LABELS[Role(role)].lower())
    seats: dict[int, list[str]] = {}
    for user_id, chair, committee in session.exec(
        select(CommitteeMember.user_id, CommitteeMember.is_chair, Committee.name)
        .join(Committee, col(Committee.id) == CommitteeMember.committee_id)
        .where(col(CommitteeMember.user_id).in_(ids))
        .order_by(col(Committee.name))
    ):
        seats.setdefault(user_id, []).append(f"{'chair' if chair else 'member'} of the {committee}")
    order = {email: i for i, email in enumerate(emails)}
    return [
        DemoAccount(p.email, p.name, "; ".join([*roles.get(p.id or 0, []), *seats.get(p.id or 0, [])]) or "no role")
        for p in sorted(people, key=lambda p: order[p.email])
    ]


def database_is_empty(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(User)).one() == 0


def load_demo(session: Session, policies: Policies) -> None:
    faculties = {
        code: org.create_org_unit(session, OrgUnitCreate(code=code, name=name), by=None)
        for code, name in [("SCI", "Faculty of Science"), ("HUM", "Faculty of Humanities")]
    }
    people: dict[str, User] = {}
    for email, name, roles, faculty in DEMO_ACCOUNTS:
        unit_id = faculties[faculty].id if faculty else None
        user = users.create_user(session, UserCreate(email=email, name=name, roles=roles, org_unit_id=unit_id), by=None)
        # Set directly: the demo password is shorter than the API's minimum on purpose.
        user.password_hash = hash_password(DEMO_PASSWORD)
        people[email] = user

    def committee(name: str, kind: CommitteeKind, faculty: str | None, members: list[tuple[str, bool]]) -> None:
        unit_id = faculties[faculty].id if faculty else None
        data = CommitteeCreate(name=name, kind=kind, org_unit_id=unit_id)
        c = org.create_committee(session, data, by=None, policies=policies)
        for email, chair in members:
            member = MemberSet(user_id=people[email].id or 0, is_chair=chair)
            org.set_member(session, c, member, by=None, policies=policies)

    committee(
        "Science Faculty Council",
        CommitteeKind.faculty_council,
        "SCI",
        [("council1@example.org", True), ("council2@example.org", False), ("council3@example.org", False)],
    )
    committee("Humanities Faculty Council", CommitteeKind.faculty_council, "HUM", [("humanities@example.org", True)])
    committee(
        "Lifelong-Learning Committee",
        CommitteeKind.lll_committee,
        None,
        [("lll1@example.org", True), ("lll2@example.org", False)],
    )
    committee("QA Office", CommitteeKind.qa_office, None, [("qa@example.org", True)])

    for code, name, faculty, level, ects, modules in PROGRAMMES:
        programme = org.create_programme(
            session,
            ProgrammeCreate(code=code, name=name, org_unit_id=faculties[faculty].id or 0, eqf_level=level, ects=ects),
            by=None,
        )
        for m_code, m_name, m_ects in modules:
            org.add_module(session, programme, ModuleCreate(code=m_code, name=m_name, ects=m_ects), by=None)
    session.flush()
