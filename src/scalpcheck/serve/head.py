"""The classification head in numpy: its logits, and the gradient of one class score for Grad-CAM.

The bundle's `head.npz` holds the head's dense layers in torch's [out, in] layout: w0, b0, w1, b1, w2, b2,
with a ReLU after each hidden layer (dropout is off at inference). The ONNX graph already contains the
head; this copy exists so that serving can differentiate it without torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    weights: tuple[np.ndarray, ...]  # [out, in] per layer
    biases: tuple[np.ndarray, ...]  # [out] per layer

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Head:
        """Read w0, b0, w1, b1, ... in order; raises ValueError when the shapes do not chain."""
        n_layers = sum(1 for name in arrays if name.startswith("w"))
        if n_layers < 1:
            raise ValueError("head.npz has no layers (expected w0, b0, w1, b1, w2, b2)")
        try:
            weights = tuple(np.asarray(arrays[f"w{i}"], np.float32) for i in range(n_layers))
            biases = tuple(np.asarray(arrays[f"b{i}"], np.float32) for i in range(n_layers))
        except KeyError as exc:
            raise ValueError(f"head.npz lacks {exc.args[0]}") from exc
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(f"head.npz layer {i}: weight {w.shape} and bias {b.shape} do not fit")
            if i and w.shape[1] != weights[i - 1].shape[0]:
                given = weights[i - 1].shape[0]
                raise ValueError(f"head.npz layer {i} takes {w.shape[1]} inputs, layer {i - 1} gives {given}")
        return cls(weights, biases)

    @property
    def in_features(self) -> int:
        return self.weights[0].shape[1]

    @property
    def n_classes(self) -> int:
        return self.weights[-1].shape[0]

    def _pre_activations(self, embedding: np.ndarray) -> list[np.ndarray]:
        """Each layer's output before its ReLU (the last one is the logits)."""
        outputs, x = [], embedding
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = w @ x + b
            outputs.append(z)
            x = np.maximum(z, 0) if i < len(self.weights) - 1 else z
        return outputs

    def logits(self, embedding: np.ndarray) -> np.ndarray:
        return self._pre_activations(embedding)[-1]

    def class_gradient(self, embedding: np.ndarray, class_index: int) -> np.ndarray:
        """d logits[class_index] / d embedding, by backpropagation through the ReLUs: [D]."""
        pre = self._pre_activations(embedding)
        grad = self.weights[-1][class_index]
        for i in range(len(self.weights) - 2, -1, -1):
            grad = (grad * (pre[i] > 0)) @ self.weights[i]
        return grad
