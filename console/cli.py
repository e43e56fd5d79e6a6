"""Maintenance commands: python -m console.cli upgrade | demo | api-key NAME |
sign-out USERNAME | disable-user USERNAME | enable-user USERNAME | worker [--once]."""

from __future__ import annotations

import argparse
import sys

from console.config import BASE_DIR, load_config


def upgrade(url: str) -> None:
    """Run Alembic migrations up to every head (branches made side by side are both applied
    until a merge revision joins them)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "heads")


def demo(url: str) -> int:
    """Load the demo province, teams, users and agencies, then print the logins (refused on a
    database that has real users)."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.demo import DEMO_PASSWORD, USERS, NotADemoDatabase, load_demo

    factory = make_sessionmaker(make_engine(url))
    try:
        with session_scope(factory) as session:
            added = load_demo(session)
    except NotADemoDatabase as exc:
        print(f"demo refused: {exc}", file=sys.stderr)
        return 1
    print(f"demo data: {added}")
    print(f"logins (password for all: {DEMO_PASSWORD}):")
    for username, display, role, prov, _team in USERS:
        scope = prov or "national"
        print(f"  {username:<14} {role.value:<13} {scope:<9} {display}")
    print("demo users need no second factor; never load them into a real database")
    return 0


def create_admin(url: str, *, username: str | None = None, display_name: str | None = None,
                 password_stdin: bool = False, keep_demo: bool = False) -> int:
    """Create a national administrator, asking for what the flags do not give; a weak password
    is refused with the reason. Returns an exit code."""
    import getpass

    from console import (
        account_service,
        all_models,  # noqa: F401
    )
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.errors import ValidationFailed

    factory = make_sessionmaker(make_engine(url))
    with session_scope(factory) as session:
        demo_users = account_service.demo_users_active(session=session)
    if demo_users and not keep_demo:
        print(f"refused: this database holds {demo_users} demo user(s) with a published "
              "password; give a real server a database of its own (add --keep-demo only to "
              "try this on the demo)", file=sys.stderr)
        return 1
    min_length = load_config()["PASSWORD_MIN_LENGTH"]
    interactive = not password_stdin
    username = (username or (input("Username: ") if interactive else "")).strip()
    if display_name is None and interactive:
        display_name = input(f"Display name [{username}]: ").strip()
    for _attempt in range(3 if interactive else 1):
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            print(f"Password: at least {min_length} characters, not a common password, not "
                  "the username.")
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password again: ") != password:
                print("the two passwords differ; try again", file=sys.stderr)
                continue
        try:
            with session_scope(factory) as session:
                user = account_service.create_admin(
                    session=session, username=username, password=password,
                    display_name=display_name or username, min_length=min_length)
        except ValidationFailed as exc:
            for field, (message, params) in exc.errors.items():
                print(f"refused: {field}: {message % params if params else message}",
                      file=sys.stderr)
            if "username" in exc.errors:
                return 1
            continue
        print(f"national administrator {user.username!r} created; at the first login the "
              "console asks to set up two-step login (an authenticator app)")
        return 0
    return 1


def create_admin_main(argv: list[str]) -> int:
    """`create-admin [--username U] [--display-name N] [--password-stdin] [--keep-demo]`."""
    parser = argparse.ArgumentParser(
        prog="console.cli create-admin",
        description="Create a national administrator (asks for what is not given).")
    parser.add_argument("--username")
    parser.add_argument("--display-name")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    parser.add_argument("--keep-demo", action="store_true",
                        help="allow a database that holds the demo users (trying it out)")
    args = parser.parse_args(argv)
    url = load_config()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    return create_admin(url, username=args.username, display_name=args.display_name,
                        password_stdin=args.password_stdin, keep_demo=args.keep_demo)


def api_key(url: str, name: str) -> str:
    """Register a mobile app for the ESS Help Me API; prints its key once (only a hash is kept)."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from ess import service as ess_service

    with session_scope(make_sessionmaker(make_engine(url))) as session:
        _, key = ess_service.create_api_client(session=session, name=name)
    print(f"API key for {name!r} (shown once, keep it secret): {key}")
    return key


def user_sessions(url: str, username: str, command: str) -> int:
    """End a user's sessions everywhere, or disable / enable the user; returns an exit code."""
    from sqlalchemy import select

    from console import all_models  # noqa: F401
    from console import service as console_service
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.models import User

    with session_scope(make_sessionmaker(make_engine(url))) as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            print(f"no user named {username!r}", file=sys.stderr)
            return 1
        if command == "sign-out":
            ended = console_service.sign_out_everywhere(session=session, user_id=user.id,
                                                        by_id=None)
            print(f"{username}: {ended} session(s) ended; open desks close within seconds")
        else:
            console_service.set_user_active(session=session, user_id=user.id,
                                            active=command == "enable-user", by_id=None)
            print(f"{username}: {'enabled' if command == 'enable-user' else 'disabled'}")
    return 0


def worker(*, once: bool = False) -> int:
    """Run outbound jobs (SMS, LINE, Twilio) in this process, beside or instead of the server
    processes' own workers; a setting that cannot work stops it with a clear message."""
    import logging

    from jobs import worker as jobs_worker
    from jobs.config import JobsConfigError

    logging.basicConfig(level=logging.INFO)
    try:
        from console import create_app

        # NOTE: the app is built for its configuration, providers and task registry only;
        # its own background loops stay off (this process is the worker).
        app = create_app({"TIMERS_ENABLED": False, "RELAY_ENABLED": False,
                          "JOBS_ENABLED": "0"})
    except JobsConfigError as exc:
        print(f"job worker not started: {exc}", file=sys.stderr)
        return 2
    return jobs_worker.main(app, once=once)


def retention(url: str) -> int:
    """Delete or anonymise every kind of personal data past its retention time, now."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, utcnow
    from console.retention import run_retention, settings_from

    totals = run_retention(factory=make_sessionmaker(make_engine(url)), now=utcnow(),
                           settings=settings_from(load_config()))
    print("retention: " + (", ".join(f"{k} {v}" for k, v in totals.items() if v)
                           or "nothing past its time"))
    return 0


def pdpa_main(command: str, argv: list[str]) -> int:
    """`retention`: enforce the retention times now. `export|erase --phone N | --line-id U.. |
    --national-id ID | --person ID [--reason TEXT]`: one person's data as JSON, or erased on
    their request (anonymised; audited; every province)."""
    import json

    from console import (
        all_models,  # noqa: F401
        data_subjects,
    )
    from console.db import make_engine, make_sessionmaker, utcnow
    from console.errors import DomainError, ValidationFailed

    config = load_config()
    if command == "retention":
        return retention(config["DATABASE_URL"])
    parser = argparse.ArgumentParser(prog=f"console.cli {command}")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone")
    who.add_argument("--national-id")
    who.add_argument("--line-id", help="a LINE user id (U + 32 hex digits)")
    who.add_argument("--person", type=int, help="a case person's id")
    parser.add_argument("--reason", help="why (erase: required, e.g. the person's letter)")
    args = parser.parse_args(argv)
    if command == "erase" and not (args.reason or "").strip():
        parser.error("erase needs --reason")
    session = make_sessionmaker(make_engine(config["DATABASE_URL"]))()
    try:
        subject = data_subjects.find(session=session, scope=None, phone=args.phone,
                                     national_id=args.national_id, person_id=args.person,
                                     line_user_id=args.line_id)
        if command == "export":
            from console.access_log import record_read

            record_read(session=session, actor_id=None, what="export", entity="subject",
                        subjects=subject.refs(), detail={"kind": subject.kind, "via": "cli"})
            session.commit()
            print(json.dumps(data_subjects.export(subject, now=utcnow()), ensure_ascii=False,
                             indent=1))
            return 0
        counts = data_subjects.erase(session=session, subject=subject, by_id=None,
                                     reason=args.reason.strip(), secret=config["SECRET_KEY"],
                                     now=utcnow())
        session.commit()
        data_subjects.finish(session, config["ESS_ATTACHMENT_DIR"])
        print("erased: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing"))
        return 0
    except ValidationFailed as exc:
        session.rollback()
        for field, (message, params) in exc.errors.items():
            print(f"refused: {field}: {message % params if params else message}",
                  file=sys.stderr)
        return 1
    except DomainError as exc:
        session.rollback()
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        session.close()


def subsidy_main(command: str, argv: list[str]) -> int:
    """A province's subsidy settings (cases/subsidies.py): `subsidy-levels PROV [LEVELS]` shows
    or sets its approval chain, `subsidy-budget-lines PROV [LINES]` its budget lines (each item
    code or code:ชื่อไทย:English name, comma-separated, in order), `subsidy-approver
    grant|revoke USERNAME PROV LEVEL` who holds a level. Every change is audited."""
    from sqlalchemy import select

    from cases import subsidies
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.errors import DomainError, ValidationFailed
    from console.models import User

    parser = argparse.ArgumentParser(prog=f"console.cli {command}")
    if command == "subsidy-approver":
        parser.add_argument("action", choices=["grant", "revoke"])
        parser.add_argument("username")
    parser.add_argument("province", help="the province's 2-digit code, e.g. 65")
    if command == "subsidy-approver":
        parser.add_argument("level")
    else:
        parser.add_argument("items", nargs="?", help="code[:Thai name:English name],...")
    args = parser.parse_args(argv)

    def items(text: str) -> list[tuple[str, str, str]]:
        out = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            code, th, en = ([*part.split(":", 2), "", ""])[:3]
            out.append((code.strip(), th.strip(), en.strip()))
        return out

    try:
        with session_scope(make_sessionmaker(make_engine(load_config()["DATABASE_URL"]))) \
                as session:
            if command == "subsidy-approver":
                user = session.scalar(select(User).where(User.username == args.username))
                if user is None:
                    print(f"no user named {args.username!r}", file=sys.stderr)
                    return 1
                if args.action == "grant":
                    subsidies.grant_level(session=session, user_id=user.id,
                                          province_code=args.province, level=args.level, by=None)
                elif not subsidies.revoke_level(session=session, user_id=user.id,
                                                province_code=args.province, level=args.level,
                                                by=None):
                    print(f"{args.username} does not hold {args.level} in {args.province}")
                    return 1
                print(f"{args.username}: {args.action} {args.level} in {args.province}")
                return 0
            setter, reader = ((subsidies.set_levels, subsidies.levels_for)
                              if command == "subsidy-levels"
                              else (subsidies.set_budget_lines, subsidies.budget_lines_for))
            if args.items:
                setter(session=session, province_code=args.province, by=None,
                       **{"levels" if command == "subsidy-levels" else "lines":
                          items(args.items)})
            print(f"{args.province}: " + ", ".join(reader(session, args.province)))
            return 0
    except ValidationFailed as exc:
        for field, (message, params) in exc.errors.items():
            print(f"refused: {field}: {message % params if params else message}",
                  file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1


SUBSIDY_COMMANDS = ("subsidy-levels", "subsidy-budget-lines", "subsidy-approver")


# PDPA commands (console/pdpa.py, README "Personal data"), read before the other commands.
PDPA_COMMANDS = ("retention", "export", "erase")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in PDPA_COMMANDS:
        return pdpa_main(argv[0], argv[1:])
    if argv[:1] == ["create-admin"]:
        return create_admin_main(argv[1:])
    if argv[:1] and argv[0] in SUBSIDY_COMMANDS:
        return subsidy_main(argv[0], argv[1:])
    parser = argparse.ArgumentParser(
        prog="console.cli", epilog="also: create-admin [--username U] [--password-stdin] "
        "(a national administrator; see create-admin --help)")
    parser.add_argument("command", choices=["upgrade", "demo", "api-key", "sign-out",
                                            "disable-user", "enable-user", "worker"])
    parser.add_argument("name", nargs="?", help="the app's name (api-key) or a username")
    parser.add_argument("--once", action="store_true",
                        help="worker: run the jobs due now, then stop")
    args = parser.parse_args(argv)
    if args.command == "worker":
        return worker(once=args.once)
    url = load_config()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    if args.command == "api-key":
        if not args.name:
            parser.error("api-key needs the app's name, e.g. api-key 'ESS Help Me'")
        api_key(url, args.name)
        return 0
    if args.command in ("sign-out", "disable-user", "enable-user"):
        if not args.name:
            parser.error(f"{args.command} needs a username")
        return user_sessions(url, args.name, args.command)
    if args.command == "demo":
        return demo(url)
    upgrade(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
