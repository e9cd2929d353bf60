"""The demo models `make run` serves: phantom data and a trained, published model for each built-in task.

Only what is missing is made: a published bundle is kept, and existing demo data are reused, so a second
`make run` starts serving at once. The model published is the INT8 copy of the trained one
(scalpcheck.learn.quantize: faster on a CPU) when it is as accurate on the test split, else
the float model itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scalpcheck.bundle import BundleError, publish, read_card
from scalpcheck.data.catalog import SYNTHETIC_MARKER
from scalpcheck.settings import Settings

DEMO_TASKS = ("scalp", "hairloss")
DEMO_PER_CLASS = 50  # the size of the reference collection
DEMO_SEED = 2024


def _published(models_dir: Path, task: str) -> bool:
    try:
        read_card(models_dir / task)
    except BundleError:
        return False
    return True


def ensure_demo(settings: Settings, progress: bool = True) -> dict[str, Path]:
    """For each built-in task without a published model: phantoms (50 a class, seeded) in
    settings.data_dir/demo-<task> when missing, then train efficientnet_lite0 with the default settings and
    publish it, or its INT8 copy when that is as accurate. Returns {task: published bundle folder}."""
    from scalpcheck.data.synth import write_dataset
    from scalpcheck.learn.quantize import quantize_run
    from scalpcheck.learn.train import TrainOptions, run

    models = {}
    for task in DEMO_TASKS:
        target = settings.models_dir / task
        if not _published(settings.models_dir, task):
            data = settings.data_dir / f"demo-{task}"
            if not (data / SYNTHETIC_MARKER).is_file():
                if progress:
                    print(f"demo: writing {task} phantoms to {data}", file=sys.stderr, flush=True)
                write_dataset(task, DEMO_PER_CLASS, DEMO_SEED, data, progress=progress)
            if progress:
                print(f"demo: training the {task} model", file=sys.stderr, flush=True)
            trained = run(TrainOptions(task=task, data=data, progress=progress), settings)
            int8 = quantize_run(trained.run_dir, trained.run_dir / "bundle-int8")
            publish(int8.bundle_dir or trained.bundle_dir, settings.models_dir, task)
            if progress:
                kept = "published the INT8 model" if int8.kept else "INT8 was less accurate: published FP32"
                print(f"demo: {task}: {kept}", file=sys.stderr, flush=True)
        models[task] = target
    return models
