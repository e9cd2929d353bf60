"""The built-in assessment tasks and their labels, in model output order.

A dataset whose folders carry other labels becomes a custom task (see data.catalog); these two are the
ones the web app offers and the phantom generator draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalpcheck.i18n import N_


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    labels: tuple[str, ...]
    display_names: dict[str, str]
    ordinal: bool  # labels are ordered stages: report stage MAE and quadratic weighted kappa
    # Its models read hair density where the training data give it (scalp conditions are not a matter of
    # how much hair there is, so their models never do)
    measures_density: bool = True

    def display_name(self, label: str) -> str:
        return self.display_names.get(label) or short_name(label)


def short_name(label: str) -> str:
    """ "stage_2" -> "Stage 2", "psoriasis" -> "Psoriasis": fits a chart axis or a table cell."""
    return label.replace("_", " ").capitalize()


SCALP = Task(
    name="scalp",
    title=N_("Scalp condition"),
    labels=("alopecia", "folliculitis", "healthy", "psoriasis"),
    display_names={
        "alopecia": N_("Alopecia (patchy hair loss)"),
        "folliculitis": N_("Folliculitis"),
        "healthy": N_("Healthy scalp"),
        "psoriasis": N_("Scalp psoriasis"),
    },
    ordinal=False,
    measures_density=False,
)

HAIRLOSS = Task(
    name="hairloss",
    title=N_("Hair-loss stage"),
    labels=("stage_0", "stage_1", "stage_2", "stage_3", "stage_4"),
    display_names={
        "stage_0": N_("Stage 0: full hair cover"),
        "stage_1": N_("Stage 1: slight thinning"),
        "stage_2": N_("Stage 2: clear thinning"),
        "stage_3": N_("Stage 3: sparse hair"),
        "stage_4": N_("Stage 4: complete baldness"),
    },
    ordinal=True,
)

TASKS: dict[str, Task] = {t.name: t for t in (SCALP, HAIRLOSS)}


def custom_task(name: str, labels: list[str]) -> Task:
    """A task for a user's own label folders: labels sorted, nothing assumed about their order."""
    return Task(name=name, title=name, labels=tuple(sorted(labels)), display_names={}, ordinal=False)


# What short_name() makes of the built-in labels, marked for the catalogue (charts and changes show them).
SHORT_NAMES = (
    N_("Alopecia"),
    N_("Folliculitis"),
    N_("Healthy"),
    N_("Psoriasis"),
    *(N_("Stage 0"), N_("Stage 1"), N_("Stage 2"), N_("Stage 3"), N_("Stage 4")),
)
