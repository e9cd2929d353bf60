"""The serving path after the speed work still behaves: settings, sessions, overlay, gunicorn config."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from scalpcheck import gunicorn_conf, onnx_session
from scalpcheck.errors import UsageError
from scalpcheck.preprocess import Preprocess, to_array
from scalpcheck.serve.explain import _INFERNO, overlay
from scalpcheck.settings import available_cores, load_settings


def test_onnx_threads_come_from_the_settings(monkeypatch):
    assert load_settings({}).ort_threads is None
    assert load_settings({"SCALPCHECK_ORT_THREADS": "3"}).ort_threads == 3
    monkeypatch.setenv("SCALPCHECK_ORT_THREADS", "1")
    assert onnx_session.session_options().intra_op_num_threads == 1
    monkeypatch.delenv("SCALPCHECK_ORT_THREADS")
    assert onnx_session.session_options().intra_op_num_threads == available_cores()


def _spins(options) -> bool:
    return options.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_threads_spin_only_when_asked(monkeypatch):
    monkeypatch.delenv("SCALPCHECK_ORT_THREADS", raising=False)
    assert not _spins(onnx_session.session_options())  # serving: workers share the cores
    assert _spins(onnx_session.session_options(spin=True))  # feature extraction in training


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_a_usage_error(value):
    with pytest.raises(UsageError, match="SCALPCHECK_ORT_THREADS"):
        load_settings({"SCALPCHECK_ORT_THREADS": value})


def _per_pixel_overlay(image: Image.Image, heatmap: np.ndarray, alpha: float) -> np.ndarray:
    """The overlay computed in floating point for every pixel: what the look-up tables must reproduce."""
    heat = Image.fromarray(heatmap, "F").resize(image.size, Image.Resampling.BICUBIC)
    heat = np.clip(np.asarray(heat), 0, 1)[..., None]
    stops = np.linspace(0, 1, len(_INFERNO))
    colour = np.stack([np.interp(heat[..., 0], stops, _INFERNO[:, c]) for c in range(3)], axis=-1)
    opacity = alpha * np.sqrt(heat)
    return np.asarray(image, np.float32) * (1 - opacity) + colour * opacity


@pytest.mark.parametrize("alpha", [0.45, 1.0])
def test_overlay_is_the_per_pixel_blend(alpha):
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), "RGB")
    heatmap = rng.random((7, 7)).astype(np.float32)
    heatmap /= heatmap.max()
    got = np.asarray(overlay(photo, heatmap, alpha), np.float32)
    difference = np.abs(got - _per_pixel_overlay(photo, heatmap, alpha))
    # 256 levels of the heat's square root and Pillow's integer blend: a few units where the map is steepest.
    assert difference.max() <= 5 and difference.mean() < 0.5


def test_gunicorn_config_keeps_onnx_runtime_out_of_the_master():
    """A worker forked from a master that imported ONNX Runtime hangs when it exits (see the config)."""
    code = "import sys, scalpcheck.gunicorn_conf as c; print(c.preload_app, 'onnxruntime' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_gunicorn_config_divides_the_cores_among_workers(monkeypatch):
    monkeypatch.setenv("SCALPCHECK_ORT_THREADS", "")
    monkeypatch.delenv("SCALPCHECK_ORT_THREADS")  # undone after the test, whatever on_starting sets
    gunicorn_conf.on_starting(SimpleNamespace(cfg=SimpleNamespace(workers=2)))
    assert load_settings().ort_threads == max(1, available_cores() // 2)
    monkeypatch.setenv("SCALPCHECK_ORT_THREADS", "4")  # an operator's choice stays
    gunicorn_conf.on_starting(SimpleNamespace(cfg=SimpleNamespace(workers=2)))
    assert load_settings().ort_threads == 4


@pytest.mark.parametrize("color_space", ["rgb", "hsv"])
def test_model_input_is_the_arithmetic_normalisation_exactly(color_space):
    """The look-up tables of to_array give bit for bit what float32 arithmetic on each pixel gives."""
    pre = Preprocess(input_size=64, color_space=color_space)
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB")
    converted = photo.convert("HSV") if color_space == "hsv" else photo
    x = np.asarray(converted, dtype=np.float32) * np.float32(1 / 255)
    expected = ((x - np.asarray(pre.mean, np.float32)) / np.asarray(pre.std, np.float32)).transpose(2, 0, 1)
    got = to_array(photo, pre)
    assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"] and got.shape == (3, 64, 64)
    np.testing.assert_array_equal(got, expected)
