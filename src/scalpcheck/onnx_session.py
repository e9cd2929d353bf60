"""One place that opens an ONNX Runtime session for a bundle's model, with the options serving needs.

Training (parity checks, benchmarks) and serving (one warm session per worker) both open sessions here,
so the speed measured by `make bench` is the speed users get. Torch-free.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from scalpcheck.settings import available_cores, load_settings


def default_threads() -> int:
    """Intra-op threads: the setting SCALPCHECK_ORT_THREADS when given, else every available core."""
    return load_settings().ort_threads or available_cores()


def session_options(threads: int | None = None, spin: bool = False) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # Full graph optimisation folds batch norms into convolutions and fuses activations: most of the gain.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning unless the caller owns the machine (`spin`: feature
    # extraction in training). Serving workers share the cores, and a spinning thread steals one from the
    # request actually running; a gunicorn started without scalpcheck.gunicorn_conf even gives every
    # worker all the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3  # warnings about unused initialisers are noise for users
    return options


def create(model: str | Path | bytes, threads: int | None = None, spin: bool = False) -> ort.InferenceSession:
    """An inference session on the CPU for an ONNX file (a path) or a serialised model (bytes)."""
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(
        source, sess_options=session_options(threads, spin), providers=["CPUExecutionProvider"]
    )
