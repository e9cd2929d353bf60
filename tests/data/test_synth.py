"""The phantom generator: layout, determinism, options, planted faults, contact sheet and the command."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from scalpcheck.cli import main
from scalpcheck.data.synth import dataset as synth_dataset
from scalpcheck.data.synth import render_phantom, write_dataset, write_preview
from scalpcheck.data.synth.canvas import Canvas
from scalpcheck.data.synth.defects import KINDS
from scalpcheck.data.synth.hair import Follicles
from scalpcheck.data.synth.labels import STAGE_DENSITY, sample_look
from scalpcheck.data.synth.lesions import plaque_mask, sample_patches, sample_pustules
from scalpcheck.data.synth.render import photograph, plan_phantom
from scalpcheck.data.synth.seeds import defect_rng, image_rng
from scalpcheck.data.synth.styles import STYLE_NAMES
from scalpcheck.errors import UsageError
from scalpcheck.tasks import TASKS

SIZE = 64  # small phantoms keep the file fast; the look is checked on the contact sheets


@pytest.fixture
def work(tmp_path):
    """An empty folder of the test's own (tmp_path also holds the test's home folder)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def decode(path):
    with Image.open(path) as img:
        img.load()
        return img


@pytest.mark.parametrize("task", list(TASKS))
def test_label_folders_counts_and_marker(work, task):
    out = work / "data"
    summary = write_dataset(task, per_class=2, seed=1, out=out, size=SIZE, progress=False)
    labels = TASKS[task].labels
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(labels)
    for label in labels:
        assert sorted(p.name for p in (out / label).iterdir()) == [f"{label}_0000.jpg", f"{label}_0001.jpg"]
        img = decode(out / label / f"{label}_0001.jpg")
        assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (SIZE, SIZE))
    assert summary["counts"] == dict.fromkeys(labels, 2) and summary["faults"] == {}
    marker = json.loads((out / "phantoms.json").read_text())
    assert marker["generator"] == "scalpcheck synth"
    assert {k: marker[k] for k in ("task", "seed", "per_class", "size", "style", "defects")} == {
        "task": task, "seed": 1, "per_class": 2, "size": SIZE, "style": "mix", "defects": False,
    }  # fmt: skip
    assert "scalpcheck_version" in marker
    assert not (out / "defects.json").exists()
    assert [p.name for p in work.iterdir()] == ["data"]  # no temporary folder left behind


def test_same_seed_same_bytes_and_images_do_not_depend_on_per_class(work):
    write_dataset("scalp", per_class=2, seed=5, out=work / "a", size=SIZE, progress=False)
    write_dataset("scalp", per_class=3, seed=5, out=work / "b", size=SIZE, progress=False)
    write_dataset("scalp", per_class=2, seed=6, out=work / "c", size=SIZE, progress=False)
    for name in files(work / "a"):
        if name.endswith(".jpg"):
            same = (work / "a" / name).read_bytes()
            assert same == (work / "b" / name).read_bytes()
            assert same != (work / "c" / name).read_bytes()


def test_render_phantom_is_the_file_decoded(work):
    write_dataset("hairloss", per_class=2, seed=3, out=work / "d", size=SIZE, progress=False)
    img = render_phantom("hairloss", "stage_2", image_rng(3, "hairloss", "stage_2", 1), size=SIZE)
    assert img.mode == "RGB" and img.size == (SIZE, SIZE)
    on_disk = decode(work / "d" / "stage_2" / "stage_2_0001.jpg").convert("RGB")
    assert np.array_equal(np.asarray(img), np.asarray(on_disk))


@pytest.mark.parametrize("size", [64, 97, 300])
def test_size_option(size):
    img = render_phantom("scalp", "psoriasis", np.random.default_rng(0), size=size)
    assert img.size == (size, size)


@pytest.mark.parametrize("size", [63, 4097])
def test_render_refuses_sizes_out_of_range(size):
    with pytest.raises(ValueError, match="size"):
        render_phantom("scalp", "healthy", np.random.default_rng(0), size=size)


def test_nuisance_is_drawn_before_and_without_the_label():
    """Skin, hair and confounders come first from the scene's stream and never see the label: the same
    generator state gives the same nuisance for every label, in every style, so every nuisance
    parameter has the same distribution in every class. The camera comes from the shot's own stream."""
    for task in TASKS:
        for style in STYLE_NAMES:
            for seed in range(8):
                labels = TASKS[task].labels
                plans = [plan_phantom(task, label, np.random.default_rng(seed), style) for label in labels]
                assert all(p.nuisance == plans[0].nuisance for p in plans)


def test_file_is_compressed_at_its_cameras_quality():
    photo = photograph("scalp", "alopecia", image_rng(9, "scalp", "alopecia", 0), SIZE)
    written = Image.open(
        io.BytesIO(photograph("scalp", "alopecia", image_rng(9, "scalp", "alopecia", 0), SIZE).jpeg())
    )
    reference = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE)).save(reference, format="JPEG", quality=photo.camera.jpeg_quality)
    assert written.quantization == Image.open(reference).quantization


def test_stage_densities_follow_the_specification_and_never_overlap():
    ranges = sorted(STAGE_DENSITY.values())
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert STAGE_DENSITY == {
        "stage_0": (0.90, 1.00), "stage_1": (0.65, 0.85), "stage_2": (0.40, 0.60),
        "stage_3": (0.15, 0.35), "stage_4": (0.00, 0.05),
    }  # fmt: skip
    rng = np.random.default_rng(0)
    for label, (low, high) in STAGE_DENSITY.items():
        looks = [sample_look("hairloss", label, rng) for _ in range(200)]
        assert all(low <= look.growth.density <= high for look in looks)
    stage_3 = [sample_look("hairloss", "stage_3", rng).growth for _ in range(50)]
    assert all(g.width_factor < 1 and g.lighten > 0 for g in stage_3)  # miniaturised: thinner and lighter
    assert all(sample_look("hairloss", "stage_4", rng).shine > 0 for _ in range(20))


def test_scalp_lesions_have_the_specified_sizes():
    rng = np.random.default_rng(1)
    for _ in range(100):
        patches = sample_patches(rng)
        assert 1 <= len(patches) <= 3
        assert all(0.15 <= 2 * p.radii[0] <= 0.45 and p.radii[1] <= p.radii[0] for p in patches)
    follicles = Follicles(rng.random((3000, 2)).astype(np.float32), np.ones(3000, np.int64))
    for _ in range(100):
        pustules = sample_pustules(rng, follicles)
        assert 5 <= len(pustules.centres) <= 30
        diameters = 2 * pustules.radii
        assert np.all((diameters >= 0.02) & (diameters <= 0.06 + 1e-6))
    for _ in range(10):
        area = float((plaque_mask(rng, Canvas(128)) > 0.5).mean())
        assert 0.09 <= area <= 0.51
    for label in ("healthy", "alopecia", "folliculitis", "psoriasis"):
        look = sample_look("scalp", label, rng)
        assert 0.9 <= look.growth.density <= 1.0  # normal hair density in every scalp class
        assert (bool(look.patches), look.psoriasis, look.folliculitis) == (
            label == "alopecia", label == "psoriasis", label == "folliculitis",
        )  # fmt: skip


@pytest.fixture(scope="module", params=list(TASKS))
def with_defects(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"defects-{request.param}") / "data"
    summary = write_dataset(
        request.param, per_class=3, seed=4, out=out, size=SIZE, defects=True, progress=False
    )
    return request.param, out, summary, json.loads((out / "defects.json").read_text())


def test_every_defect_kind_is_planted_and_listed(with_defects):
    task, out, summary, manifest = with_defects
    assert (manifest["task"], manifest["seed"]) == (task, 4)
    kinds = [f["kind"] for f in manifest["faults"]]
    assert set(kinds) == set(KINDS) and all(kinds.count(k) >= 2 for k in KINDS)
    assert summary["faults"] == {k: kinds.count(k) for k in KINDS}
    labels = set(TASKS[task].labels)
    for fault in manifest["faults"]:
        for key in ("path", "of"):
            if key in fault:
                assert "\\" not in fault[key] and fault[key].split("/")[0] in labels
                assert (out / fault[key]).is_file()
        if "of" in fault:
            assert not fault["of"].split("/")[1].startswith("defect_")  # the original is a clean phantom
    for label in labels:  # the clean images are all still there
        assert len(list((out / label).glob(f"{label}_*.jpg"))) == 3


def test_each_defect_is_what_its_kind_says(with_defects):
    task, out, _, manifest = with_defects
    for fault in manifest["faults"]:
        kind, data = fault["kind"], (out / fault["path"]).read_bytes()
        original = (out / fault["of"]).read_bytes() if "of" in fault else None
        if kind == "zero_byte":
            assert data == b""
            continue
        if kind == "not_an_image":
            assert data.isascii() and not data.startswith(b"\xff\xd8")
            continue
        if kind == "truncated":
            assert data.startswith(b"\xff\xd8") and not data.endswith(b"\xff\xd9")
            with pytest.raises(OSError):
                decode(out / fault["path"])
            continue
        img = np.asarray(decode(out / fault["path"]).convert("RGB"), np.float32)
        side = img.shape[0]
        if kind in ("exact_duplicate", "label_conflict"):
            assert data == original
        if kind == "label_conflict":
            assert fault["path"].split("/")[0] != fault["of"].split("/")[0]
        elif "of" in fault:
            assert fault["path"].split("/")[0] == fault["of"].split("/")[0]
        if kind == "near_duplicate_reencoded":
            assert data != original and side == SIZE and len(data) < len(original)
        if kind == "near_duplicate_resized":
            assert 0.6 * SIZE - 1 <= side <= 0.8 * SIZE + 1
        if kind == "near_duplicate_cropped":
            assert 0.92 * SIZE - 1 <= side <= 0.95 * SIZE + 1
        if kind == "tiny":
            assert 24 <= side <= 48
        if kind == "too_dark":
            assert img.mean() < 0.06 * 255
        if kind == "too_bright":
            assert img.mean() > 0.94 * 255
        if kind == "blurry":  # far less fine detail than the same phantom unblurred
            label, name = fault["path"].split("/")
            rng = defect_rng(4, task, kind, int(name.removesuffix(".jpg").rsplit("_", 1)[1]))
            clean = photograph(task, label, rng, SIZE).pixels.astype(np.float32)
            assert np.abs(np.diff(img, axis=1)).mean() < 0.5 * np.abs(np.diff(clean, axis=1)).mean()


def test_defects_need_originals_to_copy(work):
    with pytest.raises(UsageError, match="--per-class"):
        write_dataset("scalp", per_class=2, seed=0, out=work / "d", size=SIZE, defects=True, progress=False)
    assert list(work.iterdir()) == []


def test_preview_is_a_labelled_contact_sheet(work):
    path = write_preview("scalp", seed=2, path=work / "sheet.png", per_label=2, size=SIZE)
    assert path == work / "sheet.png" and [p.name for p in work.iterdir()] == ["sheet.png"]
    sheet = decode(path)
    assert sheet.format == "PNG" and sheet.height > 4 * SIZE
    first = np.asarray(render_phantom("scalp", "alopecia", image_rng(2, "scalp", "alopecia", 0), SIZE))
    pixels = np.asarray(sheet.convert("RGB"))
    found = any(np.array_equal(pixels[y : y + SIZE, 6 : 6 + SIZE], first) for y in range(sheet.height - SIZE))
    assert found  # the sheet shows the dataset's own first phantom


def test_a_failure_midway_leaves_nothing(work, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return photograph(*args, **kwargs)

    monkeypatch.setattr(synth_dataset, "photograph", failing)
    with pytest.raises(RuntimeError):
        write_dataset("scalp", per_class=2, seed=0, out=work / "d", size=SIZE, progress=False)
    assert list(work.iterdir()) == []


def run_cli(args, capsys):
    try:
        code = main(["synth", *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    return code, capsys.readouterr()


def test_cli_writes_dataset_and_preview(work, capsys):
    args = ["--task", "hairloss", "--per-class", "1", "--seed", "3", "--out", str(work / "d")]
    code, out = run_cli([*args, "--size", str(SIZE), "--preview", str(work / "p.png")], capsys)
    assert code == 0, out.err
    assert "wrote 5 phantoms" in out.out and "contact sheet" in out.out
    assert len(list((work / "d").rglob("*.jpg"))) == 5 and (work / "p.png").is_file()


def test_cli_preview_alone(work, capsys):
    code, out = run_cli(["--task", "scalp", "--preview", str(work / "p.png"), "--size", str(SIZE)], capsys)
    assert code == 0, out.err
    assert [p.name for p in work.iterdir()] == ["p.png"]


@pytest.mark.parametrize(
    "case",
    ["out_not_empty", "out_is_file", "per_class_0", "bad_task", "size_too_small", "negative_seed",
     "no_per_class", "no_output", "preview_not_png", "defects_without_out"],
)  # fmt: skip
def test_cli_bad_arguments_exit_2_with_one_line_and_write_nothing(work, capsys, case):
    (work / "full").mkdir()
    (work / "full" / "keep.txt").write_text("mine")
    (work / "a_file").write_text("mine")
    out = str(work / "new")
    args = {
        "out_not_empty": ["--task", "scalp", "--per-class", "1", "--out", str(work / "full")],
        "out_is_file": ["--task", "scalp", "--per-class", "1", "--out", str(work / "a_file")],
        "per_class_0": ["--task", "scalp", "--per-class", "0", "--out", out],
        "bad_task": ["--task", "knees", "--per-class", "1", "--out", out],
        "size_too_small": ["--task", "scalp", "--per-class", "1", "--out", out, "--size", "32"],
        "negative_seed": ["--task", "scalp", "--per-class", "1", "--out", out, "--seed", "-4"],
        "no_per_class": ["--task", "scalp", "--out", out],
        "no_output": ["--task", "scalp", "--per-class", "1"],
        "preview_not_png": ["--task", "scalp", "--per-class", "1", "--out", out, "--preview", out + ".jpg"],
        "defects_without_out": ["--task", "scalp", "--defects", "--preview", out + ".png"],
    }[case]
    before = files(work)
    code, captured = run_cli(args, capsys)
    assert code == 2
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("scalpcheck synth: error:")
    assert files(work) == before
    assert sorted(p.name for p in work.iterdir()) == ["a_file", "full"]
