"""Maintenance commands: python -m console.cli upgrade | demo | api-key NAME."""

from __future__ import annotations

import argparse
import sys

from console.config import BASE_DIR, load_config


def upgrade(url: str) -> None:
    """Run Alembic migrations up to head."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")


def demo(url: str) -> None:
    """Load the demo province, teams, users and agencies, then print the logins."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.demo import DEMO_PASSWORD, USERS, load_demo

    factory = make_sessionmaker(make_engine(url))
    with session_scope(factory) as session:
        added = load_demo(session)
    print(f"demo data: {added}")
    print(f"logins (password for all: {DEMO_PASSWORD}):")
    for username, display, role, prov, _team in USERS:
        scope = prov or "national"
        print(f"  {username:<14} {role.value:<13} {scope:<9} {display}")


def api_key(url: str, name: str) -> str:
    """Register a mobile app for the ESS Help Me API; prints its key once (only a hash is kept)."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from ess import service as ess_service

    with session_scope(make_sessionmaker(make_engine(url))) as session:
        _, key = ess_service.create_api_client(session=session, name=name)
    print(f"API key for {name!r} (shown once, keep it secret): {key}")
    return key


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="console.cli")
    parser.add_argument("command", choices=["upgrade", "demo", "api-key"])
    parser.add_argument("name", nargs="?", help="the app's name (api-key)")
    args = parser.parse_args(argv)
    url = load_config()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    if args.command == "api-key":
        if not args.name:
            parser.error("api-key needs the app's name, e.g. api-key 'ESS Help Me'")
        api_key(url, args.name)
        return 0
    {"upgrade": upgrade, "demo": demo}[args.command](url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
