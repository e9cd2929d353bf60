"""The doctor's report: one user's history of one task as a PDF (ReportLab).

Each single-photo assessment and visit, oldest first: its date, thumbnails, result with confidence, hair
density with its interval, and what changed since the one before, with whether it exceeds the smallest
detectable change; above them the trend chart, the models and the disclaimers. In the reader's language:
English in the PDF's built-in Helvetica (Latin-1, so the few other characters used are spelt out), Hindi in
Noto Sans Devanagari, shaped by HarfBuzz (ReportLab's uharfbuzz support).
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from flask import Response, current_app
from flask_babel import gettext, ngettext
from fontpkg_noto_sans_devanagari import ROOT as DEVANAGARI_FONTS
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, shapeStr
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from scalpcheck.serve.advice import load_texts, percent
from scalpcheck.tasks import Task, short_name
from scalpcheck.web.crypto import SealError
from scalpcheck.web.entries import Entry
from scalpcheck.web.extensions import get_store
from scalpcheck.web.language import date_text, language, localize, moment_text, percent_text
from scalpcheck.web.models import User
from scalpcheck.web.service import entry_count, task_named, timeline
from scalpcheck.web.storage import THUMBNAIL_FILE
from scalpcheck.web.trend import Change, label_order, x_positions

log = logging.getLogger(__name__)

REPORT_TYPE = "application/pdf"
THUMB = 16 * mm
CHART_W, CHART_H = 170 * mm, 55 * mm
INK, BAND, GRID = colors.HexColor("#1d4ed8"), colors.HexColor("#bfdbfe"), colors.HexColor("#d1d5db")
_LATIN1 = str.maketrans({"→": "->", "−": "-", "–": "-", "≥": ">=", "≤": "<="})
# The font of each language's text (regular, bold); a language not listed is written in Helvetica.
DEVANAGARI = "NotoSansDevanagari"
FONTS = {"hi": (DEVANAGARI, DEVANAGARI)}


def report_response(user: User, task: str) -> Response:
    """The report as a download, for the history page's link and the API alike."""
    return Response(
        report_for(user, task),
        mimetype=REPORT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="scalpcheck-{task}-report.pdf"'},
    )


def report_for(user: User, task: str) -> bytes:
    """The PDF of `user`'s history of `task` (a report that says so when there is nothing yet)."""
    info = task_named(task)
    items = timeline(user, task, latest=current_app.config["REPORT_MAX_ENTRIES"])
    total = entry_count(user, task)
    regular, bold = _fonts()
    styles = _styles(regular, bold)
    title = gettext("scalpcheck report: %(task)s", task=localize(info.title))
    made = gettext("For %(user)s, made %(when)s.", user=user.username, when=moment_text(datetime.now(UTC)))
    story: list = [
        Paragraph(_text(title), styles["Title"]),
        Paragraph(_text(f"{made} {_span(items, total)}"), styles["Normal"]),
        Spacer(1, 3 * mm),
        *_disclaimers(items, styles),
        Spacer(1, 3 * mm),
    ]
    if items:
        story += [
            Paragraph(_text(gettext("Trend")), styles["Heading2"]),
            _chart(info, [entry for entry, _ in items], regular),
            Paragraph(_text(_chart_caption(items)), styles["Small"]),
            Paragraph(_text(gettext("Assessments and visits")), styles["Heading2"]),
            _table(items, styles, bold),
            Spacer(1, 3 * mm),
            Paragraph(_text(gettext("Models")), styles["Heading2"]),
            *[Paragraph(_text(line), styles["Small"]) for line in _models(items)],
        ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="scalpcheck",
    )
    doc.build(story)
    return buffer.getvalue()


def _fonts() -> tuple[str, str]:
    """The regular and bold font of the reader's language, registered with ReportLab on first use."""
    fonts = FONTS.get(language())
    if fonts is None:
        return "Helvetica", "Helvetica-Bold"
    if DEVANAGARI not in pdfmetrics.getRegisteredFontNames():
        path = next((DEVANAGARI_FONTS / "files").glob("*.ttf"))
        pdfmetrics.registerFont(TTFont(DEVANAGARI, str(path)))
    return fonts


def _styles(regular: str, bold: str):
    styles = getSampleStyleSheet()
    shaping = int(regular != "Helvetica")  # HarfBuzz joins Devanagari letters into their conjuncts
    for name in ("Normal", "Title", "Heading2"):
        styles[name].fontName = bold if name != "Normal" else regular
        styles[name].shaping = shaping
    styles.add(ParagraphStyle("Small", parent=styles["Normal"], fontSize=8, leading=10))
    styles.add(ParagraphStyle("SmallBold", parent=styles["Small"], fontName=bold))
    styles.add(
        ParagraphStyle("Warning", parent=styles["Normal"], fontSize=9, leading=11, textColor="#7c2d12")
    )
    return styles


def _text(text: str) -> str:
    return escape(text.translate(_LATIN1))


def _label(x: float, y: float, text: str, font: str, **place) -> String:
    """A chart label; shaped first in a TrueType font (a drawing's strings are not shaped by themselves)."""
    shown = text if font.startswith("Helvetica") else shapeStr(text, font, 7)
    return String(x, y, shown, fontName=font, fontSize=7, **place)


def _span(items: list[tuple[Entry, Change | None]], total: int) -> str:
    if not items:
        return gettext("There are no assessments of this kind yet.")
    first, last = items[0][0].created_at, items[-1][0].created_at
    span = ngettext(
        "%(num)d assessment or visit from %(first)s to %(last)s.",
        "%(num)d assessments and visits from %(first)s to %(last)s.",
        len(items),
        first=date_text(first),
        last=date_text(last),
    )
    if total <= len(items):
        return span
    cut = gettext("The latest %(shown)s of %(total)s assessments and visits.", shown=len(items), total=total)
    return f"{span} {cut}"


def _disclaimers(items: list[tuple[Entry, Change | None]], styles) -> list:
    texts = load_texts()
    disclaimer = gettext("Not a diagnosis. %(disclaimer)s", disclaimer=gettext(texts["disclaimer"]))
    paragraphs = [Paragraph(_text(disclaimer), styles["Warning"])]
    if any(entry.synthetic_data for entry, _ in items):
        note = gettext("Trained on phantoms: %(note)s", note=gettext(texts["synthetic_note"]))
        paragraphs.append(Paragraph(_text(note), styles["Warning"]))
    return paragraphs


def _table(items: list[tuple[Entry, Change | None]], styles, bold: str) -> Table:
    store = get_store()
    headings = [
        gettext("Date"),
        gettext("Photos"),
        gettext("Result"),
        gettext("Hair density (%(share)s interval)", share=percent_text(0.9)),
        gettext("Change"),
    ]
    rows: list[list] = [[Paragraph(_text(h), styles["SmallBold"]) for h in headings]]
    for entry, change in items:
        thumbs = [thumb for photo in entry.photos if (thumb := _thumbnail(store, photo.image_key))]
        rows.append(
            [
                Paragraph(_text(moment_text(entry.created_at)), styles["Small"]),
                Table([thumbs[:2], thumbs[2:]] if len(thumbs) > 2 else [thumbs or [""]], hAlign="LEFT"),
                Paragraph(_text(_result(entry)), styles["Small"]),
                Paragraph(_text(_density(entry)), styles["Small"]),
                Paragraph(_text(_change(change)), styles["Small"]),
            ]
        )
    table = Table(rows, colWidths=[22 * mm, 36 * mm, 38 * mm, 30 * mm, 48 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("LEFTPADDING", (1, 1), (1, -1), 0),
            ]
        )
    )
    return table


def _thumbnail(store, key: str) -> Image | None:
    """The photo's thumbnail for the table; None when it is gone or cannot be trusted (the row stays)."""
    try:
        data = store.fetch(key, THUMBNAIL_FILE).data
    except FileNotFoundError:
        return None
    except SealError as exc:
        log.error("report: stored thumbnail refused: %s", exc)
        return None
    return Image(io.BytesIO(data), width=THUMB, height=THUMB)


def _result(entry: Entry) -> str:
    text = gettext(
        "%(result)s, %(confidence)s confidence",
        result=localize(entry.display_name),
        confidence=percent(entry.confidence),
    )
    text += gettext(" (low: see a dermatologist)") if entry.low_confidence else ""
    if entry.kind == "visit":
        visit = ngettext("Visit of %(num)d photo", "Visit of %(num)d photos", len(entry.photos))
        if entry.region:
            visit = gettext("%(visit)s, seen on the %(region)s", visit=visit, region=localize(entry.region))
        text += f". {visit}."
    return text


def _density(entry: Entry) -> str:
    r = entry.reading
    if r is None:
        return gettext("not measured")
    return gettext(
        "%(density)s (%(low)s to %(high)s)",
        density=percent_text(r.estimate),
        low=percent_text(r.low),
        high=percent_text(r.high),
    )


def _change(change: Change | None) -> str:
    if change is None:
        return gettext("The first of its kind.")
    if change.density_delta is None:  # told by the labels
        verdict = (
            gettext("A confident change of label.")
            if change.beyond_noise
            else gettext("No confident change.")
        )
    elif change.smallest_detectable_change is None:
        verdict = gettext(
            "Not comparable with measurement noise: this model has no smallest detectable change."
        )
    elif change.beyond_noise:
        verdict = gettext("Beyond the smallest detectable change.")
    else:
        verdict = gettext("Within measurement noise.")
    return f"{localize(change.text)} {verdict}"


def _chart_caption(items: list[tuple[Entry, Change | None]]) -> str:
    if any(entry.reading is not None for entry, _ in items):
        return gettext(
            "Hair density (line) with its %(share)s interval (band) over time; the shading behind each point "
            "is the stage read from the photo (darker: a higher stage).",
            share=percent_text(0.9),
        )
    return gettext("The result of each assessment over time; a hollow point is a low-confidence result.")


def _chart(task: Task, entries: list[Entry], font: str) -> Drawing:
    """Density with its band when measured, else the label's row (the same chart as the history page's)."""
    d = Drawing(CHART_W, CHART_H)
    left, right, bottom, top = 28 * mm, CHART_W - 4 * mm, 8 * mm, CHART_H - 4 * mm
    xs = x_positions([e.created_at for e in entries], left + 3 * mm, right - 3 * mm)
    measured = [(x, e, e.reading) for x, e in zip(xs, entries, strict=True) if e.reading is not None]
    d.add(_label(left, 1 * mm, date_text(entries[0].created_at), font))
    d.add(_label(right, 1 * mm, date_text(entries[-1].created_at), font, textAnchor="end"))
    if measured:
        stages = task.labels

        def y(v: float) -> float:
            return bottom + v * (top - bottom)

        for i, (x, e, _) in enumerate(measured):  # the stage behind each point
            lo = (measured[i - 1][0] + x) / 2 if i else left
            hi = (measured[i + 1][0] + x) / 2 if i + 1 < len(measured) else right
            rank = stages.index(e.label) if e.label in stages else 0
            shade = colors.Color(0.4, 0.4, 0.4, alpha=0.05 + 0.1 * rank)
            d.add(Rect(lo, bottom, hi - lo, top - bottom, fillColor=shade, strokeColor=None))
        for v in (0, 0.25, 0.5, 0.75, 1):
            d.add(Line(left, y(v), right, y(v), strokeColor=GRID, strokeWidth=0.3))
            d.add(_label(left - 2 * mm, y(v) - 2, percent_text(v), font, textAnchor="end"))
        band = [(x, y(r.high)) for x, _, r in measured] + [(x, y(r.low)) for x, _, r in measured[::-1]]
        if len(measured) > 1:
            d.add(Polygon([c for p in band for c in p], fillColor=BAND, strokeColor=None))
            d.add(PolyLine([c for x, _, r in measured for c in (x, y(r.estimate))], strokeColor=INK))
        for x, _, r in measured:
            d.add(Circle(x, y(r.estimate), 2.2, fillColor=INK, strokeColor=INK))
        return d
    order = label_order(task, [e.label for e in entries])
    step = (top - bottom) / max(len(order) - 1, 1)
    rows = {label: bottom + i * step for i, label in enumerate(order)}
    for label, row_y in rows.items():
        d.add(Line(left, row_y, right, row_y, strokeColor=GRID, strokeWidth=0.3))
        d.add(_label(left - 2 * mm, row_y - 2, localize(short_name(label)), font, textAnchor="end"))
    for x, e in zip(xs, entries, strict=True):
        fill = colors.white if e.low_confidence else INK
        d.add(Circle(x, rows[e.label], 2.5, fillColor=fill, strokeColor=INK))
    return d


def _models(items: list[tuple[Entry, Change | None]]) -> list[str]:
    versions: dict[str, bool] = {}
    for entry, _ in items:
        for photo in entry.photos:
            versions[f"{photo.model_version} ({photo.model_backbone})"] = photo.synthetic_data
    phantoms = gettext(", trained on phantoms")
    return [f"{name}{phantoms if synthetic else ''}" for name, synthetic in versions.items()]
