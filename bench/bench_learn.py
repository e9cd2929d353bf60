"""Training speed: feature extraction per backbone, head training, and the full comparison.

- extraction: frozen-backbone embeddings of 224 px phantoms, images per second, as `scalpcheck train` runs
  it (the backbone traced to ONNX and run by ONNX Runtime in batches of 32), against eager PyTorch on the
  same batches (channels-last, every core), for the backbones where the baseline is affordable;
- head training: one head with the default hyper-parameters on 50 phantoms a class (2 augmented views each);
- the full comparison: all five built-in backbones on both tasks, 50 phantoms a class, with tuning
  (`scalpcheck train` defaults), from an empty feature cache; target: within 15 minutes.
Backbones without reachable weights run from random weights (speed does not depend on their values).
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench import Row, row

COMPARISON_LIMIT_S = 15 * 60
PER_CLASS = 50


def _phantoms(ctx, task: str, per_class: int):
    from scalpcheck.data.synth import write_dataset

    out = ctx.workdir / f"{task}-{per_class}"
    if not out.exists():
        write_dataset(task, per_class, seed=11, out=out, progress=False)
    return out


def _eager_images_per_second(model, items, pre) -> float:
    """The same extraction in eager PyTorch: batches of 32, channels-last layout, every core."""
    import torch

    from scalpcheck.data.transforms import eval_transform, load_rgb

    torch.set_num_threads(os.cpu_count() or 1)
    model = model.eval().to(memory_format=torch.channels_last)
    transform = eval_transform(pre)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, len(items), 32):
            batch = torch.stack([transform(load_rgb(i.path)) for i in items[first : first + 32]])
            model.forward_features(batch.contiguous(memory_format=torch.channels_last)).mean(dim=(2, 3))
    return len(items) / (time.perf_counter() - start)


def _extraction(ctx, names: list[str]) -> list[Row]:
    from scalpcheck.data.catalog import scan
    from scalpcheck.learn.backbones import get
    from scalpcheck.learn.features import extract
    from scalpcheck.learn.weights import WeightSource, create_model, find

    items = scan(_phantoms(ctx, "scalp", 4 if ctx.quick else 16), "scalp").items
    rows = []
    for name in names:
        backbone = get(name)
        pre = backbone.preprocess()
        source = find(backbone, None, ctx.workdir / "weights") or WeightSource("random", "")
        model = create_model(backbone, source)
        extract(model, items[:4], pre, {}, seed=0)  # warm-up
        batched = extract(model, items, pre, {}, seed=0).images_per_second
        baseline = None
        if name in ("efficientnet_lite0", "efficientnet_b0", "resnet50"):
            baseline = _eager_images_per_second(model, items, pre)
        rows.append(
            row(
                "learn",
                f"feature extraction, {name} ({source.describe()})",
                batched,
                "img/s",
                baseline=baseline,
                baseline_name="eager PyTorch, same batches" if baseline else "",
            )
        )
        print(f"  {name}: {batched:.1f} img/s" + (f" (eager {baseline:.1f})" if baseline else ""))
    return rows


def _head(ctx) -> Row:
    import torch

    from scalpcheck.data.catalog import scan
    from scalpcheck.learn.backbones import get
    from scalpcheck.learn.features import extract, view_plan
    from scalpcheck.learn.head import HeadParams, train_head
    from scalpcheck.learn.weights import create_model, find

    per_class = 10 if ctx.quick else PER_CLASS
    catalog = scan(_phantoms(ctx, "scalp", per_class), "scalp")
    backbone = get("efficientnet_lite0")
    model = create_model(backbone, find(backbone, None, ctx.workdir / "weights"))
    rng = np.random.default_rng(0)
    train = sorted(rng.choice(len(catalog.items), int(0.7 * len(catalog.items)), replace=False).tolist())
    val = [i for i in range(len(catalog.items)) if i not in set(train)]
    features = extract(
        model, catalog.items, backbone.preprocess(), view_plan(catalog.items, train, 2), seed=0
    )
    y = np.array([catalog.task.labels.index(i.label) for i in catalog.items])
    x_train, item = features.training_views(train)
    torch.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    trained = train_head(
        x_train, y[item], features.plain(val), y[val], len(catalog.task.labels), HeadParams()
    )
    seconds = time.perf_counter() - start
    print(f"  head: {seconds:.2f} s, {len(trained.history)} epochs on {len(x_train)} embeddings")
    return row(
        "learn",
        f"head training, default settings, {len(x_train)} embeddings",
        seconds,
        "s",
        higher_is_better=False,
    )


def _comparison(ctx) -> Row:
    from scalpcheck.learn.backbones import BACKBONES, get
    from scalpcheck.learn.train import TrainOptions, run
    from scalpcheck.settings import load_settings

    per_class = 10 if ctx.quick else PER_CLASS
    names = ["efficientnet_lite0", "efficientnet_b0"] if ctx.quick else list(BACKBONES)
    settings = load_settings({"SCALPCHECK_HOME": str(ctx.workdir / "home")})
    start = time.perf_counter()
    for task in ("scalp", "hairloss"):
        options = TrainOptions(
            task=task,
            data=_phantoms(ctx, task, per_class),
            backbones=[get(n) for n in names],
            allow_random_init=True,
            progress=False,
        )
        result = run(options, settings)
        for b in result.leaderboard:
            test = b.figures.test.assessed_scores
            print(f"  {task} {b.backbone}: {b.seconds:.0f} s, test macro-F1 {test.f1_macro:.3f}")
    seconds = time.perf_counter() - start
    return row(
        "learn",
        f"{len(names)} backbones x 2 tasks, {per_class} a class, tuned (phantoms written beforehand)",
        seconds,
        "s",
        higher_is_better=False,
        target=None if ctx.quick else COMPARISON_LIMIT_S,
    )


def run(ctx) -> list[Row]:
    from scalpcheck.learn.backbones import BACKBONES

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a benchmark never downloads
    names = ["efficientnet_lite0"] if ctx.quick else list(BACKBONES)
    rows = _extraction(ctx, names)
    rows.append(_head(ctx))
    _phantoms(ctx, "hairloss", 10 if ctx.quick else PER_CLASS)
    rows.append(_comparison(ctx))
    return rows
