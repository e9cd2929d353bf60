"""Rendering styles: they differ measurably, every label's cue survives in each, and they are chosen right."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFilter
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scalpcheck.cli import main
from scalpcheck.data.synth import render_phantom
from scalpcheck.data.synth.canvas import Light, rgb_to_lab
from scalpcheck.data.synth.labels import STAGE_DENSITY
from scalpcheck.data.synth.lesions import RIM, inside_measure
from scalpcheck.data.synth.render import draw_scene, photograph, plan_phantom
from scalpcheck.data.synth.seeds import image_rng, split
from scalpcheck.data.synth.styles import HELD_OUT_STYLES, MIX, STYLE_NAMES, TRAINING_STYLES, choose, parse
from scalpcheck.quality import measure, problems
from scalpcheck.tasks import TASKS

SIZE = 128
ALL_LABELS = [(task, label) for task in TASKS for label in TASKS[task].labels]


def statistics(rgb: np.ndarray) -> np.ndarray:
    """Cheap image statistics: colour histograms, detail at three scales, spectrum bands, the noise
    floor of the flattest blocks, how dark the corners are and how many colours there are."""
    x = rgb.astype(np.float32) / 255
    grey = x @ np.float32([0.299, 0.587, 0.114])
    n = grey.shape[0]
    hist = [np.histogram(x[..., c], bins=8, range=(0, 1))[0] / grey.size for c in range(3)]
    detail = [
        cv2.Laplacian(cv2.resize(grey, (n >> k, n >> k), interpolation=cv2.INTER_AREA), cv2.CV_32F).var()
        for k in range(3)
    ]
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean())))
    yy, xx = np.indices(grey.shape) - n / 2
    r = np.hypot(xx, yy) / (n / 2)
    bands = [spectrum[(r >= a) & (r < b)].mean() for a, b in ((0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 1))]
    fine = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    resid = grey - cv2.medianBlur((grey * 255).astype(np.uint8), 3).astype(np.float32) / 255
    blocks = resid.reshape(n // 8, 8, n // 8, 8).std(axis=(1, 3))
    c = n // 16
    corners = np.mean(
        [grey[:c, :c].mean(), grey[:c, -c:].mean(), grey[-c:, :c].mean(), grey[-c:, -c:].mean()]
    )
    q = (rgb // 8).reshape(-1, 3).astype(np.int32)
    colours = len(np.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2]))
    return np.concatenate(
        [
            *hist,
            np.log(np.asarray([*detail, *bands, *np.quantile(fine, [0.1, 0.5, 0.9])]) + 1e-4),
            np.log(np.quantile(blocks, [0.1, 0.3]) + 1e-4),
            [(fine < 0.004).mean(), corners / (grey[n // 2 - c : n // 2 + c].mean() + 1e-3), colours / 1000],
            [(x.max(axis=2) - x.min(axis=2)).mean()],
        ]
    )


def test_a_simple_classifier_tells_the_styles_apart():
    """Logistic regression on cheap statistics, 5-fold cross-validated, 40 phantoms a style of every label:
    far above the 20 % of guessing among the five styles, the held-out one included."""
    features, styles = [], []
    for s, style in enumerate(STYLE_NAMES):
        for i in range(40):
            task, label = ALL_LABELS[i % len(ALL_LABELS)]
            img = render_phantom(task, label, image_rng(21, task, label, i), SIZE, style)
            features.append(statistics(np.asarray(img)))
            styles.append(s)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, np.asarray(features), np.asarray(styles), cv=folds).mean()
    assert accuracy >= 0.6, accuracy


def _scene(task: str, label: str, style: str, index: int, bald: bool = False):
    """The plan and the drawn scene (before the camera) of a phantom, as the renderer made them; bald:
    the same scalp with its hair taken away (the skin and lesions under it)."""
    streams = split(image_rng(31, task, label, index))
    rng = streams.scene()
    plan = plan_phantom(task, label, rng, style)
    if bald:
        look = plan.look
        plan = replace(plan, look=replace(look, growth=replace(look.growth, density=0.0)))
    return plan, draw_scene(plan, rng, SIZE, Light(0.7, 1.0))


def _hair_mask(strands, size: int) -> np.ndarray:
    """Where the drawn strands are, at their drawn widths."""
    mask = np.zeros((size, size), np.uint8)
    for i in range(len(strands.count)):
        pts = np.round(strands.points[i, : strands.count[i]] * size * 16).astype(np.int32)
        width = max(1, round(strands.width[i] * size / 256))
        cv2.polylines(mask, [pts], False, 1, width, cv2.LINE_8, 4)
    return mask.astype(bool)


def _lab(layers) -> np.ndarray:
    return rgb_to_lab(layers.rgb)


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_alopecia_patches_are_bald_and_paler_in_every_style(style):
    x, y = (np.mgrid[0:SIZE, 0:SIZE][::-1] + 0.5) / SIZE
    for i in range(4):
        plan, layers = _scene("scalp", "alopecia", style, i)
        depth = inside_measure(plan.look.patches, np.stack([x, y], axis=-1))
        # no hair at all inside the rim, where broken hairs may stand; a strand's width reaches that far in
        reach = max(1, round(float(layers.strands.width.max()) * SIZE / 256))
        core = cv2.erode((depth < RIM**2 - 1).astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
        assert core.any() and not (_hair_mask(layers.strands, SIZE) & core).any()
        rim = (depth > 0.3) & (depth < 1.0)
        lightness = _lab(layers)[..., 0]
        assert np.median(lightness[core]) > np.median(lightness[rim])  # pale skin against hair and skin


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_psoriasis_plaques_are_red_with_white_scale_and_hair_goes_on_through_them(style):
    for i in range(4):
        plan, layers = _scene("scalp", "psoriasis", style, i)
        _, skin = _scene("scalp", "psoriasis", style, i, bald=True)
        mask = layers.lesion_mask
        inside = cv2.erode((mask > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        outside = cv2.dilate((mask > 0.05).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
        assert 0.1 <= (mask > 0.5).mean() <= 0.5
        lab = _lab(skin)
        # the red skin between and around the scale, against the skin around the plaque
        assert np.quantile(lab[..., 1][inside], 0.9) > np.quantile(lab[..., 1][outside], 0.9) + 8
        assert np.quantile(lab[..., 0][inside], 0.9) > 75  # silvery-white scale on it
        hair = _hair_mask(layers.strands, SIZE)
        assert hair[inside].mean() > 0.5 * hair[outside].mean()


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_folliculitis_pustules_are_yellow_white_in_a_red_halo(style):
    for i in range(4):
        plan, layers = _scene("scalp", "folliculitis", style, i, bald=True)
        pustules = layers.pustules
        assert 5 <= len(pustules.centres) <= 30
        assert np.all((2 * pustules.radii >= 0.02) & (2 * pustules.radii <= 0.06 + 1e-6))
        lab = _lab(layers)
        hair = _hair_mask(layers.strands, SIZE).astype(
            np.uint8
        )  # the follicle's own hair leaves each pustule
        bare = cv2.dilate(hair, np.ones((3, 3), np.uint8)) == 0  # and may have a drawn outline
        yy, xx = (np.mgrid[0:SIZE, 0:SIZE] + 0.5) / SIZE
        ring = np.zeros((SIZE, SIZE), bool)
        for (cx, cy), r, core in zip(pustules.centres, pustules.radii, pustules.cores, strict=True):
            d = np.hypot(xx - cx, yy - cy) / r
            ring |= (d > core + 0.1) & (d < 1.1)
            dome = lab[(d < 0.8 * core) & bare]
            if len(dome) >= 4:  # at 128 px the smallest pustule is a few pixels: judged in the halo only
                assert np.median(dome[:, 0]) > 60 and np.median(dome[:, 2]) > 12  # yellow-white pus
        assert np.median(lab[..., 1][ring & bare]) > plan.nuisance.tone[1] + 8  # the red halo


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_stage_densities_and_hair_cover_are_ordered_in_every_style(style):
    cover = []
    for label, (low, high) in STAGE_DENSITY.items():
        drawn = []
        for i in range(3):
            _, layers = _scene("hairloss", label, style, i)
            assert low - 0.01 <= layers.density <= high + 1e-6
            drawn.append(_hair_mask(layers.strands, SIZE).mean())
        cover.append(np.mean(drawn))
    assert all(a > b for a, b in zip(cover, cover[1:], strict=False)), cover


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_healthy_scalps_have_full_hair_and_no_lesions(style):
    for i in range(3):
        _, layers = _scene("scalp", "healthy", style, i)
        assert 0.9 - 0.01 <= layers.density <= 1.0
        assert layers.lesion_mask is None and layers.pustules is None
        assert _hair_mask(layers.strands, SIZE).mean() > 0.6


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_style_is_usable_to_the_cleaner_and_its_blurred_copies_are_not(style):
    for task, label in ALL_LABELS:
        img = render_phantom(task, label, image_rng(5, task, label, 0), 256, style)
        assert problems(measure(img)) == [], (style, label)
        assert "image_too_blurry" in problems(measure(img.filter(ImageFilter.GaussianBlur(5)))), (
            style,
            label,
        )
        dark = Image.fromarray((np.asarray(img, np.float32) * 0.06).astype(np.uint8))
        assert problems(measure(dark)) == ["image_too_dark"]


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_same_arguments_same_bytes_in_every_style(style):
    a = photograph("scalp", "psoriasis", image_rng(2, "scalp", "psoriasis", 1), 64, style).jpeg()
    assert a == photograph("scalp", "psoriasis", image_rng(2, "scalp", "psoriasis", 1), 64, style).jpeg()
    others = {s for s in STYLE_NAMES if s != style}
    assert all(
        a != photograph("scalp", "psoriasis", image_rng(2, "scalp", "psoriasis", 1), 64, s).jpeg()
        for s in others
    )


def test_mix_draws_every_training_style_about_equally_and_renders_it_as_that_style():
    picks = Counter(choose(MIX, split(image_rng(0, "scalp", "healthy", i)).style()).name for i in range(800))
    assert set(picks) == set(TRAINING_STYLES)  # never the held-out style
    assert all(150 <= n <= 250 for n in picks.values()), (
        picks
    )  # 200 each, 4.9 standard deviations either side
    for i in range(3):
        style = photograph("hairloss", "stage_1", image_rng(3, "hairloss", "stage_1", i), 64).plan.style
        mixed = photograph("hairloss", "stage_1", image_rng(3, "hairloss", "stage_1", i), 64).jpeg()
        assert (
            mixed
            == photograph("hairloss", "stage_1", image_rng(3, "hairloss", "stage_1", i), 64, style).jpeg()
        )


def test_the_held_out_style_is_named_and_never_in_mix():
    assert HELD_OUT_STYLES == ("dermoscope",)
    assert set(TRAINING_STYLES) | set(HELD_OUT_STYLES) == set(STYLE_NAMES)
    assert not set(TRAINING_STYLES) & set(HELD_OUT_STYLES)
    assert parse(MIX) == TRAINING_STYLES
    for i in range(40):
        photo = photograph("scalp", "psoriasis", image_rng(7, "scalp", "psoriasis", i), 64)
        assert photo.plan.style in TRAINING_STYLES


def test_a_comma_list_mixes_just_those_styles():
    assert parse("phone,studio") == parse(" studio , phone") == ("studio", "phone")  # in STYLE_NAMES order
    assert parse("mix,dermoscope") == STYLE_NAMES and parse("studio,studio") == ("studio",)
    picks = Counter(
        choose("sketch,dermoscope", split(image_rng(0, "scalp", "healthy", i)).style()).name
        for i in range(400)
    )
    assert set(picks) == {"sketch", "dermoscope"} and all(150 <= n <= 250 for n in picks.values()), picks
    # the training styles as a list are mix, image for image; a list's image is its style's image
    for i in range(3):
        listed = photograph(
            "scalp", "alopecia", image_rng(4, "scalp", "alopecia", i), 64, "sketch,phone,trichoscope,studio"
        )
        assert (
            listed.jpeg() == photograph("scalp", "alopecia", image_rng(4, "scalp", "alopecia", i), 64).jpeg()
        )
        pair = photograph("scalp", "alopecia", image_rng(4, "scalp", "alopecia", i), 64, "phone,dermoscope")
        alone = photograph("scalp", "alopecia", image_rng(4, "scalp", "alopecia", i), 64, pair.plan.style)
        assert pair.plan.style in ("phone", "dermoscope") and pair.jpeg() == alone.jpeg()


@pytest.mark.parametrize("style", ["watercolour", "studio,watercolour", "studio,", ""])
def test_unknown_style_is_refused_by_the_functions(style):
    with pytest.raises(ValueError, match="style"):
        render_phantom("scalp", "healthy", np.random.default_rng(0), 64, style)


@pytest.mark.parametrize("style", ["oil", "studio,oil"])
def test_cli_refuses_an_unknown_style_in_one_line(tmp_path, capsys, style):
    work = tmp_path / "work"
    work.mkdir()
    code = main(["synth", "--task", "scalp", "--per-class", "1", "--out", str(work / "d"), "--style", style])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--style" in err and "'oil'" in err
    assert not any(work.iterdir())


def test_cli_help_names_every_style(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in (*STYLE_NAMES, MIX))
    assert "default: mix" in out and "held-out" in out and "comma" in out


def test_cli_writes_the_style_asked_for(tmp_path, capsys):
    out = tmp_path / "d"
    args = [
        "synth",
        "--task",
        "scalp",
        "--per-class",
        "1",
        "--out",
        str(out),
        "--size",
        "64",
        "--style",
        "phone",
    ]
    assert main(args) == 0
    assert "style phone" in capsys.readouterr().out
    rows = (out / "manifest.csv").read_text().splitlines()[1:]
    assert len(rows) == 4 and all(",phone," in row for row in rows)


def test_cli_writes_a_comma_list_of_styles(tmp_path, capsys):
    out = tmp_path / "d"
    args = ["synth", "--task", "hairloss", "--per-class", "4", "--out", str(out), "--size", "64"]
    assert main([*args, "--style", "dermoscope,sketch"]) == 0
    assert "style dermoscope,sketch" in capsys.readouterr().out
    rows = (out / "manifest.csv").read_text().splitlines()[1:]
    drawn = Counter(row.split(",")[2] for row in rows)
    assert set(drawn) <= {"dermoscope", "sketch"} and sum(drawn.values()) == 20


def test_the_dermoscope_looks_through_a_hard_round_field():
    """Its field of view is round, hard-edged and dark outside; the manifest reports its radius."""
    for i in range(4):
        photo = photograph("scalp", "healthy", image_rng(9, "scalp", "healthy", i), 256, "dermoscope")
        cam = photo.camera
        assert 0.54 <= cam.field_stop <= 0.64 and cam.stop_edge < 0.01 and cam.scope is not None
        grey = photo.pixels.astype(np.float32).mean(axis=2)
        yy, xx = (np.mgrid[0:256, 0:256] + 0.5) / 256
        r = np.hypot(xx - cam.stop_centre[0], yy - cam.stop_centre[1]) / cam.field_stop
        assert np.median(grey[r > 1.03]) < 20 < np.median(grey[r < 0.9])
        assert grey[(r > 1.03) & (r < 1.1)].mean() < 0.35 * grey[(r > 0.85) & (r < 0.97)].mean()  # hard edge


def test_dermoscope_patches_show_yellow_dots():
    """What a dermoscope shows of alopecia areata: yellow dots in the patch's empty follicles (there is
    still no hair there: see the alopecia test)."""
    x, y = (np.mgrid[0:SIZE, 0:SIZE][::-1] + 0.5) / SIZE
    for i in range(3):
        plan, bald = _scene("scalp", "alopecia", "dermoscope", i, bald=True)
        core = inside_measure(plan.look.patches, np.stack([x, y], axis=-1)) < -0.1
        yellow = _lab(bald)[..., 2][core]
        assert np.quantile(yellow, 0.98) > np.median(yellow) + 8  # dots well yellower than the patch
