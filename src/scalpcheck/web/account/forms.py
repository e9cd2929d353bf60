"""Deleting an account asks for the password and an explicit tick: it cannot be undone."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import InputRequired, Length

from scalpcheck.web.auth.forms import PASSWORD_MAX, REQUIRED, TOO_LONG


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[
            InputRequired(message=REQUIRED),
            Length(max=PASSWORD_MAX, message=TOO_LONG),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand that my account, every assessment and every photo will be deleted for good."),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))
