"""Image quality measures: real photos pass, tiny, blurred, nearly black and nearly white ones do not."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFilter

from scalpcheck.quality import QualityLimits, measure, problems


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)())


def strands(seed: int = 0, size: int = 256, dark_skin: bool = False) -> Image.Image:
    """A sharp, noisy texture of thin dark strands on skin, like a close-up of a scalp."""
    rng = np.random.default_rng(seed)
    skin = (60, 40, 30) if dark_skin else (200, 150, 120)
    img = Image.new("RGB", (size, size), skin)
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y = rng.uniform(0, size, 2)
        dx, dy = rng.normal(0, size / 6, 2)
        draw.line([(x, y), (x + dx, y + dy)], fill=(20, 15, 10), width=1)
    pixels = np.asarray(img, np.float32) + rng.normal(0, 2, (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera", "retina", "rocket", "moon"])
def test_real_photos_are_usable(name):
    """Ordinary photos are for the out-of-distribution check to refuse, not the quality gate."""
    assert problems(measure(photo(name))) == []


@pytest.mark.parametrize("dark_skin", [False, True])
def test_sharp_texture_is_usable_and_heavy_defocus_is_not(dark_skin):
    sharp = strands(dark_skin=dark_skin)
    assert problems(measure(sharp)) == []
    for sigma in (4, 6, 10):
        assert problems(measure(sharp.filter(ImageFilter.GaussianBlur(sigma)))) == ["image_too_blurry"]


def test_blurred_real_photo_is_too_blurry():
    assert problems(measure(photo("coffee").filter(ImageFilter.GaussianBlur(8)))) == ["image_too_blurry"]


def test_smooth_but_sharp_skin_is_not_blurry():
    """Bald skin has little detail, but what it has (pores, sensor noise) is fine detail."""
    rng = np.random.default_rng(1)
    skin = np.full((256, 256, 3), (180, 130, 110), np.float32) + rng.normal(0, 1.5, (256, 256, 1))
    for y, x in rng.integers(0, 256, (60, 2)):
        skin[y, x] -= 40  # pores
    assert problems(measure(Image.fromarray(np.clip(skin, 0, 255).astype(np.uint8)))) == []


@pytest.mark.parametrize("factor", [0.02, 0.08, 0.15])
def test_nearly_black_and_nearly_white(factor):
    pixels = np.asarray(strands(), np.float32)
    dark = Image.fromarray((pixels * factor).astype(np.uint8))
    bright = Image.fromarray((255 - (255 - pixels) * factor).astype(np.uint8))
    assert problems(measure(dark))[0] == "image_too_dark"
    assert problems(measure(bright))[0] == "image_too_bright"


def test_small_images():
    limits = QualityLimits()
    assert problems(measure(strands(size=40))) == ["image_too_small"]
    assert "image_too_small" not in problems(measure(strands(size=limits.min_side)))
    assert problems(measure(photo("astronaut").resize((300, 60)))) == ["image_too_small"]


def test_measures_do_not_depend_on_resolution():
    """A photo and the same photo at a quarter of the pixels are judged alike (the measure downsizes)."""
    big = photo("astronaut")
    half = big.resize((256, 256), Image.Resampling.BOX)
    a, b = measure(big), measure(half)
    assert (a.width, b.width) == (512, 256)
    assert a.brightness == pytest.approx(b.brightness, abs=1e-3)
    assert a.sharpness == pytest.approx(b.sharpness, rel=1e-3)


def test_image_modes():
    grey16 = Image.fromarray((np.asarray(photo("camera"), np.uint16) * 257).astype(np.uint16))
    assert grey16.mode.startswith("I;16")
    stats = measure(grey16)
    assert 0.3 < stats.brightness < 0.7  # not clipped to white
    assert problems(stats) == []
    assert problems(measure(photo("coffee").convert("P"))) == []
    assert problems(measure(photo("coffee").convert("RGBA"))) == []


def test_quality_does_not_import_torch():
    code = "import sys, scalpcheck.quality; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("task", ["scalp", "hairloss"])
def test_phantoms_are_usable_and_their_planted_faults_are_not(task):
    """Every label's phantom passes; blurred (sigma 5 px at 256), darkened or brightened as the
    generator plants them, it does not."""
    from scalpcheck.data.synth import render_phantom
    from scalpcheck.tasks import TASKS

    rng = np.random.default_rng(3)
    for label in TASKS[task].labels:
        phantom = render_phantom(task, label, rng)
        assert problems(measure(phantom)) == [], label
        pixels = np.asarray(phantom, np.float32)
        assert problems(measure(phantom.filter(ImageFilter.GaussianBlur(5)))) == ["image_too_blurry"], label
        assert problems(measure(Image.fromarray((pixels * 0.06).astype(np.uint8)))) == ["image_too_dark"]
        bright = Image.fromarray((255 - (255 - pixels) * 0.06).astype(np.uint8))
        assert problems(measure(bright)) == ["image_too_bright"]
