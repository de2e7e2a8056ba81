"""Command-line tool: ``python -m app.cli <command>`` (also installed as ``mcqa``).

Commands: migrate, demo, create-admin, import-users, import-programmes, sweep.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlmodel import Session

from app import imports, listeners
from app.db import make_engine
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, database_is_empty, load_demo
from app.demo_showcase import load_showcase
from app.errors import DomainError
from app.jobs import scheduled_jobs
from app.policies import load_policies
from app.scheduler import sweep
from app.settings import ROOT, get_settings
from app.users import service as users
from app.users.models import Role, UserCreate


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["url"] = url or get_settings().database_url
    return cfg


def cmd_migrate(_args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.is_sqlite:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), "head")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo organisation and accounts, then the showcase of proposals at every stage, in one transaction."""
    settings = get_settings()
    policies = load_policies(settings.policy_dir)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            if not database_is_empty(session):
                if args.if_empty:
                    print("Database already has accounts; demo data not loaded.")
                    return 0
                print("Refusing to load demo data into a database that already has accounts.", file=sys.stderr)
                return 1
            load_demo(session, policies)
            showcase = load_showcase(session, policies)
            session.commit()
    finally:
        engine.dispose()
    print(f"Demo data loaded, with {len(showcase.proposals)} micro-credential proposals at every stage.")
    print(f"Log in with any of these accounts, password '{DEMO_PASSWORD}':")
    for email, name, roles, _ in DEMO_ACCOUNTS:
        print(f"  {email:<26} {name} ({', '.join(r.value for r in roles) or 'committee member'})")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password for the new administrator: ")
    engine = make_engine(get_settings().database_url)
    with Session(engine) as session:
        try:
            data = UserCreate(email=args.email, name=args.name, password=password, roles=[Role.admin])
            user = users.create_user(session, data, by=None)
        except (DomainError, ValueError) as exc:
            print(f"Not created: {exc}", file=sys.stderr)
            return 1
        session.commit()
        print(f"Administrator {user.email} created (id {user.id}).")
    return 0


def _run_import(args: argparse.Namespace, run: imports.Importer) -> int:
    """Exit 0 when every row was imported, 1 when some were rejected (the good ones are kept), 2 when the file
    could not be used at all (nothing imported)."""
    path = Path(args.file)
    try:
        # utf-8-sig: spreadsheet programs often start a UTF-8 CSV file with a byte-order mark.
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    engine = make_engine(get_settings().database_url)
    try:
        with stream, Session(engine, expire_on_commit=False) as session:
            report = run(session, stream, dry_run=args.dry_run)
            if report.exit_code != 2 and not args.dry_run:
                session.commit()
    finally:
        engine.dispose()
    for line in report.lines():
        print(line, file=sys.stderr if report.fatal else sys.stdout)
    return report.exit_code


def cmd_import_users(args: argparse.Namespace) -> int:
    return _run_import(args, imports.import_users)


def cmd_import_programmes(args: argparse.Namespace) -> int:
    return _run_import(args, imports.import_programmes)


def _moment(value: str) -> datetime:
    """An ISO 8601 date and time; without a zone it is read as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date and time (such as 2027-03-01T09:00): {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_sweep(args: argparse.Namespace) -> int:
    settings = get_settings()
    jobs = scheduled_jobs(settings, load_policies(settings.policy_dir))
    engine = make_engine(settings.database_url)
    try:
        done = sweep(engine, jobs, now=args.now)
    finally:
        engine.dispose()
    if done is None:
        print("Another process is sweeping right now; nothing done. Try again in a moment.", file=sys.stderr)
        return 1
    for job in jobs:
        print(f"{job.name}: {done[job.name]}" if job.name in done else f"{job.name}: failed (see the log)")
    return 0 if len(done) == len(jobs) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcqa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    demo = sub.add_parser("demo", help="load demo data")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the database already has accounts")
    demo.set_defaults(func=cmd_demo)
    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--password", help="prompted for when omitted")
    admin.set_defaults(func=cmd_create_admin)
    sweep_parser = sub.add_parser(
        "sweep",
        help="run every scheduled job once and print the rows each handled",
        description="Run the scheduler's sweep once, as every app process does periodically. --now runs it at a "
        "simulated moment (due reminders, retries and digests are judged against it).",
    )
    sweep_parser.add_argument(
        "--now", type=_moment, default=None, metavar="2027-03-01T09:00", help="UTC unless a zone is given"
    )
    sweep_parser.set_defaults(func=cmd_sweep)
    for name, func, what, columns in [
        ("import-users", cmd_import_users, "accounts", imports.USER_COLUMNS),
        (
            "import-programmes",
            cmd_import_programmes,
            "programmes and their modules",
            imports.PROGRAMME_COLUMNS,
        ),
    ]:
        sub_parser = sub.add_parser(
            name,
            help=f"create {what} from a CSV file",
            description=f"Create {what} from a UTF-8 CSV file with the columns {','.join(columns)}. "
            "Rows that cannot be imported are reported by line; the others are imported. "
            "Exit status: 0 all imported, 1 some rows rejected, 2 file unusable.",
        )
        sub_parser.add_argument("file", metavar="FILE.csv")
        sub_parser.add_argument("--dry-run", action="store_true", help="check and report, but save nothing")
        sub_parser.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    listeners.install(get_settings())  # the demo loader and a sweep notify people as the app does
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
