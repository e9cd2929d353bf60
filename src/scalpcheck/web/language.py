"""The reader's language (Flask-Babel): chosen, remembered, and applied to every text a page shows.

The language is ?lang= (the manifest, the worker's offline page), else the one the reader chose with the
switcher (a cookie), else the best match of the browser's Accept-Language, else English. Templates mark
their texts with _(); Python marks them with gettext/lazy_gettext here in the web app, and with
scalpcheck.i18n's N_ and text() in the core, whose texts are translated when shown (localize). The JSON
API answers in English, whatever the language: programs match on codes and messages.
docs/translations.md tells how to add a language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel import Locale, dates, numbers
from flask import Flask, request
from flask_babel import Babel, get_locale, gettext

from scalpcheck.i18n import Text
from scalpcheck.serve.advice import Advice, advice_for
from scalpcheck.serve.result import Alternative

# Each language under its own name, as a reader looks for it in the switcher.
LANGUAGES = {"en": "English", "hi": "हिन्दी"}
DEFAULT = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
# Day month year, as both languages write it; month names come from the locale.
DATE = "dd MMM y"
DAY = "dd MMM"  # within one year
DATE_TIME = "dd MMM y, HH:mm"

babel = Babel()


def select_locale() -> str:
    # ?lang= first: the manifest and the worker's offline page are fetched without the cookie.
    for chosen in (request.args.get(COOKIE), request.cookies.get(COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(tr=localize, date=date_text, moment=moment_text, pct=percent_text)
    app.jinja_env.globals.update(languages=LANGUAGES, language=language, shown_advice=shown_advice)

    @app.after_request
    def vary_on_language(response):
        # A page differs by the language asked for: no cache may give one reader's language to another.
        if request.endpoint != "static" and not request.path.startswith("/api/"):
            response.vary.update(("Accept-Language", "Cookie"))
        return response


def language() -> str:
    locale = get_locale()
    return locale.language if isinstance(locale, Locale) else DEFAULT


def localize(value: object) -> str:
    """A Text, or a text marked in the core (a task's name, a region), in the reader's language."""
    if isinstance(value, Text):
        values = {name: _localize_value(v) for name, v in value.values.items()}
        return gettext(value.template, **values) if values else gettext(value.template)
    if isinstance(value, str):
        return gettext(value) if value else value
    return str(value)


def _localize_value(value: object) -> object:
    if isinstance(value, datetime):
        return date_text(value)
    if isinstance(value, tuple):
        return " ".join(localize(part) for part in value)
    if isinstance(value, Text | str):
        return localize(value)
    return value


def percent_text(share: float) -> str:
    """A share 0..1 as a whole percentage in the reader's locale ("42%")."""
    return numbers.format_percent(share, "#,##0%", locale=language())


def date_text(moment: datetime, year: bool = True) -> str:
    """A UTC instant's day, month and year in the reader's locale (app.js shows it in their time zone)."""
    return dates.format_datetime(moment, DATE if year else DAY, tzinfo=UTC, locale=language())


def moment_text(moment: datetime) -> str:
    return dates.format_datetime(moment, DATE_TIME, tzinfo=UTC, locale=language()) + " UTC"


def shown_advice(row) -> dict:
    """An assessment's advice as its page shows it: as stored on the day in English, or written anew from
    the same result in the reader's language (the stored advice is the English text)."""
    if language() == DEFAULT:
        return row.advice
    alternatives = [Alternative(**a) for a in row.alternatives]
    advice: Advice = advice_for(
        row.task,
        row.label,
        row.display_name,
        row.confidence,
        alternatives,
        low_confidence=row.low_confidence,
        synthetic_data=row.synthetic_data,
        translate=gettext,
    )
    return advice.to_dict()
