"""The per-image manifest, the skin-tone groups it reports, and re-shoots of one scalp."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from scalpcheck.data import catalog
from scalpcheck.data.synth import manifest, render_phantom, write_dataset
from scalpcheck.data.synth.labels import NORMAL_DENSITY, STAGE_DENSITY
from scalpcheck.data.synth.render import photograph, plan_phantom
from scalpcheck.data.synth.seeds import image_rng, split
from scalpcheck.data.synth.skintone import GROUPS, THIRDS, group, ita, sample_tone, third
from scalpcheck.data.synth.styles import STYLE_NAMES, TRAINING_STYLES
from scalpcheck.tasks import TASKS

SIZE = 64
SCENE_COLUMNS = ("label", "style", "scalp_id", "skin_L", "skin_a", "skin_b", "skin_ita", "skin_group",
                 "skin_third", "hair_colour", "hair_curl", "hair_width", "density", "lesion_count",
                 "lesion_area")  # fmt: skip


@pytest.fixture(scope="module", params=list(TASKS))
def dataset(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"manifest-{request.param}") / "data"
    write_dataset(request.param, per_class=6, seed=8, out=out, size=SIZE, progress=False)
    return request.param, out, manifest.read(out / manifest.NAME)


def test_one_row_per_image_with_every_column(dataset):
    task, out, rows = dataset
    images = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert sorted(r["path"] for r in rows) == images
    assert list(rows[0]) == list(manifest.COLUMNS)
    for row in rows:
        assert row["label"] == row["path"].split("/")[0] and row["style"] in TRAINING_STYLES  # mix
        assert (
            row["skin_group"] == group(float(row["skin_ita"]))
            and row["skin_third"] == THIRDS[row["skin_group"]]
        )
        assert 50 <= int(row["jpeg_quality"]) <= 98 and 0 < float(row["resolution"]) <= 1
    assert len({r["scalp_id"] for r in rows}) == len(rows)
    assert json.loads((out / "phantoms.json").read_text())["style"] == "mix"


def test_the_manifest_style_and_quality_are_the_files(dataset):
    task, out, rows = dataset
    for row in rows[:6]:
        label, name = row["path"].split("/")
        index = int(name.removesuffix(".jpg").rsplit("_", 1)[1])
        photo = photograph(task, label, image_rng(8, task, label, index), SIZE)
        assert photo.plan.style == row["style"] and photo.camera.jpeg_quality == int(row["jpeg_quality"])
        assert (out / row["path"]).read_bytes() == photo.jpeg()


def test_density_and_lesions_are_what_each_label_shows(dataset):
    task, _, rows = dataset
    for row in rows:
        label, density = row["label"], float(row["density"])
        count, area = int(row["lesion_count"]), float(row["lesion_area"])
        if task == "hairloss":
            low, high = STAGE_DENSITY[label]
            assert low - 0.01 <= density <= high + 1e-6, row
            assert (count, area) == (0, 0.0)
        elif label == "alopecia":  # normal hair less its bald patches
            assert 0.4 < density < NORMAL_DENSITY[1] and 1 <= count <= 3 and 0.01 < area < 0.5, row
        else:
            assert NORMAL_DENSITY[0] - 0.01 <= density <= NORMAL_DENSITY[1], row
            if label == "psoriasis":
                assert count >= 1 and 0.09 <= area <= 0.51, row
            elif label == "folliculitis":
                assert 5 <= count <= 30 and 0 < area < 0.09, row
            else:
                assert (count, area) == (0, 0.0)
        if row["hair_width"]:
            assert 0.0005 < float(row["hair_width"]) < 0.05
    if task == "hairloss":  # realised densities in order, stage by stage
        means = [
            np.mean([float(r["density"]) for r in rows if r["label"] == label]) for label in STAGE_DENSITY
        ]
        assert all(a > b for a, b in zip(means, means[1:], strict=False))


def test_the_catalog_takes_the_manifest_for_neither_an_image_nor_a_label(dataset):
    task, out, rows = dataset
    found = catalog.scan(out, task)
    assert len(found.items) == len(rows) and found.synthetic
    assert sorted({item.label for item in found.items}) == sorted(TASKS[task].labels)


def test_planted_defects_have_no_manifest_row(tmp_path):
    out = tmp_path / "data"
    write_dataset("scalp", per_class=3, seed=4, out=out, size=SIZE, defects=True, progress=False)
    rows = manifest.read(out / manifest.NAME)
    assert len(rows) == 12 and not any("defect_" in r["path"] for r in rows)


def test_ita_and_its_groups_on_hand_made_tones():
    assert ita(60.0, 10.0) == pytest.approx(45.0)
    assert ita(50.0, 15.0) == pytest.approx(0.0)
    assert ita(30.0, 20.0) == pytest.approx(-45.0)
    assert ita(78.0, 14.0) == pytest.approx(np.degrees(np.arctan(2.0)))  # 63.43
    cases = {
        70.0: "very_light", 55.01: "very_light", 55.0: "light", 41.0: "intermediate", 30.0: "intermediate",
        28.0: "tan", 10.5: "tan", 10.0: "brown", -29.0: "brown", -30.0: "dark", -55.0: "dark",
    }  # fmt: skip
    assert {angle: group(angle) for angle in cases} == cases
    assert [third(a) for a in (60.0, 45.0, 35.0, 20.0, 0.0, -40.0)] == ["light"] * 2 + ["medium"] * 2 + [
        "dark"
    ] * 2


def test_every_skin_tone_group_is_equally_likely():
    rng = np.random.default_rng(0)
    tones = [sample_tone(rng) for _ in range(6000)]
    counts = Counter(group(ita(t[0], t[2])) for t in tones)
    assert set(counts) == {name for name, _, _ in GROUPS}
    assert all(abs(n - 1000) < 4 * 29 for n in counts.values()), counts  # binomial sd 29
    assert min(t[0] for t in tones) < 28 and max(t[0] for t in tones) > 76  # very dark to very light


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_skin_groups_are_balanced_in_every_label_of_every_style(style):
    """The tone is drawn before the label, so every label of a style gets the same tones; 300 scalps
    of each label still cover the six groups within sampling error (4 sd of a binomial of 300, 1/6)."""
    for task in TASKS:
        for label in TASKS[task].labels:
            groups, thirds = Counter(), Counter()
            for i in range(300):
                plan = plan_phantom(task, label, split(image_rng(12, task, label, i)).scene(), style)
                angle = ita(plan.nuisance.tone[0], plan.nuisance.tone[2])
                groups[group(angle)] += 1
                thirds[third(angle)] += 1
            assert all(abs(groups[name] - 50) <= 26 for name, _, _ in GROUPS), (label, groups)
            assert all(abs(thirds[name] - 100) <= 33 for name in ("light", "medium", "dark")), (label, thirds)


def test_skin_thirds_are_about_a_third_each(dataset):
    _, _, rows = dataset
    shares = Counter(r["skin_third"] for r in rows)
    assert set(shares) <= {"light", "medium", "dark"} and all(n <= 0.6 * len(rows) for n in shares.values())


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_a_reshoot_is_the_same_scalp_in_another_photograph(style):
    for task, label in (("scalp", "alopecia"), ("scalp", "folliculitis"), ("hairloss", "stage_2")):
        first = photograph(task, label, image_rng(6, task, label, 0), SIZE, style, shot=0)
        again = photograph(task, label, image_rng(6, task, label, 0), SIZE, style, shot=1)
        a, b = (manifest.record(p, "x.jpg") for p in (first, again))
        assert {k: a[k] for k in SCENE_COLUMNS} == {k: b[k] for k in SCENE_COLUMNS}
        assert first.plan == again.plan and first.scalp_id == again.scalp_id
        assert np.array_equal(first.layers.strands.points, again.layers.strands.points)  # the same hairs
        assert first.camera != again.camera
        assert np.abs(first.pixels.astype(int) - again.pixels.astype(int)).mean() > 2
        reshot = render_phantom(task, label, image_rng(6, task, label, 0), SIZE, style, shot=1)
        assert np.array_equal(np.asarray(reshot), np.asarray(again.image()))


def test_a_held_out_dataset_lists_its_style_and_field_of_view(tmp_path):
    out = tmp_path / "data"
    write_dataset("scalp", per_class=2, seed=3, out=out, size=SIZE, progress=False, style="dermoscope")
    rows = manifest.read(out / manifest.NAME)
    assert len(rows) == 8 and all(r["style"] == "dermoscope" for r in rows)
    assert all(0.54 <= float(r["field_stop"]) <= 0.64 for r in rows)
    assert json.loads((out / "phantoms.json").read_text())["style"] == "dermoscope"


def test_shots_write_reshoots_beside_the_same_first_photos(tmp_path):
    once, twice = tmp_path / "once", tmp_path / "twice"
    write_dataset("hairloss", per_class=2, seed=4, out=once, size=SIZE, progress=False)
    summary = write_dataset("hairloss", per_class=2, seed=4, out=twice, size=SIZE, progress=False, shots=2)
    assert summary["counts"] == {label: 4 for label in TASKS["hairloss"].labels}
    assert json.loads((twice / "phantoms.json").read_text())["shots"] == 2
    for path in once.rglob("*.jpg"):  # the first shots are the dataset without re-shoots
        assert (twice / path.relative_to(once)).read_bytes() == path.read_bytes()
    rows = {r["path"]: r for r in manifest.read(twice / manifest.NAME)}
    again = rows["stage_3/stage_3_0001_shot1.jpg"]
    first = rows["stage_3/stage_3_0001.jpg"]
    assert (first["shot"], again["shot"]) == ("0", "1")
    assert {k: first[k] for k in SCENE_COLUMNS} == {k: again[k] for k in SCENE_COLUMNS}
    assert (twice / "stage_3/stage_3_0001_shot1.jpg").read_bytes() != (twice / first["path"]).read_bytes()
    assert len({r["scalp_id"] for r in rows.values()}) == len(rows) // 2


def test_shots_outside_one_to_four_are_refused_before_writing(tmp_path):
    from scalpcheck.errors import UsageError

    for shots in (0, 5):
        with pytest.raises(UsageError, match="--shots must be between 1 and 4"):
            write_dataset("scalp", per_class=1, seed=0, out=tmp_path / "d", size=SIZE, shots=shots)
    assert not (tmp_path / "d").exists()
