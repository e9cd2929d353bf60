"""The model bundle: the one format the training half writes and the serving half reads (docs/bundle.md).

A bundle is a folder:
  model.onnx  input `image` float32 [N,3,H,W] (already preprocessed); the outputs of OUTPUTS: `logits`
              [N,K], `embedding` [N,D] (global average of `feature_map`) and `feature_map` [N,D,h,w]
  head.npz    the head's dense layers (w0,b0,w1,b1,w2,b2 in torch's [out,in] layout), so serving can take
              the gradient of a class score with respect to the embedding for Grad-CAM without torch
  ood.npz     the out-of-distribution reference (scalpcheck.ood)
  card.json   scalpcheck.card.Card
  density.npz optional: the hair-density regression (scalpcheck.density), present when card.density is
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from scalpcheck.card import Card, CardError

MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
HEAD_FILE = "head.npz"
OOD_FILE = "ood.npz"
FILES = (MODEL_FILE, CARD_FILE, HEAD_FILE, OOD_FILE)
DENSITY_FILE = "density.npz"
INPUT = "image"
OUTPUTS = ("logits", "embedding", "feature_map")
REFERENCE = "reference"  # optional: the untuned backbone's embedding, for the out-of-distribution check


class BundleError(Exception):
    """A folder that is not a usable bundle; the message says what is missing."""


def read_card(bundle_dir: str | Path) -> Card:
    bundle_dir = Path(bundle_dir)
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a model bundle folder")
    for name in FILES:
        if not (bundle_dir / name).is_file():
            raise BundleError(f"{bundle_dir} has no {name}")
    try:
        data = json.loads((bundle_dir / CARD_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{bundle_dir / CARD_FILE} is not readable JSON: {exc}") from exc
    try:
        card = Card.from_dict(data)
    except CardError as exc:
        raise BundleError(f"{bundle_dir}: {exc}") from exc
    if card.density is not None and not (bundle_dir / DENSITY_FILE).is_file():
        raise BundleError(
            f"{bundle_dir}: its card describes a density measurement but it has no {DENSITY_FILE}"
        )
    return card


def write(
    out_dir: str | Path,
    card: Card,
    model: bytes,
    head: Mapping[str, np.ndarray],
    ood: Mapping[str, np.ndarray],
    check: Callable[[Path], object] = read_card,
    density: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write the bundle folder `out_dir` atomically: built beside it, checked, then renamed into place.

    `check` gets the finished folder before it goes into place (the serving side's own loading, say); if it
    raises, nothing is left behind.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a serving worker under another user must read it
    try:
        (staging / MODEL_FILE).write_bytes(model)
        # numpy's stubs match ** against savez's allow_pickle flag
        np.savez(staging / HEAD_FILE, **head)  # type: ignore[arg-type]
        np.savez(staging / OOD_FILE, **ood)  # type: ignore[arg-type]
        if density is not None:
            np.savez(staging / DENSITY_FILE, **density)  # type: ignore[arg-type]
        (staging / CARD_FILE).write_text(json.dumps(card.to_dict(), indent=2) + "\n")
        check(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def rewrite_card(bundle_dir: str | Path, card: Card) -> None:
    """Replace a written bundle's card in one atomic rename (its other files stay as they are)."""
    path = Path(bundle_dir) / CARD_FILE
    tmp = path.with_name(f".{CARD_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    os.replace(tmp, path)


def publish(bundle_dir: str | Path, models_dir: str | Path, task: str) -> Path:
    """Install a bundle as `models_dir/<task>`, a link swapped in one atomic rename.

    The bundle is copied to `models_dir/.bundles/<model_version>/` first, so serving workers never see a
    half-copied bundle; the previous version stays beside it for a rollback, older ones are removed.
    """
    card = read_card(bundle_dir)
    models_dir = Path(models_dir)
    store = models_dir / ".bundles"
    store.mkdir(parents=True, exist_ok=True)
    version_dir = store / card.model_version
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
    os.symlink(Path(".bundles") / card.model_version, link)
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
