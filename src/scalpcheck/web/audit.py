"""The audit log: who did what with a user's data and account, when, from where, through which door.

Reading and changing health data is recorded for every route in `ROUTES`, after the view answered with
success (one place, so a route cannot forget it; a test checks that every route of a user's data is
listed). Account events (logins, failed logins, password and address changes, tokens) are recorded where
they happen, with `record`. The app only ever adds entries; they go with the account, and the deletion
itself is kept as a count of what went, with no user, name or address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, Response, g, has_request_context, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from scalpcheck.i18n import N_, Text, text
from scalpcheck.tasks import TASKS
from scalpcheck.web.extensions import db
from scalpcheck.web.models import AuditEntry, User

log = logging.getLogger(__name__)

# What each action is called on the page that lists them.
ACTIONS = {
    "login": N_("Logged in"),
    "login_failed": N_("Failed login (wrong password)"),
    "logout": N_("Logged out"),
    "register": N_("Account created"),
    "password_reset": N_("Password changed with a reset link"),
    "password_changed": N_("Password changed"),
    "password_set_by_admin": N_("Password set by an administrator"),
    "email_confirmed": N_("Recovery address confirmed"),
    "reset_requested": N_("Password reset link sent"),
    "second_step_failed": N_("Failed login (wrong code at the second step)"),
    "two_factor_on": N_("Two-factor sign-in turned on"),
    "two_factor_off": N_("Two-factor sign-in turned off"),
    "token_created": N_("API token created"),
    "token_revoked": N_("API token revoked"),
    "create": N_("Photo assessed"),
    "view": N_("Viewed"),
    "download": N_("Downloaded"),
    "report": N_("Report made"),
    "delete": N_("Deleted"),
    "account_deleted": N_("Account deleted"),
}


CHANNELS = {"web": N_("the web"), "api": N_("the API"), "cli": N_("the command line")}

# The kinds of thing an entry names, for its page (the API gives `target` as stored).
THINGS = {
    "assessment": N_("assessment %(id)s"),
    "assessments": N_("the list of assessments"),
    "photo": N_("photo of assessment %(id)s"),
    "heat map": N_("heat map of assessment %(id)s"),
    "visit": N_("visit %(id)s"),
    "visits": N_("the list of visits"),
    "history": N_("the history"),
    "comparison": N_("a comparison"),
    "report": N_("the report of %(id)s"),
    "audit log": N_("this log"),
    "export": N_("a copy of all your data"),
}


def target_text(target: str | None) -> Text | str:
    """An entry's target in words: "assessment 12" reads "assessment 12" in the reader's language."""
    if not target:
        return ""
    for thing, template in THINGS.items():
        if target == thing or target.startswith(thing + " "):
            name = target[len(thing) :].strip()
            task = TASKS.get(name) if thing == "report" else None  # a built-in task has a marked title
            return text(template, id=task.title if task else name)
    return target


@dataclass(frozen=True)
class Line:
    """An entry as its page shows it: each text marked for the reader's language."""

    when: datetime
    action: str
    target: Text | str
    channel: str
    address: str

    @classmethod
    def of(cls, entry: AuditEntry) -> Line:
        return cls(
            when=entry.created_at,
            action=ACTIONS.get(entry.action, entry.action),
            target=target_text(entry.target),
            channel=CHANNELS.get(entry.channel, entry.channel),
            address=entry.address,
        )


@dataclass(frozen=True)
class Audited:
    """A route's entry: its action, and the kind of thing with the view argument that names it."""

    action: str
    what: str
    argument: str | None = None


# Thumbnails are left out: the page that shows them (history, a visit) is recorded, and twenty entries a
# page would bury what a reader of the log looks for.
UNRECORDED = {"assess.thumbnail"}
ROUTES = {
    "assess.upload": Audited("create", "assessment"),
    "assess.result": Audited("view", "assessment", "assessment_id"),
    "assess.image": Audited("download", "photo", "assessment_id"),
    "assess.heatmap": Audited("download", "heat map", "assessment_id"),
    "assess.delete": Audited("delete", "assessment", "assessment_id"),
    "visits.new": Audited("create", "visit"),
    "visits.show": Audited("view", "visit", "visit_id"),
    "visits.delete": Audited("delete", "visit", "visit_id"),
    "history.index": Audited("view", "history"),
    "history.compare": Audited("view", "comparison"),
    "history.report": Audited("report", "report", "task"),
    "api.create": Audited("create", "assessment"),
    "api.list_assessments": Audited("view", "assessments"),
    "api.get_assessment": Audited("view", "assessment", "assessment_id"),
    "api.delete": Audited("delete", "assessment", "assessment_id"),
    "api.image": Audited("download", "photo", "assessment_id"),
    "api.heatmap": Audited("download", "heat map", "assessment_id"),
    "api.create_visit_": Audited("create", "visit"),
    "api.list_visits": Audited("view", "visits"),
    "api.get_visit": Audited("view", "visit", "visit_id"),
    "api.delete_visit_": Audited("delete", "visit", "visit_id"),
    "api.report": Audited("report", "report", "task"),
    "account.audit_log": Audited("view", "audit log"),
    "api.audit_log": Audited("view", "audit log"),
    "account.export_zip": Audited("download", "export"),
    "api.export": Audited("download", "export"),
}


def record(action: str, user: User | int, target: str | None = None) -> None:
    """Add an entry for `user` (committed). A database that cannot take it is logged, never a failed page.

    Outside a request (the command line) the door is "cli" and there is no address.
    """
    user_id = user if isinstance(user, int) else user.id
    if has_request_context():
        channel, address = ("api" if request.blueprint == "api" else "web"), (request.remote_addr or "")[:64]
    else:
        channel, address = "cli", ""
    db.session.add(
        AuditEntry(user_id=user_id, action=action, target=target, channel=channel, address=address)
    )
    try:
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("audit entry %r for user %s not recorded: %s", action, user_id, exc)


def record_deletion(counts: str) -> None:
    """The one trace a deleted account leaves: what went, as counts, with no user or address."""
    db.session.add(AuditEntry(user_id=None, action="account_deleted", target=counts, channel="", address=""))
    db.session.commit()


def init_app(app: Flask) -> None:
    @app.after_request
    def audit_route(response: Response) -> Response:
        audited = ROUTES.get(request.endpoint or "")
        if audited is None or response.status_code >= 400 or request.method == "HEAD":
            return response
        if request.method == "GET" and audited.action in ("create", "delete"):
            return response  # the form, not the change
        user = g.get("api_user") if request.blueprint == "api" else current_user
        if user is None or not user.is_authenticated:
            return response
        if audited.action == "create":  # the new thing's address, from the answer's Location
            value = response.location.rstrip("/").rsplit("/", 1)[-1] if response.location else None
        else:
            value = (request.view_args or {}).get(audited.argument) if audited.argument else None
        record(audited.action, user, audited.what if value is None else f"{audited.what} {value}")
        return response
