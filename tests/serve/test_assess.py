"""The Assessor: its public API (what the web app codes against), refusals, and robustness to rotation."""

from __future__ import annotations

import json
import logging
import math
import shutil

import numpy as np
import pytest
from PIL import Image, ImageFilter

from scalpcheck import ood
from scalpcheck.bundle import BundleError
from scalpcheck.errors import ImageRejected, TaskUnavailable
from scalpcheck.serve import AssessmentResult, Assessor
from scalpcheck.serve.result import Source
from scalpcheck.tasks import TASKS
from tests.helpers.photos import encode, scalp_photo

MAX_BYTES = 20 * 2**20

# One xdist worker runs every test that needs the exported bundles, so they are built once per run.
pytestmark = pytest.mark.xdist_group("serve_bundles")


@pytest.fixture
def assessor(random_models) -> Assessor:
    return Assessor(random_models, MAX_BYTES)


def refusal(assessor: Assessor, data: bytes, task: str = "scalp") -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        assessor.assess(data, task)
    return info.value


def test_models_lists_every_loaded_model_with_its_task(assessor):
    models = assessor.models
    assert set(models) == set(TASKS)
    for name, model in models.items():
        assert model.task.title == TASKS[name].title
        assert model.task.labels == TASKS[name].labels
        assert all(model.task.display_name(label) for label in model.task.labels)
        card = model.card
        assert card.model_version.startswith(f"{name}-") and card.backbone.name == "efficientnet_lite0"
        assert card.synthetic_data is True
        json.dumps(card.to_dict())


@pytest.mark.parametrize("task", list(TASKS))
def test_assessment_shape(assessor, task):
    result = assessor.assess(encode(scalp_photo(400), quality=92), task)
    assert isinstance(result, AssessmentResult)
    labels = list(TASKS[task].labels)
    assert result.task == task and result.label in labels
    assert result.display_name == TASKS[task].display_name(result.label)
    assert list(result.probabilities) == labels
    assert math.isclose(sum(result.probabilities.values()), 1.0, rel_tol=1e-6)
    assert result.confidence == max(result.probabilities.values()) == result.probabilities[result.label]
    ranked = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
    assert [a.label for a in result.alternatives] == [label for label, _ in ranked[1:3]]
    assert all(a.display_name and 0 <= a.probability <= result.confidence for a in result.alternatives)
    top, second = ranked[0][1], ranked[1][1]
    assert result.low_confidence == (top < 0.6 or top - second < 0.15)
    assert set(result.to_dict()["advice"]) == {
        "summary",
        "recommendations",
        "see_a_dermatologist",
        "low_confidence_message",
        "disclaimer",
        "synthetic_note",
    }
    assert (result.advice.low_confidence_message is not None) == result.low_confidence
    assert result.advice.synthetic_note  # the fixture's card says synthetic_data: true
    assert result.model.backbone == "efficientnet_lite0" and result.model.synthetic_data is True
    assert result.heatmap.dtype == np.float32 and result.heatmap.shape == (7, 7)
    assert result.heatmap.min() >= 0 and result.heatmap.max() <= 1
    assert result.image.mode == "RGB" and result.image.size == (400, 400)
    assert result.source == Source(format="JPEG", width=400, height=400, orientation=1)


def test_to_dict_is_the_documented_assessment_json(assessor):
    """The fields of an assessment in docs/http-api.md, less the web app's own (id, created_at, links)."""
    result = assessor.assess(encode(scalp_photo()), "hairloss")
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload) == {
        "task",
        "label",
        "display_name",
        "confidence",
        "probabilities",
        "low_confidence",
        "alternatives",
        "advice",
        "model",
        "density",  # hair-loss assessments only; null: this model has no density measurement
    }
    assert payload["density"] is None
    assert "density" not in assessor.assess(encode(scalp_photo()), "scalp").to_dict()
    assert payload["model"] == {
        "version": result.model.version,
        "backbone": "efficientnet_lite0",
        "synthetic_data": True,
    }
    assert payload["probabilities"] == result.probabilities


def test_the_view_is_the_centred_square_of_an_upright_photo(assessor):
    photo = scalp_photo(600).crop((0, 0, 600, 450))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown upright after a quarter turn
    result = assessor.assess(encode(photo.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes()), "scalp")
    assert result.source == Source(format="JPEG", width=450, height=600, orientation=6)
    side = result.image.size[0]
    assert result.image.size == (side, side) and 224 <= side < 448  # draft-decoded at 1/2 scale


def test_exif_orientations_give_the_same_prediction(assessor):
    upright = scalp_photo(360).crop((0, 0, 360, 300))
    store_as = [
        None,
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.ROTATE_180,
        Image.Transpose.FLIP_TOP_BOTTOM,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.ROTATE_90,
        Image.Transpose.TRANSVERSE,
        Image.Transpose.ROTATE_270,
    ]
    results = []
    for orientation, method in enumerate(store_as, 1):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = upright.transpose(method) if method is not None else upright
        results.append(assessor.assess(encode(stored, "PNG", exif=exif.tobytes()), "scalp"))
    reference = np.array(list(results[0].probabilities.values()))
    for result in results[1:]:
        np.testing.assert_allclose(list(result.probabilities.values()), reference, atol=1e-5)
        np.testing.assert_allclose(result.heatmap, results[0].heatmap, atol=1e-4)


def test_unknown_task(assessor):
    with pytest.raises(TaskUnavailable) as info:
        assessor.assess(encode(scalp_photo()), "dandruff")
    assert info.value.code == "unknown_task" and info.value.status == 404
    assert "scalp" in info.value.message and "hairloss" in info.value.message


def test_builtin_task_without_a_model_is_unavailable(home):
    assessor = Assessor(home / "models", MAX_BYTES)  # nothing published
    assert assessor.models == {}
    with pytest.raises(TaskUnavailable) as info:
        assessor.assess(encode(scalp_photo()), "scalp")
    assert info.value.code == "model_unavailable" and info.value.status == 503


def test_a_broken_bundle_makes_only_its_task_unavailable(home, random_bundles, caplog):
    models = home / "models"
    shutil.copytree(random_bundles["hairloss"], models / "hairloss")
    shutil.copytree(random_bundles["scalp"], models / "scalp")
    (models / "scalp" / "model.onnx").write_bytes(b"not an onnx graph")
    with caplog.at_level(logging.ERROR):
        assessor = Assessor(models, MAX_BYTES)
    assert "scalp" in caplog.text and "model.onnx" in caplog.text
    assert set(assessor.models) == {"hairloss"}
    with pytest.raises(TaskUnavailable) as info:
        assessor.assess(encode(scalp_photo()), "scalp")
    assert info.value.code == "model_unavailable"
    assert assessor.assess(encode(scalp_photo()), "hairloss").task == "hairloss"


@pytest.mark.parametrize(
    ("damage", "complaint"),
    [
        (lambda d: (d / "head.npz").unlink(), "head.npz"),
        (lambda d: (d / "card.json").write_text("{"), "card.json"),
        (lambda d: np.savez(d / "head.npz", w0=np.zeros((4, 9)), b0=np.zeros(4)), "head.npz"),
        (lambda d: np.savez(d / "ood.npz", **ood.fit(np.ones((4, 3)))), "cannot be loaded"),
    ],
    ids=["no-head", "bad-card", "head-of-another-model", "ood-of-another-model"],
)
def test_broken_bundles_are_refused_with_a_reason(tmp_path, random_bundles, damage, complaint):
    broken = shutil.copytree(random_bundles["scalp"], tmp_path / "bundle")
    damage(broken)
    with pytest.raises(BundleError, match=complaint.replace(".", r"\.")):
        Assessor.from_bundle(broken, MAX_BYTES)


def test_a_dangling_task_link_makes_the_task_unavailable(home, caplog):
    models = home / "models"
    models.mkdir()
    (models / "scalp").symlink_to(models / ".bundles" / "scalp-removed")
    with caplog.at_level(logging.ERROR):
        assert Assessor(models, MAX_BYTES).models == {}
    assert "scalp" in caplog.text


def test_a_bundle_under_another_tasks_name_is_not_served(home, random_bundles):
    shutil.copytree(random_bundles["hairloss"], home / "models" / "scalp")
    assert Assessor(home / "models", MAX_BYTES).models == {}


def test_from_bundle_serves_an_unpublished_bundle(random_bundles):
    assessor = Assessor.from_bundle(random_bundles["hairloss"], MAX_BYTES)
    assert set(assessor.models) == {"hairloss"}
    assert assessor.assess(encode(scalp_photo()), "hairloss").label.startswith("stage_")


def test_byte_and_pixel_limits_come_from_the_assessor(random_models):
    data = encode(scalp_photo(400), "PNG")
    assert refusal(Assessor(random_models, len(data) - 1), data).code == "image_too_large"
    assert refusal(Assessor(random_models, MAX_BYTES, max_pixels=399 * 400), data).code == "image_too_large"


def test_unreadable_files_are_refused(assessor):
    assert refusal(assessor, b"").code == "unsupported_image"
    assert refusal(assessor, b"%PDF-1.4 not really").code == "unsupported_image"
    assert refusal(assessor, encode(scalp_photo(), "GIF")).status == 415


def test_tiny_photos_are_too_small(assessor):
    error = refusal(assessor, encode(scalp_photo(64)))
    assert error.code == "image_too_small" and error.status == 422 and "64 x 64" in error.message


def test_blurry_photos_are_refused(assessor):
    blurred = scalp_photo(400).filter(ImageFilter.GaussianBlur(12))
    error = refusal(assessor, encode(blurred, quality=95))
    assert error.code == "image_too_blurry" and "steady" in error.message


def test_dark_photos_are_refused(assessor):
    dark = Image.eval(scalp_photo(400), lambda v: v // 25)
    assert refusal(assessor, encode(dark)).code == "image_too_dark"


def test_bright_photos_are_refused(assessor):
    bright = Image.eval(scalp_photo(400), lambda v: 250 + v // 50)
    assert refusal(assessor, encode(bright)).code == "image_too_bright"


def test_a_large_phone_photo_is_judged_by_its_own_size(assessor):
    """The gate sees a draft-decoded copy, but the photo's own size decides `image_too_small`."""
    photo = scalp_photo(500).resize((3000, 2000), Image.Resampling.BILINEAR)
    result = assessor.assess(encode(photo, quality=90), "scalp")
    assert result.source.width == 3000 and result.image.size[0] < 500
