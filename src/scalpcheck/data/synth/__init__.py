"""Scalp phantoms: synthetic close-up scalp photos whose labels are known by construction.

    render_phantom(task, label, rng, size=256, style="mix", shot=0) -> PIL.Image.Image
    photograph(task, label, rng, size=256, style="mix", shot=0) -> Photo (pixels, plan, camera, layers)
    write_dataset(task, per_class, seed, out, size=256, defects=False, progress=True, style="mix") -> dict
    write_preview(task, seed, path, per_label=4, size=256, style="mix") -> Path

Each label is defined by what a dermatologist would look at, and only that is kept in every phantom:
  healthy       normal dense hair everywhere, no lesions
  alopecia      1-3 sharply bordered round or oval bald patches, 15-45 % of the width across, skin inside
                smooth and a little paler, normal hair around, a few short broken hairs at the rim
  psoriasis     irregular well-demarcated plaques (10-50 % of the area) of raised red to pink skin with
                silvery-white scale, hair going on through them
  folliculitis  5-30 inflamed bumps (2-6 % of the width) on follicles: a red halo, a yellow-white pustule
  stage_0..4    hair density of a full head: 90-100, 65-85, 40-60, 15-35 % (thinner, lighter hair) and
                0-5 % (bare, slightly shiny skin, a few fine vellus hairs)
Dandruff flakes, a shadow and a slightly rotated or tilted view appear in every class and mean nothing.

Everything else varies, drawn per image: skin tone over the whole human range (every ITA group equally
likely), hair colour, width, length and curl (straight to tightly coiled), and the rendering style:
studio, trichoscope, phone or sketch (styles.py), or mix, one of those four drawn per image. The fifth
style, dermoscope, is held out (HELD_OUT_STYLES): mix never draws it, and the project measures the
shift to it and never trains or tunes on it. A comma list of styles mixes just those. Each image's
generator is split into a scene stream and a shot stream (seeds.py): shot=k photographs the same scalp
again. write_dataset lists every clean image with its style, skin tone group, hair, density, lesions
and camera in DIR/manifest.csv (manifest.py).

Modules by concern: skintone, skin, head (what the hair is like), hair (how it grows and thins), strands
(how it is drawn), lesions, confounders, camera, styles, labels (what each label draws), render (one
phantom), seeds, manifest, dataset, defects (planted faults and their list) and preview (the sheet).
"""

from scalpcheck.data.synth.dataset import write_dataset
from scalpcheck.data.synth.preview import write_preview
from scalpcheck.data.synth.render import photograph, render_phantom
from scalpcheck.data.synth.styles import HELD_OUT_STYLES, STYLE_NAMES, TRAINING_STYLES

__all__ = [
    "HELD_OUT_STYLES",
    "STYLE_NAMES",
    "TRAINING_STYLES",
    "photograph",
    "render_phantom",
    "write_dataset",
    "write_preview",
]
