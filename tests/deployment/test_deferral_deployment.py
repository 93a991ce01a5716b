"""What only a separate triggerer shows: a trigger surviving a triggerer killed mid-wait, and a permanent
vendor error seen while deferred failing the task without a retry (which would re-send the cancel)."""

from __future__ import annotations

import time

import pytest

from tests.deployment.conftest import SECRETS


def _deferred_arsel_cancel(deployment, sandbox, settle_s: int) -> tuple[str, str]:
    """Start arsel_cancel_campaign on a sending campaign that reports "cancelled" only after ``settle_s``;
    return (campaign id, run id) once the cancel task is deferred."""
    sandbox.admin("POST", "/config", {"arsel": {"cancel_settle_s": settle_s}})
    campaign = sandbox.admin("POST", "/arsel/seed", {"campaigns": [{"channel": "email", "status": "sending"}]})[
        "campaigns"
    ][0]
    run_id = deployment.trigger("arsel_cancel_campaign", {"campaign_id": campaign["id"], "channel": "email"})
    deployment.wait_for(
        "the cancel to defer",
        lambda: deployment.task_states("arsel_cancel_campaign", run_id).get(("cancel_campaign", -1)) == "deferred",
        timeout=180,
        every=0.5,
    )
    return campaign["id"], run_id


def _cancel_posts(sandbox) -> list[dict]:
    return [r for r in sandbox.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "POST"]


def test_a_trigger_survives_a_triggerer_killed_mid_wait(deployment, sandbox):
    campaign_id, run_id = _deferred_arsel_cancel(deployment, sandbox, settle_s=45)
    # While deferred, the trigger's kwargs are in the metadata DB as plain JSON: no key among them.
    written = deployment.trigger_rows()
    assert "CampaignStatusTrigger" in written and "arsel" in written
    assert not [vendor for vendor, key in SECRETS.items() if key in written]
    deployment.kill("triggerer")  # SIGKILL: no clean-up, as when the node dies
    time.sleep(3)
    deployment.start("triggerer")
    state = deployment.wait_for_run("arsel_cancel_campaign", run_id)
    states = deployment.task_states("arsel_cancel_campaign", run_id)
    assert state == "success", (states, deployment.logs())
    ti = {t["task_id"]: t for t in deployment.task_instances("arsel_cancel_campaign", run_id)}
    assert ti["cancel_campaign"]["try_number"] == 1  # the new triggerer took over the same deferral
    assert len(_cancel_posts(sandbox)) == 1  # and nothing was cancelled twice
    result = deployment.xcom("arsel_cancel_campaign", run_id, "cancel_campaign")
    assert result["outcome"] == "cancelled" and result["final_status"]["state"] == "cancelled", result
    # Once resumed, the memory across tries is gone: only the result remains.
    assert deployment.xcom("arsel_cancel_campaign", run_id, "cancel_campaign", key="cancel_result") is None


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"api_key": "rotated-while-deferred"}, "401"),  # a rotated key, or a token that expired
    ],
)
def test_a_permanent_error_while_deferred_fails_at_once_without_a_second_cancel(deployment, sandbox, fault, expected):
    campaign_id, run_id = _deferred_arsel_cancel(deployment, sandbox, settle_s=120)
    sandbox.admin("POST", "/config", {"arsel": fault})
    state = deployment.wait_for_run("arsel_cancel_campaign", run_id)
    ti = {t["task_id"]: t for t in deployment.task_instances("arsel_cancel_campaign", run_id)}
    assert state == "failed"
    # retries=2 in the DAG, yet one try: a retry would re-send the cancel and fail on the same 401.
    assert (ti["cancel_campaign"]["state"], ti["cancel_campaign"]["try_number"]) == ("failed", 1), ti
    assert len(_cancel_posts(sandbox)) == 1
    calls = sandbox.admin("GET", "/arsel/state")["cancel_calls"]
    assert [c["result"] for c in calls] == ["cancelled"], calls  # the cancel itself had worked
    error = deployment.xcom("arsel_cancel_campaign", run_id, "cancel_campaign", key="cancel_error")
    assert error and expected in str(error), error
