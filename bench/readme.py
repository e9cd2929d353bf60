"""The benchmark table: results.md, and the README's speed section, written from one run's rows.

The README holds the table between two markers; `python -m bench.readme` rewrites it from
bench/results/results.json, and a full `make bench` does so itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import Row

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def markdown(rows: list[Row], meta: dict) -> str:
    lines = [
        _when(rows, meta),
        "Ratio: how many times better than the baseline measured in the same run (>1 is better).",
        "",
        "| group | measure | scalpcheck | baseline | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = f"{_fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else ""
        met = {True: "yes", False: "NO", None: ""}[r.passed]
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        cells = [r.group, r.name, f"{_fmt(r.measured)} {r.unit}", base, ratio, r.target or "", met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _when(rows: list[Row], meta: dict) -> str:
    """When and where; a table merged from runs of several days names each group's date."""
    where = f"on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}"
    dates = meta.get("dates") or {}
    if len(set(dates.values())) <= 1:
        return f"Measured {meta['date']} {where}."
    groups = dict.fromkeys(r.group for r in rows)
    usual = max(set(dates.values()), key=list(dates.values()).count)
    later = ", ".join(f"{g} on {dates[g]}" for g in groups if dates[g] != usual)
    return f"Measured {usual} {where}; merged in from runs of their modules alone: {later}."


def update(readme: Path, rows: list[Row], meta: dict) -> None:
    """Replace the table between the README's markers (which must both be there)."""
    text = readme.read_text()
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{readme} has no {START} ... {END} section for the benchmark table")
    readme.write_text(f"{head}{START}\n{markdown(rows, meta)}{END}{tail}")


def main() -> int:
    results = Path(__file__).parent / "results" / "results.json"
    data = json.loads(results.read_text())
    update(Path(__file__).parent.parent / "README.md", [Row(**r) for r in data["rows"]], data["meta"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
