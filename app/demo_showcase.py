"""The demo showcase: micro-credential proposals at every stage of approval, so a new demo looks like a living
institution rather than empty pages.

Everything is done the way people do it in the app, through the public functions of ``app.proposals.service``
and ``app.approvals.service`` (create, edit, submit, vote, withdraw, publish, revise, conditions, comments), acting
as the demo accounts of ``app.demo``: no row is written directly, so the audit trail, decisions, conditions and
catalogue editions are exactly what the workflow produces. Dates the reader sees (condition due dates, planned
starts) are relative to the day the showcase is loaded, so conditions are always still due in the future. The
proposals in review went through their steps days and weeks before that day (``app.db.as_of``): their days in
stage differ, one decision is due within days and one is overdue, and their timelines span weeks.

What it shows (figures for the shipped policies, where approval publishes at once):

- periodic reviews: offerings with their figures, a monitoring report open with a draft self-evaluation, one due
  soon, a full review overdue, and a monitoring report in QA assessment with part of its ESG checklist answered
  (see ``_periodic_reviews``);
- published in the catalogue: six micro-credentials, both kinds, both faculties; one in its second edition (a
  minor revision), one with an open condition, one with a condition reported met and awaiting the QA office, one
  with a confirmed condition;
- in review: at each body, with some votes cast so tallies show; every committee member and the QA officer has
  at least one proposal awaiting their decision; one proposal was sent back and resubmitted, so its redline shows
  what changed; a revision of a published credential awaits the QA office;
- changes requested, rejected, withdrawn and drafts; threaded comments on several proposals;
- the institution's external QA record (ESG 1.10): the review of five years ago, under which the published
  editions were approved, then its renewal two months ago, which every draft and the catalogue's current entries
  now state while the published editions keep the text they were published with.

When ``publish_on_approval`` is false, the QA office publishes all but one of the approved proposals by hand; the
last one is left approved, waiting for publication.

Loading is a few hundred statements and no password hashing, so it takes a second or two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from app.approvals import access, history
from app.approvals import service as approvals
from app.approvals.voting import Choice
from app.catalogue.models import Credential
from app.checklists import service as checklists
from app.committees import agendas, delegation, watching
from app.db import as_of, utcnow
from app.external_qa import service as external_qa
from app.external_qa.models import Decision, ExternalQaUpdate
from app.feedback.demo import load_feedback_demo
from app.offerings import service as offerings
from app.org import service as org
from app.org.models import Committee
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.reviews import service as reviews
from app.security import Actor, load_actor
from app.users.models import User
from app.workflows.approval import ProposalStatus
from app.workflows.checklist import AnswerStatus

ACADEMIC = "academic@example.org"
COUNCIL1, COUNCIL2, COUNCIL3 = "council1@example.org", "council2@example.org", "council3@example.org"
HUMANITIES = "humanities@example.org"
HISTORIAN = "historian@example.org"  # proposes the Humanities offers: an academic files under their own faculty
LLL1, LLL2 = "lll1@example.org", "lll2@example.org"
QA = "qa@example.org"
ADMIN = "admin@example.org"
AGENCY = "NVAO (Accreditation Organisation of the Netherlands and Flanders)"

APPROVE, WITH_CONDITIONS = Choice.approve, Choice.approve_with_conditions
REQUEST_CHANGES, REJECT = Choice.request_changes, Choice.reject

QF_EHEA_CYCLE = {5: "short", 6: "first", 7: "second", 8: "third"}


@dataclass
class Showcase:
    """What was loaded: proposal ids by a short name (the story), for the command's summary and the tests."""

    proposals: dict[str, int] = field(default_factory=dict)


# --- content -------------------------------------------------------------------------------------


def _offer(
    *,
    title: str,
    outcomes: list[str],
    ects: float,
    hours: int,
    eqf: int,
    assessment: list[str],
    matrix: list[list[str]],
    assessment_description: str,
    participation: str,
    participation_description: str,
    supervision: str,
    target_group: str,
    need: str,
    languages: list[str],
    start_in_days: int,
    weeks: int,
    capacity: int,
    fee_eur: float,
    **more: Any,
) -> dict[str, Any]:
    """The elements of one offer; ``matrix`` lists the assessment types that cover each outcome, in order."""
    start = date.today() + timedelta(days=start_in_days)
    return {
        "title": title,
        "learning_outcomes": outcomes,
        "ects": ects,
        "hours": hours,
        "eqf_level": eqf,
        "qf_ehea_cycle": QF_EHEA_CYCLE.get(eqf),
        "national_level": f"Flemish Qualifications Framework level {eqf}",
        "assessment_types": assessment,
        "assessment_description": assessment_description,
        "lo_assessment": {str(n): types for n, types in enumerate(matrix, start=1)},
        "participation_form": participation,
        "participation_description": participation_description,
        "supervision": supervision,
        "target_group": target_group,
        "need": need,
        "languages": languages,
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(weeks=weeks)).isoformat(),
        "capacity": capacity,
        "fee_eur": fee_eur,
        **more,
    }


def _cybersecurity(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Cybersecurity Essentials for Small Businesses",
        outcomes=[
            "Identify the cyber threats that most often hit small and medium-sized enterprises",
            "Assess the security of a small organisation against the CyberFundamentals framework",
            "Configure basic protection of e-mail, endpoints and the office network",
            "Develop an incident response plan that a small business can follow without a security team",
        ],
        ects=5,
        hours=135,
        eqf=6,
        assessment=["written_exam", "practical", "assignment"],
        matrix=[["written_exam"], ["assignment"], ["practical"], ["assignment"]],
        assessment_description=(
            "An online proctored exam on threats and controls (40%), a graded lab in which learners harden a "
            "simulated office network (30%), and a written security assessment and response plan for a real or "
            "fictitious small business (30%). Criteria and the rubric are published before enrolment."
        ),
        participation="online",
        participation_description="Ten weeks online: short recorded lectures, weekly live Q&A and a virtual lab.",
        supervision="supervised_with_id",
        target_group=(
            "Office managers and IT staff of small businesses who look after security without being specialists."
        ),
        need=(
            "Small businesses are the most frequent victims of ransomware and phishing, and most cannot hire a "
            "security specialist. The module CS330 already teaches the essentials; offered on its own, online, it "
            "reaches the people who run IT in those businesses."
        ),
        languages=["English", "Dutch"],
        start_in_days=-40,  # the first intake is running
        weeks=10,
        capacity=40,
        fee_eur=450,
        parent_programme_id=programme,
        parent_module_id=module,
        prerequisites="Experience administering office computers or a small network.",
        stackability="standalone",
        evidence_links=["https://www.example.org/evidence/unizo-sme-cyber-survey.pdf"],
    )


def _climate_risk() -> dict[str, Any]:
    return _offer(
        title="Climate Risk Analytics for Local Governments",
        outcomes=[
            "Analyse regional climate projections for flooding, heat and drought with open data",
            "Model the exposure of municipal assets and vulnerable residents to climate hazards",
            "Evaluate adaptation options with cost-benefit and multi-criteria analysis",
            "Communicate climate risk to councillors and citizens in maps and plain language",
        ],
        ects=6,
        hours=165,
        eqf=7,
        assessment=["project", "presentation", "peer_assessment"],
        matrix=[["project"], ["project"], ["project", "peer_assessment"], ["presentation"]],
        assessment_description=(
            "A climate risk assessment of the learner's own municipality, built during the course and marked "
            "against a published rubric (70%); a presentation of its recommendations to a panel with a municipal "
            "climate officer (20%); peer review of another group's adaptation options (10%)."
        ),
        participation="blended",
        participation_description="Eight weeks: online modules, two workshop days on campus and one field visit.",
        supervision="supervised_no_id",
        target_group="Spatial planners, environmental officers and climate coordinators of cities and provinces.",
        need=(
            "Municipalities must draw up climate adaptation plans under the Covenant of Mayors and the EU "
            "Adaptation Strategy, but few of their staff can work with climate projections."
        ),
        labour_market_evidence=(
            "Letters from the provincial climate office and three municipalities, which will send staff to the "
            "first two intakes; a survey of 64 local government officers, of whom 71% want training in climate "
            "data."
        ),
        evidence_links=[
            "https://www.example.org/evidence/municipal-climate-skills-survey.pdf",
            "https://www.example.org/evidence/provincial-climate-office-letter.pdf",
        ],
        partners="Provincial climate office (co-teaching, case data); three municipalities (learners' cases).",
        languages=["Dutch", "English"],
        start_in_days=90,
        weeks=8,
        capacity=30,
        fee_eur=650,
        prerequisites="A bachelor's degree, and basic spreadsheet or GIS skills.",
        stackability="stackable",
        stackable_towards="MSc Environmental Science (MSC-ENV), as the elective ENV510 Climate Data Analysis",
    )


def _life_cycle() -> dict[str, Any]:
    return _offer(
        title="Life Cycle Assessment for Product Designers",
        outcomes=[
            "Apply the ISO 14040 and 14044 method to the life cycle of a product",
            "Compile an inventory of materials, energy and emissions from supplier and database data",
            "Interpret impact results to select lower-impact design options",
            "Report an assessment in a form that supports an environmental product declaration",
        ],
        ects=5,
        hours=140,
        eqf=6,
        assessment=["project", "oral_exam"],
        matrix=[["project"], ["project"], ["project", "oral_exam"], ["project"]],
        assessment_description=(
            "A life cycle assessment of a product from the learner's company, submitted as a report (70%), and "
            "an individual oral defence of its choices and interpretation (30%)."
        ),
        participation="blended",
        participation_description="Six weeks online, with three evening workshops on campus using LCA software.",
        supervision="supervised_with_id",
        target_group="Product designers and engineers in manufacturing companies.",
        need=(
            "The Ecodesign for Sustainable Products Regulation and customers' requests for product declarations "
            "mean designers must judge environmental impact early, when changes are still cheap."
        ),
        labour_market_evidence=(
            "Statements of need from the regional manufacturing federation and two furniture makers; "
            "vacancy data showing LCA skills asked for in one in five product-design vacancies."
        ),
        evidence_links=["https://www.example.org/evidence/manufacturing-federation-statement.pdf"],
        partners="Regional manufacturing federation (cases, guest lectures).",
        languages=["English"],
        start_in_days=60,
        weeks=6,
        capacity=25,
        fee_eur=550,
        prerequisites="A degree or experience in product design or engineering.",
        stackability="standalone",
    )


def _data_science(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Data Science Foundations for Professionals",
        outcomes=[
            "Prepare messy real-world data for analysis with Python and pandas",
            "Visualise data to explore patterns and explain them to colleagues",
            "Apply descriptive statistics and regression to answer a business question",
            "Evaluate the quality and limits of conclusions drawn from data",
        ],
        ects=6,
        hours=160,
        eqf=6,
        assessment=["assignment", "project", "written_exam"],
        matrix=[["assignment"], ["assignment", "project"], ["project", "written_exam"], ["written_exam"]],
        assessment_description=(
            "Four weekly notebooks marked automatically and by a tutor (30%), an analysis project on a data set "
            "from the learner's work or an open data portal (40%), and an online proctored exam (30%)."
        ),
        participation="online",
        participation_description="Twelve weeks online, self-paced with weekly deadlines and tutor feedback.",
        supervision="supervised_with_id",
        target_group="Professionals who work with spreadsheets and want to move to reproducible data analysis.",
        need=(
            "Employers ask for staff who can analyse data beyond spreadsheets; CS210 teaches exactly this to "
            "first-year students and can be opened to professionals online with no change to its outcomes."
        ),
        languages=["English"],
        start_in_days=45,
        weeks=12,
        capacity=80,
        fee_eur=600,
        stackability="stackable",
        stackable_towards="BSc Computer Science (BSC-CS), recognised as CS210",
        parent_programme_id=programme,
        parent_module_id=module,
    )


def _digital_humanities(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Digital Humanities: Text and Network Analysis",
        outcomes=[
            "Build a corpus from digitised historical sources with attention to copyright and bias",
            "Use text mining to trace themes across a collection of documents",
            "Model relations between people and places as networks and interpret them",
            "Critique the claims a digital method can and cannot support in historical research",
        ],
        ects=5,
        hours=130,
        eqf=6,
        assessment=["project", "portfolio"],
        matrix=[["portfolio"], ["project"], ["project"], ["portfolio"]],
        assessment_description=(
            "A small research project on a corpus chosen with the teacher (60%) and a reflective portfolio of "
            "weekly method exercises (40%)."
        ),
        participation="blended",
        participation_description="Weekly online sessions and three Saturday labs in the university library.",
        supervision="unsupervised_no_id",
        target_group="Archivists, librarians, heritage staff and teachers of history.",
        need=(
            "Archives and libraries are digitising their holdings faster than their staff can use digital methods "
            "on them; HIS230 teaches those methods and can be followed on its own."
        ),
        languages=["English", "Dutch"],
        start_in_days=100,
        weeks=12,
        capacity=25,
        fee_eur=400,
        parent_programme_id=programme,
        parent_module_id=module,
        prerequisites="None; no programming experience is needed.",
        stackability="stackable",
        stackable_towards="BA History (BA-HIS), recognised as HIS230",
    )


def _heritage_gis() -> dict[str, Any]:
    return _offer(
        title="Mapping Heritage: GIS for Cultural Heritage Professionals",
        outcomes=[
            "Use a geographic information system to record and query heritage sites",
            "Integrate historical maps, aerial photographs and inventory data into one project",
            "Produce maps and story maps that present a heritage site to the public",
            "Recommend how a municipality can protect heritage in its spatial plans",
        ],
        ects=5,
        hours=130,
        eqf=6,
        assessment=["practical", "project", "presentation"],
        matrix=[["practical"], ["practical", "project"], ["project"], ["presentation"]],
        assessment_description=(
            "Three graded GIS exercises (30%), a mapping project for a real heritage site (50%) and a short "
            "presentation of recommendations to the site's managers (20%)."
        ),
        participation="onsite",
        participation_description="Five Fridays on campus with a field day at a heritage site.",
        supervision="supervised_no_id",
        target_group="Heritage consultants, municipal heritage officers and staff of heritage organisations.",
        need=(
            "Heritage inventories are now geographic databases, and protection decisions are made in spatial "
            "plans; heritage staff need to work with both."
        ),
        labour_market_evidence=(
            "A survey of the regional heritage network (112 answers): GIS was the skill most often named as "
            "missing. Two heritage consultancies commit to sending staff."
        ),
        evidence_links=["https://www.example.org/evidence/heritage-network-survey.pdf"],
        partners="Regional heritage network (cases, site access).",
        languages=["Dutch"],
        start_in_days=120,
        weeks=5,
        capacity=20,
        fee_eur=500,
        stackability="standalone",
    )


def _battery() -> dict[str, Any]:
    return _offer(
        title="Battery Technology for the Energy Transition",
        outcomes=[
            "Explain how lithium-ion and emerging battery chemistries store and release energy",
            "Calculate the capacity, power and lifetime a stationary storage system needs",
            "Evaluate the safety, cost and recyclability of battery options for a given use",
            "Design a battery storage concept for a building or a small grid",
        ],
        ects=5,
        hours=140,
        eqf=6,
        assessment=["written_exam", "project"],
        matrix=[["written_exam"], ["written_exam", "project"], ["project"], ["project"]],
        assessment_description="A written exam on principles and sizing (40%) and a storage design project (60%).",
        participation="blended",
        participation_description="Six weeks online with two lab days on campus.",
        supervision="supervised_with_id",
        target_group="Electrical engineers and installers moving into energy storage.",
        need="Installers and engineers are asked to size and install home and grid batteries without training.",
        labour_market_evidence=(
            "Letters from two installers' associations and a grid operator; sector estimates of 4,000 "
            "additional storage jobs in the region by 2030."
        ),
        evidence_links=["https://www.example.org/evidence/storage-jobs-outlook.pdf"],
        partners="Installers' association (placements for the design project).",
        languages=["English", "Dutch"],
        start_in_days=150,
        weeks=6,
        capacity=30,
        fee_eur=600,
        stackability="standalone",
    )


def _mlops(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Machine Learning in Production (MLOps)",
        outcomes=[
            "Train and validate machine learning models with reproducible pipelines",
            "Implement the deployment of a model as a monitored service, with versioned data and code",
            "Monitor a deployed model for drift and decide when to retrain it",
        ],
        ects=6,
        hours=165,
        eqf=6,
        assessment=["project", "oral_exam"],
        matrix=[["project"], ["project"], ["project", "oral_exam"]],
        assessment_description="An end-to-end deployment project (70%) and an oral exam on design choices (30%).",
        participation="online",
        participation_description="Ten weeks online, with cloud credits for the project.",
        supervision="supervised_with_id",
        target_group="Software developers and data analysts who build or maintain machine learning systems.",
        need="Most machine learning models never reach production; CS320 covers the skills that get them there.",
        languages=["English"],
        start_in_days=80,
        weeks=10,
        capacity=50,
        fee_eur=650,
        parent_programme_id=programme,
        parent_module_id=module,
        prerequisites="Programming in Python; an introductory course in machine learning.",
        stackability="stackable",
        stackable_towards="BSc Computer Science (BSC-CS), recognised as CS320",
    )


def _remote_sensing() -> dict[str, Any]:
    return _offer(
        title="Remote Sensing for Precision Agriculture",
        outcomes=[
            "Compute vegetation indices for a field from satellite and drone images",
            "Analyse time series of crop growth to detect stress and yield differences",
            "List the main satellite missions that provide free agricultural data",
        ],
        ects=5,
        hours=130,
        eqf=7,
        assessment=["project", "written_exam"],
        matrix=[["project"], ["project"], ["written_exam"]],
        assessment_description="A field project and a written exam.",
        participation="blended",
        participation_description="Online theory, two field days with drones at the experimental farm.",
        supervision="supervised_no_id",
        target_group="Agronomists, farm advisers and precision-farming service companies.",
        need=(
            "Farm advisers are asked to interpret satellite and drone data for variable-rate fertilising and "
            "irrigation, and the common agricultural policy now monitors fields by satellite."
        ),
        labour_market_evidence="Letters from the farmers' union and two agritech companies.",
        partners="Experimental farm of the province (field days).",
        languages=["English"],
        start_in_days=130,
        weeks=8,
        capacity=24,
        fee_eur=550,
        stackability="standalone",
    )


def _public_history_data(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Data Visualisation for Public History",
        outcomes=[
            "Select historical data sets that can be shown to a general audience",
            "Design charts, maps and timelines that tell a historical story accurately",
            "Evaluate visualisations for clarity, accessibility and historical honesty",
        ],
        ects=5,
        hours=130,
        eqf=6,
        assessment=["portfolio", "presentation"],
        matrix=[["portfolio"], ["portfolio"], ["presentation"]],
        assessment_description=(
            "A portfolio of three visualisations made for a museum or archive (70%) and a presentation with "
            "critique of a published one (30%)."
        ),
        participation="blended",
        participation_description="Online lessons and two studio days on campus.",
        supervision="unsupervised_no_id",
        target_group="Museum educators, exhibition makers and local history societies.",
        need="Museums and archives publish data stories online but seldom have staff trained to make them.",
        languages=["Dutch", "English"],
        start_in_days=110,
        weeks=8,
        capacity=20,
        fee_eur=350,
        parent_programme_id=programme,
        parent_module_id=module,
        stackability="stackable",
        stackable_towards="BA History (BA-HIS), recognised as HIS240",
    )


def _hydrogen() -> dict[str, Any]:
    return _offer(
        title="Hydrogen Safety for Technicians",
        outcomes=[
            "Identify the hazards of hydrogen production, storage and refuelling installations",
            "Apply the ATEX rules for explosive atmospheres to a hydrogen installation",
            "Perform a safety check and a leak test following a written procedure",
        ],
        ects=3,
        hours=80,
        eqf=5,
        assessment=["written_exam", "practical"],
        matrix=[["written_exam"], ["written_exam"], ["practical"]],
        assessment_description="A multiple-choice exam (40%) and a supervised practical safety check (60%).",
        participation="onsite",
        participation_description="Four Saturdays at the hydrogen test facility of the energy campus.",
        supervision="supervised_with_id",
        target_group="Maintenance and process technicians at industrial sites and refuelling stations.",
        need=(
            "Hydrogen installations are multiplying in the port area and every technician working on them needs "
            "safety training. Kept at 3 ECTS, below the recommended band, so that technicians on shifts can "
            "complete it in a month."
        ),
        labour_market_evidence=(
            "The port's hydrogen coalition asks for 300 trained technicians by 2027; two employers will pay the fee "
            "for their staff."
        ),
        evidence_links=["https://www.example.org/evidence/port-hydrogen-coalition.pdf"],
        partners="Port hydrogen coalition; energy campus test facility.",
        languages=["Dutch", "English"],
        start_in_days=70,
        weeks=4,
        capacity=16,
        fee_eur=800,
        prerequisites="A technical secondary or vocational qualification.",
        stackability="standalone",
    )


def _museum_audiences() -> dict[str, Any]:
    return _offer(
        title="Understanding Museum Audiences with Visitor Data",
        outcomes=[
            "Design a visitor study that combines ticketing data, surveys and observation",
            "Analyse visitor data to describe who comes, who does not, and why",
            "Recommend changes to programming and communication from the evidence",
        ],
        ects=5,
        hours=135,
        eqf=6,
        assessment=["project", "assignment"],
        matrix=[["assignment"], ["project"], ["project"]],
        assessment_description="A study design (30%) and a visitor study carried out in a partner museum (70%).",
        participation="blended",
        participation_description="Online seminars and a study carried out in the learner's own institution.",
        supervision="unsupervised_no_id",
        target_group="Staff of museums, heritage sites and cultural centres in marketing, education or programming.",
        need=(
            "Cultural institutions are asked by their funders to reach new audiences and to show that they do, "
            "yet few have staff who can turn their visitor data into evidence."
        ),
        labour_market_evidence=(
            "The regional museum association's skills survey: audience research is the first training need of its "
            "members; four museums offer their data for learners' studies."
        ),
        evidence_links=["https://www.example.org/evidence/museum-association-skills-survey.pdf"],
        partners="Regional museum association; four partner museums.",
        languages=["Dutch"],
        start_in_days=140,
        weeks=10,
        capacity=20,
        fee_eur=450,
        stackability="standalone",
    )


def _sustainability_smes(programme: int, module: int) -> dict[str, Any]:
    return _offer(
        title="Sustainability Reporting for SMEs",
        outcomes=[
            "Determine which sustainability topics are material for a small company",
            "Measure greenhouse gas emissions of scopes 1 and 2 and estimate those of scope 3",
            "Prepare a sustainability report that follows the voluntary standard for SMEs",
        ],
        ects=5,
        hours=125,
        eqf=7,
        assessment=["project", "oral_exam"],
        matrix=[["project"], ["project"], ["project", "oral_exam"]],
        assessment_description="A sustainability report for a real SME (70%) and an oral defence (30%).",
        participation="onsite",
        participation_description="Eight evening sessions on campus.",
        supervision="supervised_no_id",
        target_group="Finance, quality and operations managers of small and medium-sized enterprises.",
        need=(
            "Large companies now ask their suppliers for sustainability data under the CSRD; small suppliers need "
            "people who can produce it. ENV520 teaches the method."
        ),
        languages=["English", "Dutch"],
        start_in_days=95,
        weeks=8,
        capacity=30,
        fee_eur=500,
        parent_programme_id=programme,
        parent_module_id=module,
        stackability="stackable",
        stackable_towards="MSc Environmental Science (MSC-ENV), recognised as ENV520",
    )


def _lab_automation() -> dict[str, Any]:
    return _offer(
        title="Python for Laboratory Automation",
        outcomes=[
            "Write Python scripts that control laboratory instruments through their interfaces",
            "Develop scripts that turn measurement files into validated results",
            "Document automated procedures so that they meet good laboratory practice",
        ],
        ects=4,
        hours=110,
        eqf=6,
        assessment=["practical", "project"],
        matrix=[["practical"], ["project"], ["project"]],
        assessment_description="Graded lab exercises (40%) and an automation project for the learner's lab (60%).",
        participation="blended",
        participation_description="Online lessons and four lab afternoons.",
        supervision="supervised_no_id",
        target_group="Laboratory technicians and analysts in pharmaceutical, food and environmental labs.",
        need="Labs want to automate routine analyses, but their technicians have not learned to program.",
        labour_market_evidence="An internal survey of our own laboratory staff.",
        languages=["English"],
        start_in_days=160,
        weeks=8,
        capacity=20,
        fee_eur=500,
        stackability="standalone",
    )


def _blockchain() -> dict[str, Any]:
    return _offer(
        title="Blockchain Fundamentals for Everyone",
        outcomes=[
            "Describe how a blockchain records and verifies transactions",
            "Explain the difference between public and private blockchains",
            "Discuss possible uses of blockchain in business",
        ],
        ects=3,
        hours=75,
        eqf=5,
        assessment=["written_exam"],
        matrix=[["written_exam"], ["written_exam"], ["written_exam"]],
        assessment_description="An online multiple-choice test, unsupervised, which can be retaken.",
        participation="online",
        participation_description="Self-paced online videos.",
        supervision="unsupervised_no_id",
        target_group="Anyone interested in blockchain.",
        need="Blockchain is an important technology that many people want to learn about.",
        labour_market_evidence="One letter from a start-up.",
        languages=["English"],
        start_in_days=30,
        weeks=4,
        capacity=500,
        fee_eur=150,
        stackability="standalone",
    )


def _quantum() -> dict[str, Any]:
    return _offer(
        title="Quantum Software Development Primer",
        outcomes=[
            "Explain qubits, superposition and entanglement with the circuit model",
            "Implement basic quantum algorithms with an open-source software kit",
            "Evaluate whether a problem can benefit from quantum computing today",
        ],
        ects=5,
        hours=140,
        eqf=7,
        assessment=["assignment", "project"],
        matrix=[["assignment"], ["project"], ["assignment"]],
        assessment_description="Weekly assignments (40%) and a programming project on a simulator (60%).",
        participation="online",
        participation_description="Eight weeks online.",
        supervision="unsupervised_no_id",
        target_group="Software engineers curious about quantum computing.",
        need="Companies exploring quantum computing look for developers with a first grounding in it.",
        labour_market_evidence="Letters from a bank's innovation lab and a quantum start-up.",
        languages=["English"],
        start_in_days=200,
        weeks=8,
        capacity=40,
        fee_eur=700,
        stackability="standalone",
    )


def _oral_history(programme: int, module: int) -> dict[str, Any]:
    """A draft still being written: the assessment and the need are not described yet."""
    content = _offer(
        title="Oral History in Practice",
        outcomes=[
            "Plan an oral history project with informed consent and an archiving agreement",
            "Conduct and record a life-story interview",
            "Prepare interviews for an archive and for public presentation",
        ],
        ects=5,
        hours=130,
        eqf=6,
        assessment=["portfolio"],
        matrix=[["portfolio"], ["portfolio"], ["portfolio"]],
        assessment_description="",
        participation="blended",
        participation_description="Online sessions and interview practice on campus.",
        supervision="unsupervised_no_id",
        target_group="Local history societies, heritage volunteers and archivists.",
        need="",
        languages=["Dutch"],
        start_in_days=180,
        weeks=8,
        capacity=20,
        fee_eur=300,
        parent_programme_id=programme,
        parent_module_id=module,
    )
    del content["assessment_description"], content["need"]
    return content


# --- acting as the demo people -------------------------------------------------------------------


class _Acting:
    """Calls the service as a given person. Actors are loaded once: memberships do not change while loading."""

    def __init__(self, session: Session, policies: Policies) -> None:
        self.session, self.policies = session, policies
        self._actors: dict[str, Actor] = {}
        self.loaded_at = utcnow()

    def days_ago(self, days: int) -> AbstractContextManager[None]:
        """What is done inside happened ``days`` before the showcase is loaded: proposals in review have been
        there for a while, some are due soon and one is overdue, and their timelines span weeks."""
        return as_of(self.loaded_at - timedelta(days=days))

    def actor(self, email: str) -> Actor:
        if email not in self._actors:
            user = self.session.exec(select(User).where(User.email == email)).one()
            self._actors[email] = load_actor(self.session, user)
        return self._actors[email]

    def propose(
        self, owner: str, kind: Kind, content: dict[str, Any], *, faculty: int | None = None, submit: bool = True
    ) -> int:
        proposal, _ = service.create_proposal(
            self.session, self.actor(owner), self.policies, kind=kind, values=content, org_unit_id=faculty
        )
        assert proposal.id is not None
        if submit:
            service.submit(self.session, proposal.id, self.actor(owner), self.policies)
        return proposal.id

    def edit(self, who: str, proposal_id: int, **changes: Any) -> None:
        proposal = self.proposal(proposal_id)
        service.update_proposal(
            self.session, proposal_id, self.actor(who), self.policies, {**proposal.content, **changes}
        )

    def submit(self, who: str, proposal_id: int, answers: Sequence[str] = ()) -> None:
        """Submit; a resubmission answers the points raised in order (``answers``, one per point)."""
        sent_back = history.changes_requested(self.session, self.proposal(proposal_id))
        points = sent_back.points if sent_back else []
        responses = {point.key: text for point, text in zip(points, answers, strict=True)}
        service.submit(self.session, proposal_id, self.actor(who), self.policies, responses)

    def vote(
        self, who: str, proposal_id: int, choice: Choice, comment: str = "", *, due: Iterable[tuple[str, int]] = ()
    ) -> None:
        """``due``: conditions as (text, days from today). Who approves has answered their body's checklist."""
        if choice in (Choice.approve, Choice.approve_with_conditions):
            self.answer_checklist(who, proposal_id)
        conditions = [{"text": text, "due_on": date.today() + timedelta(days=days)} for text, days in due]
        approvals.cast_vote(
            self.session,
            proposal_id,
            self.actor(who),
            self.policies,
            choice=choice,
            comment=comment,
            conditions=conditions,
        )

    def answer_checklist(self, who: str | None, proposal_id: int, *, at_most: int | None = None) -> None:
        """Answer the unanswered mandatory items of the deciding body's ESG checklist as ``who`` (None: the first
        member who may answer), each as its automatic check concludes (a "not met" accepted as partly met, with the
        reason), or as met; with ``at_most``, that many of its items, mandatory or not."""
        proposal = self.proposal(proposal_id)
        actor = self.actor(who) if who else self._member_who_answers(proposal)
        if actor is None:
            return
        listed = checklists.checklist_of(self.session, proposal, actor, self.policies)
        todo = [i for i in listed.items if i.can_answer and not i.answered and (i.item.mandatory or at_most)]
        for view in todo[:at_most]:
            status, comment = view.suggested or AnswerStatus.met.value, ""
            if status == AnswerStatus.not_met:
                status, comment = (
                    AnswerStatus.partly_met.value,
                    "Acceptable for the pilot; to improve at the first review.",
                )
            given = checklists.Answer(status=status, comment=comment, evidence_text="Checked against the proposal.")
            checklists.answer(self.session, proposal_id, view.key, actor, self.policies, given)

    def _member_who_answers(self, proposal: Proposal) -> Actor | None:
        eligible = access.load_ctx(self.session, proposal).eligible_ids
        user = self.session.get(User, min(eligible)) if eligible else None
        return self.actor(user.email) if user else None

    def votes(self, proposal_id: int, *ballots: tuple[str, Choice]) -> None:
        for who, choice in ballots:
            self.vote(who, proposal_id, choice)

    def comment(self, who: str, proposal_id: int, body: str, *, reply_to: int | None = None) -> int:
        comment = service.add_comment(self.session, proposal_id, self.actor(who), body, parent_id=reply_to)
        assert comment.id is not None
        return comment.id

    def proposal(self, proposal_id: int) -> Proposal:
        proposal = self.session.get(Proposal, proposal_id)
        assert proposal is not None
        return proposal

    def published(self, proposal_id: int, *, leave_approved: bool = False) -> None:
        """The proposal has passed its last body. Policy may publish at once; otherwise the QA office publishes
        it by hand, except one left approved so that stage shows too."""
        status = self.proposal(proposal_id).status
        if status == ProposalStatus.approved and not leave_approved:
            approvals.publish_by(self.session, proposal_id, self.actor(QA), self.policies)
            status = self.proposal(proposal_id).status
        done = {ProposalStatus.published, ProposalStatus.approved} if leave_approved else {ProposalStatus.published}
        if status not in done:
            raise RuntimeError(f"showcase: proposal {proposal_id} should have passed its last body but is {status}")

    def conditions(self, proposal_id: int) -> list[int]:
        return [c.id for c in approvals.conditions_of(self.session, [proposal_id])[proposal_id] if c.id is not None]

    def record_external_qa(self, decision: Decision, *, decided: date, next_review: date, **report: str) -> None:
        """The administrator records the institution's external review by the demo agency (EQAR-registered)."""
        data = ExternalQaUpdate(
            agency_name=AGENCY,
            eqar_registered=True,
            decision=decision,
            decision_on=decided,
            next_review_on=next_review,
            **report,
        )
        external_qa.save(self.session, self.actor(ADMIN), data)

    def revise(self, owner: str, proposal_id: int, *, effective_on: date | None = None, **changes: Any) -> int:
        """Open a revision of the credential the proposal published, change it and submit it (to take effect on
        ``effective_on`` once approved, when given)."""
        credential_id = self.proposal(proposal_id).credential_id
        revision = service.open_revision(self.session, credential_id, self.actor(owner), self.policies)
        assert revision.id is not None
        self.edit(owner, revision.id, **changes)
        if effective_on is not None:
            service.set_effective_date(self.session, revision.id, self.actor(owner), self.policies, effective_on)
        self.submit(owner, revision.id)
        return revision.id


# --- the stories ---------------------------------------------------------------------------------


def load_showcase(session: Session, policies: Policies) -> Showcase:
    """Load the showcase into a database that has the demo organisation (``app.demo.load_demo``) and nothing else.
    Flushes; the caller commits."""
    act = _Acting(session, policies)
    shown = Showcase()
    faculty = {u.code: u.id for u in org.list_org_units(session)}
    programmes = {p.code: p.id for p in org.list_programmes(session)}
    modules = {
        m.code: m.id for ms in org.modules_of(session, [p for p in programmes.values() if p]).values() for m in ms
    }

    def unbundled(programme: str, module: str) -> tuple[int, int]:
        pid, mid = programmes[programme], modules[module]
        assert pid is not None and mid is not None
        return pid, mid

    hum = faculty["HUM"]
    today = utcnow().date()

    # The institutional review of five years ago: the published editions below state it.
    act.record_external_qa(
        Decision.positive_with_conditions,
        decided=today - timedelta(days=5 * 365),
        next_review=today + timedelta(days=60),
    )

    # Published, then revised for a second intake: a minor revision (fee, capacity, dates, delivery) goes to the
    # QA office only, and the catalogue shows two editions with the changes since the first.
    p = act.propose(ACADEMIC, Kind.unbundled, _cybersecurity(*unbundled("BSC-CS", "CS330")))
    act.votes(p, (COUNCIL1, APPROVE), (COUNCIL3, APPROVE))
    act.vote(QA, p, APPROVE, "All standard elements present; the proctored exam fits the stakes.")
    act.published(p)
    shown.proposals["cybersecurity"] = p
    # Feedback: a closed survey of an earlier run above the anonymity threshold, and an open one (app.feedback.demo).
    credential_id = session.get_one(Proposal, p).credential_id or 0
    load_feedback_demo(session, policies, credential_id, act.actor(ACADEMIC), act.actor(QA))
    r = act.revise(
        ACADEMIC,
        p,
        fee_eur=395,
        capacity=60,
        participation_description=(
            "Ten weeks online: short recorded lectures, a live lab every Thursday evening and weekly Q&A."
        ),
        planned_start=(date.today() + timedelta(days=75)).isoformat(),
        planned_end=(date.today() + timedelta(days=75, weeks=10)).isoformat(),
    )
    act.vote(
        QA, r, APPROVE, "Minor change: a second intake, larger and cheaper, after the first one filled within a week."
    )
    act.published(r)
    shown.proposals["cybersecurity-edition-2"] = r

    # Published with a condition still open, due in two months.
    p = act.propose(ACADEMIC, Kind.standalone, _climate_risk())
    act.vote(COUNCIL1, p, APPROVE, "Strong case; well above the level of a bachelor module.")
    act.vote(COUNCIL2, p, APPROVE)
    act.vote(
        LLL1,
        p,
        WITH_CONDITIONS,
        "Excellent fit with what municipalities need.",
        due=[("Sign the co-delivery agreement with the provincial climate office before the first intake.", 60)],
    )
    act.vote(LLL2, p, APPROVE, "Good to see municipalities involved as cases.")
    act.vote(QA, p, APPROVE)
    act.published(p)
    shown.proposals["climate-risk"] = p
    c = act.comment(LLL1, p, "Is the agreement with the provincial climate office on its way?")
    act.comment(ACADEMIC, p, "The draft is with their legal department; signing is planned for next month.", reply_to=c)

    # Published with a condition the proposer reports as met: the QA office has to confirm it.
    p = act.propose(ACADEMIC, Kind.standalone, _life_cycle())
    act.vote(
        COUNCIL1,
        p,
        WITH_CONDITIONS,
        "Fine, provided learners can see how the report is marked before they enrol.",
        due=[("Publish the assessment rubric and grading scheme before enrolment opens.", 30)],
    )
    act.vote(COUNCIL2, p, APPROVE)
    act.votes(p, (LLL1, APPROVE), (LLL2, APPROVE))
    act.vote(QA, p, APPROVE)
    act.published(p)
    shown.proposals["life-cycle"] = p
    for condition in act.conditions(p):
        approvals.mark_condition_met(
            session,
            condition,
            act.actor(ACADEMIC),
            policies,
            "The rubric and grading scheme are on the course page and in the enrolment information.",
        )

    # Published, proposed by a council member (who therefore does not vote on it); a minor revision adding Dutch
    # and a spring intake now awaits the QA office, with a redline against the published edition; it is to take
    # effect at the spring intake, which the QA office's approval confirms.
    p = act.propose(COUNCIL2, Kind.unbundled, _data_science(*unbundled("BSC-CS", "CS210")))
    act.votes(p, (COUNCIL1, APPROVE), (COUNCIL3, APPROVE))
    act.vote(QA, p, APPROVE)
    act.published(p)
    shown.proposals["data-science"] = p
    shown.proposals["data-science-revision"] = act.revise(
        COUNCIL2,
        p,
        effective_on=date.today() + timedelta(days=90),
        languages=["English", "Dutch"],
        capacity=120,
        participation_description=(
            "Twelve weeks online, self-paced with weekly deadlines and tutor feedback; a Dutch-language tutor "
            "group from the spring intake."
        ),
    )

    # Published (Humanities), with a condition met and confirmed by the QA office.
    p = act.propose(HISTORIAN, Kind.unbundled, _digital_humanities(*unbundled("BA-HIS", "HIS230")), faculty=hum)
    act.vote(HUMANITIES, p, APPROVE, "A welcome offer for our archive partners.")
    act.vote(
        QA,
        p,
        WITH_CONDITIONS,
        "Approved; learners who are not students need library access for the corpora.",
        due=[("Confirm that non-degree learners get access to the digitised newspaper archive.", 20)],
    )
    act.published(p)
    shown.proposals["digital-humanities"] = p
    for condition in act.conditions(p):
        approvals.mark_condition_met(
            session,
            condition,
            act.actor(HISTORIAN),
            policies,
            "The library grants guest accounts for the course period.",
        )
        approvals.confirm_condition(session, condition, act.actor(QA), policies)

    # Approved through every body (Humanities, standalone). Published at once by the shipped policy; left for
    # the QA office to publish when approval does not publish.
    p = act.propose(HISTORIAN, Kind.standalone, _heritage_gis(), faculty=hum)
    act.vote(HUMANITIES, p, APPROVE)
    act.votes(p, (LLL1, APPROVE), (LLL2, APPROVE))
    act.vote(QA, p, APPROVE)
    act.published(p, leave_approved=True)
    shown.proposals["heritage-gis"] = p

    # Faculty council review, no votes yet: awaits all three council members.
    with act.days_ago(4):
        p = act.propose(ACADEMIC, Kind.standalone, _battery())
    shown.proposals["battery"] = p
    with act.days_ago(2):
        act.comment(COUNCIL3, p, "Could the lab days use the new battery test bench in the energy lab?")

    # Faculty council review, proposed by a council member: the chair has voted; awaits the third member, and its
    # decision is due in four days (the reminders have gone out).
    with act.days_ago(17):
        p = act.propose(COUNCIL2, Kind.unbundled, _mlops(*unbundled("BSC-CS", "CS320")))
    with act.days_ago(10):
        act.vote(COUNCIL1, p, APPROVE, "Well aligned with CS320.")
    shown.proposals["mlops"] = p

    # Sent back by the faculty council with comments, edited and resubmitted: back with the council, with a
    # redline of submission 2 against submission 1; one member has voted again.
    with act.days_ago(30):
        p = act.propose(ACADEMIC, Kind.standalone, _remote_sensing())
    with act.days_ago(26):
        act.vote(
            COUNCIL2,
            p,
            REQUEST_CHANGES,
            "Outcome 3 ('list the main satellite missions') is recall, not EQF level 7: rewrite it at master's level.",
        )
        act.vote(
            COUNCIL3,
            p,
            REQUEST_CHANGES,
            "Say how the field project is marked and weighted against the exam; 130 hours looks light for two field "
            "days plus the project.",
        )
    with act.days_ago(25):
        question = act.comment(
            ACADEMIC,
            p,
            "Thanks for the quick review. Would an outcome on choosing between satellite and drone data fit?",
        )
        act.comment(COUNCIL2, p, "Yes, that is the kind of judgement we expect at level 7.", reply_to=question)
    with act.days_ago(6):
        content = act.proposal(p).content
        act.edit(
            ACADEMIC,
            p,
            learning_outcomes=[
                *content["learning_outcomes"][:2],
                "Evaluate whether satellite or drone data better answers a given crop-monitoring question",
            ],
            hours=145,
            assessment_description=(
                "A field project marked with a published rubric (data processing, analysis, advice to the farmer; "
                "60%) and a written exam on methods and data sources (40%)."
            ),
            evidence_links=["https://www.example.org/evidence/farmers-union-letter.pdf"],
        )
        act.submit(
            ACADEMIC,
            p,
            answers=[
                "Outcome 3 now asks learners to evaluate satellite against drone data for a given question (EQF 7).",
                "The project is marked with a published rubric (60%) against the exam (40%); hours raised to 145.",
            ],
        )
    with act.days_ago(3):
        act.vote(COUNCIL3, p, APPROVE, "The rubric and the new outcome answer my comments.")
    shown.proposals["remote-sensing"] = p

    # Humanities faculty council review: awaits its chair, two days past its due date.
    with act.days_ago(23):
        p = act.propose(HISTORIAN, Kind.unbundled, _public_history_data(*unbundled("BA-HIS", "HIS240")), faculty=hum)
    shown.proposals["public-history-data"] = p

    # Lifelong-learning committee review after the council approved; one member has voted, awaits the other.
    with act.days_ago(24):
        p = act.propose(ACADEMIC, Kind.standalone, _hydrogen())
    with act.days_ago(16):
        act.votes(p, (COUNCIL1, APPROVE), (COUNCIL3, APPROVE))
    with act.days_ago(4):
        act.vote(LLL1, p, APPROVE, "Exactly the kind of short, employer-backed offer the port needs.")
    shown.proposals["hydrogen"] = p

    with act.days_ago(20):
        p = act.propose(HISTORIAN, Kind.standalone, _museum_audiences(), faculty=hum)
    with act.days_ago(15):
        act.vote(HUMANITIES, p, APPROVE)
    with act.days_ago(8):
        act.vote(LLL2, p, APPROVE, "Good partners; a learner representative would add to the design team.")
    with act.days_ago(7):
        c = act.comment(QA, p, "For the committee: the museum association's survey is linked under the evidence.")
    with act.days_ago(6):
        act.comment(LLL2, p, "Thanks, read it. Convincing.", reply_to=c)
    shown.proposals["museum-audiences"] = p

    # QA office review: awaits the QA officer.
    with act.days_ago(18):
        p = act.propose(ACADEMIC, Kind.unbundled, _sustainability_smes(*unbundled("MSC-ENV", "ENV520")))
    with act.days_ago(9):
        act.votes(p, (COUNCIL1, APPROVE), (COUNCIL2, APPROVE))
    shown.proposals["sustainability-smes"] = p

    # Changes requested by the lifelong-learning committee, not resubmitted yet; a thread with the proposer.
    with act.days_ago(40):
        p = act.propose(ACADEMIC, Kind.standalone, _lab_automation())
    with act.days_ago(33):
        act.votes(p, (COUNCIL1, APPROVE), (COUNCIL3, APPROVE))
    with act.days_ago(12):
        act.vote(
            LLL1,
            p,
            REQUEST_CHANGES,
            "The only evidence of need is a survey of our own staff: add statements from employers outside the "
            "university.",
        )
        act.vote(
            LLL2,
            p,
            REQUEST_CHANGES,
            "Technicians work days: consider evening or Saturday lab sessions, and say so in the participation form.",
        )
    with act.days_ago(10):
        c = act.comment(
            ACADEMIC, p, "Two pharmaceutical companies have agreed to write letters; I will add them and resubmit."
        )
        reply = act.comment(
            LLL1, p, "Thank you. Please also say whether their staff can use training vouchers for the fee.", reply_to=c
        )
        act.comment(ACADEMIC, p, "They can; I will add it to the need.", reply_to=reply)
    shown.proposals["lab-automation"] = p

    # Rejected by the faculty council, with the reasons.
    with act.days_ago(45):
        p = act.propose(ACADEMIC, Kind.standalone, _blockchain())
    with act.days_ago(38):
        act.vote(
            COUNCIL1,
            p,
            REJECT,
            "The outcomes describe awareness rather than ability, the target group is everyone, and free online "
            "courses already cover this.",
        )
        act.vote(
            COUNCIL3, p, REJECT, "One letter from a start-up is not evidence of need; the unsupervised test is weak."
        )
    shown.proposals["blockchain"] = p

    # Withdrawn by the proposer during review.
    with act.days_ago(60):
        p = act.propose(ACADEMIC, Kind.standalone, _quantum())
        act.vote(COUNCIL2, p, APPROVE)
    with act.days_ago(50):
        service.withdraw(
            session,
            p,
            act.actor(ACADEMIC),
            policies,
            "Withdrawn: it will be part of the new quantum technologies track and proposed again with it next year.",
        )
    shown.proposals["quantum"] = p

    # Drafts: one just started (the completeness meter shows what is missing), one nearly ready.
    shown.proposals["citizen-science-draft"] = act.propose(
        ACADEMIC,
        Kind.standalone,
        {
            "title": "Designing Citizen Science Projects",
            "learning_outcomes": [
                "Design a citizen science project with a clear research question",
                "Plan the recruitment, training and retention of volunteers",
            ],
            "eqf_level": 6,
            "participation_form": "online",
            "target_group": "Researchers, NGO staff and teachers who want to involve citizens in research.",
        },
        submit=False,
    )
    shown.proposals["oral-history-draft"] = act.propose(
        HUMANITIES, Kind.unbundled, _oral_history(*unbundled("BA-HIS", "HIS240")), submit=False
    )

    # The review was renewed two months ago, with its report in DEQAR: the drafts and the catalogue's current
    # entries now say so, the published editions keep what they said.
    act.record_external_qa(
        Decision.positive,
        decided=today - timedelta(days=60),
        next_review=today - timedelta(days=60) + timedelta(days=6 * 365),
        deqar_report_id="60412",
        deqar_report_url="https://data.deqar.eu/report/60412",
    )
    _periodic_reviews(act, shown)
    _committee_tools(session, policies, act, shown)
    session.flush()
    return shown


def _periodic_reviews(act: _Acting, shown: Showcase) -> None:
    """Offerings with their figures, and reviews in the states the QA office's dashboard shows: one open with the
    owner's draft self-evaluation, one due soon (an offering has just ended, so its monitoring report is brought
    forward), one overdue (a full review that fell due three weeks ago and was not submitted), one in QA assessment
    with part of its ESG checklist answered."""
    session, policies, today = act.session, act.policies, date.today()

    def credential_of(name: str) -> tuple[int, Actor]:
        credential = session.get_one(Credential, act.proposal(shown.proposals[name]).credential_id)
        owner = load_actor(session, session.get_one(User, credential.owner_id))
        return credential.id or 0, owner

    def run(credential_id: int, owner: Actor, start: int, days: int, figures: tuple[int, int, int] | None) -> None:
        data = offerings.OfferingIn(
            starts_on=today + timedelta(days=start),
            ends_on=today + timedelta(days=start + days),
            capacity=40,
            participation_form="online",
        )
        offering = offerings.add_offering(session, credential_id, owner, data)
        if figures is not None:
            enrolled, completed, passed = figures
            numbers = offerings.FiguresIn(
                enrolled=enrolled, completed=completed, passed=passed, dropped_out=enrolled - completed
            )
            offerings.record_figures(session, offering.id or 0, owner, numbers, today=today)

    cyber, cyber_owner = credential_of("cybersecurity")
    run(cyber, cyber_owner, -300, 70, (38, 31, 29))
    run(cyber, cyber_owner, -150, 70, (40, 29, 27))
    run(cyber, cyber_owner, 75, 70, None)
    opened = reviews.qa_opens(
        session,
        cyber,
        act.actor(QA),
        policies,
        reviews.ReviewOpenIn(
            kind="monitoring",
            reason="Two intakes have run: annual monitoring of completion before the third.",
            due_on=today + timedelta(days=21),
        ),
        today=today,
    )
    draft = reviews.SelfEvaluationIn(
        narrative="Both intakes filled; completion dropped in the second, larger group (lab sessions clashed with "
        "shift work).",
        need_evidence="The regional SME association confirmed again that members need staff with these skills.",
        need_checked_on=today - timedelta(days=3),
    )
    reviews.save_self_evaluation(session, opened.id or 0, cyber_owner, draft)

    climate, climate_owner = credential_of("climate-risk")
    run(climate, climate_owner, -80, 70, (22, 19, 18))
    reviews.bring_forward(session, climate, today + timedelta(days=50), policies)

    life_cycle, _ = credential_of("life-cycle")
    overdue = reviews.schedule(session, life_cycle, "full", today - timedelta(days=21), policies)
    assert overdue is not None
    reviews.open_review(session, overdue.id or 0, None, policies, comment="Full review due; not submitted yet.")

    # In QA assessment: the QA officer has answered part of the review's ESG checklist; the mandatory items left
    # stop the outcome until they are answered.
    humanities, historian = credential_of("digital-humanities")
    run(humanities, historian, -140, 90, (26, 22, 21))
    assessed = reviews.qa_opens(
        session,
        humanities,
        act.actor(QA),
        policies,
        reviews.ReviewOpenIn(
            kind="monitoring", reason="The first intake has ended.", due_on=today + timedelta(days=10)
        ),
        today=today,
    )
    evaluation = reviews.SelfEvaluationIn(
        narrative="The archive partners' sessions worked well; two learners lacked library access at first.",
        need_evidence="The regional archives still ask for staff who can work with digitised sources.",
        need_checked_on=today - timedelta(days=5),
        action_plan="Library access is now arranged at enrolment.",
    )
    reviews.submit(session, assessed.id or 0, historian, policies, evaluation)
    reviews.start_assessment(session, assessed.id or 0, act.actor(QA), policies)
    listed = reviews.review_checklist(session, assessed, act.actor(QA), policies)
    for view in [v for v in listed.items if v.auto][:3]:
        given = checklists.Answer(status=view.suggested, comment="" if view.suggested == "met" else "As checked.")
        checklists.answer(
            session, assessed.id or 0, view.key, act.actor(QA), policies, given, subject_type=checklists.REVIEW
        )
    survey = checklists.Answer(
        status=AnswerStatus.partly_met.value,
        comment="A survey ran after the first intake, with a low response rate (9 of 26).",
        evidence_links=["https://example.org/surveys/digital-humanities-2026"],
    )
    checklists.answer(
        session, assessed.id or 0, "learner-survey", act.actor(QA), policies, survey, subject_type=checklists.REVIEW
    )


def _committee_tools(session: Session, policies: Policies, act: _Acting, shown: Showcase) -> None:
    """A council member on leave with a substitute, a watched proposal, and the council's next agenda (draft)."""
    today = date.today()
    delegation.name_substitute(
        session,
        act.actor(COUNCIL3),
        member_id=act.actor(COUNCIL3).id,
        substitute_id=act.actor(LLL2).id,
        starts_on=today,
        ends_on=today + timedelta(days=14),
        reason="Research leave",
    )
    watching.watch(session, shown.proposals["battery"], act.actor(QA))
    council = session.exec(select(Committee).where(Committee.name == "Science Faculty Council")).one()
    agenda = agendas.create(
        session, act.actor(COUNCIL1), policies, committee_id=council.id or 0, meets_on=today + timedelta(days=7)
    )
    assert agenda.id is not None
    first = agendas.view(session, agenda.id, act.actor(COUNCIL1)).items[0]
    agendas.annotate(
        session,
        agenda.id,
        first.item.id or 0,
        act.actor(COUNCIL1),
        "The proposer joins for this item.",
        revision=agenda.revision,
    )
