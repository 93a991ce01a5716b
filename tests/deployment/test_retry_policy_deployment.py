"""Task retries in a real deployment: what fails at once, and what is retried after the vendor's ``Retry-After``.

Runs the ``arsel_cancel_campaign`` example DAG (``retries=2``, ``retry_delay`` 10 s) and makes the sandbox
answer its cancel with injected faults. On Airflow 3.3+ the operators' default retry policy
(``CancelRetryPolicy``) sets the delay; what it decided is read back from the metadata database.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from importlib.metadata import version
from typing import Any

import sqlalchemy

from airflow_provider_cancel.operators.base import BaseCancelOperator

DAG_ID = "arsel_cancel_campaign"
CANCEL = "cancel_campaign"
#: HTTP attempts per request of the example's cancel (it keeps the operator's default ``retry_limit``).
HTTP_ATTEMPTS = inspect.signature(BaseCancelOperator.__init__).parameters["retry_limit"].default
HAS_RETRY_POLICY = tuple(int(p) for p in version("apache-airflow-core").split(".")[:2]) >= (3, 3)


def seed_sending_campaign(sandbox) -> dict:
    return sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "promo", "status": "sending"}]}
    )["campaigns"][0]


def campaign_status(sandbox, campaign_id: str) -> str:
    return {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}[campaign_id]


def cancel_task_retries(deployment) -> int:
    status, task = deployment.call("GET", f"/api/v2/dags/{DAG_ID}/tasks/{CANCEL}")
    assert status == 200, task
    return task["retries"]


def finished_tries(deployment, run_id: str) -> list[dict]:
    """The cancel task's earlier tries, from ``task_instance_history`` (what the retry policy decided, on 3.3+)."""
    columns = "try_number, state, start_date, end_date" + (
        ", retry_delay_override, retry_reason" if HAS_RETRY_POLICY else ""
    )
    engine = sqlalchemy.create_engine(deployment.db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(
                    f"SELECT {columns} FROM task_instance_history"
                    " WHERE dag_id = :dag AND run_id = :run AND task_id = :task ORDER BY try_number"
                ),
                {"dag": DAG_ID, "run": run_id, "task": CANCEL},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def current_try_start(deployment, run_id: str):
    engine = sqlalchemy.create_engine(deployment.db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sqlalchemy.text(
                    "SELECT start_date FROM task_instance WHERE dag_id = :dag AND run_id = :run AND task_id = :task"
                ),
                {"dag": DAG_ID, "run": run_id, "task": CANCEL},
            ).scalar_one()
    finally:
        engine.dispose()


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def test_a_401_fails_the_cancel_after_one_try_although_it_has_retries(deployment, sandbox):
    campaign = seed_sending_campaign(sandbox)
    sandbox.admin(
        "POST", "/arsel/faults", {"fail_next": 1, "status": 401, "name": "unauthorized", "message": "Bad key"}
    )
    run = deployment.run(DAG_ID, {"campaign_id": campaign["id"], "channel": "email"})
    assert cancel_task_retries(deployment) == 2
    assert run.state == "failed", deployment.logs()
    assert run.task_states() == {CANCEL: "failed", "confirm_cancelled": "upstream_failed"}
    assert run.tries()[CANCEL] == 1  # no retry: a 401 answers the same every time
    assert finished_tries(deployment, run.run_id) == []
    assert campaign_status(sandbox, campaign["id"]) == "sending"
    assert sandbox.admin("GET", "/arsel/state")["cancel_calls"] == []
    assert "HTTP 401" in run.xcom(CANCEL, key="cancel_error")


def test_a_503_with_retry_after_is_retried_after_it_and_then_succeeds(deployment, sandbox):
    campaign = seed_sending_campaign(sandbox)
    # Enough 503s to outlast the hook's own attempts (it honours Retry-After between them): the try fails.
    sandbox.admin("POST", "/arsel/faults", {"fail_next": HTTP_ATTEMPTS, "status": 503, "retry_after": 2})
    run = deployment.run(DAG_ID, {"campaign_id": campaign["id"], "channel": "email"})
    assert run.state == "success", deployment.logs()
    assert run.task_states() == {CANCEL: "success", "confirm_cancelled": "success"}
    assert run.tries()[CANCEL] == 2
    assert campaign_status(sandbox, campaign["id"]) == "cancelled"
    assert [c["result"] for c in sandbox.admin("GET", "/arsel/state")["cancel_calls"]] == ["cancelled"]
    assert run.xcom(CANCEL)["outcome"] == "cancelled"

    (first,) = finished_tries(deployment, run.run_id)
    assert first["try_number"] == 1, first
    waited = (as_datetime(current_try_start(deployment, run.run_id)) - as_datetime(first["end_date"])).total_seconds()
    if HAS_RETRY_POLICY:
        # The default retry policy asked for the vendor's Retry-After (2 s) instead of the task's 10 s.
        assert first["retry_delay_override"] == 2.0
        assert (
            first["retry_reason"]
            == "arsel HTTP 503 [service_unavailable]: retrying after 2s (the vendor's Retry-After)"
        )
        assert waited >= 1.9
    else:
        assert waited >= 9.9  # no retry policies before Airflow 3.3: the task's retry_delay
