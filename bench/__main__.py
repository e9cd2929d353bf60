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
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: replace these modules' rows in --out's results.json",
    )
    args = parser.parse_args(argv)
    if args.merge and not args.only:
        parser.error("--merge goes with --only")
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
    dates: dict[str, str] = {}
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            module = importlib.import_module(f"bench.bench_{name}")
            new = module.run(Context(quick=args.quick, workdir=Path(tmp), results_dir=out))
        dates.update({r.group: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()) for r in new})
        rows += new
    meta["dates"] = dates
    if args.merge:
        rows, meta = merged(out / "results.json", rows, meta)
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
    table = readme.markdown(rows, meta)
    (out / "results.md").write_text(table)
    print(table)
    # Only a full run, or one merged into it, speaks for the project in its README.
    if not args.quick and (args.merge or not args.only) and out == HERE / "results":
        readme.update(HERE.parent / "README.md", rows, meta)
    return 0


def merged(path: Path, rows: list[Row], meta: dict) -> tuple[list[Row], dict]:
    """The rows of `path` with every group measured now replaced by its new rows, in their old place."""
    if not path.exists():
        return rows, meta
    old = json.loads(path.read_text())
    fresh = {r.group for r in rows}
    out: list[Row] = []
    for data in old["rows"]:
        if data["group"] not in fresh:
            out.append(Row(**data))
        elif not any(r.group == data["group"] for r in out):
            out += [r for r in rows if r.group == data["group"]]
    out += [r for r in rows if not any(o.group == r.group for o in out)]
    old_meta = old["meta"]
    dates = {g: old_meta.get("dates", {}).get(g, old_meta["date"]) for g in {d["group"] for d in old["rows"]}}
    dates.update(meta["dates"])
    return out, {**old_meta, "date": meta["date"], "dates": dates, "only": None, "merged": True}


if __name__ == "__main__":
    raise SystemExit(main())
