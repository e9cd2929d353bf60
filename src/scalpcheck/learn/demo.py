"""The demo models `make run` serves: phantom data and a trained, published model for each built-in task.

Each model is trained on a mix of the phantom generator's training styles, with its backbone's tail
fine-tuned; the temperature and the refusal threshold are fitted on phantoms of the held-out style, which
training never sees; and the published bundle is tested on other phantoms of that style (another seed),
so its card and report carry figures for photos unlike its training set. The sizes are what `make run`
can afford in about five minutes on two cores.

Only what is missing is made: a published bundle is kept, and existing demo data are reused, so a second
`make run` starts serving at once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from scalpcheck.bundle import BundleError, publish, read_card
from scalpcheck.data.catalog import SYNTHETIC_MARKER
from scalpcheck.settings import Settings
from scalpcheck.tasks import TASKS

DEMO_TASKS = ("scalp", "hairloss")
DEMO_SEED = 2024
FINE_TUNE_EPOCHS = 3
TRIALS = 4  # the head's tuning only starts the fine-tuning off


@dataclass(frozen=True)
class DemoData:
    name: str  # the folder under the home's data/
    per_class: int
    seed: int
    style: str
    shots: int = 1  # photos of every scalp: re-shoots measure how far a density reading moves by chance


def demo_data(task: str) -> tuple[DemoData, DemoData, DemoData]:
    """(training, calibration, shift test) phantoms of a task: a mix of the training styles, then two
    seeds of the held-out style."""
    from scalpcheck.data.synth.styles import HELD_OUT_STYLES, MIX

    held_out = HELD_OUT_STYLES[0]
    # The hair-loss stages need more phantoms than the conditions to hold on the held-out style.
    per_class = {"scalp": 160, "hairloss": 240}[task]
    shots = 2 if TASKS[task].measures_density else 1
    return (
        DemoData(f"demo-{task}", per_class, DEMO_SEED, MIX),
        DemoData(f"demo-{task}-calibration", 80, DEMO_SEED + 1, held_out, shots),
        DemoData(f"demo-{task}-shift", 100, DEMO_SEED + 2, held_out, shots),
    )


def _published(models_dir: Path, task: str) -> bool:
    try:
        read_card(models_dir / task)
    except BundleError:
        return False
    return True


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"demo: {message}", file=sys.stderr, flush=True)


def ensure_demo(settings: Settings, progress: bool = True) -> dict[str, Path]:
    """For each built-in task without a published model: its phantoms (when missing), then a model trained,
    calibrated and tested as the module says, published. Returns {task: published bundle folder}."""
    from scalpcheck.data.synth import write_dataset
    from scalpcheck.learn.train import TrainOptions, run

    models = {}
    for task in DEMO_TASKS:
        if not _published(settings.models_dir, task):
            folders = []
            for data in demo_data(task):
                folder = settings.data_dir / data.name
                if not (folder / SYNTHETIC_MARKER).is_file():
                    _say(progress, f"writing {data.per_class} {data.style} phantoms a class to {folder}")
                    write_dataset(
                        task,
                        data.per_class,
                        data.seed,
                        folder,
                        style=data.style,
                        progress=progress,
                        shots=data.shots,
                    )
                folders.append(folder)
            training, calibration, shift = folders
            _say(progress, f"training the {task} model")
            options = TrainOptions(
                task=task,
                data=training,
                trials=TRIALS,
                fine_tune=True,
                fine_tune_epochs=FINE_TUNE_EPOCHS,
                calibrate_on=calibration,
                shift_test=shift,
                progress=progress,
            )
            trained = run(options, settings)
            publish(trained.bundle_dir, settings.models_dir, task)
        models[task] = settings.models_dir / task
    return models
