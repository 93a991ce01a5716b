"""The demo: a bad campaign went out at each vendor; the kill-switch DAGs stop it.

Starts the local vendor sandbox on 127.0.0.1, seeds campaigns (some bad, some that must be left alone),
runs the example DAGs with ``airflow dags test`` in a real Airflow on SQLite, and prints what the sandbox
says was cancelled. Exits non-zero if a bad campaign was not cancelled or a good one was touched.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

from airflow_provider_cancel.sandbox import SandboxServer  # noqa: E402

DEMO_HOME = harness.REPO / ".airflow-demo"


@dataclass
class Row:
    vendor: str
    what: str
    before: str
    after: str
    should_cancel: bool
    outcome: str = "-"

    @property
    def ok(self) -> bool:
        stopped = self.after in ("cancelled", "stopped", "deleted")
        return stopped if self.should_cancel else self.after == self.before


def arsel(sandbox: SandboxServer, run: Callable[[str, dict], harness.DagRunResult]) -> list[Row]:
    # Arsel keeps a cancelled sending campaign "sending" briefly, so the wait really defers.
    sandbox.admin("POST", "/config", {"arsel": {"cancel_settle_s": 3}})
    seeded = sandbox.admin(
        "POST",
        "/arsel/seed",
        {
            "campaigns": [
                {"channel": "email", "name": "Black Friday promo (wrong prices)", "status": "sending"},
                {"channel": "sms", "name": "OTP blast to all users", "status": "queued"},
                {"channel": "email", "name": "Weekly digest (fine)", "status": "sending"},
            ]
        },
    )["campaigns"]
    bad, bad_sms, good = seeded
    outcomes = {}
    for campaign in (bad, bad_sms):
        result = run("arsel_cancel_campaign", {"campaign_id": campaign["id"], "channel": campaign["channel"]})
        xcom = result.xcom("cancel_campaign") or {}
        outcomes[campaign["id"]] = f"{xcom.get('outcome', 'task ' + str(result.state))}"
    after = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    return [
        Row("Arsel", f"{c['channel']}: {c['name']}", c["status"], after[c["id"]], c is not good, outcomes.get(c["id"], "-"))
        for c in seeded
    ]


SCENARIOS: list[Callable[[SandboxServer, Callable[[str, dict], harness.DagRunResult]], list[Row]]] = [arsel]


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(DEMO_HOME, ignore_errors=True)
    print(f"Preparing Airflow (SQLite) in {DEMO_HOME} ...", flush=True)
    harness.migrate(DEMO_HOME)
    rows: list[Row] = []
    with SandboxServer() as sandbox:
        print(f"Vendor sandbox listening on {sandbox.url}", flush=True)
        env = harness.connection_env(sandbox.url)

        def run(dag_id: str, conf: dict) -> harness.DagRunResult:
            print(f"  airflow dags test {dag_id} -c '{json.dumps(conf)}'", flush=True)
            result = harness.run_dag(DEMO_HOME, dag_id, conf, env)
            print(f"    -> run {result.state}; tasks {result.task_states()}", flush=True)
            return result

        for scenario in SCENARIOS:
            rows += scenario(sandbox, run)

    width = max(len(r.what) for r in rows)
    print("\nWhat the vendors (sandbox) report now:\n")
    print(f"  {'vendor':<18} {'campaign':<{width}}  {'before':<10} {'after':<10} {'task outcome':<18} check")
    for r in rows:
        check = "ok" if r.ok else "WRONG"
        expected = "" if r.should_cancel else " (must be left alone)"
        print(f"  {r.vendor:<18} {r.what:<{width}}  {r.before:<10} {r.after:<10} {r.outcome:<18} {check}{expected}")
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} as expected in {time.monotonic() - started:.0f}s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
