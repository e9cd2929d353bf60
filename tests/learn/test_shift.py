"""Photos of other sources: leave-one-style-out, calibration on another style, a test on another style."""

from __future__ import annotations

import pytest

from scalpcheck import bundle
from scalpcheck.data.synth import write_dataset
from scalpcheck.errors import UsageError
from scalpcheck.learn.train import TrainOptions, run
from tests.helpers.training import TINY


@pytest.fixture(scope="module")
def two_styles(tmp_path_factory):
    """8 scalp phantoms a class at 96 px, each image in one of two styles; and 4 a class of a third style."""
    root = tmp_path_factory.mktemp("styles")
    write_dataset("scalp", 8, seed=11, out=root / "mixed", size=96, style="studio,phone", progress=False)
    write_dataset("scalp", 4, seed=12, out=root / "other", size=96, style="dermoscope", progress=False)
    return root / "mixed", root / "other"


def test_leave_one_style_out_reports_each_style_and_calibrates_on_the_pooled_folds(two_styles, tiny_settings):
    mixed, _ = two_styles
    result = run(TrainOptions(task="scalp", data=mixed, shift=True, **TINY), tiny_settings)
    card = bundle.read_card(result.bundle_dir)
    report = card.metrics.leave_one_style_out
    assert report is not None and [f.style for f in report.folds] == ["phone", "studio"]
    for fold in report.folds:
        # out of style: every image of the left-out style; in style: the other style's test split
        assert fold.out_of_style.n + fold.in_style.n < 32 + 4 and fold.out_of_style.n > fold.in_style.n
        assert set(fold.out_of_style.subgroups["style"].groups) == {fold.style}
        assert 0 <= fold.accepted <= 1
    assert report.pooled.n == 32 and set(report.pooled.subgroups["style"].groups) == {"phone", "studio"}
    assert card.metrics.calibrated_on == "32 leave-one-style-out predictions"
    assert "leave-one-style-out fold" in card.ood.threshold_from
    text = (result.run_dir / "report.md").read_text()
    assert "## Leave one style out" in text and "out-of-style macro-F1" in text


def test_calibration_and_a_test_on_another_style(two_styles, tiny_settings):
    mixed, other = two_styles
    options = TrainOptions(task="scalp", data=mixed, calibrate_on=other, shift_test=other, **TINY)
    result = run(options, tiny_settings)
    card = bundle.read_card(result.bundle_dir)
    assert card.metrics.calibrated_on == "16 images of other"
    assert card.ood.threshold_from == "16 images of other" and card.ood.negatives
    shift = card.metrics.shift
    assert shift is not None and shift.evaluation.n == 16 and shift.source.endswith("other")
    assert set(shift.evaluation.subgroups["style"].groups) == {"dermoscope"}
    text = (result.run_dir / "report.md").read_text()
    assert "## Photos from a source the model never saw" in text and "16 images of other" in text


def test_leaving_styles_out_needs_a_style_column(tiny_scalp, tiny_settings, tmp_path):
    plain = tmp_path / "plain"
    write_dataset("scalp", 4, seed=3, out=plain, size=96, style="studio", progress=False)
    (plain / "manifest.csv").unlink()
    with pytest.raises(UsageError, match="needs a manifest.csv whose `style` column"):
        run(TrainOptions(task="scalp", data=plain, shift=True, **TINY), tiny_settings)


def test_a_calibration_folder_that_does_not_exist_is_refused_before_anything_is_written(
    two_styles, tiny_settings, tmp_path
):
    mixed, _ = two_styles
    before = sorted((tiny_settings.runs_dir / "scalp").glob("train*"))
    with pytest.raises(UsageError, match="nowhere"):
        run(TrainOptions(task="scalp", data=mixed, calibrate_on=tmp_path / "nowhere", **TINY), tiny_settings)
    assert sorted((tiny_settings.runs_dir / "scalp").glob("train*")) == before
