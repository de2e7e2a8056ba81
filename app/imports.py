"""Bulk import of accounts and of programmes with their modules from CSV files (see ``mcqa import-users``).

A file is checked as a whole first: a header missing a required column, or naming a column nobody reads,
refuses the file, because every row would be read wrongly. After that each row stands on its own: it is
validated, then written through the same services the pages use (so each write leaves an audit row) inside
its own savepoint. A bad row is reported with its line number and leaves nothing behind; the good rows are
kept. The caller commits. A dry run does all of this inside one more savepoint that is rolled back at the end,
so its report is exactly what a real run would do, duplicates within the file included.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import DomainError
from app.org import service as org
from app.org.models import ModuleCreate, OrgUnit, Programme, ProgrammeCreate
from app.text import in_sentence
from app.users import service as users
from app.users.models import Role, UserCreate

USER_COLUMNS = ("email", "name", "roles", "faculty", "password")
USER_REQUIRED = ("email", "name", "roles")
PROGRAMME_COLUMNS = (
    "programme_code",
    "programme_name",
    "faculty",
    "eqf_level",
    "programme_ects",
    "module_code",
    "module_name",
    "module_ects",
)
PROGRAMME_REQUIRED = PROGRAMME_COLUMNS[:5]


@dataclass(frozen=True)
class RowIssue:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    dry_run: bool = False
    created: int = 0  # rows imported
    # What the imported rows created, e.g. {"programme": 1, "module": 3}.
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[RowIssue] = field(default_factory=list)  # rows with nothing to import; not an error
    rejected: list[RowIssue] = field(default_factory=list)
    fatal: str | None = None  # the file as a whole could not be used; nothing was imported

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def exit_code(self) -> int:
        if self.fatal is not None:
            return 2
        return 1 if self.rejected else 0

    def lines(self) -> list[str]:
        if self.fatal is not None:
            return [f"File refused: {self.fatal}"]
        verb = "Would import" if self.dry_run else "Imported"
        made = ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for what, n in self.counts.items())
        made = made or "nothing new"
        out = [f"{verb} {self.created} row{'s' if self.created != 1 else ''} ({made})."]
        if self.skipped:
            out.append(f"Skipped {len(self.skipped)}:")
            out += [f"  {issue}" for issue in self.skipped]
        if self.rejected:
            out.append(f"Rejected {len(self.rejected)} (fix them and import those rows again):")
            out += [f"  {issue}" for issue in self.rejected]
        if self.dry_run:
            out.append("Dry run: nothing was saved.")
        return out


class Importer(Protocol):
    def __call__(self, session: Session, stream: TextIO, *, dry_run: bool = False) -> ImportReport: ...


class RowRejected(Exception):
    """A row that cannot be imported, with the reason for the report."""


# --- row models ----------------------------------------------------------------------------------


class UserRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = []
    faculty: str | None = Field(default=None, max_length=20)
    password: str | None = Field(default=None, min_length=8, max_length=200)

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(";") if part.strip()]
        return [] if value is None else value


class ProgrammeRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    programme_code: str = Field(min_length=1, max_length=30)
    programme_name: str = Field(min_length=1, max_length=200)
    faculty: str = Field(min_length=1, max_length=20)
    eqf_level: int = Field(ge=1, le=8)
    programme_ects: int = Field(ge=1, le=600)
    module_code: str | None = Field(default=None, max_length=30)
    module_name: str | None = Field(default=None, max_length=200)
    module_ects: float | None = Field(default=None, gt=0, le=60)

    @model_validator(mode="after")
    def _module_complete(self) -> ProgrammeRow:
        given = [self.module_code, self.module_name, self.module_ects]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            raise ValueError("module_code, module_name and module_ects go together: give all three or none")
        return self

    @property
    def has_module(self) -> bool:
        return self.module_code is not None


def _describe(err: ErrorDetails) -> str:
    """One validation error as a sentence naming the column and the value found."""
    column = str(err["loc"][0]) if err["loc"] else ""
    value = err.get("input")
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and not value):
        return f"{column} is required"
    if column == "email":
        return f"email '{value}' is not a valid e-mail address"
    if column == "roles" and kind == "enum":
        return f"role '{value}' is unknown (use {', '.join(r.value for r in Role)}, separated by ';')"
    if kind == "string_too_short":
        return f"{column} must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        shown = "" if column == "password" else f" '{value}'"
        return f"{column}{shown} is longer than {ctx.get('max_length')} characters"
    if kind == "int_parsing":
        return f"{column} '{value}' is not a whole number"
    if kind == "float_parsing":
        return f"{column} '{value}' is not a number"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than"):
        bound = {"greater_than_equal": "at least", "less_than_equal": "at most"}.get(kind, "more than")
        limit = ctx.get("ge", ctx.get("le", ctx.get("gt")))
        limit_text = f"{limit:g}" if isinstance(limit, int | float) else str(limit)
        return f"{column} is {value} but must be {bound} {limit_text}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{column}: {message}" if column else message


def _sentence(message: str) -> str:
    """A service message ("An account for x already exists.") as a report reason."""
    return in_sentence(message.rstrip("."))


# --- reading the file ----------------------------------------------------------------------------


def _rows(
    stream: TextIO, columns: tuple[str, ...], required: tuple[str, ...], report: ImportReport
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yield (line number, row) pairs; set ``report.fatal`` and stop when the file cannot be used."""
    # strict: a stray quote must not silently swallow the rest of the file into one field.
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        report.fatal = "the file is empty; the first line must name the columns: " + ",".join(columns)
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        report.fatal = f"line 1 cannot be read as CSV text ({exc})"
        return
    names = [h.lstrip("\ufeff").strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    unknown = [h for h in names if h not in columns]
    duplicated = sorted({h for h in names if names.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    if duplicated:
        problems.append(f"column{'s' if len(duplicated) > 1 else ''} {', '.join(duplicated)} given twice")
    if problems:
        hint = " (is the file separated by commas?)" if len(names) == 1 and len(columns) > 1 else ""
        report.fatal = "; ".join(problems) + f"{hint}. Expected columns: " + ",".join(columns)
        return
    previous_end = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            report.fatal = f"line {previous_end + 1} cannot be read as CSV text ({exc}); nothing was imported"
            return
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            if record:
                report.skipped.append(RowIssue(line, "empty row"))
            continue
        if len(record) > len(names):
            reason = f"{len(record)} values but the header has {len(names)} columns"
            report.rejected.append(RowIssue(line, reason))
            continue
        values = dict(zip(names, record, strict=False))
        yield line, {k: (v.strip() or None) for k, v in values.items()}


@contextmanager
def _all_or_rows(session: Session, report: ImportReport) -> Iterator[None]:
    """One savepoint around the whole run: released normally, rolled back on a dry run or an unusable file."""
    savepoint = session.begin_nested()
    try:
        yield
    except BaseException:
        savepoint.rollback()
        raise
    if report.dry_run or report.fatal is not None:
        savepoint.rollback()
    else:
        savepoint.commit()


def _import_row(session: Session, report: ImportReport, line: int, write: Callable[[], list[str]]) -> bool:
    """Write one row in its own savepoint; a refusal rolls the savepoint back and is reported."""
    try:
        with session.begin_nested():
            created = write()
    except RowRejected as exc:
        report.rejected.append(RowIssue(line, str(exc)))
    except DomainError as exc:
        report.rejected.append(RowIssue(line, _sentence(exc.message)))
    except ValidationError as exc:
        report.rejected.append(RowIssue(line, "; ".join(_describe(e) for e in exc.errors())))
    except IntegrityError as exc:
        report.rejected.append(RowIssue(line, f"conflicts with data already saved ({exc.orig})"))
    else:
        if created:
            report.created += 1
            for what in created:
                report.count(what)
        else:
            report.skipped.append(RowIssue(line, "already imported; nothing new in this row"))
        return True
    return False


def _validate(model: type[BaseModel], row: dict[str, str | None], report: ImportReport, line: int) -> Any:
    try:
        return model.model_validate({k: v for k, v in row.items() if v is not None})
    except ValidationError as exc:
        report.rejected.append(RowIssue(line, "; ".join(_describe(e) for e in exc.errors())))
        return None


def _faculties(session: Session) -> dict[str, OrgUnit]:
    return {unit.code.upper(): unit for unit in org.list_org_units(session)}


# --- accounts ------------------------------------------------------------------------------------


def import_users(session: Session, stream: TextIO, *, dry_run: bool = False) -> ImportReport:
    """Create one account per row: ``email,name,roles,faculty,password`` (roles separated by ``;``)."""
    report = ImportReport(dry_run=dry_run)
    faculties = _faculties(session)
    with _all_or_rows(session, report):
        for line, raw in _rows(stream, USER_COLUMNS, USER_REQUIRED, report):
            row: UserRow | None = _validate(UserRow, raw, report, line)
            if row is None:
                continue

            def write(row: UserRow = row) -> list[str]:
                unit_id = None
                if row.faculty:
                    unit = faculties.get(row.faculty.upper())
                    if unit is None:
                        raise RowRejected(f"unknown faculty '{row.faculty}'")
                    unit_id = unit.id
                data = UserCreate(
                    email=row.email,
                    name=row.name,
                    roles=row.roles,
                    org_unit_id=unit_id,
                    password=row.password,
                )
                users.create_user(session, data, by=None)
                return ["account"]

            _import_row(session, report, line, write)
    return report


# --- programmes and modules ----------------------------------------------------------------------


def _differences(programme: Programme, row: ProgrammeRow, unit: OrgUnit) -> list[str]:
    found = []
    if programme.name != row.programme_name:
        found.append(f"name '{programme.name}'")
    if programme.org_unit_id != unit.id:
        found.append("another faculty")
    if programme.eqf_level != row.eqf_level:
        found.append(f"EQF level {programme.eqf_level}")
    if programme.ects != row.programme_ects:
        found.append(f"{programme.ects} ECTS")
    return found


def import_programmes(session: Session, stream: TextIO, *, dry_run: bool = False) -> ImportReport:
    """One row per module: ``programme_code,programme_name,faculty,eqf_level,programme_ects,module_code,
    module_name,module_ects``. A programme is created the first time its code is seen; the module columns may
    be empty for a programme without modules. An existing programme is reused when its details match."""
    report = ImportReport(dry_run=dry_run)
    faculties = _faculties(session)
    programmes = {p.code.upper(): p for p in org.list_programmes(session)}
    with _all_or_rows(session, report):
        for line, raw in _rows(stream, PROGRAMME_COLUMNS, PROGRAMME_REQUIRED, report):
            row: ProgrammeRow | None = _validate(ProgrammeRow, raw, report, line)
            if row is None:
                continue

            new: dict[str, Programme] = {}

            def write(row: ProgrammeRow = row, new: dict[str, Programme] = new) -> list[str]:
                created: list[str] = []
                unit = faculties.get(row.faculty.upper())
                if unit is None:
                    raise RowRejected(f"unknown faculty '{row.faculty}'")
                code = row.programme_code.upper()
                programme = programmes.get(code)
                if programme is None:
                    data = ProgrammeCreate(
                        code=code,
                        name=row.programme_name,
                        org_unit_id=unit.id or 0,
                        eqf_level=row.eqf_level,
                        ects=row.programme_ects,
                    )
                    programme = org.create_programme(session, data, by=None)
                    created.append("programme")
                elif differences := _differences(programme, row, unit):
                    raise RowRejected(
                        f"programme {code} already exists with {', '.join(differences)}; "
                        "the programme columns must repeat the same details on every row"
                    )
                if row.has_module:
                    module = ModuleCreate(
                        code=row.module_code or "", name=row.module_name or "", ects=row.module_ects or 0
                    )
                    org.add_module(session, programme, module, by=None)
                    created.append("module")
                if "programme" in created:
                    new[code] = programme
                return created

            if _import_row(session, report, line, write):
                programmes.update(new)  # only once the row's savepoint has been released
    return report
