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

import harness

from airflow_provider_cancel.sandbox import SandboxServer

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
        outcomes[campaign["id"]] = outcome_of(result, "cancel_campaign")
    after = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    return [
        Row(
            "Arsel",
            f"{c['channel']}: {c['name']}",
            c["status"],
            after[c["id"]],
            c is not good,
            outcomes.get(c["id"], "-"),
        )
        for c in seeded
    ]


def outcome_of(result: harness.DagRunResult, task_id: str) -> str:
    xcom = result.xcom(task_id) or {}
    return str(xcom.get("outcome") or f"task {result.state}")


def suprsend(sandbox: SandboxServer, run: Callable[[str, dict], harness.DagRunResult]) -> list[Row]:
    # Workflow runs triggered with idempotency key "order-77" went wrong; cancel exactly those.
    sending = {"message_every_s": 1, "total_messages": 500}
    runs = [
        {
            "execution_id": "dsl_order77_u1",
            "workflow_slug": "order-update",
            "recipient": "u1",
            "idempotency_key": "order-77",
            **sending,
        },
        {
            "execution_id": "dsl_order77_u2",
            "workflow_slug": "order-update",
            "recipient": "u2",
            "idempotency_key": "order-77",
            **sending,
        },
        {
            "execution_id": "dsl_order78_u3",
            "workflow_slug": "order-update",
            "recipient": "u3",
            "idempotency_key": "order-78",
            **sending,
        },
    ]
    sandbox.admin("POST", "/suprsend/seed", {"workflow_runs": runs})
    result = run("suprsend_cancel_workflow", {"idempotency_key": "order-77", "settle_seconds": 3})
    after = {r["execution_id"]: r["status"] for r in sandbox.admin("GET", "/suprsend/state")["workflow_runs"]}
    outcome = outcome_of(result, "cancel_workflow_runs")
    return [
        Row(
            "SuprSend",
            f"workflow run {r['execution_id']}",
            "in_progress",
            after[r["execution_id"]],
            r["idempotency_key"] == "order-77",
            outcome if r["idempotency_key"] == "order-77" else "-",
        )
        for r in runs
    ]


def periskope(sandbox: SandboxServer, run: Callable[[str, dict], harness.DagRunResult]) -> list[Row]:
    sandbox.admin("POST", "/config", {"periskope": {"stop_settle_s": 3}})
    seeded = [
        {"id": "bad-whatsapp-promo", "status": "inprogress", "delay": 60},
        {"id": "order-reminders", "status": "inprogress", "delay": 60},
    ]
    sandbox.admin("POST", "/periskope/seed", {"broadcasts": seeded})
    result = run("periskope_cancel_broadcast", {"broadcast_ids": ["bad-whatsapp-promo"]})
    after = {b["id"]: b["status"] for b in sandbox.admin("GET", "/periskope/state")["broadcasts"]}
    return [
        Row(
            "Periskope",
            f"broadcast {b['id']}",
            b["status"],
            after.get(b["id"], "deleted"),
            b["id"] == "bad-whatsapp-promo",
            outcome_of(result, "cancel_broadcast") if b["id"] == "bad-whatsapp-promo" else "-",
        )
        for b in seeded
    ]


def loop_comms(sandbox: SandboxServer, run: Callable[[str, dict], harness.DagRunResult]) -> list[Row]:
    # The target is mid-send; its send keeps draining for 3 s after the cancel, so the wait defers.
    seeded = [
        {"id": "flash-sale", "status": "sending", "advance_every_s": 600, "drain_s": 3},
        {"id": "weekly-digest", "status": "sending", "advance_every_s": 600},
    ]
    sandbox.admin("POST", "/loop/seed", {"campaigns": seeded})
    result = run("loop_comms_cancel_campaign", {"campaign_id": "flash-sale"})
    after = {c["id"]: c["status"] for c in sandbox.admin("GET", "/loop/state")["campaigns"]}
    return [
        Row(
            "Loop Health comms",
            f"campaign {c['id']}",
            c["status"],
            after[c["id"]],
            c["id"] == "flash-sale",
            outcome_of(result, "cancel_campaign") if c["id"] == "flash-sale" else "-",
        )
        for c in seeded
    ]


def kill_switch(sandbox: SandboxServer, run: Callable[[str, dict], harness.DagRunResult]) -> list[Row]:
    """The main job: one run stops the bad campaigns at all four vendors; dry run first, then the report."""
    sandbox.admin("POST", "/reset")
    arsel_campaigns = sandbox.admin(
        "POST",
        "/arsel/seed",
        {
            "campaigns": [
                {"channel": "email", "name": "Cyber Monday (wrong prices)", "status": "sending"},
                {"channel": "sms", "name": "Cyber Monday SMS", "status": "queued"},
                {"channel": "email", "name": "Order receipts (fine)", "status": "sending"},
            ]
        },
    )["campaigns"]
    sandbox.admin(
        "POST",
        "/periskope/seed",
        {
            "broadcasts": [
                {"id": "cyber-monday-wa", "status": "inprogress", "delay": 60},
                {"id": "otp-wa", "status": "inprogress", "delay": 60},
            ]
        },
    )
    sandbox.admin(
        "POST",
        "/loop/seed",
        {
            "campaigns": [
                {"id": "cyber-monday-push", "status": "sending", "advance_every_s": 600},
                {"id": "care-reminders", "status": "sending", "advance_every_s": 600},
            ]
        },
    )
    sending = {"message_every_s": 1, "total_messages": 500}
    sandbox.admin(
        "POST",
        "/suprsend/seed",
        {
            "workflow_runs": [
                {
                    "execution_id": "dsl_cm_1",
                    "workflow_slug": "cyber-monday",
                    "recipient": "u1",
                    "idempotency_key": "cm-2026",
                    **sending,
                },
                {
                    "execution_id": "dsl_cm_2",
                    "workflow_slug": "cyber-monday",
                    "recipient": "u2",
                    "idempotency_key": "cm-2026",
                    **sending,
                },
                {
                    "execution_id": "dsl_otp",
                    "workflow_slug": "otp",
                    "recipient": "u3",
                    "idempotency_key": "otp-1",
                    **sending,
                },
            ]
        },
    )
    bad_arsel = arsel_campaigns[:2]
    targets = [
        *({"vendor": "arsel", "campaign_id": c["id"], "channel": c["channel"]} for c in bad_arsel),
        {"vendor": "periskope", "broadcast_id": "cyber-monday-wa"},
        {"vendor": "loop_comms", "campaign_id": "cyber-monday-push"},
        {"vendor": "suprsend_workflow", "idempotency_key": "cm-2026", "settle_seconds": 3},
    ]
    print(f"\nThe kill switch: {len(targets)} targets at 4 vendors. First a dry run (sends nothing):", flush=True)
    dry = run("kill_switch", {"targets": targets})
    print_report(dry.xcom("kill_switch.report"))
    print("Then the real run (skip_approval: the person who read the dry run said go):", flush=True)
    live = run("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    report = live.xcom("kill_switch.report") or {"rows": []}
    print_report(report)
    outcome = {
        r["target"].get("campaign_id") or r["target"].get("broadcast_id") or r["target"].get("idempotency_key"): r[
            "outcome"
        ]
        for r in report["rows"]
    }
    after_arsel = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    after_wa = {b["id"]: b["status"] for b in sandbox.admin("GET", "/periskope/state")["broadcasts"]}
    after_loop = {c["id"]: c["status"] for c in sandbox.admin("GET", "/loop/state")["campaigns"]}
    runs = {r["execution_id"]: r["status"] for r in sandbox.admin("GET", "/suprsend/state")["workflow_runs"]}
    rows = [
        Row(
            "Arsel",
            f"{c['channel']}: {c['name']}",
            c["status"],
            after_arsel[c["id"]],
            c in bad_arsel,
            outcome.get(c["id"], "-"),
        )
        for c in arsel_campaigns
    ]
    rows += [
        Row(
            "Periskope",
            "broadcast cyber-monday-wa",
            "inprogress",
            after_wa["cyber-monday-wa"],
            True,
            outcome.get("cyber-monday-wa", "-"),
        ),
        Row("Periskope", "broadcast otp-wa", "inprogress", after_wa["otp-wa"], False),
        Row(
            "Loop Health comms",
            "campaign cyber-monday-push",
            "sending",
            after_loop["cyber-monday-push"],
            True,
            outcome.get("cyber-monday-push", "-"),
        ),
        Row("Loop Health comms", "campaign care-reminders", "sending", after_loop["care-reminders"], False),
    ]
    rows += [
        Row(
            "SuprSend",
            f"workflow run {e}",
            "in_progress",
            runs[e],
            e != "dsl_otp",
            outcome.get("cm-2026", "-") if e != "dsl_otp" else "-",
        )
        for e in ("dsl_cm_1", "dsl_cm_2", "dsl_otp")
    ]
    return rows


def print_report(report: dict | None) -> None:
    from airflow_provider_cancel.kill_switch import summarise, text_table

    if not report:
        print("    (no report)", flush=True)
        return
    print("    " + summarise(report["rows"]), flush=True)
    for line in text_table(report["rows"]).splitlines():
        print("    " + line, flush=True)


SCENARIOS: list[Callable[[SandboxServer, Callable[[str, dict], harness.DagRunResult]], list[Row]]] = [
    arsel,
    suprsend,
    periskope,
    loop_comms,
    kill_switch,  # last: the main job
]


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
    print(f"  {'vendor':<18} {'campaign':<{width}}  {'before':<12} {'after':<12} {'task outcome':<18} check")
    for r in rows:
        check = "ok" if r.ok else "WRONG"
        expected = "" if r.should_cancel else " (must be left alone)"
        print(f"  {r.vendor:<18} {r.what:<{width}}  {r.before:<12} {r.after:<12} {r.outcome:<18} {check}{expected}")
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} as expected in {time.monotonic() - started:.0f}s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
