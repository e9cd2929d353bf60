"""The numpy head and Grad-CAM against torch autograd, and the overlay image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from scalpcheck.serve.explain import FOCUS, focus, grad_cam, overlay
from scalpcheck.serve.head import Head


def torch_head(dims: list[int], seed: int) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(0.3)]
    return torch.nn.Sequential(*layers).eval()


def as_head(model: torch.nn.Sequential) -> Head:
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    arrays = {f"w{i}": m.weight.detach().numpy() for i, m in enumerate(linears)}
    arrays |= {f"b{i}": m.bias.detach().numpy() for i, m in enumerate(linears)}
    return Head.from_arrays(arrays)


@pytest.mark.parametrize("seed", range(4))
def test_head_logits_and_gradient_match_torch_autograd(seed):
    model = torch_head([64, 32, 16, 5], seed)
    head = as_head(model)
    embedding = torch.randn(64, generator=torch.Generator().manual_seed(seed)).abs()
    x = embedding.clone().requires_grad_(True)
    logits = model(x)
    np.testing.assert_allclose(head.logits(embedding.numpy()), logits.detach().numpy(), rtol=1e-5, atol=1e-5)
    for k in range(5):
        (expected,) = torch.autograd.grad(logits[k], x, retain_graph=True)
        got = head.class_gradient(embedding.numpy(), k)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_grad_cam_matches_torch_on_the_feature_map():
    """Grad-CAM by definition (autograd through the spatial mean) equals the head-gradient shortcut."""
    model = torch_head([16, 8, 8, 3], seed=7)
    feature_map = torch.rand(16, 5, 5, generator=torch.Generator().manual_seed(7), requires_grad=True)
    logits = model(feature_map.mean(dim=(1, 2)))
    (grads,) = torch.autograd.grad(logits[1], feature_map)
    weights = grads.mean(dim=(1, 2))
    expected = torch.relu((weights[:, None, None] * feature_map).sum(0)).detach().numpy()
    expected = expected / expected.max()
    fm = feature_map.detach().numpy()
    got = grad_cam(as_head(model), fm.mean(axis=(1, 2)), fm, 1)
    assert got.dtype == np.float32 and got.shape == (5, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_grad_cam_points_at_the_evidence():
    """A single-layer head that scores channel 0: the map peaks where channel 0 is active."""
    head = Head.from_arrays(
        {"w0": np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), "b0": np.zeros(2, np.float32)}
    )
    feature_map = np.zeros((2, 7, 7), np.float32)
    feature_map[0, 2, 5] = 4.0
    feature_map[1, 6, 0] = 9.0
    cam = grad_cam(head, feature_map.mean(axis=(1, 2)), feature_map, 0)
    assert np.unravel_index(cam.argmax(), cam.shape) == (2, 5)
    assert cam.max() == 1.0 and cam.min() == 0.0


def test_grad_cam_without_positive_evidence_is_all_zero():
    head = Head.from_arrays({"w0": np.array([[-1.0], [1.0]], np.float32), "b0": np.zeros(2, np.float32)})
    feature_map = np.ones((1, 3, 3), np.float32)
    assert not grad_cam(head, np.ones(1, np.float32), feature_map, 0).any()


def test_head_rejects_shapes_that_do_not_chain():
    with pytest.raises(ValueError, match="layer 1"):
        Head.from_arrays(
            {"w0": np.zeros((4, 8)), "b0": np.zeros(4), "w1": np.zeros((2, 5)), "b1": np.zeros(2)}
        )
    with pytest.raises(ValueError, match="lacks b0"):
        Head.from_arrays({"w0": np.zeros((4, 8))})


def test_overlay_tints_hot_regions_and_leaves_cold_ones():
    photo = Image.new("RGB", (140, 100), (90, 120, 150))
    heat = np.zeros((7, 7), np.float32)
    heat[:, 5:] = 1.0
    out = overlay(photo, heat)
    assert out.size == photo.size and out.mode == "RGB"
    assert out.getpixel((5, 50)) == (90, 120, 150)  # cold: the photo unchanged
    assert out.getpixel((135, 50)) != (90, 120, 150)  # hot: tinted towards the colour map's bright end
    assert out.getpixel((135, 50))[0] > 150


def test_overlay_rejects_an_impossible_alpha():
    with pytest.raises(ValueError):
        overlay(Image.new("RGB", (10, 10)), np.zeros((2, 2), np.float32), alpha=1.5)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([(0, 0)], "top-left"),
        ([(3, 3)], "centre"),
        ([(6, 5), (6, 6)], "bottom-right"),
        ([(0, 3), (1, 3)], "top"),
        ([(3, 0)], "left"),
    ],
)
def test_focus_names_the_ninth_of_the_photo_where_the_heat_is(cells, expected):
    heatmap = np.zeros((7, 7), np.float32)
    for row, col in cells:
        heatmap[row, col] = 1.0
    assert focus(heatmap) == expected
    assert expected in FOCUS


def test_focus_of_an_even_or_empty_heat_map():
    rng = np.random.default_rng(0)
    assert focus(rng.uniform(0.8, 1.0, (7, 7)).astype(np.float32)) == "spread"
    assert focus(np.zeros((7, 7), np.float32)) == "none"
    # Odd sizes split into equal ninths: one hot cell in the middle third of a 10 x 10 map is the centre.
    heatmap = np.zeros((10, 10), np.float32)
    heatmap[4:6, 4:6] = 1
    assert focus(heatmap) == "centre"
