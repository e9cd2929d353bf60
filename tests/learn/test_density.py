"""Training a hair-density measurement: fitted where the manifest gives true densities, its interval and
smallest detectable change from re-shoots of another source, carried by the bundle into serving."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from scalpcheck import bundle
from scalpcheck.data.synth import write_dataset
from scalpcheck.learn.train import TrainOptions, run
from scalpcheck.serve import Assessor
from tests.helpers.photos import jpeg_bytes, phantom
from tests.helpers.training import TINY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hairloss_sets(tmp_path_factory):
    """8 hair-loss phantoms a class at 96 px, each photographed twice; 6 a class of another style, twice."""
    root = tmp_path_factory.mktemp("density")
    write_dataset(
        "hairloss", 8, seed=21, out=root / "train", size=96, style="studio", progress=False, shots=2
    )
    write_dataset("hairloss", 6, seed=22, out=root / "other", size=96, style="phone", progress=False, shots=2)
    return root / "train", root / "other"


@pytest.fixture(scope="module")
def measured(hairloss_sets, tiny_settings):
    train, other = hairloss_sets
    options = TrainOptions(task="hairloss", data=train, calibrate_on=other, shift_test=other, **TINY)
    return run(options, tiny_settings)


def test_the_bundle_carries_a_density_measurement_fitted_where_the_card_says(measured):
    card = bundle.read_card(measured.bundle_dir)
    info = card.density
    assert info is not None and (measured.bundle_dir / bundle.DENSITY_FILE).is_file()
    assert info.interval_from == "60 images of other" and 0 < info.half_width < 1
    assert info.retest_pairs == 30 and info.smallest_detectable_change is not None
    assert 0 < info.smallest_detectable_change < 1
    assert info.measured_on.endswith("test images") and 0 <= info.coverage <= 1
    # the test split holds both photos of a scalp or neither
    shift = card.metrics.shift
    assert shift is not None and shift.evaluation.density is not None
    scores = shift.evaluation.density
    assert scores.n == shift.evaluation.assessed and scores.retest_pairs <= 30
    assert scores.spearman_vs_stage is not None and scores.spearman_vs_stage < 0  # more hair, lower stage
    text = (measured.run_dir / "report.md").read_text()
    assert "## Hair density" in text and "Smallest detectable change" in text and "re-shoot pairs" in text
    assert measured.summary.density is not None and measured.summary.density.mae == pytest.approx(info.mae)


def test_serving_reads_density_with_its_interval(measured):
    assessor = Assessor.from_bundle(measured.bundle_dir, 50 * 2**20)
    card = bundle.read_card(measured.bundle_dir)
    readings = []
    for label in ("stage_0", "stage_4"):
        result = assessor.assess(jpeg_bytes(phantom("hairloss", label, seed=3, size=256)), "hairloss")
        reading = result.density
        assert reading is not None and 0 <= reading.low <= reading.estimate <= reading.high <= 1
        assert reading.high - reading.low <= 2 * card.density.half_width + 1e-9
        assert result.to_dict()["density"] == {
            "estimate": reading.estimate,
            "low": reading.low,
            "high": reading.high,
        }
        readings.append(reading.estimate)
    assert readings[0] > readings[1]  # a full head reads more hair than a bald one


def test_without_known_densities_a_model_has_no_measurement(hairloss_sets, tiny_settings, tmp_path):
    train, _ = hairloss_sets
    plain = tmp_path / "plain"
    shutil.copytree(train, plain)
    (plain / "manifest.csv").unlink()
    result = run(TrainOptions(task="hairloss", data=plain, **TINY), tiny_settings)
    assert bundle.read_card(result.bundle_dir).density is None
    assert not (result.bundle_dir / bundle.DENSITY_FILE).exists()
    assessor = Assessor.from_bundle(result.bundle_dir, 50 * 2**20)
    answer = assessor.assess(jpeg_bytes(phantom("hairloss", "stage_1", seed=3, size=256)), "hairloss")
    assert answer.density is None and answer.to_dict()["density"] is None
    assert "## Hair density" not in (result.run_dir / "report.md").read_text()


def test_a_card_that_promises_a_density_needs_its_file(measured, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(measured.bundle_dir, copy)
    (copy / bundle.DENSITY_FILE).unlink()
    with pytest.raises(bundle.BundleError, match="has no density.npz"):
        bundle.read_card(copy)
    np.savez(copy / bundle.DENSITY_FILE, mean=np.zeros(3), weights=np.zeros(3), bias=np.array(0.5))
    from scalpcheck.serve.model import LoadedModel

    with pytest.raises(bundle.BundleError, match="density.npz reads 3 inputs"):
        LoadedModel.load(copy)
