"""The account's forms: deleting it asks for the password and an explicit tick (it cannot be undone)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField
from wtforms.validators import InputRequired

from scalpcheck.web.auth.forms import (
    ForgotForm,
    confirm_password,
    current_password,
    new_password,
    second_factor,
)


class DeleteAccountForm(FlaskForm):
    password = current_password(_l("Your password"))
    confirm = BooleanField(
        _l("I understand that my account, every assessment and every photo will be deleted for good."),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))


class EmailForm(FlaskForm):
    """A new recovery address; asking for the password keeps a borrowed session from taking the account."""

    email = ForgotForm.email
    password = current_password(_l("Your password"))
    submit = SubmitField(_l("Send a confirmation link"))


class EnableTwoFactorForm(FlaskForm):
    code = second_factor(_l("The six-digit code your app shows"))
    password = current_password(_l("Your password"))
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class DisableTwoFactorForm(FlaskForm):
    code = second_factor(_l("Code from your authenticator app, or a recovery code"))
    password = current_password(_l("Your password"))
    submit = SubmitField(_l("Turn off two-factor sign-in"))


class PasswordForm(FlaskForm):
    current = current_password(_l("Your password now"))
    password = new_password(_l("New password"))
    confirm = confirm_password()
    submit = SubmitField(_l("Change the password"))
