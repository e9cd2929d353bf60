"""/history: one task at a time (tabs), its trend chart and its assessments, newest first, paginated."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from scalpcheck.web.extensions import db
from scalpcheck.web.history import bp
from scalpcheck.web.history.chart import build_chart
from scalpcheck.web.models import Assessment
from scalpcheck.web.service import task_catalog, task_named
from scalpcheck.web.trend import describe_change

PER_PAGE = 20
CHART_MAX_POINTS = 100


@bp.route("/history")
@login_required
def index():
    counts = dict(
        db.session.execute(
            select(Assessment.task, func.count())
            .where(Assessment.user_id == current_user.id)
            .group_by(Assessment.task)
        ).all()
    )
    catalog = task_catalog()
    if not counts:
        return render_template("history/index.html", tabs=[], task=None)
    task = request.args.get("task") or _latest_task()
    if task not in counts:
        abort(404)
    total = counts[task]
    pages = max(1, -(-total // PER_PAGE))
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= pages:
        abort(404)
    newest_first = (
        select(Assessment)
        .where(Assessment.user_id == current_user.id, Assessment.task == task)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )
    # One row beyond the page: the previous assessment of the page's oldest, for "what changed".
    rows = db.session.scalars(newest_first.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    task_info = task_named(task)
    items = [
        (row, describe_change(task_info, older, row) if older is not None else None)
        for row, older in zip(rows[:PER_PAGE], [*rows[1:], None], strict=False)
    ]
    recent = db.session.scalars(newest_first.limit(CHART_MAX_POINTS)).all()[::-1]
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
        chart=build_chart(task_info, recent),
        chart_points=len(recent),
    )


def _latest_task() -> str | None:
    return db.session.scalar(
        select(Assessment.task)
        .where(Assessment.user_id == current_user.id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
