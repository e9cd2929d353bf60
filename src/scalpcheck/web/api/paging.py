"""One page of the caller's rows, newest first, with links to the other pages: the shape of every list."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, jsonify, request, url_for
from sqlalchemy import func, select

from scalpcheck.web.errors import error_response
from scalpcheck.web.extensions import db

MAX_PAGE = 2**63 - 1  # as the OpenAPI document says: a signed 64-bit whole number


def page_of(model, where: list, endpoint: str, to_json: Callable[[list], list[dict]]) -> Response:
    """`model`'s rows matching `where` (plus `?task=`), one page of `?page=` and `?per_page=`."""
    page, per_page = _whole("page", 1), _whole("per_page", 20)
    task = request.args.get("task") or None
    max_per_page = current_app.config["API_PAGE_SIZE_MAX"]
    if page is None or per_page is None or page < 1 or not 1 <= per_page <= max_per_page:
        return error_response("bad_request", f"page must be >= 1 and per_page between 1 and {max_per_page}.")
    where = where + ([model.task == task] if task and "task" in model.__table__.c else [])
    total = db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    offset = (page - 1) * per_page
    # A page past the end is empty; asking the database would overflow its OFFSET for a huge page number.
    rows = (
        db.session.scalars(
            select(model)
            .where(*where)
            .order_by(model.created_at.desc(), model.id.desc())
            .offset(offset)
            .limit(per_page)
        ).all()
        if offset < total
        else []
    )
    pages = max(1, -(-total // per_page))

    def link(p: int) -> str:
        return url_for(endpoint, page=p, per_page=per_page, task=task)

    return jsonify(
        items=to_json(list(rows)),
        page=page,
        per_page=per_page,
        total=total,
        pages=pages,
        links={
            "self": link(page),
            "first": link(1),
            "last": link(pages),
            "next": link(page + 1) if page < pages else None,
            "prev": link(page - 1) if page > 1 else None,
        },
    )


def _whole(name: str, default: int) -> int | None:
    """The query argument as a whole number, `default` when absent, None when it is anything else."""
    text = request.args.get(name)
    if text is None:
        return default
    text = text.strip()
    if not text.lstrip("-").isdigit() or len(text) > 20:
        return None
    number = int(text)
    return number if number <= MAX_PAGE else None
