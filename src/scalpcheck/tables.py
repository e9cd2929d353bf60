"""Figures as table rows, shared by the training report (Markdown) and `scalpcheck evaluate` (plain text)."""

from __future__ import annotations

from scalpcheck.evaluation import DensityScores, GroupTable, Interval

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


def _n(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def density_sentence(scores: DensityScores, where: str) -> str:
    """How well density was measured on a set of images, in a few sentences."""
    lines = [
        f"On {scores.n} {where} with a known density: mean absolute error {_n(scores.mae)} (95 % interval "
        f"{_n(scores.mae_interval[0])} to {_n(scores.mae_interval[1])}); the interval held the truth for "
        f"{pct(scores.coverage)} ({span(scores.coverage_interval)}), mean width {_n(scores.mean_width)}."
    ]
    if scores.spearman_vs_stage is not None:
        lines.append(f"Spearman correlation of the readings with the stage: {_n(scores.spearman_vs_stage)}.")
    if scores.retest_pairs:
        measured = scores.smallest_detectable_change
        lines.append(
            f"{scores.retest_pairs} re-shoot pairs (the same scalp photographed again)"
            + (f": smallest detectable change measured on them {_n(measured)}" if measured else "")
            + (
                f"; {pct(scores.retest_within_sdc)} read as no change"
                if scores.retest_within_sdc is not None
                else ""
            )
            + "."
        )
    if scores.real_changes_detected is not None:
        lines.append(
            f"Of {scores.real_changes} pairs of scalps whose true densities differ by more than twice the "
            f"smallest detectable change, {pct(scores.real_changes_detected)} are read as a change in the "
            "right direction."
        )
    return " ".join(lines)
