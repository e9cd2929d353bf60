"""Register, log in, log out, and get back into an account by e-mail (scalpcheck.web.recovery).

Logging in starts a new session: whatever the browser carried before is cleared, so a session planted by
someone else (session fixation) never becomes a logged-in one. Logging out ends every session of the user,
copies of the cookie included (User.session_epoch). Flask-Login's "strong" protection drops the session if
it turns up from another address or browser.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from scalpcheck.i18n import N_
from scalpcheck.web import audit, recovery, twofactor
from scalpcheck.web.auth import bp
from scalpcheck.web.auth.forms import ForgotForm, LoginForm, RegisterForm, ResetForm, TwoFactorForm
from scalpcheck.web.auth.passwords import check_password, hash_password
from scalpcheck.web.extensions import db, limiter
from scalpcheck.web.models import SESSION_EPOCH, User
from scalpcheck.web.request import filled_in
from scalpcheck.web.security import forget_cached_pages

WRONG_CREDENTIALS = N_("Wrong username or password.")
WRONG_CODE = N_("That code is not right, or it was used already.")
PENDING = "second_step"  # the session key of a login waiting for its second step
SECOND_STEP_S = 300  # how long the password's success waits for the code


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
        user = User(username=form.username.data, password_hash=hash_password(form.password.data))
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:  # the same name registered a moment ago by someone else
            db.session.rollback()
            form.username.errors.append("That username is taken. Please choose another.")
        else:
            audit.record("register", user)
            flash(gettext("Your account is ready. Please log in."), "success")
            return redirect(url_for("auth.login"), 303)
    return filled_in("auth/register.html", form)


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
            if user.totp_secret:  # the password alone logs nobody in: the second step does
                session[PENDING] = {"user": user.id, "epoch": user.session_epoch, "at": time.time()}
                return redirect(url_for("auth.second_step", next=next_page), 303)
            return _logged_in(user, next_page)
        if user is not None:
            audit.record("login_failed", user)
        status, error = 401, WRONG_CREDENTIALS
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, next_page=next_page, error=error), status


@bp.route("/2fa", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def second_step():
    """The login's second step: a code of the user's authenticator app, or one of their recovery codes."""
    next_page = safe_next(request.args.get("next"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(gettext("Please log in again."), "info")
        return redirect(url_for("auth.login", next=next_page), 303)
    form = TwoFactorForm()
    status, error = 200, None
    if form.validate_on_submit():
        if twofactor.check_second_factor(user, form.code.data):
            return _logged_in(user, next_page)
        audit.record("second_step_failed", user)
        status, error = 401, WRONG_CODE
    elif form.is_submitted():
        status = 422
    return render_template("auth/two_factor.html", form=form, next_page=next_page, error=error), status


def _pending_user() -> User | None:
    """The user whose password was right a moment ago in this session, unless they logged out since."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > SECOND_STEP_S:
        return None
    user = db.session.get(User, pending.get("user"))
    if user is None or user.session_epoch != pending.get("epoch") or not user.totp_secret:
        return None
    return user


def _logged_in(user: User, next_page: str | None):
    session.clear()  # a new session: nothing planted before the login carries over
    login_user(user)
    session[SESSION_EPOCH] = user.session_epoch
    audit.record("login", user)
    return redirect(next_page or url_for("main.home"), 303)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Every session of this user ends, copies of this browser's cookie included (see User.session_epoch).
    db.session.execute(
        update(User).where(User.id == current_user.id).values(session_epoch=User.session_epoch + 1)
    )
    db.session.commit()
    audit.record("logout", current_user.id)
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return forget_cached_pages(redirect(url_for("auth.login"), 303))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_FORGOT"], methods=["POST"])
def forgot():
    if not recovery.mail_enabled():
        return render_template("auth/forgot.html", form=None)
    form = ForgotForm()
    if form.validate_on_submit():
        recovery.send_reset(form.email.data)
        # The same words whether or not the address has an account: the page reveals no addresses.
        flash(gettext("If that address belongs to an account, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"), 303)
    return filled_in("auth/forgot.html", form, minutes=recovery.reset_minutes())


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def reset(token: str):
    link = recovery.open_link(token, recovery.RESET)
    if link is None:
        return render_template("auth/bad_link.html", again=url_for("auth.forgot")), 404
    form = ResetForm()
    if form.validate_on_submit():
        user_id = link.user_id
        recovery.set_password(link.user, form.password.data)
        audit.record("password_reset", user_id)
        logout_user()
        session.clear()
        flash(gettext("Your password is changed and every session is ended. Please log in."), "success")
        return forget_cached_pages(redirect(url_for("auth.login"), 303))
    return filled_in("auth/reset.html", form)
