"""Register, log in, log out.

Logging in starts a new session: whatever the browser carried before is cleared, so a session planted by
someone else (session fixation) never becomes a logged-in one. Logging out ends every session of the user,
copies of the cookie included (User.session_epoch). Flask-Login's "strong" protection drops the session if
it turns up from another address or browser.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from scalpcheck.i18n import N_
from scalpcheck.web.auth import bp
from scalpcheck.web.auth.forms import LoginForm, RegisterForm
from scalpcheck.web.auth.passwords import check_password, hash_password
from scalpcheck.web.extensions import db, limiter
from scalpcheck.web.models import SESSION_EPOCH, User
from scalpcheck.web.security import forget_cached_pages

WRONG_CREDENTIALS = N_("Wrong username or password.")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: `?next=` must never send anyone elsewhere.

    Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil.example" and
    "/\\t/evil.example" would leave the site too.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 0x20 for ch in target):
        return None
    parts = urlsplit(target)
    return target if parts.scheme == "" and parts.netloc == "" else None


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        db.session.add(User(username=form.username.data, password_hash=hash_password(form.password.data)))
        try:
            db.session.commit()
        except IntegrityError:  # the same name registered a moment ago by someone else
            db.session.rollback()
            form.username.errors.append("That username is taken. Please choose another.")
        else:
            flash(gettext("Your account is ready. Please log in."), "success")
            return redirect(url_for("auth.login"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    next_page = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_page or url_for("main.home"))
    form = LoginForm()
    status, error = 200, None
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data))
        if check_password(user, form.password.data):
            session.clear()
            login_user(user)
            session[SESSION_EPOCH] = user.session_epoch
            return redirect(next_page or url_for("main.home"), 303)
        status, error = 401, WRONG_CREDENTIALS
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, next_page=next_page, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Every session of this user ends, copies of this browser's cookie included (see User.session_epoch).
    db.session.execute(
        update(User).where(User.id == current_user.id).values(session_epoch=User.session_epoch + 1)
    )
    db.session.commit()
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return forget_cached_pages(redirect(url_for("auth.login"), 303))
