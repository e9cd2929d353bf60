"""Run the benchmarks: bench/results/results.json and results.md, and the README's table."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import Row, readme

HERE = Path(__file__).parent


@dataclass
class Context:
    quick: bool
    workdir: Path  # scratch space, removed afterwards
    results_dir: Path


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
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
        "only": names if args.only else None,
    }
    rows: list[Row] = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            module = importlib.import_module(f"bench.bench_{name}")
            rows += module.run(Context(quick=args.quick, workdir=Path(tmp), results_dir=out))
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
    table = readme.markdown(rows, meta)
    (out / "results.md").write_text(table)
    print(table)
    if not args.quick and not args.only:  # only a full run speaks for the project in its README
        readme.update(HERE.parent / "README.md", rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
