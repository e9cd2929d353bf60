"""Training at test size, and what a trained bundle makes of photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# TrainOptions for the smallest runs that still take every path: one tuning trial, a 96 px model input, one
# augmented view a photo, no progress bars.
TINY = {"trials": 1, "input_size": 96, "views": 1, "progress": False}


def ood_scores(bundle_dir: Path, images: list[Image.Image]) -> tuple[np.ndarray, float]:
    """(out-of-distribution score of each image, the bundle's threshold): the bundle's ONNX graph and
    ood.npz, as serving runs them; an image scoring above the threshold is refused as not a scalp."""
    from scalpcheck import bundle, onnx_session, ood
    from scalpcheck.preprocess import preprocess

    card = bundle.read_card(bundle_dir)
    session = onnx_session.create(bundle_dir / bundle.MODEL_FILE)
    batch = np.stack([preprocess(img, card.preprocess) for img in images])
    names = {o.name for o in session.get_outputs()}
    gate = (
        bundle.REFERENCE if bundle.REFERENCE in names else "embedding"
    )  # fine-tuned bundles: the untuned one
    (embedding,) = session.run([gate], {"image": batch})
    with np.load(bundle_dir / bundle.OOD_FILE) as f:
        stats = dict(f)
    return ood.score(stats, embedding), card.ood.threshold
