"""Training transforms: the evaluation path is the serving preprocessing; augmentation varies and keeps
the shape; colour space, normalisation and class balancing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from scalpcheck.data.transforms import balanced_views, eval_transform, load_rgb, train_transform
from scalpcheck.preprocess import Preprocess, preprocess


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8))


def test_eval_transform_is_the_serving_preprocessing(photo):
    for pre in (Preprocess(), Preprocess(input_size=96, color_space="hsv", interpolation="bilinear")):
        x = eval_transform(pre)(photo)
        assert x.dtype == torch.float32 and x.shape == (3, pre.input_size, pre.input_size)
        assert np.array_equal(x.numpy(), preprocess(photo, pre))


def test_normalisation_and_hsv():
    grey = Image.new("RGB", (32, 32), (255, 0, 0))
    rgb = eval_transform(Preprocess(input_size=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))(grey)
    assert torch.allclose(rgb[:, 0, 0], torch.tensor([1.0, -1.0, -1.0]))
    hsv = eval_transform(Preprocess(input_size=32, mean=(0, 0, 0), std=(1, 1, 1), color_space="hsv"))(grey)
    assert torch.allclose(
        hsv[:, 5, 5], torch.tensor([0.0, 1.0, 1.0])
    )  # red: hue 0, full saturation and value


def test_augmentation_keeps_the_shape_and_follows_the_seed(photo):
    pre = Preprocess(input_size=64)
    augment = train_transform(pre)
    torch.manual_seed(7)
    first = augment(photo)
    second = augment(photo)
    torch.manual_seed(7)
    again = augment(photo)
    assert first.shape == second.shape == (3, 64, 64) and first.dtype == torch.float32
    assert torch.equal(first, again)
    assert not torch.equal(first, second)
    assert not torch.equal(first, eval_transform(pre)(photo))


def test_augmentation_hsv_stays_in_range():
    pre = Preprocess(input_size=48, mean=(0, 0, 0), std=(1, 1, 1), color_space="hsv")
    x = train_transform(pre)(Image.new("RGB", (300, 100), (30, 200, 90)))
    assert x.shape == (3, 48, 48) and x.min() >= 0 and x.max() <= 1


def test_rotation_leaves_no_empty_corners():
    """Reflection padding: a uniform photo stays uniform under any rotation (no black corners)."""
    pre = Preprocess(input_size=32, mean=(0, 0, 0), std=(1, 1, 1))
    augment = train_transform(pre)
    augment.photometric = False  # without light and sensor, every pixel must keep its value
    torch.manual_seed(0)
    for _ in range(10):
        x = augment(Image.new("RGB", (64, 64), (200, 150, 100)))
        assert torch.allclose(x, x[:, :1, :1].expand_as(x), atol=1 / 255)


def test_transforms_pickle_for_dataloader_workers(photo):
    pre = Preprocess(input_size=32)
    for transform in (eval_transform(pre), train_transform(pre)):
        assert pickle.loads(pickle.dumps(transform))(photo).shape == (3, 32, 32)


def test_load_rgb_applies_exif_orientation(tmp_path):
    img = Image.new("L", (40, 20), 0)
    img.paste(255, (0, 0, 10, 20))  # white strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    img.save(tmp_path / "a.jpg", exif=exif)
    loaded = load_rgb(tmp_path / "a.jpg")
    assert loaded.mode == "RGB" and loaded.size == (20, 40)
    top = np.asarray(loaded)[:5].mean()
    assert top > 200  # the left strip is now on top


def test_balanced_views():
    views = balanced_views({"a": 100, "b": 50, "c": 30, "d": 0}, views=2)
    assert views == {"a": 2, "b": 4, "c": 7, "d": 0}
    contributions = {k: views[k] * n for k, n in {"a": 100, "b": 50, "c": 30}.items()}
    assert max(contributions.values()) / min(contributions.values()) < 1.1
    assert balanced_views({"a": 5, "b": 5}, views=3) == {"a": 3, "b": 3}
    with pytest.raises(ValueError):
        balanced_views({"a": 5}, views=0)
