"""Run the benchmarks and write bench/results/results.json and results.md (a table with ratios)."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass
class Context:
    quick: bool
    workdir: Path  # scratch space, removed afterwards
    results_dir: Path


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def to_markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# scalpcheck benchmarks",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}.",
        "Ratio: how many times better than the baseline measured in the same run (>1 is better).",
        "",
        "| group | measure | scalpcheck | baseline | ratio | target | ok |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = f"{_fmt(r['baseline'])} ({r['baseline_name']})" if r["baseline"] is not None else ""
        ok = {True: "yes", False: "NO", None: ""}[r["passed"]]
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else ""
        lines.append(
            f"| {r['group']} | {r['name']} | {_fmt(r['measured'])} {r['unit']} | {base} | {ratio} "
            f"| {r['target'] or ''} | {ok} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help="comma-separated module names, e.g. synth,model")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            parser.error(f"--only: no benchmark named {', '.join(sorted(unknown))}")
        names = [n for n in names if n in wanted]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import os

    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    rows: list[dict] = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            module = importlib.import_module(f"bench.bench_{name}")
            rows += module.run(Context(quick=args.quick, workdir=Path(tmp), results_dir=out))
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    table = to_markdown(rows, meta)
    (out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
