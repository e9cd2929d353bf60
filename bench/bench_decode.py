"""Decoding a 12 MP phone photo, and assessing one end to end in-process.

The photo: a scalp phantom upscaled to 4032 x 3024 with sensor noise, JPEG quality 90, EXIF as a phone
writes it (orientation 6: held upright, stored sideways; camera make and model; GPS position).

- decode: the usual way (full decode, EXIF rotation, centre square, resize to 224) against the serving
  path's (scalpcheck.serve.decode: draft decode at 1/8 scale, rotation of the small image, then the shared
  preprocessing resize), both ending in the same 224 px RGB square.
- assess: Assessor.assess on the same bytes (decode, quality gate, one ONNX run, out-of-distribution score,
  calibration, Grad-CAM, advice), p50 and p95, plus the p50 of each stage to show where the time goes.
  The bundle is efficientnet_lite0 exported by scalpcheck.learn.export with random weights: the same graph
  and the same cost as a trained one, without needing a training run first.
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench import Row, row

PHONE_SIZE = (4032, 3024)
INPUT_SIZE = 224


def phone_jpeg(task: str = "scalp", label: str = "psoriasis", seed: int = 0) -> bytes:
    """A 12 MP phone photo of a phantom, with GPS and a rotation in its EXIF."""
    from scalpcheck.data.synth import render_phantom

    rng = np.random.default_rng(seed)
    phantom = render_phantom(task, label, rng, size=512)
    pixels = np.asarray(phantom.resize(PHONE_SIZE, Image.Resampling.BICUBIC), np.int16)
    pixels += rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)  # sensor noise: JPEG cost is realistic
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    exif[0x010F], exif[0x0110] = "ExamplePhone", "Model 12"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.5), 3: "E", 4: (2.0, 17.0, 40.2)})
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def full_decode(data: bytes) -> Image.Image:
    """What a view written the usual way does: decode every pixel, rotate, crop, resize."""
    from scalpcheck.preprocess import fit_square

    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return fit_square(img, INPUT_SIZE)


def serving_decode(data: bytes) -> Image.Image:
    from scalpcheck.preprocess import fit_square
    from scalpcheck.serve.decode import decode

    decoded = decode(data, max_bytes=50 * 2**20, max_pixels=64_000_000, min_side=INPUT_SIZE)
    return fit_square(decoded.image, INPUT_SIZE)


def timings_ms(fn, repeats: int) -> list[float]:
    fn()  # warm-up: first-call allocations and lazy imports are not what a warm worker pays
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def random_bundle(out: Path) -> Path:
    from scalpcheck.learn.backbones import get
    from scalpcheck.learn.export import untrained_bundle
    from scalpcheck.tasks import TASKS

    # More reference embeddings than a demo model keeps (its training photos): scoring costs no less.
    references = np.random.default_rng(0).random(
        (256, get("efficientnet_lite0").feature_dim), dtype=np.float32
    )
    return untrained_bundle(out, TASKS["scalp"], references=references, hidden=128)


def stage_timings(bundle_dir: Path, data: bytes, repeats: int) -> dict[str, float]:
    """p50 ms of each step of Assessor.assess, called the way assess calls them."""
    from scalpcheck import ood
    from scalpcheck.preprocess import center_square, preprocess
    from scalpcheck.serve import gate
    from scalpcheck.serve.decode import decode
    from scalpcheck.serve.explain import grad_cam
    from scalpcheck.serve.model import LoadedModel

    model = LoadedModel.load(bundle_dir)
    decoded = decode(data, max_bytes=50 * 2**20, max_pixels=64_000_000, min_side=INPUT_SIZE)
    x = preprocess(center_square(decoded.image), model.preprocess)
    out = model.run(x)
    steps = {
        "decode": lambda: decode(data, max_bytes=50 * 2**20, max_pixels=64_000_000, min_side=INPUT_SIZE),
        "quality gate": lambda: gate.check(decoded.image, decoded.upright_size),
        "preprocess": lambda: preprocess(center_square(decoded.image), model.preprocess),
        "ONNX run": lambda: model.run(x),
        "out-of-distribution score": lambda: ood.score(model.ood_stats, out.embedding),
        "Grad-CAM": lambda: grad_cam(model.head, out.embedding, out.feature_map, 0),
    }
    return {name: p50(timings_ms(fn, repeats)) for name, fn in steps.items()}


def run(ctx) -> list[Row]:
    from scalpcheck.serve import Assessor

    repeats = 5 if ctx.quick else 30
    data = phone_jpeg()
    assert full_decode(data).size == serving_decode(data).size == (INPUT_SIZE, INPUT_SIZE)
    full = p50(timings_ms(lambda: full_decode(data), repeats))
    draft = p50(timings_ms(lambda: serving_decode(data), repeats))
    rows = [
        row(
            "decode",
            "12 MP phone JPEG to a 224 px square, p50",
            draft,
            "ms",
            baseline=full,
            baseline_name="full decode + resize",
            higher_is_better=False,
        )
    ]
    bundle_dir = random_bundle(ctx.workdir / "bundle")
    assessor = Assessor.from_bundle(bundle_dir, 50 * 2**20)
    total = timings_ms(lambda: assessor.assess(data, "scalp"), repeats * 2)
    rows += [
        row(
            "assess",
            "12 MP JPEG end to end in-process, p50",
            p50(total),
            "ms",
            higher_is_better=False,
            target=40,
        ),
        row("assess", "12 MP JPEG end to end in-process, p95", p95(total), "ms", higher_is_better=False),
    ]
    for name, ms in stage_timings(bundle_dir, data, repeats).items():
        rows.append(row("assess", f"stage: {name}, p50", ms, "ms", higher_is_better=False))
    return rows
