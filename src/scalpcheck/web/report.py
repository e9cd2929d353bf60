"""The doctor's report: one user's history of one task as a PDF (ReportLab).

Each single-photo assessment and visit, oldest first: its date, thumbnails, result with confidence, hair
density with its interval, and what changed since the one before, with whether it exceeds the smallest
detectable change; above them the trend chart, the models and the disclaimers. Drawn with the PDF's
built-in Helvetica, so its text is Latin-1: the few other characters used are spelt out.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from flask import Response
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from scalpcheck.serve.advice import load_texts, percent
from scalpcheck.tasks import Task, short_name
from scalpcheck.web.entries import Entry
from scalpcheck.web.extensions import get_store
from scalpcheck.web.models import User
from scalpcheck.web.service import task_named, timeline
from scalpcheck.web.trend import Change, label_order, x_positions

REPORT_TYPE = "application/pdf"
THUMB = 16 * mm
CHART_W, CHART_H = 170 * mm, 55 * mm
INK, BAND, GRID = colors.HexColor("#1d4ed8"), colors.HexColor("#bfdbfe"), colors.HexColor("#d1d5db")
_LATIN1 = str.maketrans({"→": "->", "−": "-", "–": "-", "≥": ">=", "≤": "<="})


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
    items = timeline(user, task)
    styles = _styles()
    story: list = [
        Paragraph(_text(f"scalpcheck report: {info.title}"), styles["Title"]),
        Paragraph(
            _text(f"For {user.username}, made {datetime.now(UTC):%d %b %Y %H:%M} UTC. {_span(items)}"),
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        *_disclaimers(items, styles),
        Spacer(1, 3 * mm),
    ]
    if items:
        story += [
            Paragraph("Trend", styles["Heading2"]),
            _chart(info, [entry for entry, _ in items]),
            Paragraph(_text(_chart_caption(items)), styles["Small"]),
            Paragraph("Assessments and visits", styles["Heading2"]),
            _table(items, styles),
            Spacer(1, 3 * mm),
            Paragraph("Models", styles["Heading2"]),
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
        title=f"scalpcheck report: {info.title}",
        author="scalpcheck",
    )
    doc.build(story)
    return buffer.getvalue()


def _styles():
    styles = getSampleStyleSheet()
    styles.add(ParagraphStyle("Small", parent=styles["Normal"], fontSize=8, leading=10))
    styles.add(
        ParagraphStyle("Warning", parent=styles["Normal"], fontSize=9, leading=11, textColor="#7c2d12")
    )
    return styles


def _text(text: str) -> str:
    return escape(text.translate(_LATIN1))


def _span(items: list[tuple[Entry, Change | None]]) -> str:
    if not items:
        return "There are no assessments of this kind yet."
    first, last = items[0][0].created_at, items[-1][0].created_at
    return f"{len(items)} assessment(s) and visit(s) from {first:%d %b %Y} to {last:%d %b %Y}."


def _disclaimers(items: list[tuple[Entry, Change | None]], styles) -> list:
    texts = load_texts()
    paragraphs = [Paragraph(_text("Not a diagnosis. " + texts["disclaimer"]), styles["Warning"])]
    if any(entry.synthetic_data for entry, _ in items):
        note = "Trained on phantoms: " + texts["synthetic_note"]
        paragraphs.append(Paragraph(_text(note), styles["Warning"]))
    return paragraphs


def _table(items: list[tuple[Entry, Change | None]], styles) -> Table:
    store = get_store()
    rows: list[list] = [["Date", "Photos", "Result", "Hair density (90 % interval)", "Change"]]
    for entry, change in items:
        thumbs = [
            Image(str(store.thumbnail_path(photo.image_key)), width=THUMB, height=THUMB)
            for photo in entry.photos
            if store.thumbnail_path(photo.image_key).is_file()
        ]
        rows.append(
            [
                Paragraph(_text(f"{entry.created_at:%d %b %Y %H:%M}"), styles["Small"]),
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
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("LEFTPADDING", (1, 1), (1, -1), 0),
            ]
        )
    )
    return table


def _result(entry: Entry) -> str:
    text = f"{entry.display_name}, {percent(entry.confidence)} confidence"
    text += " (low: see a dermatologist)" if entry.low_confidence else ""
    if entry.kind == "visit":
        where = f", seen on the {entry.region}" if entry.region else ""
        text += f". Visit of {len(entry.photos)} photo(s){where}."
    return text


def _density(entry: Entry) -> str:
    r = entry.reading
    if r is None:
        return "not measured"
    return f"{r.estimate:.0%} ({r.low:.0%} to {r.high:.0%})"


def _change(change: Change | None) -> str:
    if change is None:
        return "The first of its kind."
    if change.density_delta is None:  # told by the labels
        verdict = "A confident change of label." if change.beyond_noise else "No confident change."
    elif change.smallest_detectable_change is None:
        verdict = "Not comparable with measurement noise: this model has no smallest detectable change."
    elif change.beyond_noise:
        verdict = "Beyond the smallest detectable change."
    else:
        verdict = "Within measurement noise."
    return f"{change.text} {verdict}"


def _chart_caption(items: list[tuple[Entry, Change | None]]) -> str:
    if any(entry.reading is not None for entry, _ in items):
        return (
            "Hair density (line) with its 90 % interval (band) over time; the shading behind each point is "
            "the stage read from the photo (darker: a higher stage)."
        )
    return "The result of each assessment over time; a hollow point is a low-confidence result."


def _chart(task: Task, entries: list[Entry]) -> Drawing:
    """Density with its band when measured, else the label's row (the same chart as the history page's)."""
    d = Drawing(CHART_W, CHART_H)
    left, right, bottom, top = 28 * mm, CHART_W - 4 * mm, 8 * mm, CHART_H - 4 * mm
    xs = x_positions([e.created_at for e in entries], left + 3 * mm, right - 3 * mm)
    measured = [(x, e, e.reading) for x, e in zip(xs, entries, strict=True) if e.reading is not None]
    d.add(String(left, 1 * mm, f"{entries[0].created_at:%d %b %Y}", fontSize=7))
    d.add(String(right, 1 * mm, f"{entries[-1].created_at:%d %b %Y}", fontSize=7, textAnchor="end"))
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
            d.add(String(left - 2 * mm, y(v) - 2, f"{v:.0%}", fontSize=7, textAnchor="end"))
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
        d.add(String(left - 2 * mm, row_y - 2, short_name(label), fontSize=7, textAnchor="end"))
    for x, e in zip(xs, entries, strict=True):
        fill = colors.white if e.low_confidence else INK
        d.add(Circle(x, rows[e.label], 2.5, fillColor=fill, strokeColor=INK))
    return d


def _models(items: list[tuple[Entry, Change | None]]) -> list[str]:
    versions: dict[str, bool] = {}
    for entry, _ in items:
        for photo in entry.photos:
            versions[f"{photo.model_version} ({photo.model_backbone})"] = photo.synthetic_data
    return [f"{name}{', trained on phantoms' if synthetic else ''}" for name, synthetic in versions.items()]
