"""The backbone registry: every entry builds, its feature map matches its config, its preprocessing is
timm's."""

from __future__ import annotations

import pytest
import torch

from scalpcheck.errors import UsageError
from scalpcheck.learn import backbones
from scalpcheck.learn.head import Head

REQUIRED = {"resnet50", "vgg16", "vgg19", "efficientnet_b0", "efficientnet_lite0"}


def test_registry_has_the_required_backbones():
    assert set(backbones.BACKBONES) >= REQUIRED


@pytest.mark.parametrize("name", sorted(backbones.BACKBONES))
def test_backbone_base_gives_the_configured_feature_map(name):
    import timm

    backbone = backbones.get(name)
    cfg = timm.models.get_pretrained_cfg(name).to_dict()
    pre = backbone.preprocess()
    assert (pre.input_size, pre.mean, pre.std, pre.interpolation) == (
        cfg["input_size"][-1],
        tuple(cfg["mean"]),
        tuple(cfg["std"]),
        cfg["interpolation"],
    )
    torch.manual_seed(0)
    model = backbones.FeatureModel(backbone.create(), Head(backbone.feature_dim, 3, 8, 0.0)).eval()
    with torch.inference_mode():
        logits, embedding, feature_map = model(torch.randn(1, 3, 64, 64))  # 64 px: 2x2 map, quick
    assert feature_map.shape == (1, backbone.feature_dim, 2, 2)
    assert torch.allclose(embedding, feature_map.mean(dim=(2, 3)))
    assert logits.shape == (1, 3)
    stem, tail = backbone.split(model.backbone)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(tail(stem(x)), model.backbone.forward_features(x), atol=1e-5)
    shared = {id(p) for p in model.backbone.parameters()}
    assert {id(p) for p in tail.parameters()} <= shared and any(True for _ in tail.parameters())


def test_hsv_changes_only_the_colour_space():
    rgb, hsv = (
        backbones.get("efficientnet_lite0").preprocess(),
        backbones.get("efficientnet_lite0").preprocess("hsv"),
    )
    assert hsv.color_space == "hsv" and (hsv.input_size, hsv.mean) == (rgb.input_size, rgb.mean)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "at least one"),
        ("resnet50,resnet50", "twice"),
        ("efficientnet_lite0,alexnet", "unknown backbone"),
    ],
)
def test_bad_backbone_lists(text, message):
    with pytest.raises(UsageError, match=message):
        backbones.parse_list(text)
