"""A loaded model bundle: a warm ONNX Runtime session, its card, its head and its out-of-distribution stats.

Loading checks the bundle against itself (the ONNX graph's inputs and outputs, the head's shapes, the card's
classes) and runs the graph once, so a broken bundle fails at startup with a message naming the problem,
never on a user's photo, and the first user does not pay for the session's warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from scalpcheck import onnx_session, ood
from scalpcheck.bundle import HEAD_FILE, MODEL_FILE, OOD_FILE, BundleError, read_card
from scalpcheck.preprocess import Preprocess
from scalpcheck.serve.head import Head

OUTPUTS = ("logits", "embedding", "feature_map")
# The ONNX graph contains the head; head.npz must compute the same logits (float32 rounding aside), or the
# Grad-CAM maps would explain some other model.
_HEAD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ModelOutput:
    logits: np.ndarray  # [K]
    embedding: np.ndarray  # [D]
    feature_map: np.ndarray  # [D, h, w]


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    card: dict
    session: ort.InferenceSession
    head: Head
    ood_stats: dict[str, np.ndarray]
    preprocess: Preprocess

    @classmethod
    def load(cls, bundle_dir: str | Path) -> LoadedModel:
        """Open and check a bundle; raises BundleError saying what is wrong."""
        path = Path(bundle_dir).resolve()
        card = read_card(path)
        try:
            preprocess = Preprocess.from_card(card["preprocess"])
            with np.load(path / HEAD_FILE, allow_pickle=False) as arrays:
                head = Head.from_arrays(arrays)
            with np.load(path / OOD_FILE, allow_pickle=False) as arrays:
                ood_stats = dict(arrays)
            session = onnx_session.create(path / MODEL_FILE)
            model = cls(path, card, session, head, ood_stats, preprocess)
            problem = model._problem()
        # ONNX Runtime's errors share no base class but Exception; any of them, like a malformed card or
        # array file, means this bundle cannot serve.
        except Exception as exc:
            raise BundleError(f"{path} cannot be loaded: {exc}") from exc
        if problem:
            raise BundleError(f"{path}: {problem}")
        return model

    @property
    def labels(self) -> list[str]:
        return [c["label"] for c in self.card["classes"]]

    def display_name(self, label: str) -> str:
        return next(c["display_name"] for c in self.card["classes"] if c["label"] == label)

    @property
    def temperature(self) -> float:
        return float(self.card["temperature"])

    @property
    def ood_threshold(self) -> float:
        return float(self.card["ood"]["threshold"])

    def run(self, image: np.ndarray) -> ModelOutput:
        """One preprocessed image [3, H, W] through the graph (batch of one: a user is waiting)."""
        logits, embedding, feature_map = self.session.run(list(OUTPUTS), {"image": image[None]})
        return ModelOutput(logits[0], embedding[0], feature_map[0])

    def _problem(self) -> str | None:
        """What makes this bundle unusable, found by one test run on a blank image; None when it is fine."""
        names_in = [i.name for i in self.session.get_inputs()]
        names_out = {o.name for o in self.session.get_outputs()}
        if names_in != ["image"] or not set(OUTPUTS) <= names_out:
            return (
                f"{MODEL_FILE} has inputs {names_in} and outputs {sorted(names_out)}; "
                f"expected input 'image' and outputs {', '.join(OUTPUTS)}"
            )
        k = len(self.card["classes"])
        if k < 2 or self.head.n_classes != k:
            return f"the card lists {k} classes, {HEAD_FILE} has {self.head.n_classes} outputs"
        if not self.temperature > 0:
            return f"the temperature must be positive, got {self.temperature}"
        size = self.preprocess.input_size
        out = self.run(np.zeros((3, size, size), np.float32))
        if out.logits.shape != (k,) or out.feature_map.shape[0] != out.embedding.shape[0]:
            return (
                f"the graph gave logits {out.logits.shape}, embedding {out.embedding.shape} and "
                f"feature map {out.feature_map.shape} for {k} classes"
            )
        if self.head.in_features != out.embedding.shape[0]:
            inputs, dims = self.head.in_features, out.embedding.shape[0]
            return f"{HEAD_FILE} takes {inputs} inputs, the graph's embedding has {dims}"
        if not np.allclose(
            self.head.logits(out.embedding), out.logits, atol=_HEAD_TOLERANCE, rtol=_HEAD_TOLERANCE
        ):
            return f"{HEAD_FILE} does not compute the logits of {MODEL_FILE}"
        ood.score(self.ood_stats, out.embedding)  # raises when the statistics do not fit the embedding
        if not np.isfinite(self.ood_threshold):
            return "the out-of-distribution threshold is not a number"
        return None
