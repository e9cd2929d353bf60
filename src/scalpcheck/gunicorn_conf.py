"""gunicorn settings for production: `gunicorn -c python:scalpcheck.gunicorn_conf`.

- Sync workers, one per core: an assessment is CPU work with little waiting, so more workers than cores
  would only queue requests in the kernel instead of the listen socket, each with its own copy of the
  models.
- ONNX Runtime threads per worker: the cores divided among the workers (one with one worker per core),
  so busy workers do not fight over the cores; SCALPCHECK_ORT_THREADS, when set, decides instead.
- One BLAS thread per worker (numpy's OpenBLAS): the serving path's matrix products are small (the head,
  the out-of-distribution check), and OpenBLAS's extra threads keep spinning after each of them, taking
  a core from the other worker. Measured in the commit that set it.
- No preloading: each worker builds the app itself. ONNX Runtime starts a thread when it is imported,
  and a worker forked from a master that imported it cannot exit: its exit waits for that thread, which
  only exists in the master (the worker hangs until gunicorn kills it, or aborts when a session with a
  thread pool was made before the fork). Only the sockets are shared.

Options given on the command line (-w, -b, ...) override these. This module lives outside scalpcheck.web
on purpose: importing anything from that package would import ONNX Runtime into the master.
"""

from __future__ import annotations

import os

from scalpcheck.settings import available_cores

wsgi_app = "scalpcheck.web:create_app()"
worker_class = "sync"
workers = available_cores()
preload_app = False
# A photo upload over a slow phone connection can take longer than gunicorn's default 30 s.
timeout = 120
# Workers signal they are alive by touching a file; in memory, that never waits behind the disk writes
# (fsyncs) of the uploads themselves.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def post_fork(server, worker) -> None:
    """In each worker (so importing the app is safe): a data export being sent tells the arbiter the worker
    is alive, entry by entry; a long download would otherwise outlast `timeout` and be killed."""
    from scalpcheck.web import export

    export.keep_alive = worker.notify


def on_starting(server) -> None:
    """In the master, before any worker exists: the workers' ONNX Runtime thread count (see above)."""
    threads = max(1, available_cores() // server.cfg.workers)
    os.environ.setdefault("SCALPCHECK_ORT_THREADS", str(threads))
    for blas in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read when numpy loads
        os.environ.setdefault(blas, "1")
