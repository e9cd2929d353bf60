"""Figures as table rows, shared by the training report (Markdown) and `scalpcheck evaluate` (plain text)."""

from __future__ import annotations

from scalpcheck.evaluation import GroupTable, Interval

GROUP_HEADER = [
    "group",
    "images",
    "assessed",
    "accuracy",
    "95 % interval",
    "refused",
    "95 % interval",
    "macro-F1",
]


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def span(interval: Interval | None) -> str:
    return "" if interval is None else f"{pct(interval[0])} to {pct(interval[1])}"


def group_rows(table: GroupTable) -> list[list[str]]:
    """One row per group of an attribute: its images, accuracy and refusal rate with their intervals."""
    return [
        [
            value,
            str(g.n),
            str(g.assessed),
            pct(g.accuracy),
            span(g.accuracy_interval),
            pct(g.refusal_rate),
            span(g.refusal_interval),
            "n/a" if g.f1_macro is None else f"{g.f1_macro:.3f}",
        ]
        for value, g in table.groups.items()
    ]


def gap_sentence(table: GroupTable) -> str:
    """The largest gap between the groups, for accuracy and refusals, with the intervals of the gaps."""
    accuracy = (
        f"accuracy {pct(table.accuracy_gap)} ({span(table.accuracy_gap_interval)})"
        if table.accuracy_gap is not None
        else "accuracy n/a"
    )
    refusal = f"refusals {pct(table.refusal_gap)} ({span(table.refusal_gap_interval)})"
    return f"Largest gap between {table.attribute} groups (largest minus smallest): {accuracy}; {refusal}."


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def plain(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return [
        indent + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
