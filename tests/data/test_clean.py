"""`scalpcheck clean`: every kind of fault is found, clean pictures are left alone, --apply loses nothing."""

from __future__ import annotations

import csv
import json
import shutil

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from scalpcheck.cli import main
from scalpcheck.data.catalog import file_sha256
from scalpcheck.data.clean import KINDS, apply_quarantine, find_problems, fingerprints
from scalpcheck.errors import UsageError
from tests.helpers.datasets import BAD_FOLDERS

SIDE = 200


def texture(seed: int, side: int = SIDE) -> Image.Image:
    """A scalp-like picture: curved strands combed one way over noisy skin; every seed a new picture."""
    rng = np.random.default_rng(seed)
    skin = rng.uniform(60, 220) * np.array([1.0, 0.78, 0.65])
    img = Image.new("RGB", (side, side), tuple(int(c) for c in skin))
    draw = ImageDraw.Draw(img)
    angle = rng.uniform(0, np.pi)
    for _ in range(120):
        x, y = rng.uniform(-20, side + 20, 2)
        a = angle + rng.normal(0, 0.3)
        t = np.linspace(0, rng.uniform(30, 90), 6)
        bend = rng.normal(0, 0.01) * t**2
        points = list(
            zip(x + t * np.cos(a) - bend * np.sin(a), y + t * np.sin(a) + bend * np.cos(a), strict=True)
        )
        draw.line(points, fill=tuple(int(c) for c in rng.uniform(10, 60, 3)), width=int(rng.integers(1, 3)))
    pixels = np.asarray(img, np.float32) + rng.normal(0, 2.5, (side, side, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def save(img: Image.Image, path, quality: int = 90):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=quality)
    return path


def clean_dataset(root, labels=("healthy", "alopecia"), per_label=6, seed=0):
    for k, label in enumerate(labels):
        for i in range(per_label):
            save(texture(seed * 1000 + k * 100 + i), root / label / f"{label}_{i}.jpg")
    return root


def edge_crop(img: Image.Image, left, top, right, bottom) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


# (kind, path of the planted file, path of its original for duplicates)
PLANTED = [
    ("unreadable", "healthy/zero_byte.jpg", None),
    ("unreadable", "healthy/not_an_image.jpg", None),
    ("truncated", "healthy/truncated.jpg", None),
    ("truncated", "alopecia/truncated.png", None),
    ("exact_duplicate", "healthy/exact.jpg", "healthy/healthy_0.jpg"),
    ("near_duplicate", "healthy/reencoded.jpg", "healthy/healthy_1.jpg"),
    ("near_duplicate", "healthy/resized.jpg", "healthy/healthy_2.jpg"),
    ("near_duplicate", "healthy/cropped.jpg", "healthy/healthy_3.jpg"),
    ("near_duplicate", "alopecia/cropped_resized.png", "alopecia/alopecia_0.jpg"),
    ("too_small", "alopecia/tiny.jpg", None),
    ("too_blurry", "alopecia/blurry.jpg", None),
    ("too_dark", "alopecia/dark.jpg", None),
    ("too_bright", "alopecia/bright.jpg", None),
    ("label_conflict", "alopecia/conflict.jpg", "healthy/healthy_4.jpg"),
]


def plant_faults(root):
    """Every fault of PLANTED, made from pictures not otherwise in the dataset (or from its originals)."""
    original = {rel: Image.open(root / rel).convert("RGB") for _, _, rel in PLANTED if rel}
    (root / "healthy/zero_byte.jpg").write_bytes(b"")
    (root / "healthy/not_an_image.jpg").write_text("this is a text file with an image name\n")
    data = save(texture(900), root / "x.jpg").read_bytes()
    (root / "healthy/truncated.jpg").write_bytes(data[: len(data) * 2 // 3])
    (root / "x.jpg").unlink()
    texture(901).save(root / "x.png")
    data = (root / "x.png").read_bytes()
    (root / "alopecia/truncated.png").write_bytes(data[: len(data) // 2])
    (root / "x.png").unlink()
    (root / "healthy/exact.jpg").write_bytes((root / "healthy/healthy_0.jpg").read_bytes())
    save(original["healthy/healthy_1.jpg"], root / "healthy/reencoded.jpg", quality=55)
    save(
        original["healthy/healthy_2.jpg"].resize((140, 140), Image.Resampling.LANCZOS),
        root / "healthy/resized.jpg",
    )
    save(edge_crop(original["healthy/healthy_3.jpg"], 0.05, 0.07, 0.08, 0.06), root / "healthy/cropped.jpg")
    cropped = edge_crop(original["alopecia/alopecia_0.jpg"], 0.06, 0.06, 0.06, 0.06).resize((150, 150))
    cropped.save(root / "alopecia/cropped_resized.png")
    save(texture(902).resize((40, 40)), root / "alopecia/tiny.jpg")
    save(texture(903).filter(ImageFilter.GaussianBlur(6)), root / "alopecia/blurry.jpg")
    pixels = np.asarray(texture(904), np.float32)
    save(Image.fromarray((pixels * 0.05).astype(np.uint8)), root / "alopecia/dark.jpg")
    save(Image.fromarray((255 - (255 - pixels) * 0.05).astype(np.uint8)), root / "alopecia/bright.jpg")
    (root / "alopecia/conflict.jpg").write_bytes((root / "healthy/healthy_4.jpg").read_bytes())


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    root = clean_dataset(tmp_path_factory.mktemp("faulty") / "data")
    plant_faults(root)
    return root, find_problems(root, progress=False)


def by_path(report):
    return {f.path: f for f in report.findings}


@pytest.mark.parametrize(("kind", "path", "original"), PLANTED, ids=[p[1] for p in PLANTED])
def test_every_planted_fault_is_found(faulty, kind, path, original):
    _, report = faulty
    findings = by_path(report)
    if kind in ("exact_duplicate", "near_duplicate"):
        # One of the two copies goes (the worse one), and the group names the one that stays.
        flagged = findings.get(path) or findings.get(original)
        assert flagged is not None and flagged.kind == kind
        assert {flagged.path, flagged.kept} == {path, original}
    elif kind == "label_conflict":
        assert findings[path].kind == findings[original].kind == "label_conflict"
        assert findings[path].kept is None
        assert "healthy" in findings[path].reason and "alopecia" in findings[path].reason
    else:
        assert findings[path].kind == kind
        assert findings[path].reason


def test_nothing_else_is_flagged_and_the_report_adds_up(faulty):
    _, report = faulty
    alone = {p for k, p, _ in PLANTED if not k.endswith("duplicate")} | {"healthy/healthy_4.jpg"}
    pairs = [{p, o} for k, p, o in PLANTED if k.endswith("duplicate")]
    offenders = set(report.offenders)
    assert alone <= offenders
    assert all(len(pair & offenders) == 1 for pair in pairs)
    assert len(report.offenders) == len(offenders) == len(alone) + len(pairs) == len(PLANTED) + 1
    assert report.n_files == 12 + len(PLANTED)
    assert report.n_kept == report.n_files - len(PLANTED) - 1
    counts = report.counts()
    assert list(counts) == list(KINDS)
    assert counts["unreadable"] == 2 and counts["near_duplicate"] == 4 and counts["label_conflict"] == 2


def test_the_best_copy_is_kept(faulty):
    _, report = faulty
    findings = by_path(report)
    assert findings["healthy/resized.jpg"].kept == "healthy/healthy_2.jpg"  # more pixels
    assert findings["healthy/cropped.jpg"].kept == "healthy/healthy_3.jpg"
    assert findings["healthy/reencoded.jpg"].kept == "healthy/healthy_1.jpg"  # same pixels, larger file
    group = next(g for g in report.groups if g.kept == "healthy/healthy_2.jpg")
    assert [m.path for m in group.members] == ["healthy/healthy_2.jpg", "healthy/resized.jpg"]


def test_report_text_and_json(faulty):
    _, report = faulty
    text = report.to_text()
    assert "15 to set aside" in text and "near_duplicate (4)" in text and "healthy/zero_byte.jpg" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_flagged"] == 15 and data["counts"]["too_blurry"] == 1
    assert {"kind", "path", "reason", "group", "kept", "sha256"} <= set(data["findings"][0])


def test_hashes_are_imagehash_phash_and_dhash():
    grey = texture(3).convert("L").resize((fingerprints.HASH_SOURCE,) * 2)
    phash, dhash = fingerprints.hash_crops(grey)
    whole = grey.resize((32, 32), Image.Resampling.BOX)
    assert int(phash[0]) == int(str(imagehash.phash(whole)), 16)
    assert int(dhash[0]) == int(str(imagehash.dhash(whole)), 16)
    assert len(phash) == len(dhash) == len(fingerprints.BOXES) == 19


def test_copies_align_and_unrelated_textures_do_not():
    original = texture(21)
    w, h = original.size
    copies = [
        original.resize((130, 130)),
        original.crop((0, 0, round(w * 0.92), round(h * 0.93))),  # 8 and 7 % cut, all from one side
    ]
    prints = [fingerprints.fingerprint_image(img.convert("L")) for img in (original, *copies, texture(22))]
    assert fingerprints.proposed_pairs(prints[:3]) == {(0, 1), (0, 2), (1, 2)}
    assert all(fingerprints.is_copy(prints[0], p) for p in prints[1:3])
    assert fingerprints.similarity(prints[0], prints[3]) < fingerprints.MIN_CORRELATION / 2


def test_clean_pictures_give_no_findings(tmp_path):
    root = clean_dataset(tmp_path / "data", labels=("a", "b", "c"), per_label=10, seed=5)
    report = find_problems(root, progress=False)
    assert report.findings == [] and report.groups == []
    assert "No problems found" in report.to_text()
    assert apply_quarantine(report) is None
    assert not (tmp_path / "data.quarantine").exists()


def test_a_picture_in_two_splits_is_a_leak(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "val", "test"):
        clean_dataset(root / split, labels=("a", "b"), per_label=3, seed=len(split))
    original = Image.open(root / "train/a/a_0.jpg").convert("RGB")
    save(original.resize((150, 150)), root / "test/a/copy.jpg")  # a near copy, smaller
    (root / "val/b/same.jpg").write_bytes((root / "train/b/b_1.jpg").read_bytes())  # an exact copy
    report = find_problems(root, progress=False)
    assert report.layout == "presplit"
    findings = by_path(report)
    assert set(findings) == {"test/a/copy.jpg", "val/b/same.jpg"}
    assert findings["test/a/copy.jpg"].kind == findings["val/b/same.jpg"].kind == "split_leak"
    assert findings["test/a/copy.jpg"].kept == "train/a/a_0.jpg"
    assert "train" in findings["test/a/copy.jpg"].reason and "test" in findings["test/a/copy.jpg"].reason


def listing(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_find_problems_changes_nothing(tmp_path):
    root = clean_dataset(tmp_path / "data")
    plant_faults(root)
    before = {p: file_sha256(root / p) for p in listing(root)}
    find_problems(root, progress=False)
    assert {p: file_sha256(root / p) for p in listing(root)} == before
    assert listing(tmp_path) == sorted(f"data/{p}" for p in before)


def test_apply_moves_offenders_beside_the_dataset_and_loses_nothing(tmp_path):
    root = clean_dataset(tmp_path / "data", per_label=6)
    plant_faults(root)
    before = {p: file_sha256(root / p) for p in listing(root)}
    report = find_problems(root, progress=False)
    folder = apply_quarantine(report)
    assert folder.parent == tmp_path / "data.quarantine"
    kept, moved = listing(root), [p for p in listing(folder) if p not in ("quarantine.csv", "report.json")]
    assert len(before) == len(kept) + len(moved) and sorted(moved) == sorted(report.offenders)
    for p in moved:  # the very same bytes, at the same relative path
        assert file_sha256(folder / p) == before[p]
    rows = list(csv.DictReader((folder / "quarantine.csv").open()))
    assert sorted(r["path"] for r in rows) == sorted(moved)
    assert {r["kind"] for r in rows} == set(KINDS) - {"split_leak"}
    assert json.loads((folder / "report.json").read_text())["n_flagged"] == len(moved)
    assert find_problems(root, progress=False).findings == []  # what is left is clean
    assert apply_quarantine(find_problems(root, progress=False)) is None


def test_apply_refuses_a_dataset_changed_since_the_report(tmp_path):
    root = clean_dataset(tmp_path / "data", per_label=3)
    (root / "healthy/z_copy.jpg").write_bytes((root / "healthy/healthy_0.jpg").read_bytes())
    report = find_problems(root, progress=False)
    assert report.offenders == ["healthy/z_copy.jpg"]  # equal copies: the first path stays
    save(texture(77), root / "healthy/z_copy.jpg")
    with pytest.raises(UsageError, match="changed since the report"):
        apply_quarantine(report)
    assert not (tmp_path / "data.quarantine").exists()
    (root / "healthy/z_copy.jpg").unlink()
    with pytest.raises(UsageError, match="gone since the report"):
        apply_quarantine(report)


def test_cli_report_json_and_apply(tmp_path, capsys):
    root = clean_dataset(tmp_path / "data", per_label=3)
    (root / "healthy/zero.jpg").write_bytes(b"")
    assert main(["clean", str(root)]) == 0
    out = capsys.readouterr().out
    assert "unreadable (1)" in out and "--apply" in out
    assert main(["clean", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["findings"][0]["path"] == "healthy/zero.jpg" and data["n_files"] == 7
    assert (root / "healthy/zero.jpg").exists()
    assert main(["clean", str(root), "--apply", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (tmp_path / "data.quarantine").is_dir() and data["quarantine"].startswith(str(tmp_path))
    assert not (root / "healthy/zero.jpg").exists()


@BAD_FOLDERS
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make, message):
    path = make(tmp_path / "data")
    before = listing(tmp_path)
    assert main(["clean", str(path), "--apply"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert listing(tmp_path) == before


# --- against the phantom generator's planted faults (contract: defects.json, docs/phantoms.md) ---

EXPECTED_KIND = {
    "zero_byte": "unreadable",
    "not_an_image": "unreadable",
    "truncated": "truncated",
    "exact_duplicate": "exact_duplicate",
    "near_duplicate_reencoded": "near_duplicate",
    "near_duplicate_resized": "near_duplicate",
    "near_duplicate_cropped": "near_duplicate",
    "tiny": "too_small",
    "blurry": "too_blurry",
    "too_dark": "too_dark",
    "too_bright": "too_bright",
    "label_conflict": "label_conflict",
}


@pytest.fixture(scope="module", params=["scalp", "hairloss"])
def phantoms_with_defects(request, tmp_path_factory):
    from scalpcheck.data.synth import write_dataset

    root = tmp_path_factory.mktemp(f"defects-{request.param}") / "data"
    write_dataset(request.param, per_class=3, seed=11, out=root, defects=True, progress=False)
    faults = json.loads((root / "defects.json").read_text())["faults"]
    return root, faults, find_problems(root, progress=False)


@pytest.mark.parametrize("planted", list(EXPECTED_KIND))
def test_every_planted_phantom_fault_is_found(phantoms_with_defects, planted):
    _, faults, report = phantoms_with_defects
    findings = by_path(report)
    of_kind = [f for f in faults if f["kind"] == planted]
    assert of_kind, f"the generator planted no {planted}"
    for fault in of_kind:
        if planted == "label_conflict":
            assert findings[fault["path"]].kind == findings[fault["of"]].kind == "label_conflict"
        elif "of" in fault:  # a copy: the worse of the two goes, naming the other as kept
            flagged = findings.get(fault["path"]) or findings[fault["of"]]
            assert flagged.kind == EXPECTED_KIND[planted]
            assert {flagged.path, flagged.kept} == {fault["path"], fault["of"]}
        else:
            assert findings[fault["path"]].kind == EXPECTED_KIND[planted]


def test_phantom_faults_only_and_apply_restores_a_clean_dataset(phantoms_with_defects, tmp_path):
    root, faults, report = phantoms_with_defects
    involved = {f["path"] for f in faults} | {f["of"] for f in faults if "of" in f}
    assert set(report.offenders) <= involved
    copy = tmp_path / "data"  # the module's dataset stays untouched for the other tests
    shutil.copytree(root, copy)
    before = listing(copy)
    folder = apply_quarantine(find_problems(copy, progress=False))
    moved = [p for p in listing(folder) if p not in ("quarantine.csv", "report.json")]
    assert len(before) == len(listing(copy)) + len(moved)
    assert find_problems(copy, progress=False).findings == []


def test_phantom_leak_between_presplit_splits(phantoms_with_defects, tmp_path):
    """A pre-split copy of a phantom dataset where one picture sits in train and test, another's near
    copy in val."""
    source, _, _ = phantoms_with_defects
    root = tmp_path / "presplit"
    labels = sorted(p.name for p in source.iterdir() if p.is_dir())
    for label in labels:
        for split, index in (("train", 0), ("val", 1), ("test", 2)):
            name = f"{label}_{index:04d}.jpg"
            (root / split / label).mkdir(parents=True)
            shutil.copy(source / label / name, root / split / label / name)
    leaked = f"{labels[0]}/{labels[0]}_0000.jpg"
    shutil.copy(root / "train" / leaked, root / "test" / labels[0] / "leaked.jpg")
    near = Image.open(root / "train" / labels[1] / f"{labels[1]}_0000.jpg").resize((180, 180))
    save(near, root / "val" / labels[1] / "near.jpg")
    findings = by_path(find_problems(root, progress=False))
    assert set(findings) == {f"test/{labels[0]}/leaked.jpg", f"val/{labels[1]}/near.jpg"}
    assert {f.kind for f in findings.values()} == {"split_leak"}
    assert findings[f"test/{labels[0]}/leaked.jpg"].kept == f"train/{leaked}"


@pytest.fixture(scope="session")
def clean_phantoms(tmp_path_factory):
    """500 clean phantoms of both tasks (the slow part is rendering them, so it is done once)."""
    from scalpcheck.data.synth import write_dataset

    base = tmp_path_factory.mktemp("clean-phantoms")
    write_dataset("scalp", per_class=63, seed=2024, out=base / "scalp", progress=False)
    write_dataset("hairloss", per_class=50, seed=2024, out=base / "hairloss", progress=False)
    return base


@pytest.mark.slow
def test_500_clean_phantoms_give_no_finding(clean_phantoms):
    reports = [find_problems(clean_phantoms / task, progress=False) for task in ("scalp", "hairloss")]
    assert sum(r.n_files for r in reports) == 502
    assert [f for r in reports for f in r.findings] == []
