"""The trend chart's layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scalpcheck.tasks import HAIRLOSS, SCALP, custom_task
from scalpcheck.web.history.chart import build_chart
from tests.helpers.web import Row

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_ordinal_chart_draws_stages_in_order_with_a_line():
    rows = [
        Row("hairloss", label, 0.9, START + timedelta(days=d))
        for label, d in (("stage_1", 0), ("stage_2", 10), ("stage_2", 40))
    ]
    chart = build_chart(HAIRLOSS, rows)
    assert [text for _, text in chart.rows] == [f"Stage {i}" for i in range(5)]
    y_of = {text: y for y, text in chart.rows}
    assert [p.y for p in chart.points] == [y_of["Stage 1"], y_of["Stage 2"], y_of["Stage 2"]]
    assert y_of["Stage 4"] < y_of["Stage 0"]  # higher stages higher up
    xs = [p.x for p in chart.points]
    assert xs[0] < xs[1] < xs[2] and (xs[1] - xs[0]) * 3 == pytest.approx(
        xs[2] - xs[1]
    )  # proportional to time
    assert chart.line.count(",") == 3
    assert [text for _, text in chart.ticks] == ["01 Mar", "10 Apr"]
    assert "3 assessments from 01 Mar 2026 to 10 Apr 2026" in chart.description


def test_condition_chart_has_healthy_at_the_bottom_and_no_line():
    rows = [Row("scalp", "psoriasis", 0.4, START, low_confidence=True), Row("scalp", "healthy", 0.95, START)]
    chart = build_chart(SCALP, rows)
    assert chart.rows[0][1] == "Healthy" and chart.rows[0][0] == max(y for y, _ in chart.rows)
    assert chart.line == ""
    low, high = chart.points
    assert low.hollow and not high.hollow and low.opacity < high.opacity
    assert low.x < high.x  # same minute: spread evenly instead of stacked
    assert [text for _, text in chart.ticks] == ["01 Mar"]


def test_chart_keeps_a_label_the_model_no_longer_has():
    chart = build_chart(custom_task("scalp", ["healthy"]), [Row("scalp", "retired_label", 0.7, START)])
    assert {text for _, text in chart.rows} == {"Healthy", "Retired label"}
    assert len(chart.points) == 1
