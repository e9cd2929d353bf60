"""Deleting an account asks for the password and an explicit tick: it cannot be undone."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import InputRequired, Length

from scalpcheck.web.auth.forms import PASSWORD_MAX


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[InputRequired(), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        "I understand that my account, every assessment and every photo will be deleted for good.",
        validators=[InputRequired(message="Tick the box to confirm.")],
    )
    submit = SubmitField("Delete my account")
