"""`scalpcheck doctor`: what this installation will do before it is asked to train anything.

Versions, threads and the home folder; for each backbone where its weights would come from (looked up
without downloading); and an ImageNet sanity check: the offline EfficientNet-Lite0 weights, with their
ImageNet classifier, must see the cat in scikit-image's photo of Chelsea. A wrong key mapping or wrong
normalisation shows up here as nonsense classes long before it shows up as a poor scalp model.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from scalpcheck import __version__
from scalpcheck.learn import weights
from scalpcheck.learn.backbones import BACKBONES, get
from scalpcheck.settings import Settings

PACKAGES = (
    "torch",
    "torchvision",
    "timm",
    "onnx",
    "onnxruntime",
    "optuna",
    "scikit-learn",
    "numpy",
    "pillow",
)
CHECK_BACKBONE = "efficientnet_lite0"
CAT_WORDS = ("cat", "tabby", "lynx")  # ImageNet's domestic and wild cats


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def backbone_sources(settings: Settings) -> dict[str, dict]:
    report = {}
    for name, backbone in BACKBONES.items():
        source = weights.find(backbone, None, settings.cache_dir / "weights")
        report[name] = {
            "input_size": backbone.preprocess().input_size,
            "feature_dim": backbone.feature_dim,
            "weights": source.describe() if source else None,
            "pretrained": bool(source),
        }
    return report


def imagenet_check(top: int = 5) -> dict:
    """Top-`top` ImageNet classes of skimage.data.chelsea() (a tabby cat) with the offline Lite0 weights."""
    import timm
    import torch
    from PIL import Image
    from skimage import data
    from timm.data import ImageNetInfo

    from scalpcheck.preprocess import preprocess

    backbone = get(CHECK_BACKBONE)
    source = weights.package_source(backbone)
    if source is None:
        return {"ok": False, "error": f"the offline package {weights.LITE0_PACKAGE} is not installed"}
    model = timm.create_model(backbone.name, pretrained=False).eval()  # with its ImageNet classifier
    weights.load_into(model, backbone, source)
    x = torch.from_numpy(preprocess(Image.fromarray(data.chelsea()), backbone.preprocess()))[None]
    with torch.inference_mode():
        proba = model(x).softmax(dim=1)[0]
    values, indices = proba.topk(top)
    info = ImageNetInfo()
    classes = [
        {"class": info.index_to_description(int(i)), "probability": round(float(v), 4)}
        for v, i in zip(values, indices, strict=True)
    ]
    top1 = str(classes[0]["class"]).lower()
    return {
        "image": "skimage.data.chelsea (a tabby cat)",
        "weights": source.describe(),
        "top": classes,
        "ok": any(word in top1 for word in CAT_WORDS),
    }


def collect(settings: Settings, sanity_check: bool = True) -> dict:
    import torch

    hub_host = weights.hub_host()
    return {
        "scalpcheck": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "home": str(settings.home),
        "home_exists": settings.home.is_dir(),
        "models": sorted(p.name for p in settings.models_dir.glob("*") if not p.name.startswith(".")),
        "hub": "offline (HF_HUB_OFFLINE)"
        if hub_host is None
        else ("reachable" if weights.hub_reachable() else f"{hub_host} not reachable"),
        "backbones": backbone_sources(settings),
        "imagenet_check": imagenet_check() if sanity_check else None,
    }


def to_text(report: dict) -> str:
    lines = [
        f"scalpcheck {report['scalpcheck']}, Python {report['python']}",
        f"platform   {report['platform']}",
        "packages   " + ", ".join(f"{k} {v or 'missing'}" for k, v in report["packages"].items()),
        f"threads    {report['cpus']} CPUs, torch uses {report['torch_threads']}",
        f"home       {report['home']}" + ("" if report["home_exists"] else " (not created yet)"),
        f"models     {', '.join(report['models']) or 'none published'}",
        f"hub        {report['hub']}",
        "backbones",
    ]
    for name, b in report["backbones"].items():
        where = b["weights"] or "no weights: --weights NAME=FILE, or --allow-random-init"
        lines.append(f"  {name:<20} {b['input_size']} px, {b['feature_dim']:>4} features  {where}")
    check = report["imagenet_check"]
    if check:
        if "error" in check:
            lines.append(f"ImageNet check FAILED: {check['error']}")
        else:
            verdict = "ok" if check["ok"] else "FAILED (expected a cat)"
            lines.append(f"ImageNet check on {check['image']} with {check['weights']}: {verdict}")
            lines += [f"  {c['probability']:6.1%}  {c['class']}" for c in check["top"]]
    return "\n".join(lines)
