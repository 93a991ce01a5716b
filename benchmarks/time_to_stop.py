"""Time to stop: N campaigns at each of the four seed vendors, through a real Airflow deployment.

From the moment a run is started through the REST API to the moment the last cancel was accepted by its
vendor (the sandbox's request log). The floor is the slowest vendor's targets divided by its rate limit
(Arsel: 2 requests/s, documented; the sandbox limits the others to 20/s here). Three designs in one
deployment (scheduler, dag-processor, triggerer, LocalExecutor with its default parallelism, SQLite),
the sandbox serving HTTPS on loopback:

- the kill switch as shipped: one ``cancel`` task for every target, each vendor paced to its limit;
- the kill switch with ``one_task_per_target=True``: a mapped task instance per target;
- the baseline, a hand-written PythonOperator looping ``requests`` over the targets.

    .venv/bin/python benchmarks/time_to_stop.py            # 50 per vendor (200 targets)
    .venv/bin/python benchmarks/time_to_stop.py --quick    # 3 per vendor, one-task design and baseline only

``run(quick)`` is the benchmark protocol (``python -m benchmarks``, see README.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

RATES = {"arsel": 2, "periskope": 20, "loop": 20, "suprsend": 20}  # sandbox names -> requests/s
DESIGNS = {
    "tts_hand_written_loop": "baseline: hand-written requests loop",
    "tts_one_task": "kill switch, one cancel task (default)",
    "tts_task_per_target": "kill switch, a task per target",
}


@dataclass
class Measurement:
    design: str
    targets: int
    time_to_stop_s: float
    floor_s: float
    run_s: float
    rate_limited: int
    lost: int
    doubled: int
    state: str

    @property
    def ratio(self) -> float:
        return self.time_to_stop_s / self.floor_s if self.floor_s else float("nan")

    @property
    def goal_met(self) -> bool:
        return self.time_to_stop_s <= 1.2 * self.floor_s + 15 and self.lost == 0 and self.doubled == 0


def seed(sandbox: Any, per_vendor: int) -> list[dict[str, Any]]:
    """``per_vendor`` live campaigns at each seed vendor; returns the kill-switch targets."""
    sandbox.admin("POST", "/config", {name: {"rate_limit_per_second": rate} for name, rate in RATES.items()})
    stamp = time.time_ns()
    arsel = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "status": "sending"} for _ in range(per_vendor)]}
    )["campaigns"]
    periskope = [f"wa-{stamp}-{i}" for i in range(per_vendor)]
    sandbox.admin(
        "POST", "/periskope/seed", {"broadcasts": [{"id": b, "status": "inprogress", "delay": 60} for b in periskope]}
    )
    loop = [f"loop-{stamp}-{i}" for i in range(per_vendor)]
    sandbox.admin("POST", "/loop/seed", {"campaigns": [{"id": c, "status": "scheduled"} for c in loop]})
    runs = [f"dsl_{stamp}_{i}" for i in range(per_vendor)]
    sandbox.admin(
        "POST",
        "/suprsend/seed",
        {
            "workflow_runs": [
                {"execution_id": r, "workflow_slug": "promo", "recipient": f"u{i}", "message_every_s": 5}
                for i, r in enumerate(runs)
            ]
        },
    )
    return [
        *({"vendor": "arsel", "campaign_id": c["id"], "channel": "email"} for c in arsel),
        *({"vendor": "periskope", "broadcast_id": b} for b in periskope),
        *({"vendor": "loop_comms", "campaign_id": c} for c in loop),
        *({"vendor": "suprsend_workflow", "execution_id": r, "settle_seconds": 1} for r in runs),
    ]


def _at(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).timestamp()


def measure(deployment: Any, sandbox: Any, dag_id: str, per_vendor: int, timeout: float) -> Measurement:
    deployment.reset_sandbox()
    targets = seed(sandbox, per_vendor)
    deployment.dag_ready(dag_id)
    sandbox.admin("DELETE", "/requests")
    started = time.time()
    run_id = deployment.trigger(dag_id, {"targets": targets})
    state = deployment.wait_for_run(dag_id, run_id, timeout=timeout)
    run_s = time.time() - started
    requests = sandbox.admin("GET", "/requests")["requests"]
    writes = [r for r in requests if r["method"] != "GET"]
    accepted = [r for r in writes if r.get("status") and 200 <= r["status"] < 300]
    # A replayed idempotent answer is not a second cancel; anything else accepted twice for one target is.
    effective = collections.Counter(
        (r["method"], r["path"], json.dumps(r.get("body"), sort_keys=True))
        for r in accepted
        if r.get("outcome") != "replayed"
    )
    floor = per_vendor / min(RATES.values())
    return Measurement(
        design=DESIGNS[dag_id],
        targets=len(targets),
        time_to_stop_s=round(max((_at(r) for r in accepted), default=started) - started, 1),
        floor_s=floor,
        run_s=round(run_s, 1),
        rate_limited=sum(1 for r in requests if r.get("status") == 429),
        lost=len(targets) - len(effective),
        doubled=sum(1 for n in effective.values() if n > 1),
        state=state,
    )


def table(rows: list[Measurement]) -> str:
    baseline = rows[0].time_to_stop_s if rows else 0.0
    lines = [
        f"{'design':42} {'targets':>7} {'stop s':>7} {'floor s':>7} {'x floor':>7} {'vs base':>7} "
        f"{'run s':>6} {'429s':>5} {'lost':>4} {'double':>6} {'goal':>4}"
    ]
    for r in rows:
        lines.append(
            f"{r.design:42} {r.targets:>7} {r.time_to_stop_s:>7.1f} {r.floor_s:>7.1f} {r.ratio:>7.2f} "
            f"{(r.time_to_stop_s / baseline if baseline else 0):>7.2f} {r.run_s:>6.1f} {r.rate_limited:>5} "
            f"{r.lost:>4} {r.doubled:>6} {'yes' if r.goal_met else 'no':>4}"
        )
    lines.append("goal: time to stop <= 1.2 x floor + 15 s, 0 lost, 0 doubled; floor = slowest vendor's targets / rate")
    return "\n".join(lines)


def measure_designs(per_vendor: int, designs: list[str], timeout: float = 900) -> list[Measurement]:
    from tests.deployment.conftest import running_deployment

    home = Path(tempfile.mkdtemp(prefix="apc-time-to-stop-"))
    with running_deployment(
        home,
        dags_folder=REPO / "benchmarks" / "dags",
        # LocalExecutor with Airflow's default parallelism (32), not the tests' 8.
        settings={"AIRFLOW__CORE__PARALLELISM": "32"},
        tls=True,  # every vendor speaks HTTPS
    ) as deployment:
        return [measure(deployment, deployment.sandbox, dag_id, per_vendor, timeout) for dag_id in designs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-vendor", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="3 targets per vendor; no task-per-target design")
    parser.add_argument("--designs", nargs="*", choices=list(DESIGNS), default=None)
    args = parser.parse_args(argv)
    per_vendor = 3 if args.quick else args.per_vendor
    designs = args.designs or (["tts_hand_written_loop", "tts_one_task"] if args.quick else list(DESIGNS))
    print(table(measure_designs(per_vendor, designs)))
    return 0


def run(quick: bool) -> list[Any]:
    """The benchmark protocol: one row per design, its time to stop against the hand-written baseline's."""
    from benchmarks._common import Row

    per_vendor = 3 if quick else 50
    # The task-per-target design takes about 3 minutes at 200 targets: run it from the command line
    # (`--designs`, or no arguments) so that `benchmarks/run.sh` stays near 10 minutes.
    measured = measure_designs(per_vendor, ["tts_hand_written_loop", "tts_one_task"])
    baseline = measured[0].time_to_stop_s
    return [
        Row(
            "time_to_stop",
            m.design,
            f"time to stop {m.targets} targets",
            m.time_to_stop_s,
            "s",
            baseline=None if m is measured[0] else baseline,
            baseline_name=measured[0].design,
            goal=f"<= 1.2x floor ({m.floor_s:.0f} s) + 15 s, 0 lost, 0 doubled",
            met=m.goal_met,
            note=f"{m.ratio:.2f}x floor; run {m.run_s:.0f} s; {m.rate_limited} 429s; {m.lost} lost; {m.doubled} doubled",
        )
        for m in measured
    ]


if __name__ == "__main__":
    sys.exit(main())
