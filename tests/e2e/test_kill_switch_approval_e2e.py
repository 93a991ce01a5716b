"""The kill switch's approval step, answered through Airflow's own REST API against a real api-server.

``airflow dags test kill_switch`` runs in the background (it waits at the approval step); the test
finds the run and the approval through the REST API, as an incident tool or a person's UI would, and
answers ``PATCH .../hitlDetails``. Approve cancels exactly the dry-run set; Reject cancels nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import harness
import pytest

from tests.api_server import API_SERVER_ENV, ApiServer, running_api_server
from tests.e2e.conftest import requires_awaiting_input

pytestmark = [pytest.mark.e2e, requires_awaiting_input]

APPROVAL = "kill_switch.approval"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[tuple[Path, ApiServer]]:
    home = tmp_path_factory.mktemp("airflow-approval-home")
    env = harness.airflow_env(home, extra=API_SERVER_ENV)
    subprocess.run([harness.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=300)
    with running_api_server(home, env) as server:
        yield home, server


def seed(sandbox) -> list[dict]:
    return sandbox.admin(
        "POST",
        "/arsel/seed",
        {"campaigns": [{"channel": "email", "name": f"promo {i}", "status": "sending"} for i in range(12)]},
    )["campaigns"]


def start_run(home: Path, sandbox, conf: dict) -> subprocess.Popen:
    env = harness.airflow_env(home, extra={**API_SERVER_ENV, **harness.connection_env(sandbox.url)})
    return subprocess.Popen(
        [harness.AIRFLOW, "dags", "test", "kill_switch", "-c", json.dumps(conf)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_approval(server: ApiServer, process: subprocess.Popen, timeout: float = 240) -> tuple[str, dict]:
    """The run id and the approval request, once the run waits for a person."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before asking for approval:\n{process.stdout.read()[-4000:]}")
        status, runs = server.call("GET", "/api/v2/dags/kill_switch/dagRuns?order_by=-start_date")
        for run in (runs or {}).get("dag_runs", []) if status == 200 else []:
            path = f"/api/v2/dags/kill_switch/dagRuns/{run['dag_run_id']}/taskInstances/{APPROVAL}/-1/hitlDetails"
            code, detail = server.call("GET", path)
            if code == 200 and detail and not detail.get("response_received"):  # not an earlier run's
                return run["dag_run_id"], detail
        time.sleep(1)
    process.kill()
    pytest.fail(f"no approval request within {timeout}s; api-server log:\n{server.log_tail()}")


def answer(server: ApiServer, run_id: str, choice: str) -> None:
    path = f"/api/v2/dags/kill_switch/dagRuns/{run_id}/taskInstances/{APPROVAL}/-1/hitlDetails"
    status, body = server.call("PATCH", path, {"chosen_options": [choice], "params_input": {}})
    assert status == 200, body


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    out, _ = process.communicate(timeout=timeout)
    return out


def report_of(home: Path, run_id: str) -> dict:
    import sqlite3

    with sqlite3.connect(home / "airflow.db") as db:
        (value,) = db.execute(
            "SELECT value FROM xcom WHERE dag_id='kill_switch' AND run_id=? AND task_id='kill_switch.report' "
            "AND key='return_value'",
            (run_id,),
        ).fetchone()
    return json.loads(value)


def test_approve_cancels_exactly_the_dry_run_set(deployment, sandbox):
    home, server = deployment
    campaigns = seed(sandbox)
    targets = [{"vendor": "arsel", "campaign_id": c["id"], "channel": "email"} for c in campaigns[:11]]
    process = start_run(home, sandbox, {"targets": targets, "dry_run": False})
    run_id, detail = wait_for_approval(server, process)
    # The person sees what would be cancelled: every target, in a table, and why approval is needed.
    assert "11 targets, more than the approval threshold of 10" in detail["subject"]
    assert all(c["id"] in detail["body"] for c in campaigns[:11]) and campaigns[11]["id"] not in detail["body"]
    assert detail["options"] == ["Approve", "Reject"] and detail["defaults"] == ["Reject"]
    # Nothing was cancelled before the answer.
    assert [c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]] == ["sending"] * 12
    answer(server, run_id, "Approve")
    output = finish(process)
    statuses = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    assert [statuses[c["id"]] for c in campaigns[:11]] == ["cancelled"] * 11, output[-3000:]
    assert statuses[campaigns[11]["id"]] == "sending"  # the bystander
    report = report_of(home, run_id)
    assert report["counts"] == {"cancelled": 11}


def test_reject_cancels_nothing(deployment, sandbox):
    home, server = deployment
    campaigns = seed(sandbox)
    targets = [{"vendor": "suprsend_broadcast", "list_id": "all-users", "allow_broad_match": True}] + [
        {"vendor": "arsel", "campaign_id": c["id"], "channel": "email"} for c in campaigns[:2]
    ]
    process = start_run(home, sandbox, {"targets": targets, "dry_run": False})
    run_id, detail = wait_for_approval(server, process)
    assert "broad filter" in detail["subject"]
    answer(server, run_id, "Reject")
    finish(process)
    writes = [r for r in sandbox.admin("GET", "/requests")["requests"] if r["method"] in ("POST", "DELETE")]
    assert writes == []
    report = report_of(home, run_id)
    assert report["counts"] == {"not_run": 3}
