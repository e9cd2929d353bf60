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
from scalpcheck.bundle import (
    DENSITY_FILE,
    HEAD_FILE,
    INPUT,
    MODEL_FILE,
    OOD_FILE,
    OUTPUTS,
    REFERENCE,
    BundleError,
    read_card,
)
from scalpcheck.card import Card
from scalpcheck.density import DensityModel, Reading, read
from scalpcheck.preprocess import Preprocess
from scalpcheck.serve.head import Head
from scalpcheck.tasks import Task

# The ONNX graph contains the head; head.npz must compute the same logits (float32 rounding aside), or the
# Grad-CAM maps would explain some other model.
_HEAD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ModelOutput:
    logits: np.ndarray  # [K]
    embedding: np.ndarray  # [D]
    feature_map: np.ndarray  # [D, h, w]
    reference: np.ndarray | None = None  # [D'] the untuned backbone's embedding, in fine-tuned bundles


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    card: Card
    session: ort.InferenceSession
    head: Head
    ood_stats: dict[str, np.ndarray]
    task: Task  # the task as the model knows it: labels in logit order, their display names
    density: DensityModel | None = None  # present when card.density is

    @property
    def preprocess(self) -> Preprocess:
        return self.card.preprocess

    @classmethod
    def load(cls, bundle_dir: str | Path) -> LoadedModel:
        """Open and check a bundle; raises BundleError saying what is wrong."""
        path = Path(bundle_dir).resolve()
        card = read_card(path)
        try:
            with np.load(path / HEAD_FILE, allow_pickle=False) as arrays:
                head = Head.from_arrays(arrays)
            with np.load(path / OOD_FILE, allow_pickle=False) as arrays:
                ood_stats = dict(arrays)
            regression = None
            if card.density is not None:
                with np.load(path / DENSITY_FILE, allow_pickle=False) as arrays:
                    regression = DensityModel.from_arrays(arrays)
            session = onnx_session.create(path / MODEL_FILE)
            model = cls(path, card, session, head, ood_stats, card.task_info(), regression)
            problem = model._problem()
        # ONNX Runtime's errors share no base class but Exception; any of them, like a malformed card or
        # array file, means this bundle cannot serve.
        except Exception as exc:
            raise BundleError(f"{path} cannot be loaded: {exc}") from exc
        if problem:
            raise BundleError(f"{path}: {problem}")
        return model

    @property
    def outputs(self) -> list[str]:
        names = {o.name for o in self.session.get_outputs()}
        return [*OUTPUTS, REFERENCE] if REFERENCE in names else list(OUTPUTS)

    def run(self, image: np.ndarray) -> ModelOutput:
        """One preprocessed image [3, H, W] through the graph (batch of one: a user is waiting)."""
        values = self.session.run(self.outputs, {INPUT: image[None]})
        return ModelOutput(*(v[0] for v in values))

    def ood_score(self, output: ModelOutput) -> float:
        """How unlike the training photos the output is (its reference embedding where the graph has one);
        above card.ood.threshold the photo is refused."""
        gate = output.reference if output.reference is not None else output.embedding
        return float(ood.score(self.ood_stats, gate)[0])

    def _problem(self) -> str | None:
        """What makes this bundle unusable, found by one test run on a blank image; None when it is fine."""
        names_in = [i.name for i in self.session.get_inputs()]
        names_out = {o.name for o in self.session.get_outputs()}
        if names_in != [INPUT] or not set(OUTPUTS) <= names_out:
            return (
                f"{MODEL_FILE} has inputs {names_in} and outputs {sorted(names_out)}; "
                f"expected input {INPUT!r} and outputs {', '.join(OUTPUTS)}"
            )
        k = len(self.card.classes)
        if self.head.n_classes != k:
            return f"the card lists {k} classes, {HEAD_FILE} has {self.head.n_classes} outputs"
        size = self.preprocess.input_size
        out = self.run(np.zeros((3, size, size), np.float32))
        if out.logits.shape != (k,) or out.feature_map.shape[0] != out.embedding.shape[0]:
            return (
                f"the graph gave logits {out.logits.shape}, embedding {out.embedding.shape} and "
                f"feature map {out.feature_map.shape} for {k} classes"
            )
        dims = out.embedding.shape[0]
        if self.head.in_features != dims:
            inputs = self.head.in_features
            return f"{HEAD_FILE} takes {inputs} inputs, the graph's embedding has {dims}"
        if not np.allclose(
            self.head.logits(out.embedding), out.logits, atol=_HEAD_TOLERANCE, rtol=_HEAD_TOLERANCE
        ):
            return f"{HEAD_FILE} does not compute the logits of {MODEL_FILE}"
        self.ood_score(out)  # raises when the statistics do not fit the embedding
        if self.density is not None and self.density.weights.shape != out.embedding.shape:
            return f"{DENSITY_FILE} reads {self.density.weights.shape[0]} inputs, the embedding has {dims}"
        return None

    def read_density(self, output: ModelOutput) -> Reading | None:
        """The photo's hair density with its interval; None when the model has no density measurement."""
        if self.density is None or self.card.density is None:
            return None
        return read(self.density, self.card.density.half_width, output.embedding)
