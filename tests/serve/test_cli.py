"""`scalpcheck predict` and `scalpcheck evaluate`: output, exit statuses, one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest

from scalpcheck.cli import main
from tests.helpers.photos import scalp_photo

# One xdist worker runs every test that needs the exported bundles, so they are built once per run.
pytestmark = pytest.mark.xdist_group("serve_bundles")


@pytest.fixture
def photos(tmp_path):
    """A good photo, a too-small one and a text file named .jpg."""
    good, small, text = tmp_path / "good.jpg", tmp_path / "small.png", tmp_path / "notes.jpg"
    scalp_photo(400).save(good, quality=92)
    scalp_photo(60).save(small)
    text.write_text("not a photo")
    return good, small, text


@pytest.fixture
def dataset(tmp_path):
    """A tiny labelled scalp dataset marked as phantoms, with one unreadable file."""
    root = tmp_path / "data"
    for i, label in enumerate(("alopecia", "folliculitis", "healthy", "psoriasis")):
        (root / label).mkdir(parents=True)
        for j in range(2):
            scalp_photo(300, 10 * i + j).save(root / label / f"{j}.jpg")
    (root / "healthy" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (root / "phantoms.json").write_text("{}")
    return root


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"scalpcheck {command}: error: "), err
    return err


def test_predict_prints_label_confidence_advice_and_disclaimer(random_models, photos, capsys):
    assert main(["predict", str(photos[0]), "--task", "scalp"]) == 0
    out = capsys.readouterr().out
    assert f"{photos[0]}: " in out and "% confident)" in out
    assert "other possibilities:" in out
    assert "not a diagnosis" in out and "synthetic" in out


def test_predict_reports_refusals_and_exits_1(random_models, photos, capsys):
    assert main(["predict", *map(str, photos), "--task", "hairloss"]) == 1
    out = capsys.readouterr().out
    assert f"{photos[1]}: refused (image_too_small)" in out
    assert f"{photos[2]}: refused (unsupported_image)" in out
    assert "% confident)" in out  # the good photo was still assessed


def test_predict_json(random_models, photos, capsys):
    assert main(["predict", str(photos[0]), str(photos[2]), "--task", "scalp", "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [entry["file"] for entry in payload] == [str(photos[0]), str(photos[2])]
    assessment = payload[0]["assessment"]
    assert assessment["task"] == "scalp" and set(assessment["probabilities"]) == {
        "alopecia",
        "folliculitis",
        "healthy",
        "psoriasis",
    }
    assert payload[1]["error"]["code"] == "unsupported_image" and payload[1]["error"]["message"]


def test_predict_with_an_unpublished_bundle(home, random_bundles, photos, capsys):
    assert main(["predict", str(photos[0]), "--bundle", str(random_bundles["hairloss"])]) == 0
    assert "Stage " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["predict", "missing.jpg", "--task", "scalp"], "no such file"),
        (["predict", "{good}", "--task", "dandruff"], "no such task"),
        (["predict", "{good}"], "--task is required"),
        (["predict", "{good}", "--bundle", "{tmp}"], "no model.onnx"),
    ],
)
def test_predict_bad_arguments_exit_2(random_models, photos, tmp_path, capsys, argv, says):
    argv = [a.format(good=photos[0], tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    assert says in one_line_error(capsys, "predict")


def test_predict_without_a_published_model_says_what_to_do(home, photos, capsys):
    assert main(["predict", str(photos[0]), "--task", "scalp"]) == 2
    err = one_line_error(capsys, "predict")
    assert "no model is published for task scalp" in err and "make run" in err and "--publish" in err


def test_predict_rejects_a_bundle_of_another_task(random_bundles, photos, capsys):
    assert (
        main(["predict", str(photos[0]), "--task", "scalp", "--bundle", str(random_bundles["hairloss"])]) == 2
    )
    assert "model for task 'hairloss'" in one_line_error(capsys, "predict")


def test_evaluate_report(random_bundles, dataset, capsys):
    assert main(["evaluate", str(random_bundles["scalp"]), "--data", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "Assessed 8 of 9 images; refused: unsupported_image 1" in out
    assert "trained on synthetic phantom images" in out and "these data are synthetic" in out
    assert "random init: not pretrained" in out
    for name in ("accuracy", "macro F1", "ECE", "Confusion matrix", "psoriasis"):
        assert name in out
    assert "quadratic kappa" not in out  # the scalp task is not ordinal


def test_evaluate_json(random_bundles, dataset, capsys):
    assert main(["evaluate", str(random_bundles["scalp"]), "--data", str(dataset), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["assessed"] == 8 and report["refused"] == {"unsupported_image": 1}
    assert report["refused_by_label"] == {"healthy": {"unsupported_image": 1}}
    assert report["data"]["synthetic"] is True and report["data"]["same_as_training"] is False
    metrics = report["metrics"]
    assert metrics["n"] == 8 and 0 <= metrics["accuracy"] <= 1
    assert len(metrics["confusion_matrix"]) == 4 and sum(map(sum, metrics["confusion_matrix"])) == 8
    low, high = report["intervals"]["accuracy"]
    assert low <= metrics["accuracy"] <= high


def test_evaluate_ordinal_task_reports_kappa_and_stage_error(random_bundles, tmp_path, capsys):
    root = tmp_path / "stages"
    for i in range(5):
        (root / f"Stage_{i}").mkdir(parents=True)  # label folders match case-insensitively
        scalp_photo(300, i).save(root / f"Stage_{i}" / "a.jpg")
    assert main(["evaluate", str(random_bundles["hairloss"]), "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert "quadratic kappa" in out and "stage MAE" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["evaluate", "{bundle}", "--data", "{tmp}/nowhere"], "nowhere"),
        (["evaluate", "{tmp}", "--data", "{data}"], "no model.onnx"),
        (["evaluate", "{other}", "--data", "{data}"], "not a label of task hairloss"),
        (["evaluate", "{bundle}", "--data", "{data}", "--split", "test"], "not split"),
    ],
)
def test_evaluate_bad_arguments_exit_2(random_bundles, dataset, tmp_path, capsys, argv, says):
    names = {"bundle": random_bundles["scalp"], "other": random_bundles["hairloss"], "data": dataset}
    argv = [a.format(tmp=tmp_path, **names) for a in argv]
    assert main(argv) == 2
    assert says in one_line_error(capsys, "evaluate")


def test_evaluate_warns_when_the_data_are_the_training_data(random_bundles, dataset, tmp_path, capsys):
    from scalpcheck.data.catalog import fingerprint, scan

    bundle_dir = shutil.copytree(random_bundles["scalp"], tmp_path / "bundle")
    card = json.loads((bundle_dir / "card.json").read_text())
    card["data"]["fingerprint"] = fingerprint(scan(dataset, "scalp"))
    (bundle_dir / "card.json").write_text(json.dumps(card))
    assert main(["evaluate", str(bundle_dir), "--data", str(dataset)]) == 0
    assert "Warning: this is the dataset the model was trained on" in capsys.readouterr().out
