"""Registration and login forms (Flask-WTF: every form carries the CSRF token in `csrf_token`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, Regexp, ValidationError

from scalpcheck.web.extensions import db
from scalpcheck.web.models import User

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
PASSWORD_MIN, PASSWORD_MAX = 8, 256  # the upper bound keeps one login from costing unbounded hashing
# WTForms' own wording, in the catalogue (WTForms has no Hindi of its own)
REQUIRED = _l("This field is required.")
LENGTH = _l("Field must be between %(min)d and %(max)d characters long.")
TOO_LONG = _l("Field cannot be longer than %(max)d characters.")


def normalise_username(value: str | None) -> str | None:
    """Usernames are case-insensitive: "Alice" and "alice" are one account."""
    return value.strip().lower() if value else value


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
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=REQUIRED),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=LENGTH),
        ],
        description=_l("At least %(min)d characters.", min=PASSWORD_MIN),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirm password"),
        validators=[
            InputRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
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
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=REQUIRED),
            Length(max=PASSWORD_MAX, message=TOO_LONG),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))
