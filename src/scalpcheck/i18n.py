"""Texts a person reads, marked for translation without the core importing Flask-Babel.

The core (error codes, the quality gate, the decoder, task names, advice) writes its texts in English and
marks them; `make messages` collects every mark into the catalogue (docs/translations.md), and the web app
shows each in the reader's language (scalpcheck.web.language). The command line and logs keep the English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


def N_(template: str) -> str:
    """Marks an English text for the catalogue; it is translated where it is shown, not here."""
    return template


@dataclass(frozen=True)
class Text:
    """An English template with `%(name)s` places, and their values: strings, numbers, dates (shown as
    dates), other Texts, or a tuple of Texts (shown one after another, as sentences).

    str() gives the English; the web app translates the template and the texts among the values."""

    template: str
    values: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.values:
            return self.template
        return self.template % {name: _english(value) for name, value in self.values.items()}


def _english(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(str(part) for part in value)
    if isinstance(value, datetime):
        return f"{value:%d %b %Y}"
    return str(value)


def text(template: str, **values: object) -> Text:
    """A Text to translate when shown: text("The file is %(size)s MB.", size="5.2")."""
    return Text(template, values)
