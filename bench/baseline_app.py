"""The baseline of bench_e2e: scalpcheck's app with its assessments made "the usual way".

What a Flask view written without measuring does with a phone photo: Pillow decodes every pixel and
applies the EXIF rotation, torchvision resizes and crops to 224 px, the model runs in eager PyTorch
(timm's efficientnet_lite0 with the pretrained weights the published model was trained on, and the
bundle's trained head), and Grad-CAM comes from torch autograd on the last convolutional stage. The rest
is scalpcheck's own: routes, authentication, quality gate, out-of-distribution check, advice, metadata
stripping, image store and database rows. So the comparison measures exactly what the serving path does
differently: how the photo is decoded, how the network runs, how the explanation is computed.

Served like scalpcheck: gunicorn, 2 sync workers, no preloading, and like scalpcheck's workers (one ONNX
Runtime thread each) one torch thread per worker. That is kinder to the baseline than torch's default of
one thread per core in every worker: with both workers busy, or other work on the machine, waiting OpenMP
threads slow eager inference down badly.
    gunicorn -w 2 "bench.baseline_app:create_baseline_app()"
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn
from torchvision import transforms

from scalpcheck.bundle import HEAD_FILE, read_card
from scalpcheck.errors import ImageRejected
from scalpcheck.serve import AssessmentResult, Assessor, gate, interpret
from scalpcheck.serve.assess import Photo
from scalpcheck.serve.model import LoadedModel, ModelOutput
from scalpcheck.serve.result import Source
from scalpcheck.web import create_app
from scalpcheck.web.extensions import app_state

# The eager model must be the bundle's network: its logits may differ from ONNX Runtime's by rounding only.
PARITY_TOLERANCE = 1e-3


class EagerModel:
    """One published bundle as a PyTorch program: timm backbone, the bundle's head, the card's transform."""

    def __init__(self, bundle_dir: Path, weights_dir: Path):
        from scalpcheck.learn import backbones, weights

        self.card = read_card(bundle_dir)
        # A fine-tuned tail's weights exist only in the bundle's ONNX graph: the baseline then runs the
        # same architecture with ImageNet's tail, which costs the same and answers differently.
        self.same_weights = not self.card.backbone.fine_tuned
        backbone = backbones.get(self.card.backbone.name)
        source = weights.resolve(backbone, {}, weights_dir, allow_random_init=False)
        self.backbone = weights.create_model(backbone, source)
        with np.load(Path(bundle_dir) / HEAD_FILE) as arrays:
            layers = [nn.Linear(*arrays[f"w{i}"].T.shape) for i in range(3)]
            for i, layer in enumerate(layers):
                layer.weight.data = torch.from_numpy(arrays[f"w{i}"])
                layer.bias.data = torch.from_numpy(arrays[f"b{i}"])
        self.head = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2]).eval()
        pre = self.card.preprocess
        size = pre.input_size
        interpolation = transforms.InterpolationMode(pre.interpolation)
        self.resize = transforms.Compose(
            [transforms.Resize(size, interpolation=interpolation), transforms.CenterCrop(size)]
        )
        self.to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize(pre.mean, pre.std)])
        self.size = size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feature_map = self.backbone.forward_features(x)
        embedding = feature_map.mean(dim=(2, 3))
        return self.head(embedding), embedding, feature_map

    def check_against(self, session) -> None:
        """Raise unless this network computes the bundle's logits (the same weights as the ONNX graph)."""
        x = torch.randn(1, 3, self.size, self.size, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            eager = self.forward(x)[0].numpy()
        (onnx,) = session.run(["logits"], {"image": x.numpy()})
        difference = float(np.abs(eager - onnx).max())
        if difference > PARITY_TOLERANCE:
            raise ValueError(f"the eager model's logits differ from the bundle's by {difference:.2e}")


class EagerAssessor:
    """Assessor's interface (assess, models), computed the usual way."""

    def __init__(self, onnx_assessor: Assessor, models_dir: Path, weights_dir: Path):
        self._onnx = onnx_assessor  # answers `models`: the same models, the same catalogue
        self.max_upload_bytes = onnx_assessor.max_upload_bytes
        self._eager = {}
        for task in onnx_assessor.models:
            loaded = LoadedModel.load(
                models_dir / task
            )  # its card, statistics, and the graph to check against
            model = EagerModel(loaded.path, weights_dir)
            if model.same_weights:
                model.check_against(loaded.session)
            self._eager[task] = (model, loaded)

    @property
    def models(self):
        return self._onnx.models

    def assess(self, data: bytes, task: str) -> AssessmentResult:
        if len(data) > self.max_upload_bytes:
            raise ImageRejected("image_too_large", "The file is too large.")
        model, loaded = self._eager[task]
        try:
            photo = Image.open(io.BytesIO(data))
            orientation = photo.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(photo).convert("RGB")
        except Exception as exc:
            raise ImageRejected("unsupported_image", "This file is not a photo we can read.") from exc
        view = model.resize(upright)
        gate.check(view, upright.size)
        x = model.to_tensor(view).unsqueeze(0)

        model.backbone.zero_grad()
        model.head.zero_grad()
        logits, embedding, feature_map = model.forward(x)
        feature_map.retain_grad()
        pooled = embedding.detach()[0].numpy()
        # With ImageNet's tail the embedding is what a fine-tuned bundle's refusal scores (its reference).
        output = ModelOutput(
            logits.detach()[0].numpy(), pooled, np.zeros(0), None if model.same_weights else pooled
        )

        def explain(top: int) -> np.ndarray:
            """Grad-CAM the usual way: autograd through the eager graph."""
            logits[0, top].backward()
            weights = feature_map.grad.mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((weights * feature_map).sum(dim=1))[0].detach().numpy()
            return (cam / cam.max() if cam.max() > 0 else cam).astype(np.float32)

        source = Source(
            format={"MPO": "JPEG"}.get(photo.format, photo.format),
            width=photo.width,
            height=photo.height,
            orientation=orientation,
        )
        return interpret(loaded, output, Photo(view, source), explain)


def create_baseline_app(config: dict | None = None):
    """scalpcheck's app whose assessments are made by EagerAssessor."""
    torch.set_num_threads(1)
    app = create_app(config)
    state = app_state(app)
    settings = state.settings
    state.assessor = EagerAssessor(state.assessor, settings.models_dir, settings.cache_dir / "weights")
    return app
