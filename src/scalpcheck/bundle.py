"""The model bundle: the one format the training half writes and the serving half reads.

A bundle is a folder:
  model.onnx  input `image` float32 [N,3,H,W] (already preprocessed); outputs `logits` [N,K],
              `embedding` [N,D] (global average of `feature_map`) and `feature_map` [N,D,h,w]
  head.npz    the head's dense layers (w0,b0,w1,b1,w2,b2 in torch's [out,in] layout), so serving can take
              the gradient of a class score with respect to the embedding for Grad-CAM without torch
  ood.npz     out-of-distribution statistics fitted on training embeddings (see scalpcheck.ood)
  card.json   everything needed to use and judge the model (REQUIRED_KEYS below)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
HEAD_FILE = "head.npz"
OOD_FILE = "ood.npz"
FORMAT_VERSION = 1

REQUIRED_KEYS = (
    "format_version",  # FORMAT_VERSION
    "model_version",  # "<task>-<YYYYmmddTHHMMSS>-<8 hex of the data fingerprint>"
    "task",  # "scalp", "hairloss" or a custom task's name
    "ordinal",  # bool: labels are ordered stages
    "classes",  # [{"label": ..., "display_name": ...}] in logit order
    "input_size",  # int, square side in pixels
    "preprocess",  # scalpcheck.preprocess.Preprocess.to_card()
    "backbone",  # {"name", "weights_source", "pretrained": bool}
    "temperature",  # float > 0: calibrated probabilities are softmax(logits / temperature)
    "ood",  # {"method": "mahalanobis", "threshold": float, "heldout_accept_rate": float, ...}
    "metrics",  # test-split metrics of this model (see learn.evaluate)
    "data",  # {"fingerprint": ..., "n_images": ..., "counts": {label: n}}
    "created_at",  # ISO 8601, UTC
    "scalpcheck_version",
    "synthetic_data",  # bool: trained on phantoms; every screen and report then says so
)


class BundleError(Exception):
    """A folder that is not a usable bundle; the message says what is missing."""


def read_card(bundle_dir: str | Path) -> dict:
    bundle_dir = Path(bundle_dir)
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a model bundle folder")
    for name in (MODEL_FILE, CARD_FILE, HEAD_FILE, OOD_FILE):
        if not (bundle_dir / name).is_file():
            raise BundleError(f"{bundle_dir} has no {name}")
    try:
        card = json.loads((bundle_dir / CARD_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{bundle_dir / CARD_FILE} is not readable JSON: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if k not in card]
    if missing:
        raise BundleError(f"{bundle_dir / CARD_FILE} lacks {', '.join(missing)}")
    if card["format_version"] != FORMAT_VERSION:
        found = card["format_version"]
        raise BundleError(f"{bundle_dir} has bundle format {found}, expected {FORMAT_VERSION}")
    return card


def publish(bundle_dir: str | Path, models_dir: str | Path, task: str) -> Path:
    """Install a bundle as `models_dir/<task>`, a link swapped in one atomic rename.

    The bundle is copied to `models_dir/.bundles/<model_version>/` first, so serving workers never see a
    half-copied bundle; the previous version stays beside it for a rollback, older ones are removed.
    """
    card = read_card(bundle_dir)
    models_dir = Path(models_dir)
    store = models_dir / ".bundles"
    store.mkdir(parents=True, exist_ok=True)
    version_dir = store / card["model_version"]
    if not version_dir.exists():
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=store))
        shutil.copytree(bundle_dir, staging, dirs_exist_ok=True)
        os.rename(staging, version_dir)
    target = models_dir / task
    previous = target.resolve() if target.is_symlink() else None
    if target.exists() and not target.is_symlink():
        shutil.rmtree(target)  # a plain folder put there by hand: replaced by the published bundle
    link = models_dir / f".{task}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(Path(".bundles") / card["model_version"], link)
    os.replace(link, target)
    keep = {version_dir.resolve(), previous}
    for old in store.iterdir():
        if old.resolve() not in keep and not old.name.startswith(".") and _owner_task(old) == task:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _owner_task(version_dir: Path) -> str | None:
    try:
        return json.loads((version_dir / CARD_FILE).read_text())["task"]
    except (OSError, ValueError, KeyError):
        return None
