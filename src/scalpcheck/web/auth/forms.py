"""Registration and login forms (Flask-WTF: every form carries the CSRF token in `csrf_token`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, Regexp, ValidationError

from scalpcheck.web.extensions import db
from scalpcheck.web.models import User

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
PASSWORD_MIN, PASSWORD_MAX = 8, 256  # the upper bound keeps one login from costing unbounded hashing


def normalise_username(value: str | None) -> str | None:
    """Usernames are case-insensitive: "Alice" and "alice" are one account."""
    return value.strip().lower() if value else value


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[normalise_username],
        validators=[
            InputRequired(),
            Length(min=3, max=32),
            Regexp(USERNAME_PATTERN, message="Use letters, digits, dots, dashes or underscores."),
        ],
        description="3 to 32 letters, digits, dots, dashes or underscores.",
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=f"At least {PASSWORD_MIN} characters.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirm password",
        validators=[InputRequired(), EqualTo("password", message="The two passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create account")

    def validate_username(self, field: StringField) -> None:
        if db.session.scalar(select(func.count()).select_from(User).where(User.username == field.data)):
            raise ValidationError("That username is taken. Please choose another.")


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[normalise_username],
        validators=[InputRequired()],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Log in")
