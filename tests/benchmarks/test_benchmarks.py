"""Every benchmark in ``benchmarks/`` runs in its quick mode and produces a well-formed table.

No timing assertions: the numbers of a quick run mean nothing, and timing on a shared machine is
flaky. The speed goals live in the benchmarks' own tables (``bash benchmarks/run.sh``).
"""

from __future__ import annotations

import math
import subprocess

import pytest

from benchmarks.__main__ import discover, run_one
from benchmarks._common import REPO, Row, format_table

pytestmark = pytest.mark.e2e  # real processes over real HTTP (the sandbox), several seconds each


def test_the_runner_finds_the_benchmarks():
    assert {"trigger_scale", "hook_call_cost", "parse_cost"} <= set(discover())


@pytest.mark.parametrize("name", discover())
def test_quick_mode_gives_a_well_formed_table(name):
    rows = run_one(name, quick=True, timeout=300)
    assert rows, f"{name} produced no rows"
    failed = [r for r in rows if r.name == "(failed)"]
    assert not failed, f"{name} failed: {failed[0].metric}: {failed[0].note}"
    for row in rows:
        assert isinstance(row, Row) and row.benchmark == name
        assert row.name and row.metric and isinstance(row.unit, str)
        assert isinstance(row.value, int | float) and math.isfinite(row.value)
        if row.baseline is not None:
            assert math.isfinite(row.baseline) and row.baseline_name
        assert row.met in (True, False, None)
        assert (row.met is None) or row.goal, "a row judged against a goal names the goal"
    table = format_table(rows).splitlines()
    assert len(table) == len(rows) + 2 and table[0].split()[:3] == ["benchmark", "row", "metric"]


def test_run_sh_prints_one_table():
    out = subprocess.run(
        ["bash", "benchmarks/run.sh", "--quick", "parse_cost"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["benchmark", "row", "metric"] and lines[2].startswith("parse_cost")
