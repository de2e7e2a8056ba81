"""CSV imports (app.imports) on the test database, and the command line end to end on a fresh database."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.cli import main
from app.db import make_engine
from app.imports import import_programmes, import_users
from app.notifications import service as notifications
from app.notifications.models import OutboxMessage, OutboxStatus
from app.org.models import Module, OrgUnit, Programme
from app.security import verify_password
from app.settings import get_settings
from app.users.models import User, UserRole
from tests.conftest import fresh_database_url, migrate
from tests.mailserver import SmtpServer

USERS_HEADER = "email,name,roles,faculty,password\n"
PROGRAMMES_HEADER = (
    "programme_code,programme_name,faculty,eqf_level,programme_ects,module_code,module_name,module_ects\n"
)


def _user(db: Session, email: str) -> User | None:
    return db.exec(select(User).where(User.email == email)).first()


def _roles(db: Session, user: User) -> list[str]:
    return sorted(db.exec(select(UserRole.role).where(UserRole.user_id == user.id)))


def _users_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(User)).one()


def _programme(db: Session, code: str) -> Programme | None:
    return db.exec(select(Programme).where(Programme.code == code)).first()


def _module_codes(db: Session, programme: Programme) -> list[str]:
    return list(db.exec(select(Module.code).where(Module.programme_id == programme.id).order_by(col(Module.code))))


# --- accounts ------------------------------------------------------------------------------------


def test_import_users_creates_accounts_with_roles_faculty_password_and_audit(db: Session) -> None:
    csv_text = USERS_HEADER + (
        "Nora@Example.org,Nora North,academic;qa_officer,sci,long-password\n"
        "omar@example.org,Omar Oak,,,\n"
        "\n"
        'pia@example.org,"Pia, the Admin", admin ,HUM,\n'
    )
    report = import_users(db, io.StringIO(csv_text))
    assert report.rejected == []
    assert report.created == 3
    assert report.counts == {"account": 3}
    assert report.exit_code == 0
    nora = _user(db, "nora@example.org")
    assert nora is not None
    assert _roles(db, nora) == ["academic", "qa_officer"]
    sci = db.exec(select(OrgUnit).where(OrgUnit.code == "SCI")).one()
    assert nora.org_unit_id == sci.id
    assert verify_password(nora.password_hash, "long-password")
    omar = _user(db, "omar@example.org")
    assert omar is not None
    assert omar.password_hash == ""
    assert _roles(db, omar) == []
    assert omar.org_unit_id is None
    pia = _user(db, "pia@example.org")
    assert pia is not None
    assert pia.name == "Pia, the Admin"
    assert _roles(db, pia) == ["admin"]
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == nora.id)).one()
    assert audit.action == "user.created"
    assert audit.actor_id is None


def test_import_users_reports_bad_rows_by_line_and_keeps_good_ones(db: Session) -> None:
    before = _users_count(db)
    csv_text = USERS_HEADER + (
        "good1@example.org,Good One,academic,SCI,\n"  # line 2
        "x,Bad Mail,academic,,\n"  # line 3
        "good2@example.org,Good Two,,,\n"  # line 4
        "eng@example.org,Engineer,academic,ENG,\n"  # line 5
        "admin@example.org,Ada Again,admin,,\n"  # line 6
        "dean@example.org,Dean,dean,,\n"  # line 7
        "short@example.org,Short Password,,,secret\n"  # line 8
        "good1@example.org,Good One Twice,,,\n"  # line 9
        ",No Mail,,,\n"  # line 10
    )
    report = import_users(db, io.StringIO(csv_text))
    assert report.created == 2
    assert [str(issue) for issue in report.rejected] == [
        "line 3: email 'x' is not a valid e-mail address",
        "line 5: unknown faculty 'ENG'",
        "line 6: an account for admin@example.org already exists",
        "line 7: role 'dean' is unknown (use admin, qa_officer, academic, separated by ';')",
        "line 8: password must be at least 8 characters",
        "line 9: an account for good1@example.org already exists",
        "line 10: email is required",
    ]
    assert report.exit_code == 1
    assert _users_count(db) == before + 2
    assert _user(db, "good1@example.org") is not None
    assert _user(db, "good2@example.org") is not None
    assert _user(db, "eng@example.org") is None
    admin = _user(db, "admin@example.org")
    assert admin is not None
    assert admin.name == "Ada Admin"
    lines = report.lines()
    assert lines[0] == "Imported 2 rows (2 accounts)."
    assert "  line 5: unknown faculty 'ENG'" in lines


def test_import_users_dry_run_saves_nothing_but_reports_the_same(db: Session) -> None:
    before = _users_count(db)
    csv_text = USERS_HEADER + "new1@example.org,New One,,,\nnew1@example.org,Again,,,\nqa@example.org,QA,,,\n"
    report = import_users(db, io.StringIO(csv_text), dry_run=True)
    assert report.created == 1
    assert [str(i) for i in report.rejected] == [
        "line 3: an account for new1@example.org already exists",
        "line 4: an account for qa@example.org already exists",
    ]
    assert _users_count(db) == before
    assert _user(db, "new1@example.org") is None
    assert report.lines()[0] == "Would import 1 row (1 account)."
    assert report.lines()[-1] == "Dry run: nothing was saved."
    # The session is fine afterwards: a real run of the same file imports the row.
    assert import_users(db, io.StringIO(csv_text)).created == 1
    assert _user(db, "new1@example.org") is not None


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("email,roles\nx@example.org,admin\n", "missing required column name"),
        ("mail,fullname,roles\n", "missing required columns email, name"),
        ("email,name,roles,phone\n", "unknown column 'phone'"),
        ("email;name;roles\na@b.org;A;admin\n", "is the file separated by commas?"),
        ("email,name,roles,email\n", "column email given twice"),
        ("", "the file is empty"),
    ],
)
def test_import_users_refuses_a_file_with_a_bad_header(db: Session, csv_text: str, expected: str) -> None:
    before = _users_count(db)
    report = import_users(db, io.StringIO(csv_text))
    assert report.fatal is not None
    assert expected in report.fatal
    assert report.exit_code == 2
    assert report.created == 0
    assert _users_count(db) == before


def test_unreadable_line_refuses_the_whole_file(db: Session) -> None:
    before = _users_count(db)
    text = USERS_HEADER + 'ok@example.org,Ok,,,\n"unclosed@example.org,Quote,,,\nlater@example.org,Later,,,\n'
    report = import_users(db, io.StringIO(text))
    assert report.fatal is not None
    assert report.fatal.startswith("line 3 cannot be read as CSV text (unexpected end of data)")
    assert report.exit_code == 2
    assert _users_count(db) == before
    assert _user(db, "ok@example.org") is None


def test_header_is_case_and_space_insensitive_and_optional_columns_may_be_left_out(db: Session) -> None:
    report = import_users(db, io.StringIO("\ufeff Email , NAME,Roles\nzoe@example.org,Zoe,academic\n"))
    assert report.fatal is None
    assert report.created == 1
    zoe = _user(db, "zoe@example.org")
    assert zoe is not None
    assert _roles(db, zoe) == ["academic"]


def test_row_with_too_many_values_is_rejected(db: Session) -> None:
    report = import_users(db, io.StringIO(USERS_HEADER + "a@example.org,A,,,,extra\n,,,,\n"))
    assert [str(i) for i in report.rejected] == ["line 2: 6 values but the header has 5 columns"]
    assert [str(i) for i in report.skipped] == ["line 3: empty row"]
    assert _user(db, "a@example.org") is None


# --- programmes and modules ----------------------------------------------------------------------


def test_import_programmes_creates_programmes_on_first_sight_with_their_modules(db: Session) -> None:
    csv_text = PROGRAMMES_HEADER + (
        "msc-data,MSc Data Science,SCI,7,120,DS501,Statistical Learning,6\n"
        "MSC-DATA,MSc Data Science,SCI,7,120,DS502,Data Engineering,7.5\n"
        "BA-PHIL,BA Philosophy,HUM,6,180,,,\n"
    )
    report = import_programmes(db, io.StringIO(csv_text))
    assert report.rejected == []
    assert report.created == 3
    assert report.counts == {"programme": 2, "module": 2}
    data = _programme(db, "MSC-DATA")
    assert data is not None
    assert (data.name, data.eqf_level, data.ects) == ("MSc Data Science", 7, 120)
    assert _module_codes(db, data) == ["DS501", "DS502"]
    ds502 = db.exec(select(Module).where(Module.programme_id == data.id, Module.code == "DS502")).one()
    assert ds502.ects == 7.5
    phil = _programme(db, "BA-PHIL")
    assert phil is not None
    assert _module_codes(db, phil) == []
    actions = sorted(
        db.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "programme", AuditEvent.entity_id == data.id))
    )
    assert actions == ["programme.created", "programme.module_added", "programme.module_added"]


def test_import_programmes_adds_modules_to_an_existing_programme(db: Session) -> None:
    csv_text = PROGRAMMES_HEADER + (
        "BSC-CS,BSc Computer Science,SCI,6,180,CS410,Distributed Systems,5\nBSC-CS,BSc Computer Science,SCI,6,180,,,\n"
    )
    report = import_programmes(db, io.StringIO(csv_text))
    assert report.created == 1
    assert [str(i) for i in report.skipped] == ["line 3: already imported; nothing new in this row"]
    assert report.exit_code == 0
    bsc = _programme(db, "BSC-CS")
    assert bsc is not None
    assert _module_codes(db, bsc) == ["CS210", "CS320", "CS330", "CS410"]


def test_import_programmes_reports_bad_rows_and_leaves_nothing_half_saved(db: Session) -> None:
    programmes_before = db.exec(select(func.count()).select_from(Programme)).one()
    csv_text = PROGRAMMES_HEADER + (
        "MA-ART,MA Art,HUM,7,120,ART1,Art Theory,5\n"  # line 2: good
        "MA-ART,MA Art,HUM,7,120,ART1,Art Theory Again,5\n"  # line 3: duplicate module
        "MA-ENG,MA Engineering,ENG,7,120,EN1,Statics,5\n"  # line 4: unknown faculty
        "MA-NEW,MA New,HUM,7,120,BAD1,Too Big,90\n"  # line 5: module too big
        "MA-TWO,MA Two,HUM,7,120,X1,One,5\n"  # line 6: good
        "MA-TWO,MA Two,HUM,7,120,X1,Duplicate,5\n"  # line 7: module exists -> nothing half-saved
        "MA-ART,MA Arts,HUM,8,120,ART2,Art History,5\n"  # line 8: details differ
        "MA-LVL,MA Level,HUM,nine,120,,,\n"  # line 9: not a number
        "MA-MOD,MA Module,HUM,7,120,M1,,\n"  # line 10: incomplete module
        "BSC-CS,Another CS,SCI,6,180,,,\n"  # line 11: exists with another name
    )
    report = import_programmes(db, io.StringIO(csv_text))
    assert [str(i) for i in report.rejected] == [
        "line 3: module ART1 in this programme already exists",
        "line 4: unknown faculty 'ENG'",
        "line 5: module_ects is 90 but must be at most 60",
        "line 7: module X1 in this programme already exists",
        "line 8: programme MA-ART already exists with name 'MA Art', EQF level 7; "
        "the programme columns must repeat the same details on every row",
        "line 9: eqf_level 'nine' is not a whole number",
        "line 10: module_code, module_name and module_ects go together: give all three or none",
        "line 11: programme BSC-CS already exists with name 'BSc Computer Science'; "
        "the programme columns must repeat the same details on every row",
    ]
    assert report.created == 2
    assert report.exit_code == 1
    assert db.exec(select(func.count()).select_from(Programme)).one() == programmes_before + 2
    art = _programme(db, "MA-ART")
    assert art is not None
    assert art.name == "MA Art"
    assert _module_codes(db, art) == ["ART1"]
    assert db.exec(select(Module.name).where(Module.programme_id == art.id)).one() == "Art Theory"
    for code in ("MA-ENG", "MA-NEW", "MA-LVL", "MA-MOD"):
        assert _programme(db, code) is None, code


def test_a_failing_module_rolls_back_the_programme_created_by_the_same_row(db: Session) -> None:
    """Both writes of a row share one savepoint: a clash on the module takes the new programme with it."""
    csv_text = PROGRAMMES_HEADER + (
        "MA-ONE,MA One,HUM,7,120,,,\n"
        "MA-ONE,MA One,HUM,7,120,M1,First,5\n"
        "MA-ONE,MA One,HUM,7,120,M1,Clash,5\n"
        "MA-ONE,MA One,HUM,7,120,M2,Second,5\n"
    )
    report = import_programmes(db, io.StringIO(csv_text))
    assert [str(i) for i in report.rejected] == ["line 4: module M1 in this programme already exists"]
    programme = _programme(db, "MA-ONE")
    assert programme is not None
    assert _module_codes(db, programme) == ["M1", "M2"]


def test_import_programmes_dry_run(db: Session) -> None:
    csv_text = PROGRAMMES_HEADER + "MA-DRY,MA Dry,HUM,7,120,D1,Dry Module,5\nMA-DRY,MA Dry,HUM,7,120,D1,Again,5\n"
    report = import_programmes(db, io.StringIO(csv_text), dry_run=True)
    assert report.created == 1
    assert report.counts == {"programme": 1, "module": 1}
    assert [str(i) for i in report.rejected] == ["line 3: module D1 in this programme already exists"]
    assert _programme(db, "MA-DRY") is None


def test_import_programmes_refuses_missing_columns(db: Session) -> None:
    report = import_programmes(db, io.StringIO("programme_code,programme_name,module_code\nX,Y,Z\n"))
    assert report.fatal is not None
    assert "missing required columns faculty, eqf_level, programme_ects" in report.fatal
    assert report.exit_code == 2
    assert _programme(db, "X") is None


# --- the command line, end to end ----------------------------------------------------------------


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated database that ``app.cli`` reaches through MCQA_DATABASE_URL."""
    url, drop = fresh_database_url(tmp_path, "cli")
    migrate(url)
    monkeypatch.setenv("MCQA_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    drop()


def _read(url: str, statement: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(statement).all())
    finally:
        engine.dispose()


def test_cli_create_admin(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create-admin", "--email", "Root@Example.org", "--name", "Root", "--password", "a-long-secret"]) == 0
    assert "Administrator root@example.org created" in capsys.readouterr().out
    users = _read(cli_database, select(User).where(User.email == "root@example.org"))
    assert len(users) == 1
    assert verify_password(users[0].password_hash, "a-long-secret")
    assert _read(cli_database, select(UserRole.role).where(UserRole.user_id == users[0].id)) == ["admin"]

    assert main(["create-admin", "--email", "root@example.org", "--name", "Again", "--password", "a-long-secret"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["create-admin", "--email", "short@example.org", "--name", "Short", "--password", "short"]) == 1
    assert "Not created" in capsys.readouterr().err
    assert len(_read(cli_database, select(User))) == 1


def test_cli_imports_end_to_end(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    capsys.readouterr()

    good = tmp_path / "users.csv"
    # Written with a byte-order mark, as spreadsheet programs do.
    good.write_text(USERS_HEADER + "new@example.org,New Person,academic,SCI,\n", encoding="utf-8-sig")
    assert main(["import-users", "--dry-run", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Would import 1 row (1 account)." in out
    assert _read(cli_database, select(User).where(User.email == "new@example.org")) == []
    assert main(["import-users", str(good)]) == 0
    assert "Imported 1 row (1 account)." in capsys.readouterr().out
    assert len(_read(cli_database, select(User).where(User.email == "new@example.org"))) == 1

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(USERS_HEADER + "second@example.org,Second,,,\nnew@example.org,Twice,,,\n", encoding="utf-8")
    assert main(["import-users", str(mixed)]) == 1
    out = capsys.readouterr().out
    assert "line 3: an account for new@example.org already exists" in out
    assert len(_read(cli_database, select(User).where(User.email == "second@example.org"))) == 1

    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("mail,name\nx@example.org,X\n", encoding="utf-8")
    assert main(["import-users", str(bad_header)]) == 2
    assert "missing required columns email, roles" in capsys.readouterr().err
    assert main(["import-users", str(tmp_path / "missing.csv")]) == 2
    assert "Cannot read" in capsys.readouterr().err

    programmes = tmp_path / "programmes.csv"
    programmes.write_text(
        PROGRAMMES_HEADER + "MA-CLI,MA Command Line,HUM,7,120,CLI1,Shells,5\nMA-CLI,MA Command Line,XYZ,7,120,,,\n",
        encoding="utf-8",
    )
    assert main(["import-programmes", str(programmes)]) == 1
    out = capsys.readouterr().out
    assert "Imported 1 row (1 programme, 1 module)." in out
    assert "line 3: unknown faculty 'XYZ'" in out
    stored = _read(cli_database, select(Programme).where(Programme.code == "MA-CLI"))
    assert len(stored) == 1
    assert _read(cli_database, select(Module.code).where(Module.programme_id == stored[0].id)) == ["CLI1"]


def test_cli_sweep_at_a_simulated_time(
    cli_database: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    capsys.readouterr()
    engine = make_engine(cli_database)
    try:
        with Session(engine) as session:
            admin = session.exec(select(User).where(User.email == "admin@example.org")).one()
            notifications.notify(
                session,
                recipients=[admin.id or 0],
                kind="tests.cli",
                subject="From the command line",
                text="Hello.",
                link="/",
                base_url="https://mcqa.uni.example",
                now=datetime(2027, 3, 1, 8, 0, tzinfo=UTC),
            )
            session.commit()
            # The demo's own events (submissions, decisions) have mails waiting too, written today.
            demo_mails = len(session.exec(select(OutboxMessage.id).where(OutboxMessage.kind != "tests.cli")).all())
    finally:
        engine.dispose()
    assert demo_mails > 0

    # No mail server configured (the demo default): nothing is sent, nothing fails. (The showcase's proposals and
    # conditions are dated from today, so how many approval alerts fall due by then depends on the day.)
    assert main(["sweep", "--now", "2027-03-01T09:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "approvals.report_no_eligible_voter",
        "approvals.remind_and_escalate",
        "approvals.condition_reminders",
        "reviews.offerings_ended",
        "reviews.open_due",
        "reviews.open_triggered",
        "reviews.remind_and_escalate",
        "reviews.action_reminders",
        "catalogue.apply_due_editions",
        "feedback.open_at_offering_end",
        "feedback.close_due",
        "notifications.send_digests",
        "notifications.send_outbox",
    ]
    assert lines[-2:] == ["notifications.send_digests: 0", "notifications.send_outbox: 0"]

    monkeypatch.setenv("MCQA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MCQA_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("MCQA_SMTP_STARTTLS", "false")
    get_settings.cache_clear()
    # Before the message was written, at a simulated time: only the demo's mails are due.
    assert main(["sweep", "--now", "2027-03-01T07:00"]) == 0
    capsys.readouterr()
    # Everything due by then went out (the demo's mails); what waits is due later: the message written for 08:00,
    # and the approval alerts the first sweep wrote at 09:00.
    waiting = _read(
        cli_database,
        select(OutboxMessage.kind, OutboxMessage.next_attempt_at).where(
            OutboxMessage.status == OutboxStatus.pending.value
        ),
    )
    assert "tests.cli" in [kind for kind, _ in waiting]
    assert all(due > datetime(2027, 3, 1, 7, 0, tzinfo=UTC) for _, due in waiting)
    assert len(smtp_server.inbox.messages) >= demo_mails
    assert main(["sweep", "--now", "2027-03-01T10:00+01:00"]) == 0  # 09:00 UTC
    assert capsys.readouterr().out.endswith(f"notifications.send_outbox: {len(waiting)}\n")
    assert "From the command line" in [m["Subject"] for m in smtp_server.inbox.messages]
    sent = _read(cli_database, select(OutboxMessage.sent_at).where(OutboxMessage.kind == "tests.cli"))
    assert sent == [datetime(2027, 3, 1, 9, 0, tzinfo=UTC)]

    with pytest.raises(SystemExit):
        main(["sweep", "--now", "next tuesday"])
    assert "not an ISO date and time" in capsys.readouterr().err
