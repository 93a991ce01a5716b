"""The benchmark protocol and shared helpers (see README.md).

A benchmark is a module ``benchmarks/<name>.py`` that defines ``run(quick: bool) -> list[Row]``.
``quick`` asks for a tiny size that finishes in a few seconds (the test suite runs it to check the
table is well formed; its numbers mean nothing). Each :class:`Row` is one measurement, optionally
with the baseline it is compared against (measured in the same run) and a goal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """
    One line of a benchmark's table.

    :param benchmark: The benchmark's name (its module name).
    :param name: What was measured, e.g. ``"ours: CampaignStatusTrigger"``.
    :param metric: The quantity, e.g. ``"client CPU per poll"``.
    :param value: The measurement.
    :param unit: Its unit (``us``, ``ms``, ``KiB``, ``%``...).
    :param baseline: The baseline's value of the same metric in the same run, if this row is compared.
    :param baseline_name: What the baseline is (shown in the table).
    :param goal: The target as text (``"<= 1.15x floor"``), empty if none.
    :param met: Whether the goal is met; ``None`` when there is no goal.
    :param note: Anything else worth a column (sizes, counts).
    """

    benchmark: str
    name: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @classmethod
    def coerce(cls, row: Row | Mapping[str, Any]) -> Row:
        """Accept a :class:`Row` or a mapping with the same keys (for benchmarks that prefer dicts)."""
        if isinstance(row, Row):
            return row
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def format_table(rows: Iterable[Row | Mapping[str, Any]]) -> str:
    """The one table every benchmark (and the runner) prints."""
    rows = [Row.coerce(r) for r in rows]
    header = ["benchmark", "row", "metric", "value", "baseline", "ratio", "goal", "met", "note"]
    body = [
        [
            r.benchmark,
            r.name,
            r.metric,
            f"{_fmt(r.value)} {r.unit}",
            f"{_fmt(r.baseline)} {r.unit} ({r.baseline_name})" if r.baseline is not None else "",
            f"{r.ratio:.2f}x" if r.ratio is not None else "",
            r.goal,
            {True: "yes", False: "NO", None: ""}[r.met],
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    right = {3, 5}
    lines = []
    for line in [header, ["-" * w for w in widths], *body]:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def print_rows(rows: Iterable[Row | Mapping[str, Any]]) -> None:
    print(format_table(rows), flush=True)


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of nothing")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def python() -> str:
    """The interpreter running the benchmarks (the project's ``.venv``)."""
    return sys.executable


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@dataclass
class SandboxProcess:
    """The sandbox in its own process (``python -m airflow_provider_cancel.sandbox``)."""

    proc: subprocess.Popen[bytes]
    url: str
    ca_file: str | None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_admin/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        import ssl

        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            return json.loads(r.read() or b"null")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process has used so far (Linux /proc)."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sandbox_process(tls: bool = True) -> Iterator[SandboxProcess]:
    """Start the sandbox on a free port in its own process (HTTPS by default); stop it afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    port_file, ca_file = workdir / "port", workdir / "ca.pem"
    argv = [python(), "-m", "airflow_provider_cancel.sandbox", "--port", "0", "--port-file", str(port_file)]
    if tls:
        argv += ["--tls", "--ca-file", str(ca_file)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.05)
        scheme = "https" if tls else "http"
        yield SandboxProcess(
            proc, f"{scheme}://127.0.0.1:{port_file.read_text().strip()}", str(ca_file) if tls else None
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def seed_arsel(sandbox: SandboxProcess, count: int = 1) -> list[str]:
    """Rate limits off; ``count`` Arsel email campaigns that stay ``sending``; their ids."""
    sandbox.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
    campaigns = [{"channel": "email", "name": f"bench-{i}", "status": "sending"} for i in range(count)]
    seeded = sandbox.admin("POST", "/arsel/seed", {"campaigns": campaigns})["campaigns"]
    return [c["id"] for c in seeded]


def cli(run: Any, description: str) -> None:
    """The ``__main__`` of a benchmark script: ``--quick``, then print the table."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds); the numbers mean nothing")
    args = parser.parse_args()
    print_rows(run(args.quick))
