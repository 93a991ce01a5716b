"""SuprSend end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tests.e2e.conftest import requires_task_state_store

SETTLE = 3  # seconds of quiet that count as settled (production default: 60)


def seed(sandbox, workflow=(), broadcast=()):
    return sandbox.admin("POST", "/suprsend/seed", {"workflow_runs": list(workflow), "broadcast_runs": list(broadcast)})


def sandbox_state(sandbox):
    return sandbox.admin("GET", "/suprsend/state")


def run_statuses(sandbox):
    state = sandbox_state(sandbox)
    return {r["execution_id"]: r["status"] for r in state["workflow_runs"] + state["broadcast_runs"]}


def cancel_posts(sandbox):
    return [e for e in sandbox.admin("GET", "/requests?vendor=suprsend")["requests"] if e["method"] == "POST"]


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_workflow_cancel_by_idempotency_key_defers_until_settled_and_touches_only_its_runs(sandbox, run_dag):
    # One trigger (idempotency key order-77) fanned out to two recipients, still sending one message a second.
    sending = {"message_every_s": 1, "total_messages": 500}
    seed(
        sandbox,
        workflow=[
            {
                "execution_id": "dsl_target_u1",
                "workflow_slug": "promo",
                "recipient": "u1",
                "idempotency_key": "order-77",
                **sending,
            },
            {
                "execution_id": "dsl_target_u2",
                "workflow_slug": "promo",
                "recipient": "u2",
                "idempotency_key": "order-77",
                **sending,
            },
            {
                "execution_id": "dsl_same_slug",
                "workflow_slug": "promo",
                "recipient": "u3",
                "idempotency_key": "order-78",
                **sending,
            },
            {"execution_id": "dsl_same_user", "workflow_slug": "otp", "recipient": "u1", **sending},
            {
                "execution_id": "dsl_done",
                "workflow_slug": "promo",
                "recipient": "u4",
                "idempotency_key": "order-77",
                "status": "completed",
            },
        ],
    )
    # Messages already in SuprSend's pipeline keep going out for 2 s after the cancel: the wait must outlast them.
    sandbox.admin("POST", "/config", {"suprsend": {"cancel_lag_s": 2}})

    result = run_dag("suprsend_cancel_workflow", {"idempotency_key": "order-77", "settle_seconds": SETTLE})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_workflow_runs": "success"}

    assert run_statuses(sandbox) == {
        "dsl_target_u1": "cancelled",
        "dsl_target_u2": "cancelled",
        "dsl_same_slug": "in_progress",
        "dsl_same_user": "in_progress",
        "dsl_done": "completed",
    }
    posts = cancel_posts(sandbox)
    assert [(p["path"], p["body"]) for p in posts] == [
        ("/suprsend/v1/workflow_run/cancel/", {"idempotency_key": "order-77"})
    ]

    xcom = result.xcom("cancel_workflow_runs")
    assert xcom["outcome"] == "cancelled" and xcom["detail"]["broad_match"] is False
    assert xcom["detail"]["execution_ids"] == ["dsl_target_u1", "dsl_target_u2"]
    final = xcom["final_status"]
    assert final["state"] == "cancelled" and final["extra"]["watched_executions"] == 2

    # It really deferred: the first check right after the cancel was not settled.
    assert "Pausing task as DEFERRED." in result.output, result.tail()
    # ...and it finished only once the sandbox showed the executions quiet for the whole window.
    messages = [m for m in sandbox_state(sandbox)["messages"] if m["execution_id"].startswith("dsl_target")]
    cancelled_at = ts(xcom["detail"]["cancelled_at"])
    late = [m for m in messages if ts(m["created_at"]) >= cancelled_at.replace(microsecond=0)]
    assert late, "the sandbox should have produced messages after the cancel (cancel_lag_s)"
    last_message = max(ts(m["created_at"]) for m in messages)
    assert final["extra"]["new_messages"] >= 1
    assert (ts(final["extra"]["checked_at"]) - last_message).total_seconds() >= SETTLE
    assert (ts(final["extra"]["checked_at"]) - cancelled_at).total_seconds() >= SETTLE
    assert "ss_sandbox_key" not in result.output


def test_broadcast_broad_cancel_with_opt_in_then_sensor_confirms(sandbox, run_dag):
    sending = {"message_every_s": 1, "total_messages": 500}
    seed(
        sandbox,
        broadcast=[
            {"execution_id": "broadcast_acme_all", "list_id": "all-users", "tenant_id": "acme", **sending},
            {"execution_id": "broadcast_other_tenant", "list_id": "all-users", "tenant_id": "other", **sending},
            {"execution_id": "broadcast_vip", "list_id": "vip", "tenant_id": "acme", **sending},
            {"execution_id": "broadcast_finished", "list_id": "all-users", "tenant_id": "acme", "status": "completed"},
        ],
    )
    conf = {"list_id": "all-users", "tenant_id": "acme", "allow_broad_match": True, "settle_seconds": SETTLE}
    result = run_dag("suprsend_cancel_broadcast", conf)
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_broadcast": "success", "confirm_settled": "success"}

    assert run_statuses(sandbox) == {
        "broadcast_acme_all": "cancelled",
        "broadcast_other_tenant": "in_progress",
        "broadcast_vip": "in_progress",
        "broadcast_finished": "completed",
    }
    posts = cancel_posts(sandbox)
    assert [p["body"] for p in posts] == [{"list_id": "all-users", "tenant_id": "acme"}]
    xcom = result.xcom("cancel_broadcast")
    assert xcom["detail"] == {**xcom["detail"], "execution_ids": ["broadcast_acme_all"], "broad_match": True}
    assert "[broad match]" in result.output and "broadcast_acme_all" in result.output  # what was matched is logged

    confirmed = result.xcom("confirm_settled")
    assert confirmed["state"] == "cancelled" and confirmed["target"] == {"execution_ids": ["broadcast_acme_all"]}
    gets = [e for e in sandbox.admin("GET", "/requests?vendor=suprsend")["requests"] if e["method"] == "GET"]
    assert gets and {g["query"]["execution_id"] for g in gets} == {"broadcast_acme_all"}
    assert all(g["query"]["created_at_gte"] == xcom["detail"]["cancelled_at"][:19] + "Z" for g in gets)


def test_broad_filter_without_opt_in_fails_clearly_and_sends_nothing(sandbox, run_dag):
    seed(sandbox, workflow=[{"execution_id": "dsl_promo", "workflow_slug": "promo", "message_every_s": None}])
    result = run_dag("suprsend_cancel_workflow", {"workflow_slug": "promo"})
    assert result.state == "failed"
    assert result.task_states() == {"cancel_workflow_runs": "failed"}
    assert "Refusing a broad SuprSend workflow cancel" in result.output and "allow_broad_match=True" in result.output
    assert "Nothing was sent to SuprSend" in result.output
    assert sandbox.admin("GET", "/requests?vendor=suprsend")["requests"] == []  # not one request
    assert run_statuses(sandbox) == {"dsl_promo": "in_progress"}
    # Failed at once although the task has retries=2: retrying bad input cannot help.
    assert result.output.count("Task failed with exception") == 1 and "new_state=up_for_retry" not in result.output


def test_broad_cancel_is_sent_once_and_an_automatic_retry_does_not_resend_it(sandbox, run_dag):
    seed(
        sandbox,
        broadcast=[
            {"execution_id": "broadcast_all", "list_id": "all-users", "message_every_s": 1, "total_messages": 5000}
        ],
    )
    sandbox.admin("POST", "/suprsend/faults", {"fail_next": 1, "status": 503})  # SuprSend fails the first cancel
    result = run_dag("suprsend_cancel_broadcast", {"list_id": "all-users", "allow_broad_match": True})
    assert result.state == "failed"
    assert result.task_states()["cancel_broadcast"] == "failed"
    assert "Not re-sending a broad SuprSend broadcast cancel" in result.output, result.tail()
    assert "on automatic retry (try 2)" in result.output
    assert "new_state=up_for_retry" in result.output  # the 503 did make the task retry...
    assert len(cancel_posts(sandbox)) == 1  # ...but no HTTP-level retry on 503, and the task retry sent nothing
    assert run_statuses(sandbox) == {"broadcast_all": "in_progress"}


def wait_for(condition, timeout=120.0, every=0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the DAG run to get there"
        time.sleep(every)


def requests_log(sandbox):
    return sandbox.admin("GET", "/requests?vendor=suprsend")["requests"]


@requires_task_state_store
def test_a_retry_after_the_wait_failed_waits_again_instead_of_succeeding(sandbox, run_dag):
    # The cancel does not take at once: the run keeps sending for `lag` seconds after it, past try 1's failure.
    lag = 55
    seed(
        sandbox,
        workflow=[
            {"execution_id": "dsl_retry", "idempotency_key": "order-99", "message_every_s": 1, "total_messages": 5000}
        ],
    )
    sandbox.admin("POST", "/config", {"suprsend": {"cancel_lag_s": lag}})
    conf = {"idempotency_key": "order-99", "settle_seconds": SETTLE}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_dag, "suprsend_cancel_workflow", conf)
        # Try 1 cancelled and checked once (not settled: still sending). Now the message list fails
        # for a while: the trigger gives up after 5 failed polls in a row and try 1 fails.
        wait_for(lambda: [e["method"] for e in requests_log(sandbox)][:2] == ["POST", "GET"] or running.done())
        sandbox.admin("POST", "/suprsend/faults", {"fail_next": 10, "status": 503})
        result = running.result(timeout=300)

    assert result.state == "success", result.tail()
    assert "Gave up after 5 failed polls in a row" in result.output and "new_state=up_for_retry" in result.output
    calls = sandbox_state(sandbox)["cancel_calls"]
    assert [c["cancelled"] for c in calls] == [["dsl_retry"], []]  # try 2's cancel found nothing left to cancel...

    xcom = result.xcom("cancel_workflow_runs")
    assert xcom["outcome"] == "cancelled", xcom  # ...yet it did not stop at "nothing_to_cancel"
    try_1 = xcom["detail"]["earlier_try"]
    assert try_1["execution_ids"] == xcom["detail"]["execution_ids"] == ["dsl_retry"]
    assert xcom["detail"]["cancelled_at"] == try_1["cancelled_at"] and xcom["detail"]["resent"] is True
    # Try 2 waited again on dsl_retry's message log (deferring again while messages still came)...
    second_post = [i for i, e in enumerate(requests_log(sandbox)) if e["method"] == "POST"][1]
    gets = [e for e in requests_log(sandbox)[second_post:] if e["method"] == "GET" and e["status"] == 200]
    assert gets and {g["query"]["execution_id"] for g in gets} == {"dsl_retry"}
    assert {g["query"]["created_at_gte"] for g in gets} == {try_1["cancelled_at"][:19] + "Z"}
    assert result.output.count("Pausing task as DEFERRED.") == 2, result.tail()
    # ...and finished only once the run had been quiet for the whole window after its last message.
    final = xcom["final_status"]
    last_message = max(ts(m["created_at"]) for m in sandbox_state(sandbox)["messages"])
    assert final["state"] == "cancelled" and final["extra"]["new_messages"] >= lag - 5
    assert (ts(final["extra"]["checked_at"]) - last_message).total_seconds() >= SETTLE


def test_a_cancel_that_matches_nothing_succeeds_as_nothing_to_cancel(sandbox, run_dag):
    seed(
        sandbox,
        workflow=[
            {
                "execution_id": "dsl_other",
                "workflow_slug": "promo",
                "recipient": "u1",
                "idempotency_key": "order-1",
                "message_every_s": 1,
                "total_messages": 500,
            },
        ],
    )
    result = run_dag("suprsend_cancel_workflow", {"idempotency_key": "order-404", "settle_seconds": SETTLE})
    assert result.state == "success", result.tail()
    xcom = result.xcom("cancel_workflow_runs")
    assert xcom["outcome"] == "nothing_to_cancel" and xcom["detail"]["execution_ids"] == []
    assert "final_status" not in xcom  # nothing was cancelled, so there was nothing to wait for
    assert run_statuses(sandbox) == {"dsl_other": "in_progress"}
    assert len(cancel_posts(sandbox)) == 1
