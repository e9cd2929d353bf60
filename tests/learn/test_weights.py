"""Weight sources in their documented order (docs/extending.md), key mapping, clear refusals, and the offline
ImageNet sanity check."""

from __future__ import annotations

import socket

import pytest
import torch

from scalpcheck.errors import UsageError
from scalpcheck.learn import weights
from scalpcheck.learn.backbones import get

LITE0 = get("efficientnet_lite0")
RESNET = get("resnet50")


def _random_state(backbone, seed=1):
    torch.manual_seed(seed)
    return backbone.create().state_dict()


def test_order_user_file_then_local_cache_then_package(tmp_path):
    weights_dir = tmp_path / "weights"
    package = weights.find(LITE0, None, weights_dir)
    assert package.kind == "package" and package.pretrained
    weights_dir.mkdir()
    torch.save(_random_state(LITE0), weights_dir / "efficientnet_lite0.pth")
    assert weights.find(LITE0, None, weights_dir).kind == "cache"
    user = tmp_path / "mine.pth"
    torch.save(_random_state(LITE0), user)
    assert weights.find(LITE0, {"efficientnet_lite0": user}, weights_dir) == weights.WeightSource(
        "file", str(user)
    )


def test_user_file_is_loaded_by_name_or_in_key_order(tmp_path):
    state = _random_state(LITE0)
    renamed = {f"other_port.{n}": v for n, v in enumerate(state.values())}  # another port's names, same order
    renamed["_fc.weight"], renamed["_fc.bias"] = torch.zeros(1000, 1280), torch.zeros(1000)  # its classifier
    for n, saved in enumerate((state, renamed)):
        path = tmp_path / f"w{n}.pth"
        torch.save(saved, path)
        model = weights.create_model(LITE0, weights.WeightSource("file", str(path)), seed=9)
        assert torch.equal(model.state_dict()["conv_stem.weight"], state["conv_stem.weight"])


def test_weights_that_do_not_fit_are_refused_in_one_line(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save(_random_state(LITE0), path)
    with pytest.raises(UsageError, match="do not fit resnet50"):
        weights.create_model(RESNET, weights.WeightSource("file", str(path)))
    garbage = tmp_path / "garbage.pth"
    garbage.write_text("not a state dict")
    with pytest.raises(UsageError, match="cannot read weights"):
        weights.create_model(RESNET, weights.WeightSource("file", str(garbage)))


def test_no_weights_stops_with_a_clear_message_unless_random_init_is_allowed(tmp_path):
    with pytest.raises(UsageError) as refused:
        weights.resolve(RESNET, None, tmp_path, allow_random_init=False)
    message = str(refused.value)
    assert "resnet50" in message and "--allow-random-init" in message and "--weights" in message
    source = weights.resolve(RESNET, None, tmp_path, allow_random_init=True)
    assert not source.pretrained and source.describe() == "not pretrained (random init)"


def test_offline_mode_never_touches_the_network(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert weights.find(RESNET, None, tmp_path) is None


@pytest.mark.parametrize(
    "value, message",
    [("resnet50", "NAME=PATH"), ("alexnet=/x", "unknown backbone"), ("resnet50=/no/such/file", "not a file")],
)
def test_bad_weights_arguments(value, message):
    from scalpcheck.learn.backbones import BACKBONES

    with pytest.raises(UsageError, match=message):
        weights.parse_weight_args([value], BACKBONES)


def test_offline_lite0_weights_see_the_cat():
    from scalpcheck.learn.doctor import imagenet_check

    check = imagenet_check()
    assert check["ok"], check
    assert any("cat" in c["class"] for c in check["top"][:3])
