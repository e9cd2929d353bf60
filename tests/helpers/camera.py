"""A fake camera for Chromium: a still image written as a YUV4MPEG2 video, which Chromium plays in a loop as
the only camera (its --use-file-for-fake-video-capture switch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def fake_camera_args(video: Path) -> list[str]:
    """Chromium switches that make `video` the camera and grant it without asking."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def write_y4m(path: Path, image: Image.Image, frames: int = 3, fps: int = 30) -> Path:
    """`image` as `frames` identical frames of 4:2:0 YUV (BT.601, studio range, as Chromium reads it)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2  # 4:2:0 halves both sides
    r, g, b = (rgb[:h, :w, k] / 255 for k in range(3))
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    y = 16 + 219 * luma
    u = 128 + 224 * (b - luma) / 1.772
    v = 128 + 224 * (r - luma) / 1.402
    planes = [y] + [(c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) / 4 for c in (u, v)]
    frame = b"FRAME\n" + b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path
