"""BatchCancelOperator: many targets in one task, paced per vendor, each confirmed, each with its own result."""

from __future__ import annotations

import time

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_cancel.operators.batch import BatchCancelOperator, RateLimiter
from tests.unit.conftest import make_context
from tests.unit.support.arsel import BASE, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def arsel(campaign_id: str) -> dict:
    return {"campaign_id": campaign_id, "channel": "email", "arsel_conn_id": "arsel_default"}


def answer(requests_mock, campaign_id: str, cancel: dict, status: str = "cancelled") -> None:
    requests_mock.post(f"{BASE}/email/campaigns/{campaign_id}/cancel", **cancel)
    requests_mock.get(f"{BASE}/email/campaigns/{campaign_id}", json={"id": campaign_id, "status": status})


def batch(targets: dict, **kwargs) -> BatchCancelOperator:
    kwargs.setdefault("rate_limits", {"arsel": 1000})
    return BatchCancelOperator(task_id="kill_switch.cancel", targets=targets, poll_interval=0.01, **kwargs)


def test_every_target_is_cancelled_once_with_its_own_key_and_confirmed(requests_mock):
    ids = [f"c{i}" for i in range(6)]
    for campaign_id in ids:
        answer(requests_mock, campaign_id, {"json": {"message": "Campaign cancelled"}})
    out = batch({"arsel": [arsel(c) for c in ids]}).execute(make_context(task_id="kill_switch.cancel"))
    results = out["results"]["arsel"]
    assert [r["result"]["outcome"] for r in results] == ["cancelled"] * 6
    assert all(r["result"]["final_status"]["state"] == "cancelled" and r["error"] is None for r in results)
    posts = [r for r in requests_mock.request_history if r.method == "POST"]
    assert sorted(r.path.split("/")[-2] for r in posts) == ids  # one cancel per target
    keys = {r.headers["Idempotency-Key"] for r in posts}
    assert len(keys) == 6  # a key per target, stable across tries (derived from the task and the target)


def test_a_refused_target_is_reported_and_the_others_still_go_out(requests_mock):
    answer(requests_mock, "ok", {"json": {"message": "Campaign cancelled"}})
    answer(requests_mock, "gone", {"status_code": 404, "json": {"message": "Campaign not found"}})
    out = batch({"arsel": [arsel("gone"), arsel("ok")]}).execute(make_context(task_id="kill_switch.cancel"))
    gone, ok = out["results"]["arsel"]
    assert gone["result"] is None and "404" in gone["error"]
    assert ok["result"]["outcome"] == "cancelled"


def test_a_target_a_retry_can_fix_fails_the_task_after_every_target_was_tried(requests_mock):
    answer(requests_mock, "ok", {"json": {"message": "Campaign cancelled"}})
    answer(requests_mock, "busy", {"status_code": 503, "json": {"message": "down"}})
    ctx = make_context(task_id="kill_switch.cancel", xcom=True)
    op = batch({"arsel": [arsel("busy"), arsel("ok")]}, retry_limit=1)
    with pytest.raises(AirflowException, match=r"1 target\(s\) failed in a way a retry can fix \(arsel\[0\]\)"):
        op.execute(ctx)
    kept = ctx["ti"].xcoms["return_value"]["results"]["arsel"]  # for the report, if no retry succeeds
    assert "503" in kept[0]["error"] and kept[1]["result"]["outcome"] == "cancelled"


def test_each_target_keeps_its_own_memory_across_tries(requests_mock, task_state_store):
    ids = ["a", "b"]
    for campaign_id in ids:
        answer(requests_mock, campaign_id, {"json": {"message": "Campaign cancelled"}})
    op = batch({"arsel": [arsel(c) for c in ids]})
    ctx = make_context(task_id="kill_switch.cancel", store=task_state_store)
    context_a, context_b = op._target_context(ctx, "arsel", 0), op._target_context(ctx, "arsel", 1)
    context_a["task_state_store"].set("cancel", "a's")
    context_b["task_state_store"].set("cancel", "b's")
    assert (context_a["task_state_store"].get("cancel"), context_b["task_state_store"].get("cancel")) == ("a's", "b's")


def test_the_rate_limiter_spaces_requests_evenly():
    limiter = RateLimiter(20)
    started = time.monotonic()
    for _ in range(5):
        limiter.wait()
    assert time.monotonic() - started >= 4 / 20 * 0.9  # the first goes at once, then one every 50 ms
    assert RateLimiter(None).interval == 0


def test_nothing_to_do_is_a_quick_success(requests_mock):
    assert batch({}).execute(make_context()) == {"results": {}}
    assert batch({"arsel": []}).execute(make_context()) == {"results": {}}
    assert not requests_mock.called


def test_bad_arguments_are_refused_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="max_concurrency"):
        batch({}, max_concurrency=0)
    with pytest.raises(ValueError, match=r"rate_limits\['arsel'\]"):
        batch({}, rate_limits={"arsel": -1})
