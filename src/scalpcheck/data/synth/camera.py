"""The photograph: framing, lens, light, focus, sensor and compression, each drawn at random for every shot.

A shot follows the light's path: the lens frames the scene (tilt, rotation, zoom, radial distortion,
all in one remap that never reaches past the scene's edge), blurs it (defocus, motion), the light
shapes it (gradient, vignetting, a shadow, shine, the field stop of a trichoscope), auto-exposure,
white balance and the tone curve develop it, and the sensor samples it (possibly at a lower resolution
than the stored image, then upscaled and sharpened as phones do), adding its noise.

A contact dermoscope (the dermoscope style's ScopeRanges) adds its own optics, drawn after everything
else so the other styles draw what they drew before: a hard round field of view in a black surround,
the glass plate's edge glowing as a thin ring inside it, a ring light that leaves the centre bright and
even and falls off towards the rim, lateral chromatic aberration and field curvature (colour fringes
and blur growing towards the rim), air bubbles in the immersion fluid, and a scale bar or a crosshair
that the device's software burns into the picture.

The ranges stop short of what the cleaner calls unusable (nearly black or white, heavily blurred): a
phone's auto-exposure keeps the mean brightness of a dark scalp photo well above black, and the
brightness clamp below keeps every phantom a usable photo however the draws combine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from scalpcheck.data.synth.canvas import SHIFT, Canvas, blur, to_uint8

Range = tuple[float, float]
LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)
MEAN_BRIGHTNESS = (0.16, 0.72)  # the developed image's mean luma stays inside this, whatever the draws
EXPOSURE_GAIN = (0.7, 1.5)  # how far auto-exposure may correct before the clamp above: dark skin stays dark
LIGHT_GRID = 64
LENS_GRID = 33  # the lens mapping is smooth: computed on this grid and interpolated
STOP_DARK = 0.04  # what is left of the light outside a field stop


@dataclass(frozen=True)
class ScopeRanges:
    """What a contact dermoscope's optics and light do (the dermoscope style)."""

    radius: Range = (0.54, 0.64)  # of its hard round field of view, frame widths: 2 to 13 % of it dark
    edge: Range = (0.002, 0.008)  # how soft that field's edge is, frame widths
    offset: float = 0.02  # how far the field's centre may be off the frame's
    surround: Range = (0.0, 0.03)  # light left outside the field
    rim: Range = (0.0, 0.3)  # brightness of the glass plate's edge, a thin ring just inside the field
    falloff: Range = (0.05, 0.3)  # ring light: how much darker the rim is than the even centre
    flat: Range = (0.3, 0.7)  # radius of the even centre, a share of the field's
    aberration: Range = (0.0, 1.2)  # lateral chromatic aberration at the rim, reference px
    curvature: Range = (0.2, 1.2)  # blur added at the rim (field curvature), reference px
    bubble_odds: float = 0.4  # immersion fluid holding air bubbles
    bubbles: tuple[int, int] = (1, 6)
    bubble_size: Range = (0.012, 0.045)  # radius, frame widths
    scale_bar_odds: float = 0.35  # a burnt-in scale bar; as often a crosshair; else nothing


@dataclass(frozen=True)
class Scope:
    """A contact dermoscope's optics, light and overlay, drawn for one shot."""

    rim: float
    falloff: float
    flat: float
    aberration: float
    curvature: float
    bubbles: tuple[tuple[float, float, float], ...]  # (x, y, radius), frame widths
    graticule: str  # "scale", "cross" or "none"
    ink: tuple[int, int, int]  # its colour
    graticule_at: tuple[float, float]  # the scale bar's left end; the crosshair's tick spacing and gap
    scale_length: float  # frame widths
    label: bool  # the scale bar is captioned


@dataclass(frozen=True)
class CameraRanges:
    """What a style lets its camera do."""

    inset: Range = (0.0, 0.06)  # how far each frame corner moves in: tilt and zoom, frame widths
    rotation: Range = (-4.0, 4.0)  # degrees
    distortion: Range = (0.0, 0.0)  # radial k1 at the frame's corner: > 0 barrel, < 0 pincushion
    relief: Range = (0.7, 1.1)  # how directional the light is: shadows and relief of the scene
    shadow_odds: float = 0.3
    shadow: Range = (0.15, 0.35)
    gradient: Range = (0.0, 0.25)
    vignette: Range = (0.0, 0.3)
    shine: Range = (0.0, 0.12)
    field_stop_odds: float = 0.0
    field_stop: Range = (0.56, 0.68)  # radius of the round field of view: the corners (up to 10 %) dark
    exposure: Range = (0.36, 0.52)
    auto_exposure: Range = (0.1, 0.7)
    contrast: Range = (0.9, 1.15)
    gamma: Range = (0.93, 1.07)
    cast: float = 0.03  # log-normal spread of the three channel gains
    warmth: Range = (-0.03, 0.03)  # white balance along blue (-) to amber (+)
    defocus: Range = (0.2, 0.7)  # Gaussian sigma, reference px
    motion_odds: float = 0.0
    motion: Range = (1.0, 4.0)  # length of the motion streak, reference px
    resolution: Range = (1.0, 1.0)  # the sensor's side as a share of the stored image's
    read_noise: Range = (0.004, 0.02)
    shot_noise: Range = (0.0, 0.03)
    chroma: Range = (0.0, 0.3)  # share of the noise that is colour noise
    sharpen: Range = (0.0, 0.0)  # unsharp-mask gain of the phone's processing
    jpeg: tuple[int, int] = (70, 95)
    scope: ScopeRanges | None = None  # a contact dermoscope's optics


@dataclass(frozen=True)
class Camera:
    corners: tuple[tuple[float, float], ...]  # where the frame's corners come from: tilt and zoom
    rotation: float  # radians
    distortion: float
    light_angle: float  # where the light comes from, radians
    relief: float
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
    field_stop: float  # radius of the round field of view, 0 for none
    stop_edge: float  # how soft its edge is, frame widths
    stop_centre: tuple[float, float]  # where it is centred (the sensor is never exactly on the axis)
    exposure: float  # the mean luma auto-exposure aims at
    auto_exposure: float  # 0: fixed exposure, 1: the mean always lands on `exposure`
    contrast: float
    gamma: float
    cast: tuple[float, float, float]  # per-channel white-balance gains
    defocus: float  # Gaussian sigma, reference px
    motion: float  # streak length, reference px, 0 for none
    motion_angle: float
    resolution: float
    read_noise: float
    shot_noise: float
    chroma: float
    sharpen: float
    jpeg_quality: int
    stop_dark: float = STOP_DARK  # what is left of the light outside the field stop
    scope: Scope | None = None


def sample_camera(rng: np.random.Generator, ranges: CameraRanges) -> Camera:
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], np.float64)
    inward = np.array([(1, 1), (-1, 1), (-1, -1), (1, -1)], np.float64)
    corners += inward * rng.uniform(*ranges.inset, (4, 2))
    warmth = u(ranges.warmth)
    cast = np.exp(rng.normal(0, ranges.cast, 3) + np.array([warmth, 0.0, -warmth]))
    camera = Camera(
        corners=tuple((float(x), float(y)) for x, y in corners),
        rotation=float(np.radians(u(ranges.rotation))),
        distortion=u(ranges.distortion),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        relief=u(ranges.relief),
        shadow=u(ranges.shadow) if rng.random() < ranges.shadow_odds else 0.0,
        shadow_angle=float(rng.uniform(0, 2 * np.pi)),
        shadow_offset=float(rng.uniform(0.15, 0.45)),
        shadow_softness=float(rng.uniform(0.03, 0.15)),
        gradient=u(ranges.gradient),
        gradient_angle=float(rng.uniform(0, 2 * np.pi)),
        vignette=u(ranges.vignette),
        shine=u(ranges.shine),
        shine_at=(float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))),
        shine_radius=float(rng.uniform(0.15, 0.35)),
        field_stop=u(ranges.field_stop) if rng.random() < ranges.field_stop_odds else 0.0,
        stop_edge=float(rng.uniform(0.06, 0.16)),
        stop_centre=(float(rng.uniform(0.47, 0.53)), float(rng.uniform(0.47, 0.53))),
        exposure=u(ranges.exposure),
        auto_exposure=u(ranges.auto_exposure),
        contrast=u(ranges.contrast),
        gamma=u(ranges.gamma),
        cast=(float(cast[0] / cast.mean()), float(cast[1] / cast.mean()), float(cast[2] / cast.mean())),
        defocus=u(ranges.defocus),
        motion=u(ranges.motion) if rng.random() < ranges.motion_odds else 0.0,
        motion_angle=float(rng.uniform(0, np.pi)),
        resolution=u(ranges.resolution),
        read_noise=u(ranges.read_noise),
        shot_noise=u(ranges.shot_noise),
        chroma=u(ranges.chroma),
        sharpen=u(ranges.sharpen),
        jpeg_quality=int(rng.integers(ranges.jpeg[0], ranges.jpeg[1] + 1)),
    )
    return _with_scope(rng, camera, ranges.scope) if ranges.scope else camera


INKS = ((255, 255, 255), (20, 20, 20), (120, 255, 120), (255, 235, 90))  # white, black, green, yellow


def _with_scope(rng: np.random.Generator, camera: Camera, ranges: ScopeRanges) -> Camera:
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    radius = u(ranges.radius)
    bubbles: tuple[tuple[float, float, float], ...] = ()
    if rng.random() < ranges.bubble_odds:
        count = int(rng.integers(ranges.bubbles[0], ranges.bubbles[1] + 1))
        bubbles = tuple(
            (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.15, 0.85)), u(ranges.bubble_size))
            for _ in range(count)
        )
    pick = rng.random()
    graticule = (
        "scale" if pick < ranges.scale_bar_odds else "cross" if pick < 2 * ranges.scale_bar_odds else "none"
    )
    scope = Scope(
        rim=u(ranges.rim),
        falloff=u(ranges.falloff),
        flat=u(ranges.flat),
        aberration=u(ranges.aberration),
        curvature=u(ranges.curvature),
        bubbles=bubbles,
        graticule=graticule,
        ink=INKS[int(rng.integers(len(INKS)))],
        graticule_at=(float(rng.uniform(0.2, 0.45)), float(rng.uniform(0.75, 0.85))),
        scale_length=float(rng.uniform(0.12, 0.3)),
        label=bool(rng.random() < 0.5),
    )
    return replace(
        camera,
        field_stop=radius,
        stop_edge=u(ranges.edge),
        stop_centre=(0.5 + u((-ranges.offset, ranges.offset)), 0.5 + u((-ranges.offset, ranges.offset))),
        stop_dark=u(ranges.surround),
        scope=scope,
    )


def lens_map(cam: Camera, grid: int = LENS_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Where in the scene (relative coordinates) each point of a grid over the photo comes from.

    Radial distortion, then rotation, then the perspective of the tilted frame; if that reaches past the
    scene's edge anywhere, the view is zoomed in about its centre until it does not.
    """
    c = np.linspace(0, 1, grid)
    x, y = np.meshgrid(c, c)
    dx, dy = x - 0.5, y - 0.5
    radial = 1 + cam.distortion * (dx**2 + dy**2) * 2
    dx, dy = dx * radial, dy * radial
    cos, sin = np.cos(cam.rotation), np.sin(cam.rotation)
    pts = np.stack([0.5 + cos * dx - sin * dy, 0.5 + sin * dx + cos * dy], axis=-1)
    square = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], np.float32)
    h = cv2.getPerspectiveTransform(square, np.asarray(cam.corners, np.float32))
    src = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float32), h).reshape(grid, grid, 2)
    reach = float(np.abs(src - 0.5).max()) / 0.5
    if reach > 1:
        src = 0.5 + (src - 0.5) / reach
    return src[..., 0].astype(np.float32), src[..., 1].astype(np.float32)


def _frame(canvas: Canvas, rgb: np.ndarray, cam: Camera) -> np.ndarray:
    n = canvas.size
    sx, sy = lens_map(cam)
    fine = lambda f: cv2.resize(f * n - 0.5, (n, n), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    mx, my = fine(sx), fine(sy)
    if cam.scope is None or cam.scope.aberration <= 0:
        return cv2.remap(rgb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    # lateral chromatic aberration: red magnified a little more than green, blue a little less, by up to
    # `aberration` reference px at the rim of the field
    cx, cy = (c * n - 0.5 for c in cam.stop_centre)
    radius = cam.field_stop * n
    r2 = ((mx - cx) ** 2 + (my - cy) ** 2) / np.float32(radius**2)
    shift = np.float32(cam.scope.aberration * canvas.px / radius) * np.minimum(r2, 1.5)
    planes = []
    for c, sign in enumerate((1, 0, -1)):
        k = 1 + sign * shift
        channel = np.ascontiguousarray(rgb[..., c])
        planes.append(
            cv2.remap(channel, cx + (mx - cx) * k, cy + (my - cy) * k, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REFLECT_101)
        )  # fmt: skip
    return np.stack(planes, axis=-1)


def _radius(canvas: Canvas, cam: Camera) -> np.ndarray:
    """Distance from the field's centre over the field's radius, [size, size] float32."""
    x, y = canvas.grid()
    return np.sqrt((x - cam.stop_centre[0]) ** 2 + (y - cam.stop_centre[1]) ** 2) / np.float32(cam.field_stop)


def _bubbles(canvas: Canvas, rgb: np.ndarray, bubbles: tuple[tuple[float, float, float], ...]) -> None:
    """Air bubbles in the immersion fluid, in place: a thin bright rim, a darker ring inside it, a small
    highlight, and the skin seen through them a little brighter."""
    n = canvas.size
    for bx, by, r in bubbles:
        reach = 1.3 * r * n
        x0, x1 = max(0, int(bx * n - reach)), min(n, int(bx * n + reach) + 2)
        y0, y1 = max(0, int(by * n - reach)), min(n, int(by * n + reach) + 2)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        rad = r * n
        d = np.hypot(xx + 0.5 - bx * n, yy + 0.5 - by * n) / rad
        width = max(0.8, 0.6 * canvas.px) / rad
        rim = np.exp(-(((d - 1) / width) ** 2))
        ring = np.exp(-(((d - 0.88) / (2.5 * width)) ** 2))
        spot = np.hypot(xx + 0.5 - (bx - 0.45 * r) * n, yy + 0.5 - (by - 0.45 * r) * n) / rad
        patch = rgb[y0:y1, x0:x1]
        patch *= (1 + 0.06 * (d < 1) - 0.3 * ring)[..., None]
        patch += (0.55 * rim + 0.6 * np.exp(-((spot / 0.12) ** 2)))[..., None] * (1 - patch)


def _graticule(canvas: Canvas, pixels: np.ndarray, cam: Camera) -> None:
    """The scale bar or crosshair the dermoscope's software burns in (uint8 RGB, in place)."""
    scope = cam.scope
    if scope is None or scope.graticule == "none":
        return
    n = canvas.size
    s = 1 << SHIFT
    at = lambda x, y: (round(x * n * s), round(y * n * s))  # noqa: E731
    ink, thick = scope.ink, max(1, round(canvas.px))
    tick = 0.012
    if scope.graticule == "scale":
        x0, y0 = scope.graticule_at
        x1 = x0 + scope.scale_length
        cv2.line(pixels, at(x0, y0), at(x1, y0), ink, thick, cv2.LINE_AA, SHIFT)
        for k in range(5):
            x = x0 + k * scope.scale_length / 4
            h = tick * (2 if k in (0, 4) else 1)
            cv2.line(pixels, at(x, y0 - h), at(x, y0), ink, thick, cv2.LINE_AA, SHIFT)
        if scope.label and n >= 96:
            org = (round(x0 * n), round((y0 + 0.05) * n))
            cv2.putText(
                pixels, "1 mm", org, cv2.FONT_HERSHEY_SIMPLEX, 0.35 * canvas.px, ink, thick, cv2.LINE_AA
            )
        return
    cx, cy = cam.stop_centre
    reach, gap, spacing = cam.field_stop * 0.8, 0.03, scope.scale_length / 3
    for sign in (-1, 1):
        cv2.line(pixels, at(cx + sign * gap, cy), at(cx + sign * reach, cy), ink, thick, cv2.LINE_AA, SHIFT)
        cv2.line(pixels, at(cx, cy + sign * gap), at(cx, cy + sign * reach), ink, thick, cv2.LINE_AA, SHIFT)
        for k in range(1, int(reach / spacing) + 1):
            d = sign * k * spacing
            cv2.line(pixels, at(cx + d, cy - tick), at(cx + d, cy + tick), ink, thick, cv2.LINE_AA, SHIFT)
            cv2.line(pixels, at(cx - tick, cy + d), at(cx + tick, cy + d), ink, thick, cv2.LINE_AA, SHIFT)


def _motion(image: np.ndarray, length_px: float, angle: float) -> np.ndarray:
    """A straight streak of the given length: the camera moved while the shutter was open."""
    if length_px < 1:
        return image
    k = int(np.ceil(length_px)) | 1
    kernel = np.zeros((k, k), np.float32)
    half = length_px / 2
    c = (k - 1) / 2
    dx, dy = half * np.cos(angle), half * np.sin(angle)
    start = (round((c - dx) * 16), round((c - dy) * 16))
    end = (round((c + dx) * 16), round((c + dy) * 16))
    cv2.line(kernel, start, end, 1.0, 1, cv2.LINE_AA, 4)
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def _light(canvas: Canvas, cam: Camera, extra_shine: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multiplicative light (gradient, vignetting, shadow), additive shine and the field stop, each
    [size, size]. Light varies slowly across the view, so it is computed on a coarse grid and
    interpolated."""
    x, y = Canvas(min(canvas.size, LIGHT_GRID)).grid()
    along = (x - 0.5) * np.cos(cam.gradient_angle) + (y - 0.5) * np.sin(cam.gradient_angle)
    light = 1 + cam.gradient * along
    r2 = (x - 0.5) ** 2 + (y - 0.5) ** 2
    light *= 1 - cam.vignette * r2 * 2
    if cam.shadow:
        across = (x - 0.5) * np.cos(cam.shadow_angle) + (y - 0.5) * np.sin(cam.shadow_angle)
        light *= 1 - cam.shadow / (1 + np.exp(-(across - cam.shadow_offset) / cam.shadow_softness))
    spot = ((x - cam.shine_at[0]) ** 2 + (y - cam.shine_at[1]) ** 2) / (2 * cam.shine_radius**2)
    shine = (cam.shine + extra_shine) * np.exp(-spot)
    stop = np.ones_like(x)
    if cam.field_stop:
        (cx, cy), edge = cam.stop_centre, cam.stop_edge
        off = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        stop = cam.stop_dark + (1 - cam.stop_dark) * np.clip((cam.field_stop - off) / edge + 0.5, 0, 1)
    n = canvas.size
    fine = lambda f: cv2.resize(f.astype(np.float32), (n, n), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    return fine(light), fine(shine), fine(stop)


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance noise: the sum of two uniform random bytes (triangular), which is as
    good as Gaussian for sensor grain under JPEG and ten times cheaper to draw."""
    count = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(2 * count), np.int8).reshape(2, *shape).astype(np.float32)
    return (raw[0] + raw[1]) * np.float32(1 / 104.5)  # 104.5: the standard deviation of that sum


def sensor_side(size: int, resolution: float) -> int:
    """The sensor's side in pixels for an image `size` px wide."""
    return min(size, max(16, round(size * resolution)))


def _sensor(rng: np.random.Generator, rgb: np.ndarray, cam: Camera) -> np.ndarray:
    """Sample at the sensor's resolution with its noise (grey and colour), then upscale and sharpen."""
    n = rgb.shape[0]
    side = sensor_side(n, cam.resolution)
    if side < n:
        rgb = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
    noise = _noise(rng, rgb.shape)
    grey = noise.mean(axis=2, keepdims=True) * np.float32(np.sqrt(3))
    noise *= np.float32(cam.chroma)
    noise += np.float32(1 - cam.chroma) * grey
    rgb += noise * np.sqrt(cam.read_noise**2 + cam.shot_noise**2 * np.maximum(rgb, 0))
    if side < n:
        rgb = cv2.resize(rgb, (n, n), interpolation=cv2.INTER_LINEAR)
    if cam.sharpen > 0:
        rgb = cv2.addWeighted(rgb, 1 + cam.sharpen, blur(rgb, 1.2 * n / 256), -cam.sharpen, 0)
    return rgb


def develop(
    rng: np.random.Generator, canvas: Canvas, scene: np.ndarray, cam: Camera, extra_shine: float = 0.0
) -> np.ndarray:
    """Scene radiance (float32 RGB 0..1) -> the uint8 RGB picture the camera would store."""
    rgb = _frame(canvas, scene, cam)
    if cam.scope is not None:
        _bubbles(canvas, rgb, cam.scope.bubbles)
    rgb = blur(rgb, cam.defocus * canvas.px)
    rgb = _motion(rgb, cam.motion * canvas.px, cam.motion_angle)
    light, shine, stop = _light(canvas, cam, extra_shine)
    if cam.scope is not None:
        rgb, stop = _scope_light(canvas, rgb, cam, light, shine)
    rgb *= light[..., None]
    rgb += shine[..., None]
    # auto-exposure meters what the field stop lets through
    weight = stop.reshape(-1) - cam.stop_dark if cam.field_stop else None
    mean = float(np.average(rgb.reshape(-1, 3), axis=0, weights=weight) @ LUMA)
    gain = np.clip((cam.exposure / max(mean, 1e-3)) ** cam.auto_exposure, *EXPOSURE_GAIN)
    gain = float(np.clip(mean * gain, *MEAN_BRIGHTNESS)) / max(mean, 1e-3)
    # exposure gain, then contrast about the new mean, then white balance: one multiply-add per channel
    cast = np.asarray(cam.cast, np.float32)
    rgb *= np.float32(gain * cam.contrast) * cast
    rgb += np.float32(mean * gain * (1 - cam.contrast)) * cast
    np.clip(rgb, 0, 1, out=rgb)
    rgb = cv2.pow(rgb, cam.gamma)
    if cam.field_stop:
        rgb *= stop[..., None]
    pixels = to_uint8(_sensor(rng, rgb, cam))
    _graticule(canvas, pixels, cam)
    return pixels


def _scope_light(
    canvas: Canvas, rgb: np.ndarray, cam: Camera, light: np.ndarray, shine: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The dermoscope's field curvature (blur towards the rim), ring light and glowing glass edge (light
    and shine in place) and its hard field stop, computed at full size; returns the image and the stop."""
    scope = cam.scope
    assert scope is not None
    r = _radius(canvas, cam)
    if scope.curvature > 0:
        rim_blur = np.clip((r - 0.35) / 0.65, 0, 1) ** 2
        soft = blur(rgb, scope.curvature * canvas.px)
        rgb += rim_blur[..., None] * (soft - rgb)
    ramp = np.clip((r - scope.flat) / (1 - scope.flat), 0, 1)
    light *= 1 - scope.falloff * ramp * ramp * (3 - 2 * ramp)
    width = max(0.6 / canvas.size, 0.004) / cam.field_stop
    shine += scope.rim * np.exp(-(((r - 1 + 1.5 * width) / width) ** 2))
    edge = cam.stop_edge / cam.field_stop
    stop = cam.stop_dark + (1 - cam.stop_dark) * np.clip((1 - r) / edge + 0.5, 0, 1)
    return rgb, stop.astype(np.float32)


def encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG, the same bytes for the same pixels (no timestamps or other metadata)."""
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()
