"""`scalpcheck user reset-password NAME`: an administrator sets a user's password (no mail needed)."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys

from scalpcheck.cli import add_command
from scalpcheck.errors import UsageError


def register(subparsers) -> None:
    user = subparsers.add_parser("user", help="user accounts (administration)")
    actions = user.add_subparsers(dest="user_action", metavar="ACTION", parser_class=type(user))
    actions.required = True
    reset = add_command(
        actions,
        "reset-password",
        run_reset_password,
        help="set a user's password, ending their sessions and API tokens",
        description="The new password is asked for twice on a terminal, else read as one line from stdin.",
    )
    reset.add_argument("name", help="the username")
    reset.add_argument("--generate", action="store_true", help="make a random password and print it")


def run_reset_password(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from scalpcheck.web import create_app
    from scalpcheck.web.audit import record
    from scalpcheck.web.auth.forms import PASSWORD_MAX, PASSWORD_MIN, normalise_username
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import User
    from scalpcheck.web.recovery import set_password

    app = create_app()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == normalise_username(args.name)))
        if user is None:
            raise UsageError(f"no user named {args.name!r}")
        password = secrets.token_urlsafe(12) if args.generate else _read_password()
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise UsageError(f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")
        name, user_id = user.username, user.id
        set_password(user, password)
        record("password_set_by_admin", user_id)
    print(f"the password of {name} is reset; their sessions and API tokens are ended")
    if args.generate:
        print(f"new password: {password}")
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ")
    return first
