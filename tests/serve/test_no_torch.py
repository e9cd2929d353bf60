"""The serving path never imports torch: a web worker must start fast and stay small."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.photos import scalp_photo

# Shares the exported bundles with the other serving tests: one xdist worker builds them once.
pytestmark = pytest.mark.xdist_group("serve_bundles")

HEAVY = ("torch", "torchvision", "timm", "sklearn", "matplotlib")

# Runs in a fresh interpreter: assess, draw the overlay, and run `predict` and `evaluate`, then list which
# heavy modules got imported. argv: models folder, a photo, a dataset folder.
SCRIPT = f"""
import argparse, contextlib, io, sys
from pathlib import Path

import scalpcheck.cli.evaluate
import scalpcheck.cli.predict
from scalpcheck.serve import Assessor
from scalpcheck.serve.explain import overlay

models, photo, dataset = (Path(a) for a in sys.argv[1:])
result = Assessor(models, 10_000_000).assess(photo.read_bytes(), "scalp")
overlay(result.image, result.heatmap)
with contextlib.redirect_stdout(io.StringIO()):
    scalpcheck.cli.predict.run(argparse.Namespace(images=[photo], task="hairloss", bundle=None, json=True))
    scalpcheck.cli.evaluate.run(
        argparse.Namespace(bundle=models / "scalp", data=dataset, split=None, json=False)
    )
print("heavy:", sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_assessing_predicting_and_evaluating_never_import_torch(random_models, home, tmp_path):
    photo = tmp_path / "photo.jpg"
    scalp_photo(300).save(photo)
    dataset = tmp_path / "data"
    for i, label in enumerate(("healthy", "psoriasis")):
        (dataset / label).mkdir(parents=True)
        scalp_photo(300, i).save(dataset / label / "a.jpg")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(random_models), str(photo), str(dataset)],
        capture_output=True,
        text=True,
        env={**os.environ, "SCALPCHECK_HOME": str(home)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "heavy: []"
