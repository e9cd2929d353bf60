"""`scalpcheck serve`, `scalpcheck db upgrade` and `scalpcheck demo`: the web app from the command line.

`serve` and `demo` run Werkzeug's development server; production runs gunicorn
("scalpcheck.web:create_app()") after `scalpcheck db upgrade`.
"""

from __future__ import annotations

import argparse
import socket

from scalpcheck.cli import add_command
from scalpcheck.errors import UsageError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(subparsers) -> None:
    serve = add_command(subparsers, "serve", run_serve, help="run the web app (development server)")
    _add_address_arguments(serve)

    database = subparsers.add_parser("db", help="database maintenance")
    actions = database.add_subparsers(dest="db_action", metavar="ACTION", parser_class=type(database))
    actions.required = True
    add_command(
        actions,
        "upgrade",
        run_db_upgrade,
        help="apply the database migrations (before starting production workers)",
    )

    demo = add_command(
        subparsers, "demo", run_demo, help="build the demo data and models when missing, then serve"
    )
    _add_address_arguments(demo)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, got {port}")
    return port


def _add_address_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=5000, help="port to listen on (default: 5000)")


def run_serve(args: argparse.Namespace) -> int:
    _check_address(args.host, args.port)
    app = _migrated_app(args.host)
    _print_models(app)
    _serve(app, args.host, args.port)
    return 0


def run_db_upgrade(args: argparse.Namespace) -> int:
    from scalpcheck.web import create_app

    app = create_app()
    _upgrade(app)
    print(f"database {_database_name(app)} is at the newest schema")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from scalpcheck.learn.demo import ensure_demo
    from scalpcheck.settings import load_settings

    _check_address(args.host, args.port)  # before the demo build, which can take minutes on a first run
    ensure_demo(load_settings())
    app = _migrated_app(args.host)
    _print_models(app)
    _serve(app, args.host, args.port)
    return 0


def _migrated_app(host: str):
    from scalpcheck.web import create_app

    # Browsers drop Secure cookies over plain http: only the loopback development server may go without.
    app = create_app({"SESSION_COOKIE_SECURE": host not in LOOPBACK_HOSTS})
    _upgrade(app)
    return app


def _upgrade(app) -> None:
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from scalpcheck.web.database import upgrade

    try:
        upgrade(app)
    except (SQLAlchemyError, CommandError) as exc:
        message = str(exc).splitlines()[0]
        raise UsageError(f"cannot migrate the database {_database_name(app)}: {message}") from exc


def _database_name(app) -> str:
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)


def _print_models(app) -> None:
    from scalpcheck.web.extensions import app_state

    models = app_state(app).assessor.models
    if not models:
        print("no model is installed: every assessment is unavailable until one is trained and published")
    for name, model in sorted(models.items()):
        card = model.card
        phantom = " - trained on synthetic phantoms, not real photos" if card.synthetic_data else ""
        print(f"{name}: model {card.model_version} ({card.backbone.name}){phantom}")


def _check_address(host: str, port: int) -> None:
    """Fail with one line when the address cannot be bound (Werkzeug would print a paragraph and exit 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _serve(app, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"scalpcheck is running on http://{shown_host}:{port}/ (development server; Ctrl+C stops it)")
    if host not in LOOPBACK_HOSTS:
        print("session cookies are Secure: put the app behind HTTPS, or logins will not stick")
    server.serve_forever()
