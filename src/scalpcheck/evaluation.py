"""The one evaluator: predictions against labels in, typed figures out.

Training scores its splits with it, `scalpcheck evaluate` scores a dataset sent through the serving path,
and `scalpcheck quantize` compares its two graphs with it. It needs neither torch nor scikit-learn, so a
serving install can run it. Refused images count apart (by reason); every other figure is over the
images the model assessed. Grouping is a parameter: pass an attribute per image (skin-tone group, style,
data source, ...) and each group gets its figures with intervals, and the attribute the largest gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from scalpcheck import metrics

CONFIDENT = 0.95  # an answer this sure should never be wrong; errors at or above it are counted
BOOTSTRAP_DRAWS = 2000

Interval = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, kw_only=True)
class Scores:
    """The figures of one set of assessed predictions."""

    n: int
    accuracy: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    qwk: float | None = None  # ordinal tasks: quadratic weighted kappa
    mae: float | None = None  # ordinal tasks: mean absolute error in stages
    log_loss: float
    ece: float
    per_class: dict[str, ClassScores]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted


@dataclass(frozen=True, kw_only=True)
class Intervals:
    """95 % percentile-bootstrap intervals over images."""

    accuracy: Interval
    precision_macro: Interval
    recall_macro: Interval
    f1_macro: Interval
    qwk: Interval | None = None
    mae: Interval | None = None


@dataclass(frozen=True, kw_only=True)
class ChanceEce:
    """The ECE a perfectly calibrated model with these confidences shows on this many images."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True, kw_only=True)
class MeanInterval:
    """A mean over folds or repeats with its Student-t interval."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True, kw_only=True)
class CrossValidation:
    k: int
    repeats: int
    folds: int
    accuracy: MeanInterval
    f1_macro: MeanInterval
    qwk: MeanInterval | None = None
    mae: MeanInterval | None = None


@dataclass(frozen=True, kw_only=True)
class GroupScores:
    n: int
    assessed: int
    refusal_rate: float
    refusal_interval: Interval
    accuracy: float | None = None  # None when the group has no assessed image
    accuracy_interval: Interval | None = None
    f1_macro: float | None = None
    ece: float | None = None
    mae: float | None = None


@dataclass(frozen=True, kw_only=True)
class DensityScores:
    """How well density readings (scalpcheck.density) measure the true densities of a set of images."""

    n: int
    mae: float
    mae_interval: Interval
    coverage: float  # the share whose truth lies in its reading's interval
    coverage_interval: Interval
    mean_width: float  # of the intervals
    spearman_vs_stage: float | None = None  # ordinal tasks: the readings against the true stage
    retest_pairs: int = 0  # pairs of shots of one scalp
    smallest_detectable_change: float | None = None  # measured on these pairs
    retest_within_sdc: float | None = None  # of the pairs, the share whose readings differ by <= the SDC used
    real_changes: int = 0  # pairs of scalps whose true densities differ by more than twice that SDC
    real_changes_detected: float | None = None  # of those, the share read as a change in the right direction


@dataclass(frozen=True, kw_only=True)
class GroupTable:
    """One attribute's groups, and the largest minus the smallest rate between them (0..1)."""

    attribute: str
    groups: dict[str, GroupScores]
    accuracy_gap: float | None = None
    accuracy_gap_interval: Interval | None = None
    refusal_gap: float
    refusal_gap_interval: Interval


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    n: int  # images evaluated, refused ones included
    assessed: int
    refused: dict[str, int]  # refusal code -> images
    refused_by_label: dict[str, dict[str, int]]
    scores: Scores | None = None  # None when no image was assessed
    intervals: Intervals | None = None
    chance_ece: ChanceEce | None = None
    confident_answers: int = 0  # assessed with at least CONFIDENT probability
    confident_errors: int = 0  # of those, wrong
    subgroups: dict[str, GroupTable] = field(default_factory=dict)
    density: DensityScores | None = None

    @property
    def refusal_rate(self) -> float:
        return (self.n - self.assessed) / self.n if self.n else 0.0

    @property
    def assessed_scores(self) -> Scores:
        """The scores where no image can have been refused (a training split); raises when there are none."""
        if self.scores is None:
            raise ValueError("no image was assessed, so there are no scores")
        return self.scores


@dataclass(frozen=True, kw_only=True)
class StyleFold:
    """One fold of leave-one-style-out: trained without `style`, tested on it and on the others' tests."""

    style: str
    in_style: Evaluation  # the test split of the other styles
    out_of_style: Evaluation  # every image of the held-out style
    accepted: float  # share of the held-out style's images the fold's gate accepts


@dataclass(frozen=True, kw_only=True)
class ShiftReport:
    attribute: str  # the manifest column that names the styles
    folds: list[StyleFold]
    pooled: Evaluation  # every image predicted by a fold that never saw its style, with its temperature


def scores(y_true, proba, labels: Sequence[str], ordinal: bool = False) -> Scores:
    """Every figure of one set of predictions (`proba` [N, K], rows sum to 1)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    cm = metrics.confusion_matrix(y_true, proba.argmax(axis=1), len(labels))
    precision, recall, f1, support = metrics.per_class_scores(cm)
    return Scores(
        n=int(len(y_true)),
        **metrics.summary(cm, ordinal),
        log_loss=metrics.log_loss(y_true, proba),
        ece=metrics.expected_calibration_error(y_true, proba),
        per_class={
            label: ClassScores(
                precision=float(precision[k]),
                recall=float(recall[k]),
                f1=float(f1[k]),
                support=int(support[k]),
            )
            for k, label in enumerate(labels)
        },
        confusion_matrix=cm.tolist(),
    )


def intervals(
    y_true, proba, n_classes: int, ordinal: bool = False, n_boot: int = BOOTSTRAP_DRAWS
) -> Intervals:
    ci = metrics.bootstrap_ci(y_true, proba, n_classes, ordinal, n_boot=n_boot)
    return Intervals(**{name: (low, high) for name, (low, high) in ci.items()})


def chance_ece(proba) -> ChanceEce:
    return ChanceEce(**metrics.ece_if_calibrated(proba))


def mean_interval(values) -> MeanInterval:
    ci = metrics.mean_ci(values)
    return MeanInterval(mean=ci["mean"], low=ci["low"], high=ci["high"], n=int(ci["n"]))


def evaluate(
    y_true,
    proba,
    labels: Sequence[str],
    *,
    ordinal: bool = False,
    refused: Sequence[str | None] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> Evaluation:
    """Figures of predictions `proba` [N, K] against class indices `y_true` [N].

    `refused[i]` is the refusal code of image i (its row of `proba` is then ignored) or None; `groups`
    maps an attribute name to each image's value of it. `n_boot=0` leaves out the bootstrap intervals.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    n = len(y_true)
    proba = np.asarray(proba, dtype=np.float64).reshape(n, len(labels))
    codes = list(refused) if refused is not None else [None] * n
    if len(codes) != n:
        raise ValueError(f"{len(codes)} refusal entries for {n} images")
    kept = np.array([c is None for c in codes], dtype=bool)
    by_label: dict[str, Counter] = {}
    for k, code in zip(y_true, codes, strict=True):
        if code is not None:
            by_label.setdefault(labels[k], Counter())[code] += 1
    y, p = y_true[kept], proba[kept]
    confident = p.max(axis=1, initial=0.0) >= CONFIDENT
    wrong = p.argmax(axis=1) != y if len(p) else np.zeros(0, dtype=bool)
    result = Evaluation(
        n=n,
        assessed=int(kept.sum()),
        refused=dict(Counter(c for c in codes if c is not None)),
        refused_by_label={label: dict(c) for label, c in by_label.items()},
        scores=scores(y, p, labels, ordinal) if len(y) else None,
        intervals=intervals(y, p, len(labels), ordinal, n_boot) if len(y) and n_boot else None,
        chance_ece=chance_ece(p) if len(y) else None,
        confident_answers=int(confident.sum()),
        confident_errors=int((confident & wrong).sum()),
        subgroups={
            attribute: group_table(attribute, values, y_true, proba, kept, labels, ordinal, n_boot, seed)
            for attribute, values in (groups or {}).items()
        },
    )
    return result


def group_table(
    attribute: str,
    values: Sequence[str],
    y_true: np.ndarray,
    proba: np.ndarray,
    kept: np.ndarray,
    labels: Sequence[str],
    ordinal: bool,
    n_boot: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> GroupTable:
    """Per group of `attribute`: refusal rate and accuracy with intervals, and the gaps between groups.

    The intervals resample each group's images (for a rate, a binomial draw is the same resampling); a gap's
    interval takes the largest minus the smallest rate of each joint draw.
    """
    names = np.asarray([str(v) for v in values])
    if len(names) != len(y_true):
        raise ValueError(f"{attribute}: {len(names)} values for {len(y_true)} images")
    rng = np.random.default_rng(seed)
    draws = max(n_boot, 1)
    correct = proba.argmax(axis=1) == y_true
    groups: dict[str, GroupScores] = {}
    refusal_draws, accuracy_draws = [], []
    for value in sorted(set(names)):
        member = names == value
        inside = member & kept
        n, assessed = int(member.sum()), int(inside.sum())
        refusal = (n - assessed) / n
        r_draws = rng.binomial(n, refusal, draws) / n
        refusal_draws.append(r_draws)
        group = GroupScores(
            n=n, assessed=assessed, refusal_rate=refusal, refusal_interval=_percentiles(r_draws)
        )
        if assessed:
            accuracy = float(correct[inside].mean())
            a_draws = rng.binomial(assessed, accuracy, draws) / assessed
            accuracy_draws.append(a_draws)
            within = scores(y_true[inside], proba[inside], labels, ordinal)
            group = replace(
                group,
                accuracy=accuracy,
                accuracy_interval=_percentiles(a_draws),
                f1_macro=within.f1_macro,
                ece=within.ece,
                mae=within.mae,
            )
        groups[value] = group
    rates = [g.accuracy for g in groups.values() if g.accuracy is not None]
    refusals = [g.refusal_rate for g in groups.values()]
    accuracy_spread = np.ptp(np.stack(accuracy_draws), axis=0) if accuracy_draws else None
    return GroupTable(
        attribute=attribute,
        groups=groups,
        accuracy_gap=max(rates) - min(rates) if rates else None,
        accuracy_gap_interval=_percentiles(accuracy_spread) if accuracy_spread is not None else None,
        refusal_gap=max(refusals) - min(refusals),
        refusal_gap_interval=_percentiles(np.ptp(np.stack(refusal_draws), axis=0)),
    )


def _percentiles(draws: np.ndarray, confidence: float = 0.95) -> Interval:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def density_scores(
    estimate,
    low,
    high,
    truth,
    *,
    stage=None,
    scalps: Sequence[str] | None = None,
    shots: Sequence[int] | None = None,
    sdc: float | None = None,
    n_boot: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> DensityScores:
    """Density readings (`estimate` within [`low`, `high`]) against the true densities, over the images
    whose truth is known. With each image's scalp and shot, re-shoot pairs give the test-retest figures,
    judged against `sdc` (the model's smallest detectable change; else the one measured here)."""
    from scalpcheck import density

    estimate, low, high, truth = (np.asarray(a, np.float64) for a in (estimate, low, high, truth))
    known = np.isfinite(truth) & np.isfinite(estimate)
    e, t = estimate[known], truth[known]
    if not len(e):
        raise ValueError("no image has both a reading and a known density")
    errors = np.abs(e - t)
    inside = (low[known] <= t) & (t <= high[known])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(e), (max(n_boot, 1), len(e)))
    result = DensityScores(
        n=int(len(e)),
        mae=float(errors.mean()),
        mae_interval=_percentiles(errors[draws].mean(axis=1)),
        coverage=float(inside.mean()),
        coverage_interval=_percentiles(inside[draws].mean(axis=1)),
        mean_width=float((high[known] - low[known]).mean()),
        spearman_vs_stage=metrics.spearman(e, np.asarray(stage)[known]) if stage is not None else None,
    )
    if scalps is None or shots is None:
        return result
    pairs = density.retest_pairs([s if k else "" for s, k in zip(scalps, known, strict=True)], list(shots))
    measured = None
    if len(pairs) >= 2:
        first, second = (np.array(side) for side in zip(*pairs, strict=True))
        measured = density.smallest_detectable_change(estimate[first], estimate[second])
    threshold = sdc if sdc is not None else measured
    if threshold is None:
        return replace(result, retest_pairs=len(pairs))
    within = None
    if pairs:
        first, second = (np.array(side) for side in zip(*pairs, strict=True))
        within = float((np.abs(estimate[first] - estimate[second]) <= threshold).mean())
    # Different scalps whose true densities differ by more than twice the SDC: read as changed, rightly?
    firsts = np.flatnonzero(known & (np.asarray(shots) == 0))
    i, j = np.triu_indices(len(firsts), 1)
    a, b = firsts[i], firsts[j]
    true_change, read_change = truth[b] - truth[a], estimate[b] - estimate[a]
    real = np.abs(true_change) > 2 * threshold
    detected = (np.abs(read_change) > threshold) & (np.sign(read_change) == np.sign(true_change))
    return replace(
        result,
        retest_pairs=len(pairs),
        smallest_detectable_change=measured,
        retest_within_sdc=within,
        real_changes=int(real.sum()),
        real_changes_detected=float(detected[real].mean()) if real.any() else None,
    )
