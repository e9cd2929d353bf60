"""The backbone registry: one config per backbone, so training, export and serving share its preprocessing.

Every backbone is a timm model used as the Keras `include_top=False` base: its last convolutional feature
map (`forward_features`, e.g. 1280x7x7 for EfficientNet at 224 px) is the `feature_map`, and its global
average is the `embedding` the head classifies. Input size and normalisation are read from timm's
pretrained config of that model, never copied by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from scalpcheck.errors import UsageError
from scalpcheck.learn.head import Head
from scalpcheck.preprocess import ColorSpace, Preprocess


def _efficientnet(model: nn.Module) -> tuple[nn.Sequential, nn.Sequential]:
    blocks = list(model.blocks)  # type: ignore[arg-type]  # timm's
    return (
        nn.Sequential(model.conv_stem, model.bn1, *blocks[:5]),  # type: ignore[arg-type]
        nn.Sequential(*blocks[5:], model.conv_head, model.bn2),  # type: ignore[arg-type]
    )


def _resnet(model: nn.Module) -> tuple[nn.Sequential, nn.Sequential]:
    parts = [
        getattr(model, name) for name in ("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3")
    ]
    return nn.Sequential(*parts), nn.Sequential(model.layer4)  # type: ignore[arg-type]


def _vgg(convs: int):
    def split(model: nn.Module) -> tuple[nn.Sequential, nn.Sequential]:
        layers = list(model.features)  # type: ignore[arg-type]  # conv, relu pairs, then the last pool
        cut = len(layers) - 1 - 2 * convs
        return nn.Sequential(*layers[:cut]), nn.Sequential(*layers[cut:])

    return split


@dataclass(frozen=True)
class Backbone:
    name: str  # the name users type and cards record; also the timm model name
    feature_dim: int  # channels of the last feature map = embedding size
    # (stem, tail): two sequences over the model's own modules whose composition is forward_features; the
    # tail is what fine-tuning trains, the stem's output is cached (scalpcheck.learn.tail)
    split: Callable[[nn.Module], tuple[nn.Sequential, nn.Sequential]]
    unused: tuple[str, ...] = ()  # parameter prefixes forward_features never uses (loaded when present)

    @property
    def pretrained_cfg(self) -> dict:
        import timm

        cfg = timm.models.get_pretrained_cfg(self.name)
        if cfg is None:
            raise ValueError(f"timm has no pretrained configuration for {self.name}")
        return cfg.to_dict()

    @property
    def hub_id(self) -> str:
        return self.pretrained_cfg["hf_hub_id"]

    def preprocess(self, color_space: ColorSpace = "rgb") -> Preprocess:
        cfg = self.pretrained_cfg
        mean, std = (tuple(float(v) for v in cfg[key]) for key in ("mean", "std"))
        return Preprocess(
            input_size=int(cfg["input_size"][-1]),
            mean=(mean[0], mean[1], mean[2]),
            std=(std[0], std[1], std[2]),
            color_space=color_space,
            interpolation=cfg["interpolation"],
        )

    def create(self) -> nn.Module:
        """The timm model without classifier, randomly initialised (weights.load_into fills it)."""
        import timm

        return timm.create_model(self.name, pretrained=False, num_classes=0)


# The tails: EfficientNet's last two stages (at 224 px, 7 x 7 maps), ResNet's last stage, VGG's last conv
# block. Training EfficientNet's last stage alone measured no better than the frozen base on hair density.
BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("efficientnet_lite0", 1280, _efficientnet),
        Backbone("efficientnet_b0", 1280, _efficientnet),
        Backbone("resnet50", 2048, _resnet),
        # timm's VGG keeps the fully connected layers as a convolutional `pre_logits` after the base.
        Backbone("vgg16", 512, _vgg(3), unused=("pre_logits.",)),
        Backbone("vgg19", 512, _vgg(4), unused=("pre_logits.",)),
    )
}


def get(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise UsageError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}") from None


def parse_list(text: str) -> list[Backbone]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--backbones: give at least one backbone name")
    if len(set(names)) != len(names):
        raise UsageError(f"--backbones: {text!r} names a backbone twice")
    return [get(n) for n in names]


class FeatureModel(nn.Module):
    """Backbone base + head: `image` -> (`logits`, `embedding`, `feature_map`), the bundle's graph.

    A fine-tuned backbone also keeps a copy of its tail as ImageNet trained it (`reference_tail`): the
    graph then has a fourth output, `reference`, the global average of that untuned tail on the same stem
    output, which the refusal of non-scalp photos scores (a tail trained on phantoms would see phantoms
    in everything).
    """

    def __init__(self, backbone: nn.Module, head: Head, reference: tuple[Backbone, nn.Module] | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.reference_tail = reference[1] if reference else None
        self._split = reference[0].split if reference else None

    @property
    def outputs(self) -> tuple[str, ...]:
        from scalpcheck.bundle import OUTPUTS, REFERENCE

        return (*OUTPUTS, REFERENCE) if self.reference_tail is not None else OUTPUTS

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.reference_tail is None or self._split is None:
            feature_map = last_stage(self.backbone, image)
            embedding = feature_map.mean(dim=(2, 3))
            return self.head(embedding), embedding, feature_map
        stem, tail = self._split(self.backbone)
        early = stem(image)
        feature_map = tail(early)
        embedding = feature_map.mean(dim=(2, 3))
        return self.head(embedding), embedding, feature_map, self.reference_tail(early).mean(dim=(2, 3))


def last_stage(backbone: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """timm's forward_features: the last convolutional stage's map [N, C, h, w]."""
    return backbone.forward_features(image)  # type: ignore[operator]  # timm's, unknown to nn.Module


def embed(backbone: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The embedding [N, C]: the global average of the last stage's map, as the bundle's graph computes it."""
    return last_stage(backbone, image).mean(dim=(2, 3))
