"""Run every benchmark and print one table: ``python -m benchmarks [--quick] [NAME ...]``.

A benchmark is any ``benchmarks/<name>.py`` (not starting with ``_``) that defines
``run(quick: bool) -> list[Row]`` (see ``_common.py``; a list of dicts with the same keys works too).
Each runs in its own interpreter, one after the other (they measure CPU and memory, so they must not
share a process or overlap), and hands its rows back as JSON. A benchmark that fails is reported as
a row and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO, Row, child_env, format_table

HERE = Path(__file__).resolve().parent
MARK = "BENCHMARK-ROWS-JSON "


def discover() -> list[str]:
    """Names of the modules in ``benchmarks/`` that define a top-level ``run`` function (read, not imported)."""
    names = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body):
            names.append(path.stem)
    return names


def run_one(name: str, quick: bool, timeout: float) -> list[Row]:
    """Run ``benchmarks.<name>.run(quick)`` in a fresh interpreter; its rows, or one row saying it failed."""
    code = (
        "import json, sys, importlib\n"
        "from benchmarks._common import Row\n"
        f"rows = importlib.import_module('benchmarks.{name}').run({quick!r})\n"
        f"print({MARK!r} + json.dumps([Row.coerce(r).to_json() for r in rows]))\n"
    )
    started = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return [Row(name, "(failed)", "timed out", timeout, "s", met=False)]
    took = time.monotonic() - started
    line = next((line for line in reversed(out.stdout.splitlines()) if line.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [Row(name, "(failed)", f"exit {out.returncode}", took, "s", met=False, note=tail[:200])]
    return [Row.coerce(r) for r in json.loads(line[len(MARK) :])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all discovered)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds each; the numbers mean nothing")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per benchmark (default 900)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    known = discover()
    names = args.names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; known: {known}")
    rows: list[Row] = []
    started = time.monotonic()
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        rows += run_one(name, args.quick, args.timeout)
    print(format_table(rows))
    print(f"\n{len(names)} benchmarks in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in rows], indent=2))
    return 1 if any(r.name == "(failed)" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
