"""The camera and the light: view tilt, shadow, light gradient, vignetting, shine, exposure, contrast,
colour cast, defocus, sensor noise and JPEG compression, each drawn at random for every photo.

The ranges stop short of what the cleaner calls unusable (nearly black or white, heavily blurred): a
phone's auto-exposure keeps the mean brightness of a dark scalp photo well above black, and the
brightness clamp below keeps every phantom a usable photo however the draws combine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from scalpcheck.data.synth.canvas import Canvas, blur, to_uint8

LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)
MEAN_BRIGHTNESS = (0.25, 0.72)  # the developed image's mean luma stays inside this, whatever the draws
EXPOSURE_GAIN = (0.6, 1.8)  # how far auto-exposure may correct before the clamp above
JPEG_QUALITY = (70, 95)
LIGHT_GRID = 64


@dataclass(frozen=True)
class Camera:
    corners: tuple[tuple[float, float], ...]  # where the frame's corners come from: tilt, rotation, zoom
    shadow: float  # darkness of a soft shadow across part of the view, 0 for none
    shadow_angle: float
    shadow_offset: float
    shadow_softness: float
    gradient: float  # strength of a linear light fall-off across the view
    gradient_angle: float
    vignette: float
    shine: float  # a soft specular reflection of the light on the skin
    shine_at: tuple[float, float]
    shine_radius: float
    exposure: float  # the mean luma auto-exposure aims at
    auto_exposure: float  # 0: fixed exposure, 1: the mean always lands on `exposure`
    contrast: float
    gamma: float
    cast: tuple[float, float, float]  # per-channel white-balance gains
    defocus: float  # Gaussian sigma, reference px
    read_noise: float
    shot_noise: float
    jpeg_quality: int


def sample_camera(rng: np.random.Generator) -> Camera:
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], np.float64)
    inward = np.array([(1, 1), (-1, 1), (-1, -1), (1, -1)], np.float64)
    corners += inward * rng.uniform(0, 0.06, (4, 2))
    cast = np.exp(rng.normal(0, 0.03, 3))
    return Camera(
        corners=tuple((float(x), float(y)) for x, y in corners),
        shadow=float(rng.uniform(0.15, 0.35)) if rng.random() < 0.3 else 0.0,
        shadow_angle=float(rng.uniform(0, 2 * np.pi)),
        shadow_offset=float(rng.uniform(0.15, 0.45)),
        shadow_softness=float(rng.uniform(0.03, 0.15)),
        gradient=float(rng.uniform(0, 0.25)),
        gradient_angle=float(rng.uniform(0, 2 * np.pi)),
        vignette=float(rng.uniform(0, 0.3)),
        shine=float(rng.uniform(0, 0.12)),
        shine_at=(float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))),
        shine_radius=float(rng.uniform(0.15, 0.35)),
        exposure=float(rng.uniform(0.36, 0.52)),
        auto_exposure=float(rng.uniform(0.3, 0.9)),
        contrast=float(rng.uniform(0.9, 1.15)),
        gamma=float(rng.uniform(0.93, 1.07)),
        cast=tuple(float(c) for c in cast / cast.mean()),
        defocus=float(rng.uniform(0.2, 0.7)),
        read_noise=float(rng.uniform(0.004, 0.02)),
        shot_noise=float(rng.uniform(0.0, 0.03)),
        jpeg_quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)),
    )


def _tilt(canvas: Canvas, rgb: np.ndarray, cam: Camera) -> np.ndarray:
    n = canvas.size
    src = np.asarray(cam.corners, np.float32) * n
    dst = np.array([(0, 0), (n, 0), (n, n), (0, n)], np.float32)
    h = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(rgb, h, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _light(canvas: Canvas, cam: Camera, extra_shine: float) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative light (gradient, vignetting, shadow) and additive shine, each [size, size].

    Light varies slowly across the view, so it is computed on a coarse grid and interpolated.
    """
    x, y = Canvas(min(canvas.size, LIGHT_GRID)).grid()
    along = (x - 0.5) * np.cos(cam.gradient_angle) + (y - 0.5) * np.sin(cam.gradient_angle)
    light = 1 + cam.gradient * along
    light *= 1 - cam.vignette * ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 2
    if cam.shadow:
        across = (x - 0.5) * np.cos(cam.shadow_angle) + (y - 0.5) * np.sin(cam.shadow_angle)
        light *= 1 - cam.shadow / (1 + np.exp(-(across - cam.shadow_offset) / cam.shadow_softness))
    spot = ((x - cam.shine_at[0]) ** 2 + (y - cam.shine_at[1]) ** 2) / (2 * cam.shine_radius**2)
    shine = (cam.shine + extra_shine) * np.exp(-spot)
    n = canvas.size
    fine = lambda f: cv2.resize(f.astype(np.float32), (n, n), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    return fine(light), fine(shine)


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance noise: the sum of two uniform random bytes (triangular), which is as
    good as Gaussian for sensor grain under JPEG and ten times cheaper to draw."""
    count = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(2 * count), np.int8).reshape(2, *shape).astype(np.float32)
    return (raw[0] + raw[1]) * np.float32(1 / 104.5)  # 104.5: the standard deviation of that sum


def develop(
    rng: np.random.Generator, canvas: Canvas, scene: np.ndarray, cam: Camera, extra_shine: float = 0.0
) -> np.ndarray:
    """Scene radiance (float32 RGB 0..1) -> the uint8 RGB picture the phone would store."""
    rgb = _tilt(canvas, scene, cam)
    light, shine = _light(canvas, cam, extra_shine)
    rgb *= light[..., None]
    rgb += shine[..., None]
    mean = float(rgb.reshape(-1, 3).mean(axis=0) @ LUMA)
    gain = np.clip((cam.exposure / max(mean, 1e-3)) ** cam.auto_exposure, *EXPOSURE_GAIN)
    gain = float(np.clip(mean * gain, *MEAN_BRIGHTNESS)) / max(mean, 1e-3)
    # exposure gain, then contrast about the new mean, then white balance: one multiply-add per channel
    cast = np.asarray(cam.cast, np.float32)
    rgb *= np.float32(gain * cam.contrast) * cast
    rgb += np.float32(mean * gain * (1 - cam.contrast)) * cast
    np.clip(rgb, 0, 1, out=rgb)
    rgb = cv2.pow(rgb, cam.gamma)
    rgb = blur(rgb, cam.defocus * canvas.px)
    rgb += _noise(rng, rgb.shape) * np.sqrt(cam.read_noise**2 + cam.shot_noise**2 * rgb)
    return to_uint8(rgb)


def encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG, the same bytes for the same pixels (no timestamps or other metadata)."""
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()
