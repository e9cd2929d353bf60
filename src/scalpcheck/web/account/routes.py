"""/account (what the account holds), /account/email (the recovery address), /account/audit (what was done
with it), /account/export (all of it as a zip) and /account/delete."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required, logout_user
from sqlalchemy import func, select

from scalpcheck.web import audit, recovery, twofactor
from scalpcheck.web.account import bp
from scalpcheck.web.account.forms import (
    DeleteAccountForm,
    DisableTwoFactorForm,
    EmailForm,
    EnableTwoFactorForm,
    PasswordForm,
)
from scalpcheck.web.audit import Line
from scalpcheck.web.auth.passwords import check_password
from scalpcheck.web.export import export_response, holdings
from scalpcheck.web.extensions import db, limiter
from scalpcheck.web.models import Assessment, AuditEntry
from scalpcheck.web.request import filled_in
from scalpcheck.web.security import forget_cached_pages
from scalpcheck.web.service import delete_account


@bp.route("")
@login_required
def index():
    return _render(DeleteAccountForm())


@bp.route("/delete", methods=["POST"])
@login_required
def delete():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if check_password(current_user, form.password.data):
            user = current_user._get_current_object()
            logout_user()
            count = delete_account(user)
            session.clear()
            message = ngettext(
                "Your account and its %(num)d assessment with its photos are deleted.",
                "Your account and its %(num)d assessments with their photos are deleted.",
                count,
            )
            flash(message, "success")
            return forget_cached_pages(redirect(url_for("auth.register"), 303))
        form.password.errors.append(gettext("That is not your password."))
    return _render(form, status=422)


AUDIT_PER_PAGE = 50
ENROLLING = "totp_enrolling"  # the session key of the secret being enrolled


def _render(form: DeleteAccountForm, status: int = 200):
    count = db.session.scalar(
        select(func.count()).select_from(Assessment).where(Assessment.user_id == current_user.id)
    )
    return render_template("account/index.html", form=form, assessment_count=count), status


@bp.route("/email", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_FORGOT"], methods=["POST"])
def email():
    if not recovery.mail_enabled():
        return render_template("account/email.html", form=None)
    form = EmailForm()
    if form.validate_on_submit():
        if check_password(current_user, form.password.data):
            recovery.send_verification(current_user, form.email.data)
            flash(gettext("A confirmation link is on its way to %(email)s.", email=form.email.data), "info")
            return redirect(url_for("account.email"), 303)
        form.password.errors.append(gettext("That is not your password."))
    return filled_in("account/email.html", form)


@bp.route("/email/verify/<token>")
def verify_email(token: str):
    """The link in the confirmation message: it works without logging in (a phone's mail app opens it)."""
    link = recovery.open_link(token, recovery.VERIFY)
    if link is None:
        return render_template("auth/bad_link.html", again=url_for("account.email")), 404
    if recovery.confirm_email(link):
        flash(gettext("Your recovery address is confirmed."), "success")
    else:
        flash(gettext("Another account uses that address now; yours is unchanged."), "error")
    return redirect(url_for("account.email" if current_user.is_authenticated else "auth.login"), 303)


@bp.route("/audit")
@login_required
def audit_log():
    """The user's own audit entries, newest first, 50 to a page."""
    where = AuditEntry.user_id == current_user.id
    total = db.session.scalar(select(func.count()).select_from(AuditEntry).where(where)) or 0
    pages = max(1, -(-total // AUDIT_PER_PAGE))
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= pages:
        abort(404)
    entries = db.session.scalars(
        select(AuditEntry)
        .where(where)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * AUDIT_PER_PAGE)
        .limit(AUDIT_PER_PAGE)
    ).all()
    lines = [Line.of(entry) for entry in entries]
    return render_template("account/audit.html", lines=lines, page=page, pages=pages, total=total)


@bp.route("/export")
@login_required
def export():
    """What the export holds, and the link that downloads it."""
    return render_template("account/export.html", holds=holdings(current_user.id))


@bp.route("/export.zip")
@login_required
def export_zip():
    """The download: a GET that changes nothing (but the audit log), so it needs no CSRF token."""
    return export_response(current_user._get_current_object())


@bp.route("/2fa", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def two_factor():
    """Enrol an authenticator app (a new secret, kept in the session until a code proves it), or see it on."""
    if current_user.totp_secret:
        form = DisableTwoFactorForm()
        left = twofactor.remaining_codes(current_user)
        return render_template("account/two_factor.html", form=form, enabled=True, codes_left=left)
    secret = session.get(ENROLLING) or twofactor.new_secret()
    session[ENROLLING] = secret
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        step = twofactor.matching_step(secret, form.code.data)
        if not check_password(current_user, form.password.data):
            form.password.errors.append(gettext("That is not your password."))
        elif step is None:
            form.code.errors.append(gettext("That code is not right. Check the phone's clock and try again."))
        else:
            codes = twofactor.enable(current_user, secret, step)
            session.pop(ENROLLING, None)
            audit.record("two_factor_on", current_user)
            return render_template("account/recovery_codes.html", codes=codes)
    qr = twofactor.qr_code(current_user, secret)
    return filled_in("account/two_factor.html", form, enabled=False, qr=qr, secret=secret)


@bp.route("/2fa/off", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def two_factor_off():
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.password.data):
            form.password.errors.append(gettext("That is not your password."))
        elif not twofactor.check_second_factor(current_user, form.code.data):
            form.code.errors.append(gettext("That code is not right, or it was used already."))
        else:
            twofactor.disable(current_user)
            audit.record("two_factor_off", current_user)
            flash(gettext("Two-factor sign-in is off."), "info")
            return redirect(url_for("account.two_factor"), 303)
    left = twofactor.remaining_codes(current_user)
    return render_template("account/two_factor.html", form=form, enabled=True, codes_left=left), 422


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def password():
    """A new password ends every session, this one included, and every API token: log in again."""
    form = PasswordForm()
    if form.validate_on_submit():
        if check_password(current_user, form.current.data):
            user_id = current_user.id
            recovery.set_password(current_user, form.password.data)
            audit.record("password_changed", user_id)
            logout_user()
            session.clear()
            flash(gettext("Your password is changed and every session is ended. Please log in."), "success")
            return forget_cached_pages(redirect(url_for("auth.login"), 303))
        form.current.errors.append(gettext("That is not your password."))
    return filled_in("account/password.html", form)
