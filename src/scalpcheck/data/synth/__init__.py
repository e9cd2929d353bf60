"""Scalp phantoms: synthetic close-up scalp photos whose labels are known by construction (PHANTOMS.md).

    render_phantom(task, label, rng, size=256) -> PIL.Image.Image
    write_dataset(task, per_class, seed, out, size=256, defects=False, progress=True) -> dict
    write_preview(task, seed, path, per_label=4, size=256) -> Path

Modules by concern: skin, hair, lesions (alopecia, psoriasis, folliculitis), confounders, camera
(light, tilt, blur, noise, JPEG), labels (what each label draws), render (one phantom), seeds,
dataset, defects (planted faults and their manifest) and preview (the contact sheet).
"""

from scalpcheck.data.synth.dataset import write_dataset
from scalpcheck.data.synth.preview import write_preview
from scalpcheck.data.synth.render import render_phantom

__all__ = ["render_phantom", "write_dataset", "write_preview"]
