"""Every vendor's cancel operator with ``dry_run=True`` in a real Airflow against the sandbox: it reads
the status and reports what it would cancel, and no vendor sees a single write."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import harness

from airflow_provider_cancel.vendors import import_path, parse_targets, vendors
from tests.e2e.fault_vendors import driver

DAG_ID = "dry_run_every_vendor"


def _targets(sandbox) -> dict[str, dict]:
    """One target per vendor (its first kind): the kind's example with the ids of something seeded as sending."""
    targets = {}
    for name, spec in vendors().items():
        kind, model_path = next(iter(spec.target_kinds.items()))
        targets[name] = {**import_path(model_path).example, **driver(name).seed_active(sandbox), "vendor": kind}
    return targets


def _sandbox_name(vendor: str) -> str:
    """The sandbox's own name of a registered vendor (its admin paths use it)."""
    return str(import_path(vendors()[vendor].sandbox).name)


def _write_dag(folder: Path, targets: dict[str, dict]) -> None:
    # Literal targets (not templates), so each field keeps its JSON type; each task is built as the kill
    # switch builds its cancel tasks: the kind's operator with the target's fields as arguments.
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{DAG_ID}.py").write_text(
        textwrap.dedent(
            f"""\
            import json
            from datetime import datetime

            from airflow.sdk import DAG

            from airflow_provider_cancel.kill_switch import operator_kwargs
            from airflow_provider_cancel.operators.kill_switch import operator_for_kind
            from airflow_provider_cancel.vendors import parse_targets

            TARGETS = json.loads({json.dumps(targets)!r})

            with DAG("{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
                for name, target in zip(TARGETS, parse_targets(list(TARGETS.values()))):
                    operator_for_kind(target.kind)(task_id=name, dry_run=True, **operator_kwargs(target))
            """
        )
    )


def test_every_vendor_dry_run_reads_and_sends_nothing(sandbox, airflow_home, tmp_path):
    targets = _targets(sandbox)
    _write_dag(tmp_path / "dags", targets)
    env = {**harness.connection_env(sandbox.url), "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags")}
    result = harness.run_dag(airflow_home, DAG_ID, {}, env)

    assert result.state == "success", result.tail()
    assert result.task_states() == dict.fromkeys(targets, "success")
    for name, target in targets.items():
        report = result.xcom(name)
        assert report["outcome"] == "would_cancel", (name, report)
        assert report["vendor"] == name
        assert {k: v for k, v in report["target"].items() if k in target} == target
        # The status was read, not assumed, wherever the kind has a status call before a cancel.
        has_status_call = parse_targets([target])[0].status_target() is not None
        assert bool(report["detail"]["current_status"]) == has_status_call, (name, report)
        state = sandbox.admin("GET", f"/{_sandbox_name(name)}/state")
        assert driver(name).effective_cancels(state) == 0, (name, state)
        assert not state.get("cancel_calls"), f"{name} saw a cancel call in a dry run: {state['cancel_calls']}"
    assert result.output.count("DRY RUN: would cancel") == len(targets)
