"""A serving worker's memory and cold start, and proof that workers never load torch.

- Cold start: from starting gunicorn (2 workers, scalpcheck.gunicorn_conf) to the first 201 answer to an
  assessment upload, the client retrying every 10 ms; the median of a few starts. The baseline app
  (bench.baseline_app, torch in every worker) is started the same way.
- Memory: each worker's resident set (VmRSS) and proportional set (Pss: pages shared between processes
  counted once, split among them), from /proc, after the first assessments and again after a load of
  concurrent uploads; the largest worker is reported.
- torch: every worker's /proc/<pid>/maps is searched for libtorch; the serving path must not map it.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

from bench import Row, row
from bench.bench_e2e import upload
from bench.server import (
    BASELINE_APP,
    SCALPCHECK_APP,
    Server,
    assessment_load,
    fp32_models,
    server_home,
)

RSS_TARGET_MB = 350
COLD_START_TARGET_S = 3.0


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def memory_mb(pid: int) -> dict[str, float]:
    """{"rss", "pss"} of a process in MB (1e6 bytes), from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    pss_kb = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return {"rss": rss_kb * 1024 / 1e6, "pss": pss_kb * 1024 / 1e6}


def maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def cold_start(app: str, home: Path, token: str, body: bytes, content_type: str, conf: bool) -> float:
    """Seconds from starting gunicorn to the first successful assessment."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    with Server(app, home, workers=2, conf=conf) as server:
        while True:
            try:
                status, _ = server.request("POST", "/api/v1/assessments", body, headers)
                if status == 201:
                    return time.perf_counter() - server.started_at
            except OSError:
                pass  # not listening yet
            if time.perf_counter() - server.started_at > 120 or server.process.poll() is not None:
                raise RuntimeError(f"{app} gave no assessment within 120 s")
            time.sleep(0.01)


def profile(
    ctx, name: str, app: str, upload_body: tuple[Path, str], conf: bool, starts: int, load: int, models=None
) -> dict:
    home, token = server_home(ctx.workdir / name, models)
    body_file, content_type = upload_body
    body = body_file.read_bytes()
    starts_s = [cold_start(app, home, token, body, content_type, conf) for _ in range(starts)]
    _say(f"{name}: cold starts {', '.join(f'{s:.2f}' for s in starts_s)} s")
    with Server(app, home, workers=2, conf=conf) as server:
        server.wait_ready()
        assessment_load(server, token, body_file, content_type, 2, 4)  # each worker has assessed
        workers = server.worker_pids()
        warm = [memory_mb(pid) for pid in workers]
        done = assessment_load(server, token, body_file, content_type, 8, load)
        loaded = [memory_mb(pid) for pid in workers]
        torch_mapped = sum(maps_torch(pid) for pid in [server.process.pid, *workers])
    shutil.rmtree(home.parent)
    result = {
        "cold_start_s": statistics.median(starts_s),
        "rss_warm": max(m["rss"] for m in warm),
        "rss_loaded": max(m["rss"] for m in loaded),
        "pss_loaded": max(m["pss"] for m in loaded),
        "torch_mapped": torch_mapped,
        "errors": done["errors"],
    }
    _say(f"{name}: {result}")
    return result


def run(ctx) -> list[Row]:
    body = upload(ctx)
    starts, load = (1, 40) if ctx.quick else (3, 400)
    ours = profile(ctx, "scalpcheck", SCALPCHECK_APP, body, True, starts, load)
    base = profile(ctx, "baseline", BASELINE_APP, body, False, starts, load // 4, models=fp32_models())
    kwargs = {"baseline_name": "usual Flask + PyTorch view", "higher_is_better": False}
    return [
        row(
            "worker",
            "cold start: gunicorn start to first assessment",
            ours["cold_start_s"],
            "s",
            baseline=base["cold_start_s"],
            target=COLD_START_TARGET_S,
            **kwargs,
        ),
        row(
            "worker", "worker RSS after warm-up", ours["rss_warm"], "MB", baseline=base["rss_warm"], **kwargs
        ),
        row(
            "worker",
            f"worker RSS after {load} uploads at concurrency 8",
            ours["rss_loaded"],
            "MB",
            baseline=base["rss_loaded"],
            target=RSS_TARGET_MB,
            **kwargs,
        ),
        row(
            "worker",
            "worker PSS after the load",
            ours["pss_loaded"],
            "MB",
            baseline=base["pss_loaded"],
            **kwargs,
        ),
        row(
            "worker",
            f"gunicorn processes with libtorch mapped (the baseline's: {base['torch_mapped']} of 3)",
            ours["torch_mapped"],
            "",
            higher_is_better=False,
            target=0,
        ),
    ]
