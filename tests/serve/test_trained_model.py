"""On a model trained on phantoms: photos that are not scalps are refused, and Grad-CAM finds the lesion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import skimage.data
from PIL import Image

from scalpcheck.errors import ImageRejected
from scalpcheck.preprocess import preprocess
from scalpcheck.serve import Assessor
from scalpcheck.serve.explain import grad_cam
from scalpcheck.serve.model import LoadedModel
from tests.helpers.photos import encode

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve_trained")]


def as_rgb(pixels: np.ndarray) -> Image.Image:
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return Image.fromarray(pixels[..., :3].astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def assessor(trained_scalp_bundle) -> Assessor:
    return Assessor.from_bundle(trained_scalp_bundle, 20 * 2**20)


# Real photos that pass the quality gate (a cat, a cup of coffee, a face, a rocket, a retina, a stained
# tissue section, bricks, a man with a camera): the model must refuse them, not diagnose them.
NOT_SCALPS = ["chelsea", "coffee", "astronaut", "rocket", "retina", "immunohistochemistry", "brick", "camera"]


@pytest.mark.parametrize("name", NOT_SCALPS)
def test_photos_that_are_not_scalps_are_refused(assessor, name):
    photo = as_rgb(getattr(skimage.data, name)())
    with pytest.raises(ImageRejected) as info:
        assessor.assess(encode(photo, quality=92), "scalp")
    assert info.value.code == "not_a_scalp_image" and info.value.status == 422
    assert "scalp" in info.value.message


def test_new_phantoms_are_assessed(assessor):
    from scalpcheck.data.synth import render_phantom

    rng = np.random.default_rng(11)
    labels = ("alopecia", "folliculitis", "healthy", "psoriasis")
    accepted = 0
    for i in range(12):
        try:
            assessor.assess(encode(render_phantom("scalp", labels[i % 4], rng), quality=90), "scalp")
            accepted += 1
        except ImageRejected as exc:
            assert exc.code == "not_a_scalp_image"
    assert accepted >= 9  # the fixture's model saw 20 photos a class; the demo models accept >= 95 %


@pytest.mark.parametrize("centre", [(0.28, 0.28), (0.72, 0.3), (0.3, 0.72), (0.7, 0.7)])
def test_grad_cam_is_high_on_a_planted_alopecia_patch(trained_scalp_bundle, centre):
    """A healthy-looking phantom with one bald patch planted at a known place (the phantom generator's
    own drawing code, with the patch moved): the alopecia map is far hotter inside the patch."""
    from scalpcheck.data.synth.lesions import Patch
    from scalpcheck.data.synth.render import draw, plan_phantom

    model = LoadedModel.load(trained_scalp_bundle)
    radius, size = 0.17, 256
    rng = np.random.default_rng(int(centre[0] * 100 + centre[1] * 10))
    plan = plan_phantom("scalp", "alopecia", rng)
    patch = Patch(centre=centre, radii=(radius, radius), angle=0.0)
    plan = dataclasses.replace(plan, look=dataclasses.replace(plan.look, patches=(patch,)))
    photo = Image.fromarray(draw(plan, rng, size))
    out = model.run(preprocess(photo, model.preprocess))
    cam = grad_cam(model.head, out.embedding, out.feature_map, model.task.labels.index("alopecia"))
    heat = np.asarray(Image.fromarray(cam, "F").resize((size, size), Image.Resampling.BILINEAR))
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size
    inside = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < radius**2
    assert heat[inside].mean() > 2 * heat[~inside].mean()
