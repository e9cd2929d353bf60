"""A labelled contact sheet: the first phantoms of every label, so a person can judge them at a glance.

The tiles are the very images write_dataset makes for the same task, seed and style (indices 0, 1,
...), each captioned with the style it was drawn in.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from scalpcheck.data.synth.dataset import check_arguments
from scalpcheck.data.synth.render import photograph
from scalpcheck.data.synth.seeds import image_rng
from scalpcheck.data.synth.styles import DEFAULT_STYLE
from scalpcheck.errors import UsageError
from scalpcheck.tasks import TASKS

MAX_PER_LABEL = 16
TILE_MAX = 256  # larger phantoms are shown scaled down
GAP = 6
HEADER = 28
CAPTION = 18
BACKGROUND = (250, 250, 248)
INK = (30, 30, 30)


def check_preview_path(path: Path) -> None:
    if Path(path).suffix.lower() != ".png":
        raise UsageError(f"--preview must name a .png file, got {path}")
    if Path(path).is_dir():
        raise UsageError(f"--preview {path} is a folder, not a file")


def _tile(task: str, label: str, seed: int, index: int, size: int, style: str) -> tuple[Image.Image, str]:
    """The dataset's image (decoded from its JPEG) and the style it was drawn in."""
    photo = photograph(task, label, image_rng(seed, task, label, index), size, style)
    return photo.image(), photo.plan.style


def write_preview(
    task: str, seed: int, path: Path, per_label: int = 4, size: int = 256, style: str = DEFAULT_STYLE
) -> Path:
    """Write the contact sheet (PNG) atomically and return its path."""
    path = Path(path)
    check_arguments(task, seed, size, style=style)
    check_preview_path(path)
    if not 1 <= per_label <= MAX_PER_LABEL:
        raise UsageError(f"the preview shows 1 to {MAX_PER_LABEL} images per label, got {per_label}")
    spec = TASKS[task]
    tile = min(size, TILE_MAX)
    font = ImageFont.load_default(size=15)
    small = ImageFont.load_default(size=12)
    width = GAP + per_label * (tile + GAP)
    height = HEADER + len(spec.labels) * (HEADER + tile + CAPTION + GAP)
    sheet = Image.new("RGB", (max(width, 560), height), BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    title = (
        f"scalpcheck synth: {spec.title}, style {style}, seed {seed}, {size} px "
        "(synthetic phantoms, not medical images)"
    )
    pen.text((GAP, 6), title, fill=INK, font=font)
    for row, label in enumerate(spec.labels):
        top = HEADER + row * (HEADER + tile + CAPTION + GAP)
        pen.text((GAP, top + 6), f"{label}: {spec.display_name(label)}", fill=INK, font=font)
        for i in range(per_label):
            img, drawn_in = _tile(task, label, seed, i, size, style)
            if tile != size:
                img = img.resize((tile, tile), Image.Resampling.LANCZOS)
            left = GAP + i * (tile + GAP)
            sheet.paste(img, (left, top + HEADER))
            pen.text((left, top + HEADER + tile + 2), drawn_in, fill=INK, font=small)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            sheet.save(f, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
