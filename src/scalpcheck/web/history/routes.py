"""/history: one task at a time (tabs), its trend chart, its visits and its single-photo assessments, the
side-by-side comparison of two of them, and the doctor's report."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from scalpcheck.web.entries import Entry, assessment_entry, paired_photos, visit_entry
from scalpcheck.web.extensions import db
from scalpcheck.web.history import bp
from scalpcheck.web.history.chart import build_chart
from scalpcheck.web.models import Assessment, Visit
from scalpcheck.web.report import report_response
from scalpcheck.web.service import owned_assessment, owned_visit, task_catalog, task_named, timeline
from scalpcheck.web.trend import describe_change

PER_PAGE = 20
CHART_MAX_POINTS = 100


@bp.route("/history")
@login_required
def index():
    singles = _counts(Assessment, Assessment.visit_id.is_(None))
    visits = _counts(Visit)
    counts = {task: singles.get(task, 0) + visits.get(task, 0) for task in {*singles, *visits}}
    catalog = task_catalog()
    if not counts:
        return render_template("history/index.html", tabs=[], task=None)
    task = request.args.get("task") or _latest_task()
    if task not in counts:
        abort(404)
    total = singles.get(task, 0)
    pages = max(1, -(-total // PER_PAGE))
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= pages:
        abort(404)
    newest_first = (
        select(Assessment)
        .where(Assessment.user_id == current_user.id, Assessment.task == task, Assessment.visit_id.is_(None))
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )
    # One row beyond the page: the previous assessment of the page's oldest, for "what changed".
    rows = db.session.scalars(newest_first.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    task_info = task_named(task)
    items = [
        (row, describe_change(task_info, older, row) if older is not None else None)
        for row, older in zip(rows[:PER_PAGE], [*rows[1:], None], strict=False)
    ]
    recent = timeline(current_user, task, latest=CHART_MAX_POINTS)
    return render_template(
        "history/index.html",
        tabs=[
            (name, catalog[name].title if name in catalog else name, n) for name, n in sorted(counts.items())
        ],
        task=task,
        total=total,
        page=page,
        pages=pages,
        items=items,
        visits=[(e, change) for e, change in recent[::-1] if e.kind == "visit"],
        choices=[e for e, _ in recent[::-1]],
        chart=build_chart(task_info, [e for e, _ in recent]),
        chart_points=len(recent),
        chart_total=counts[task],
    )


@bp.route("/history/compare")
@login_required
def compare():
    """Two visits or assessments of one task side by side: ?first=v3&second=a12 (v: visit, a: assessment)."""
    first, second = _entry(request.args.get("first", "")), _entry(request.args.get("second", ""))
    if first.task != second.task:
        abort(404)
    if (second.created_at, second.id) < (first.created_at, first.id):
        first, second = second, first
    task = task_named(first.task)
    return render_template(
        "history/compare.html",
        task=task,
        first=first,
        second=second,
        pairs=paired_photos(first, second),
        change=describe_change(task, first, second),
    )


@bp.route("/history/<task>/report.pdf")
@login_required
def report(task: str):
    if task not in task_catalog():
        abort(404)
    return report_response(current_user, task)


def _entry(ref: str) -> Entry:
    """The user's visit ("v3") or single-photo assessment ("a12"); 404 for anything else."""
    kind, number = ref[:1], ref[1:]
    if kind not in ("a", "v") or not number.isdigit() or len(number) > 10:
        abort(404)
    if kind == "v":
        visit = owned_visit(current_user, int(number))
        return visit_entry(task_named(visit.task), visit)
    return assessment_entry(owned_assessment(current_user, int(number)))


def _counts(model, *where) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(model.task, func.count())
            .where(model.user_id == current_user.id, *where)
            .group_by(model.task)
        ).all()
    )


def _latest_task() -> str | None:
    latest = [
        db.session.execute(
            select(model.created_at, model.task)
            .where(model.user_id == current_user.id)
            .order_by(model.created_at.desc(), model.id.desc())
            .limit(1)
        ).first()
        for model in (Assessment, Visit)
    ]
    found = [row for row in latest if row is not None]
    return max(found)[1] if found else None
