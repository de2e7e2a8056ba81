"""The public catalogue (ESG 1.8): published micro-credentials, searchable, with every standard element, the
history of editions and what changed since the last one.

Only credentials with a published edition (``current_version_no > 0``) appear. Search and filters run on the
mirror columns of ``credential`` (kept by ``service.publish``); the page of results is one query joined with the
faculty name plus one count, whatever the page size. An entry is two queries for the credential and its editions
and at most two for programme and module names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, bindparam, exists, func, literal_column, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

import app.catalogue.cache  # noqa: F401  (raises the catalogue stamp when a publication is flushed)
from app.catalogue.models import Credential, CredentialVersion
from app.db import utcnow
from app.errors import NotFound
from app.external_qa import statement as external_qa
from app.org.models import OrgUnit
from app.proposals import elements as el
from app.proposals.diff import FieldDiff, diff_contents
from app.proposals.display import Lookups, display_list, display_value, is_list_field, load_lookups
from app.proposals.elements import AssessmentType, Kind, Participation, Stackability, Supervision, changed_fields
from app.proposals.models import Proposal
from app.reviews.models import CredentialStanding
from app.workflows.reviews import StandingStatus

# What the catalogue publishes: the EU standard elements, plus what a learner needs to decide and enrol.
EXTRA_PUBLIC_FIELDS = frozenset(
    {
        "lo_assessment",
        "participation_description",
        "target_group",
        "languages",
        "planned_start",
        "planned_end",
        "capacity",
        "fee_eur",
    }
)
# Only meaningful for a module taken out of a degree programme.
UNBUNDLED_FIELDS = frozenset({"parent_programme_id", "parent_module_id"})
PUBLIC_FIELDS: list[el.FieldSpec] = [
    f for f in el.FIELDS if f.eu_element or f.name in EXTRA_PUBLIC_FIELDS or f.name in UNBUNDLED_FIELDS
]
PUBLIC_FIELD_NAMES = frozenset(f.name for f in PUBLIC_FIELDS)
CHANGE_TYPE_LABELS = {"new": "New", "major": "Major change", "minor": "Minor change"}


def _date_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


# --- search --------------------------------------------------------------------------------------


class CatalogueFilters(BaseModel):
    """Search and filters, as query parameters of the page and of the API. Empty values mean 'any'."""

    model_config = ConfigDict(str_strip_whitespace=True)

    q: str = Field(
        default="",
        max_length=100,
        description="Words, or the start of words, to find in the title, outcomes, target group or descriptions",
    )
    faculty: int | None = Field(default=None, description="Owning faculty (org unit id)")
    ects_min: float | None = Field(default=None, ge=0, le=60, description="At least this many ECTS")
    ects_max: float | None = Field(default=None, ge=0, le=60, description="At most this many ECTS")
    eqf_level: int | None = Field(default=None, ge=1, le=8, description="EQF level")
    participation_form: Participation | None = Field(default=None, description="Form of participation")
    kind: Kind | None = Field(default=None, description="Standalone or unbundled from a degree programme")

    @field_validator("q")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # Refused like NUL anywhere else (app.db), though the search itself would only drop it as punctuation.
        if "\x00" in value:
            raise ValueError("Text may not contain NUL characters (\\0).")
        return value

    @field_validator("faculty", "ects_min", "ects_max", "eqf_level", "participation_form", "kind", mode="before")
    @classmethod
    def _empty_is_any(cls, value: Any) -> Any:
        # A plain GET form sends every field, the unused ones as "".
        return None if isinstance(value, str) and not value.strip() else value

    def query_string(self) -> str:
        """The filters in use, as a query string for links that keep them (the pager)."""
        used = {k: (v.value if hasattr(v, "value") else v) for k, v in self.model_dump().items() if v not in (None, "")}
        return urlencode(used)

    @property
    def is_filtered(self) -> bool:
        return bool(self.query_string())


class CatalogueSummary(BaseModel):
    """One search result: what a reader compares before opening the entry."""

    id: int
    title: str
    faculty: str
    ects: float | None
    eqf_level: int | None
    participation_form: Participation | None
    kind: Kind
    version_no: int
    published_at: datetime | None

    @property
    def ects_text(self) -> str:
        return display_value("ects", self.ects, Lookups())

    @property
    def participation_text(self) -> str:
        return display_value("participation_form", self.participation_form, Lookups())

    @property
    def kind_text(self) -> str:
        return el.KIND_LABELS[self.kind]

    @property
    def published_on(self) -> str:
        return _date_text(self.published_at)


def _retired() -> ColumnElement[bool]:
    """A retired micro-credential leaves the current list; its entry (history) stays reachable."""
    return exists().where(
        col(CredentialStanding.id) == Credential.id, col(CredentialStanding.status) == StandingStatus.retired.value
    )


# The descriptive elements a search looks in, besides the title and the learning outcomes.
SEARCHED_TEXT_FIELDS = (
    "target_group",
    "assessment_description",
    "participation_description",
    "prerequisites",
    "further_information",
)


def search_text_of(content: dict[str, Any]) -> str:
    """What a catalogue search looks in: the title, the outcomes and the descriptions, lower-cased."""
    parts = [content.get("title") or "", *(content.get("learning_outcomes") or [])]
    parts += [content.get(name) or "" for name in SEARCHED_TEXT_FIELDS]
    return " ".join(str(p) for p in parts if p).lower()


def search_terms(q: str) -> list[str]:
    """The words of a search, lower-cased, without punctuation ("C++, ML" -> ["c", "ml"])."""
    return re.findall(r"\w+", q.lower())


def _text_match(terms: list[str], dialect: str) -> ColumnElement[bool]:
    """Every word as a word or the start of one, through the full-text index: PostgreSQL's GIN index over
    ``to_tsvector('simple', search_text)``, SQLite's FTS5 table ``credential_fts`` (migration 0015)."""
    if dialect == "postgresql":
        query = " & ".join(f"{term}:*" for term in terms)
        vector = func.to_tsvector(literal_column("'simple'"), col(Credential.search_text))
        return vector.bool_op("@@")(func.to_tsquery(literal_column("'simple'"), query))
    match = " AND ".join(f'"{term}"*' for term in terms)
    fts = text("SELECT rowid FROM credential_fts WHERE credential_fts MATCH :match").bindparams(match=match)
    return col(Credential.id).in_(fts)


def _conditions(filters: CatalogueFilters, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [col(Credential.current_version_no) > 0, ~_retired()]
    if terms := search_terms(filters.q):
        where.append(_text_match(terms, dialect))
    if filters.faculty is not None:
        where.append(col(Credential.org_unit_id) == filters.faculty)
    if filters.ects_min is not None:
        where.append(col(Credential.ects) >= filters.ects_min)
    if filters.ects_max is not None:
        where.append(col(Credential.ects) <= filters.ects_max)
    if filters.eqf_level is not None:
        where.append(col(Credential.eqf_level) == filters.eqf_level)
    if filters.participation_form is not None:
        where.append(col(Credential.participation_form) == filters.participation_form.value)
    if filters.kind is not None:
        where.append(col(Credential.kind) == filters.kind.value)
    return where


def search(
    session: Session, filters: CatalogueFilters, *, offset: int = 0, limit: int = 25
) -> tuple[list[CatalogueSummary], int]:
    """A page of published credentials matching the filters, by title, and the number matching.

    A search is one statement (the count rides along as a window over the matches, which are few); the whole
    catalogue is counted apart, from its index, rather than numbering every row before taking a page."""
    where = _conditions(filters, session.get_bind().dialect.name)
    windowed = bool(search_terms(filters.q))
    columns: list[Any] = [
        col(Credential.id),
        col(Credential.title),
        OrgUnit.name,
        col(Credential.ects),
        col(Credential.eqf_level),
        col(Credential.participation_form),
        col(Credential.kind),
        col(Credential.current_version_no),
        col(Credential.published_at),
    ]
    if windowed:
        columns.append(func.count().over().label("total"))
    rows = (
        session.connection()
        .execute(
            sa_select(*columns)
            .join(OrgUnit, col(OrgUnit.id) == Credential.org_unit_id)
            .where(*where)
            .order_by(col(Credential.title), col(Credential.id))
            .offset(offset)
            .limit(limit)
        )
        .all()
    )
    if windowed and rows:
        total = int(rows[0].total)
    else:
        total = session.exec(select(func.count()).select_from(Credential).where(*where)).one()
    items = [
        CatalogueSummary(
            id=row.id,
            title=row.title,
            faculty=row.name,
            ects=row.ects,
            eqf_level=row.eqf_level,
            participation_form=Participation(row.participation_form) if row.participation_form else None,
            kind=Kind(row.kind),
            version_no=row.current_version_no,
            published_at=row.published_at,
        )
        for row in rows
    ]
    return items, total


def faculty_options(session: Session) -> list[tuple[int, str]]:
    return [(uid or 0, name) for uid, name in session.exec(select(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.name))]


# --- one entry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementRow:
    name: str
    label: str
    text: str  # one line, "—" when empty
    items: list[str]  # the same as a list, for list elements
    is_list: bool

    @property
    def ordered(self) -> bool:
        return self.name == "learning_outcomes"


@dataclass(frozen=True)
class EditionInfo:
    version_no: int
    effective_from: datetime
    effective_to: datetime | None
    change_type: str
    changes: list[str]  # public element names, in form order

    @property
    def change_type_label(self) -> str:
        return CHANGE_TYPE_LABELS.get(self.change_type, self.change_type)

    @property
    def changed_labels(self) -> list[str]:
        return [el.LABELS[name] for name in self.changes]

    @property
    def from_text(self) -> str:
        return _date_text(self.effective_from)

    @property
    def to_text(self) -> str:
        return _date_text(self.effective_to)


@dataclass(frozen=True)
class CatalogueEntry:
    credential: Credential
    faculty: str
    shown: CredentialVersion
    previous: CredentialVersion | None
    editions: list[EditionInfo]  # newest first
    lookups: Lookups
    # The external QA record's statement: the current edition shows it (an older edition keeps its own text).
    recorded_qa: str | None = None

    @property
    def id(self) -> int:
        return self.credential.id or 0

    @property
    def upcoming(self) -> EditionInfo | None:
        """An approved edition that takes effect later: the catalogue says "changes from <date>" until then."""
        return next((e for e in self.editions if e.version_no > self.credential.current_version_no), None)

    @property
    def kind(self) -> Kind:
        return Kind(self.credential.kind)

    @property
    def kind_label(self) -> str:
        return el.KIND_LABELS[self.kind]

    @property
    def is_current(self) -> bool:
        return self.shown.version_no == self.credential.current_version_no

    @property
    def title(self) -> str:
        return str(self.shown.content.get("title") or self.credential.title)

    @property
    def content(self) -> dict[str, Any]:
        """The shown edition's elements; the current one with the type of quality assurance as recorded today."""
        if self.is_current and self.recorded_qa is not None:
            return {**self.shown.content, "quality_assurance": self.recorded_qa}
        return self.shown.content

    @property
    def edition(self) -> EditionInfo:
        return next(e for e in self.editions if e.version_no == self.shown.version_no)

    def fields(self) -> list[el.FieldSpec]:
        if self.kind is Kind.unbundled:
            return PUBLIC_FIELDS
        return [f for f in PUBLIC_FIELDS if f.name not in UNBUNDLED_FIELDS]

    def sections(self) -> list[tuple[el.Section, list[ElementRow]]]:
        """The shown edition's public elements, grouped by section in form order."""
        grouped: dict[el.Section, list[ElementRow]] = {}
        content = self.content
        for spec in self.fields():
            value = content.get(spec.name)
            grouped.setdefault(spec.section, []).append(
                ElementRow(
                    name=spec.name,
                    label=spec.label,
                    text=display_value(spec.name, value, self.lookups),
                    items=display_list(spec.name, value, self.lookups),
                    is_list=is_list_field(spec.name),
                )
            )
        return list(grouped.items())

    def diffs(self) -> list[FieldDiff]:
        """Changes of the shown edition against the one before it (public elements only)."""
        if self.previous is None:
            return []
        names = {f.name for f in self.fields()}
        return diff_contents(self.previous.content, self.shown.content, self.lookups, fields=names)

    def public_elements(self) -> PublicElements:
        names = {f.name for f in self.fields()}
        return PublicElements.model_validate({k: v for k, v in self.content.items() if k in names})


def get_entry(session: Session, credential_id: int, version_no: int | None = None) -> CatalogueEntry:
    """A published credential with the edition asked for (the current one by default); 404 otherwise."""
    row = session.exec(
        select(Credential, OrgUnit.name)
        .join(OrgUnit, col(OrgUnit.id) == Credential.org_unit_id)
        .where(col(Credential.id) == credential_id, col(Credential.current_version_no) > 0)
    ).first()
    if row is None:
        raise NotFound(f"There is no published micro-credential {credential_id} in the catalogue.")
    credential, faculty = row
    versions = list(
        session.exec(
            select(CredentialVersion)
            .where(CredentialVersion.credential_id == credential_id)
            .order_by(col(CredentialVersion.version_no).desc())
        )
    )
    wanted = credential.current_version_no if version_no is None else version_no
    shown = next((v for v in versions if v.version_no == wanted), None)
    if shown is None:
        raise NotFound(f"“{credential.title}” has no edition {wanted}.")
    previous = next((v for v in versions if v.version_no < shown.version_no), None)
    editions = [
        EditionInfo(
            version_no=v.version_no,
            effective_from=v.effective_from,
            effective_to=v.effective_to,
            change_type=v.change_type,
            changes=[f.name for f in PUBLIC_FIELDS if f.name in set(v.changes)],
        )
        for v in versions
    ]
    lookups = load_lookups(session, [shown.content, previous.content if previous else None])
    return CatalogueEntry(
        credential=credential,
        faculty=faculty,
        shown=shown,
        previous=previous,
        editions=editions,
        lookups=lookups,
        recorded_qa=external_qa.recorded_statement(session),
    )


# --- API schemas ---------------------------------------------------------------------------------


class PublicElements(BaseModel):
    """The published standard elements of one edition (EU Council Recommendation 2022/C 243/02, Annex I),
    with the target group, languages, dates, capacity and fee. Types as in ``elements.Elements``."""

    title: str | None = None
    awarding_bodies: list[str] = Field(default_factory=list)
    issuer_country: str | None = None
    issuer_region: str | None = None
    learning_outcomes: list[str] = Field(default_factory=list)
    ects: float | None = None
    hours: int | None = None
    eqf_level: int | None = None
    qf_ehea_cycle: Literal["short", "first", "second", "third"] | None = None
    national_level: str | None = None
    assessment_types: list[AssessmentType] = Field(default_factory=list)
    assessment_description: str | None = None
    lo_assessment: dict[str, list[AssessmentType]] = Field(default_factory=dict)
    participation_form: Participation | None = None
    participation_description: str | None = None
    supervision: Supervision | None = None
    quality_assurance: str | None = None
    target_group: str | None = None
    parent_programme_id: int | None = None
    parent_module_id: int | None = None
    prerequisites: str | None = None
    stackability: Stackability | None = None
    stackable_towards: str | None = None
    further_information: str | None = None
    languages: list[str] = Field(default_factory=list)
    planned_start: date | None = None
    planned_end: date | None = None
    capacity: int | None = None
    fee_eur: float | None = None


class EditionPublic(BaseModel):
    version_no: int
    effective_from: datetime
    effective_to: datetime | None
    change_type: str = Field(description="new, major or minor")
    changes: list[str] = Field(description="Names of the published elements that changed in this edition")
    changed_labels: list[str]


class CatalogueEntryPublic(BaseModel):
    id: int
    title: str
    faculty: str
    kind: Kind
    version_no: int = Field(description="The edition shown")
    current_version_no: int
    is_current: bool
    effective_from: datetime
    effective_to: datetime | None
    changes_from: datetime | None = Field(
        default=None, description="When an approved later edition takes effect (until then this one is current)"
    )
    elements: PublicElements
    versions: list[EditionPublic] = Field(description="Every edition, newest first")


def entry_public(entry: CatalogueEntry) -> CatalogueEntryPublic:
    return CatalogueEntryPublic(
        id=entry.id,
        title=entry.title,
        faculty=entry.faculty,
        kind=entry.kind,
        version_no=entry.shown.version_no,
        current_version_no=entry.credential.current_version_no,
        is_current=entry.is_current,
        effective_from=entry.shown.effective_from,
        effective_to=entry.shown.effective_to,
        changes_from=entry.upcoming.effective_from if entry.upcoming else None,
        elements=entry.public_elements(),
        versions=[
            EditionPublic(
                version_no=e.version_no,
                effective_from=e.effective_from,
                effective_to=e.effective_to,
                change_type=e.change_type,
                changes=e.changes,
                changed_labels=e.changed_labels,
            )
            for e in entry.editions
        ],
    )


# --- editions: written by approval (publication), read by drafting (revisions) --------------------


def create_credential(session: Session, *, kind: str, org_unit_id: int, owner_id: int) -> int:
    """The lasting offer a first proposal drafts (unpublished until an edition is recorded); returns its id."""
    credential = Credential(kind=kind, org_unit_id=org_unit_id, owner_id=owner_id)
    session.add(credential)
    session.flush()
    assert credential.id is not None
    return credential.id


def lock_credential(session: Session, credential_id: int) -> Credential | None:
    return session.get(Credential, credential_id, with_for_update=True)


def published_content(session: Session, credential_id: int) -> dict[str, Any] | None:
    row = session.exec(_PUBLISHED, params={"credential_id": credential_id}).first()
    return row.content if row else None


_PUBLISHED = (
    select(CredentialVersion)
    .where(CredentialVersion.credential_id == bindparam("credential_id"), col(CredentialVersion.effective_to).is_(None))
    .order_by(col(CredentialVersion.version_no).desc())
)


def record_edition(session: Session, proposal: Proposal) -> CredentialVersion:
    """The proposal's content becomes the current edition of its micro-credential (the previous one ends now).

    The edition states the type of quality assurance as the external QA record says it at publication (the
    proposal may have been submitted before the record changed), and keeps that text for good.
    """
    credential = session.get(Credential, proposal.credential_id, with_for_update=True)
    assert credential is not None and proposal.id is not None
    now = utcnow()
    recorded_qa = external_qa.recorded_statement(session)
    content = proposal.content if recorded_qa is None else {**proposal.content, "quality_assurance": recorded_qa}
    # A revision with a later effective date is recorded now and takes over on that date (apply_due_editions).
    starts = _start_of(proposal.effective_on) if proposal.effective_on else now
    starts = max(starts, now)
    previous = session.exec(
        select(CredentialVersion).where(
            CredentialVersion.credential_id == credential.id, col(CredentialVersion.effective_to).is_(None)
        )
    ).first()
    if previous is not None:
        previous.effective_to = starts
        session.add(previous)
    version = CredentialVersion(
        credential_id=credential.id or 0,
        version_no=(previous.version_no if previous else credential.current_version_no) + 1,
        proposal_id=proposal.id,
        content=content,
        change_type=proposal.change_type,
        changes=changed_fields(previous.content, content) if previous else [],
        effective_from=starts,
    )
    session.add(version)
    if starts <= now:
        _mirror(session, credential, version)
    return version


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _mirror(session: Session, credential: Credential, version: CredentialVersion) -> None:
    """The credential's catalogue columns follow the edition now in force."""
    elements = el.Elements.model_validate(version.content)
    credential.current_version_no = version.version_no
    credential.title = elements.title or ""
    credential.ects = elements.ects
    credential.eqf_level = elements.eqf_level
    credential.participation_form = elements.participation_form.value if elements.participation_form else None
    credential.search_text = search_text_of(version.content)
    credential.published_at = version.effective_from
    session.add(credential)


def apply_due_editions(session: Session, now: datetime) -> int:
    """Editions whose effective date has come become current (the catalogue's search and filters follow);
    idempotent, so running it twice or in two processes changes nothing the second time. Returns how many."""
    due = session.exec(
        select(Credential, CredentialVersion)
        .join(CredentialVersion, col(CredentialVersion.credential_id) == Credential.id)
        .where(
            col(CredentialVersion.version_no) > Credential.current_version_no,
            col(CredentialVersion.effective_from) <= now,
        )
        .order_by(col(Credential.id), col(CredentialVersion.version_no))
        .with_for_update(skip_locked=True, of=Credential)
    ).all()
    for credential, version in due:
        if version.version_no > credential.current_version_no:
            _mirror(session, credential, version)
    session.flush()
    return len(due)


def upcoming_edition(session: Session, credential: Credential) -> CredentialVersion | None:
    """An approved edition that takes effect later ("changes from <date>"), if any."""
    return session.exec(
        select(CredentialVersion)
        .where(
            CredentialVersion.credential_id == credential.id,
            col(CredentialVersion.version_no) > credential.current_version_no,
        )
        .order_by(col(CredentialVersion.version_no).desc())
    ).first()
