"""A closed-loop HTTP load generator, run in its own process: `python -m bench.loadgen < job.json`.

`concurrency` threads each send the same request over and over, one at a time, until `requests` have been
timed; each thread first sends `warmup` requests that are not timed. A request counts as an error unless
it answers `expect_status` with a JSON body. Prints {"latencies_ms": [...], "errors": n,
"error_samples": [...], "wall_s": s} as JSON. A separate process keeps the client's own work off the
server's interpreter; threads suffice because each spends its time waiting on a socket.

The job: {"port", "path", "headers", "body_file", "concurrency", "requests", "warmup", "expect_status"}.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path


def one_request(conn: http.client.HTTPConnection, job: dict, body: bytes) -> tuple[float, str | None]:
    """Latency in ms and None, or the latency and what went wrong."""
    start = time.perf_counter()
    try:
        conn.request("POST", job["path"], body=body, headers=job["headers"])
        response = conn.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()  # a fresh connection next time
        return (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}"
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != job["expect_status"]:
        return elapsed, f"status {response.status}: {payload[:200]!r}"
    try:
        json.loads(payload)
    except ValueError:
        return elapsed, f"not JSON: {payload[:200]!r}"
    return elapsed, None


def run(job: dict) -> dict:
    body = Path(job["body_file"]).read_bytes()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [job["requests"]]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", job["port"], timeout=120)
        for _ in range(job["warmup"]):
            one_request(conn, job, body)
        warmed.wait()  # the clock starts when every thread is warm
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            ms, error = one_request(conn, job, body)
            with lock:
                latencies.append(ms)
                if error:
                    errors.append(error)
        conn.close()

    warmed = threading.Barrier(job["concurrency"] + 1)
    threads = [threading.Thread(target=worker) for _ in range(job["concurrency"])]
    for t in threads:
        t.start()
    warmed.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return {
        "latencies_ms": latencies,
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": time.perf_counter() - start,
    }


def main() -> int:
    print(json.dumps(run(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
