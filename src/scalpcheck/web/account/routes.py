"""/account (what the account holds) and /account/delete."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required, logout_user
from sqlalchemy import func, select

from scalpcheck.web.account import bp
from scalpcheck.web.account.forms import DeleteAccountForm
from scalpcheck.web.auth.passwords import check_password
from scalpcheck.web.extensions import db
from scalpcheck.web.models import Assessment
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


def _render(form: DeleteAccountForm, status: int = 200):
    count = db.session.scalar(
        select(func.count()).select_from(Assessment).where(Assessment.user_id == current_user.id)
    )
    return render_template("account/index.html", form=form, assessment_count=count), status
