"""Registration and login forms (Flask-WTF: every form carries the CSRF token in `csrf_token`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, Regexp, ValidationError

from scalpcheck.web.extensions import db
from scalpcheck.web.models import User

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
EMAIL_MAX = 254  # RFC 5321's longest path
# Enough to catch a slip (no @, a space); the link sent to it is the real check.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PASSWORD_MIN, PASSWORD_MAX = 8, 256  # the upper bound keeps one login from costing unbounded hashing
# WTForms' own wording, in the catalogue (WTForms has no Hindi of its own)
REQUIRED = _l("This field is required.")
LENGTH = _l("Field must be between %(min)d and %(max)d characters long.")
TOO_LONG = _l("Field cannot be longer than %(max)d characters.")


def normalise_email(value: str | None) -> str | None:
    return value.strip().lower() if value else value


def normalise_username(value: str | None) -> str | None:
    """Usernames are case-insensitive: "Alice" and "alice" are one account."""
    return value.strip().lower() if value else value


def current_password(label: str) -> PasswordField:
    """The field for the password the user has now (logging in, deleting the account)."""
    return PasswordField(
        label,
        validators=[
            InputRequired(message=REQUIRED),
            Length(max=PASSWORD_MAX, message=TOO_LONG),
        ],
        render_kw={"autocomplete": "current-password"},
    )


def new_password(label: str) -> PasswordField:
    """A password being chosen (registering, resetting); `confirm_password` repeats it."""
    return PasswordField(
        label,
        validators=[
            InputRequired(message=REQUIRED),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=LENGTH),
        ],
        description=_l("At least %(min)d characters.", min=PASSWORD_MIN),
        render_kw={"autocomplete": "new-password"},
    )


def confirm_password() -> PasswordField:
    return PasswordField(
        _l("Confirm password"),
        validators=[
            InputRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class RegisterForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[normalise_username],
        validators=[
            InputRequired(message=REQUIRED),
            Length(min=3, max=32, message=LENGTH),
            Regexp(USERNAME_PATTERN, message=_l("Use letters, digits, dots, dashes or underscores.")),
        ],
        description=_l("3 to 32 letters, digits, dots, dashes or underscores."),
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = new_password(_l("Password"))
    confirm = confirm_password()
    submit = SubmitField(_l("Create account"))

    def validate_username(self, field: StringField) -> None:
        if db.session.scalar(select(func.count()).select_from(User).where(User.username == field.data)):
            raise ValidationError(_l("That username is taken. Please choose another."))


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[normalise_username],
        validators=[InputRequired(message=REQUIRED)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = current_password(_l("Password"))
    submit = SubmitField(_l("Log in"))


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("Recovery e-mail address"),
        filters=[normalise_email],
        validators=[
            InputRequired(message=REQUIRED),
            Length(max=EMAIL_MAX, message=TOO_LONG),
            Regexp(EMAIL_PATTERN, message=_l("Enter an e-mail address such as name@example.org.")),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Send a reset link"))


class ResetForm(FlaskForm):
    password = new_password(_l("New password"))
    confirm = confirm_password()
    submit = SubmitField(_l("Set the new password"))


def second_factor(label: str) -> StringField:
    """A code of the authenticator app (six digits), or a recovery code."""
    return StringField(
        label,
        validators=[InputRequired(message=REQUIRED), Length(max=32, message=TOO_LONG)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )


class TwoFactorForm(FlaskForm):
    code = second_factor(_l("Code from your authenticator app, or a recovery code"))
    submit = SubmitField(_l("Log in"))
