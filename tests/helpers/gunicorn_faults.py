"""gunicorn config for the fault tests: production's, and a request can ask its worker to stop at a chosen
point of a change.

`X-Hardening-Pause: before-commit` (or `after-commit`) makes the worker write a marker file named
`<pid>-<point>` into $HARDENING_MARKERS and sleep right before (or after) the database commit that decides an
upload or a deletion, with the image store's pending folder already written. The test then kills the worker
there with SIGKILL, the way an out-of-memory killer or a power cut would, and checks that nothing is lost.
Only the test servers load this file (servers.FAULTS_CONFIG); it changes nothing else.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from scalpcheck.gunicorn_conf import *  # noqa: F403  (the production settings, which this file extends)

PAUSE_HEADER = "X-Hardening-Pause"


def post_worker_init(worker):
    from flask import request

    from scalpcheck.web import service

    real_commit = service._commit

    def commit_with_pause() -> None:
        point = request.headers.get(PAUSE_HEADER)
        if point == "before-commit":
            _pause(point)
        real_commit()
        if point == "after-commit":
            _pause(point)

    service._commit = commit_with_pause


def _pause(point: str) -> None:
    marker = Path(os.environ["HARDENING_MARKERS"]) / f"{os.getpid()}-{point}"
    marker.write_text(point)
    time.sleep(300)  # the test kills this worker long before
