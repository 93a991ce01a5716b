"""Periskope end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

import json

import harness

from tests.e2e.conftest import requires_task_state_store

PHONE = harness.SANDBOX_PERISKOPE_PHONE


def seed(sandbox, *broadcasts):
    return sandbox.admin("POST", "/periskope/seed", {"broadcasts": list(broadcasts)})["broadcasts"]


def state(sandbox):
    return sandbox.admin("GET", "/periskope/state")


def mapped(result, task_id, key="return_value"):
    """{map_index: value} of a mapped task's XComs (the harness reads one row only)."""
    rows = result._query(
        "SELECT map_index, value FROM xcom WHERE dag_id=? AND run_id=? AND task_id=? AND key=?",
        result.dag_id,
        result.run_id,
        task_id,
        key,
    )
    return {index: json.loads(value) for index, value in rows}


def mapped_states(result, task_id):
    rows = result._query(
        "SELECT map_index, state FROM task_instance WHERE dag_id=? AND run_id=? AND task_id=?",
        result.dag_id,
        result.run_id,
        task_id,
    )
    return dict(rows)


def periskope_requests(sandbox):
    return sandbox.admin("GET", "/requests?vendor=periskope")["requests"]


def test_kill_switch_stops_deletes_and_confirms_only_the_targets(sandbox, run_dag):
    # The stop takes 4 s to show in the read-back, so the wait must really defer to the trigger.
    sandbox.admin("POST", "/config", {"periskope": {"stop_settle_s": 4}})
    sending, scheduled, stopped, other_sending, other_scheduled = seed(
        sandbox,
        {"status": "inprogress", "delay": 60, "id": "bad-promo-sending"},
        {"status": "scheduled", "id": "bad-promo-tomorrow"},
        {"status": "stopped", "id": "bad-promo-stopped-earlier"},
        {"status": "inprogress", "delay": 60, "id": "weekly-digest"},
        {"status": "scheduled", "id": "otp-reminders"},
    )
    targets = [sending["id"], scheduled["id"], stopped["id"]]
    result = run_dag("periskope_cancel_broadcast", {"broadcast_ids": targets})
    assert result.state == "success", result.tail()
    assert mapped_states(result, "cancel_broadcast") == {0: "success", 1: "success", 2: "success"}
    assert mapped_states(result, "confirm_cancelled") == {0: "success", 1: "success", 2: "success"}

    # In the sandbox: each target got exactly one DELETE, with the org phone; nothing else was touched.
    after = state(sandbox)
    calls = [(c["broadcast_id"], c["result"], c["x_phone"]) for c in after["cancel_calls"]]
    assert sorted(calls) == sorted(
        [
            (sending["id"], "stopped", PHONE),
            (scheduled["id"], "deleted", PHONE),
            (stopped["id"], "conflict", PHONE),
        ]
    )
    views = {b["id"]: b for b in after["broadcasts"]}
    assert views[sending["id"]]["status"] == "stopped" and views[sending["id"]]["queued_chats"] == 0
    assert scheduled["id"] not in views and [d["id"] for d in after["deleted"]] == [scheduled["id"]]
    assert views[other_sending["id"]]["status"] == "inprogress" and views[other_sending["id"]]["cancelled_chats"] == 0
    assert views[other_scheduled["id"]]["status"] is None and views[other_scheduled["id"]]["queued_chats"] == 10
    assert {r["broadcast_id"] for r in after["status_reads"]} <= set(targets)  # never even read a bystander

    # The stop really deferred: the trigger (aiohttp) polled while it still read inprogress, then saw stopped.
    assert "Pausing task as DEFERRED" in result.output
    trigger_reads = [
        r["broadcast_status"]
        for r in after["status_reads"]
        if r["broadcast_id"] == sending["id"] and "aiohttp" in r["user_agent"]
    ]
    assert trigger_reads[0] == "inprogress" and trigger_reads[-1] == "stopped", trigger_reads

    results = {r["target"]["broadcast_id"]: r for r in mapped(result, "cancel_broadcast").values()}
    assert {bid: (r["outcome"], r["vendor_status"]) for bid, r in results.items()} == {
        sending["id"]: ("cancelled", "stopped"),
        scheduled["id"]: ("cancelled", "deleted"),
        stopped["id"]: ("already_stopped", "stopped"),
    }
    assert {r["final_status"]["state"] for r in results.values()} == {"cancelled"}
    confirmed = {s["target"]["broadcast_id"]: s["state"] for s in mapped(result, "confirm_cancelled").values()}
    assert confirmed == dict.fromkeys(targets, "cancelled")
    assert "pk_sandbox_key" not in result.output


def test_completed_and_unknown_broadcasts_fail_clearly(sandbox, run_dag):
    completed, bystander = seed(
        sandbox,
        {"status": "completed", "id": "went-out-already"},
        {"status": "inprogress", "delay": 60, "id": "still-sending"},
    )
    result = run_dag("periskope_cancel_broadcast", {"broadcast_ids": [completed["id"], "no-such-broadcast"]})
    assert result.state == "failed"
    assert mapped_states(result, "cancel_broadcast") == {0: "failed", 1: "failed"}
    # 409 on a completed broadcast: it finished before the cancel, so the task fails (no retry) and says so.
    assert (
        f"broadcast '{completed['id']}' had already completed (sent 10/10 chats) before the cancel; nothing was stopped"
    ) in result.output
    assert "CampaignFinishedError" in result.output
    assert "broadcast 'no-such-broadcast' was not found, or does not belong to the organisation" in result.output
    calls = sorted((c["broadcast_id"], c["result"]) for c in state(sandbox)["cancel_calls"])
    assert calls == [("no-such-broadcast", "not_found"), (completed["id"], "conflict")]  # no retries
    assert {b["id"]: b["status"] for b in state(sandbox)["broadcasts"]} == {
        completed["id"]: "completed",
        bystander["id"]: "inprogress",
    }
    assert [r["broadcast_id"] for r in state(sandbox)["status_reads"]] == [completed["id"]]  # one read-back, no wait


@requires_task_state_store
def test_a_retry_after_our_own_delete_reports_deleted_not_not_found(sandbox, run_dag):
    # Try 1 deletes the broadcast, then every status read of its wait fails (503), so the task is retried.
    # Try 2's DELETE answers 404 (a deleted broadcast leaves no record): the task state store remembers
    # try 1's `deleted`, so it is our delete, not an unknown id.
    (b,) = sandbox.admin(
        "POST",
        "/periskope/seed",
        {"broadcasts": [{"status": "scheduled", "id": "tomorrows-promo"}], "fail_next_status_reads": 5},
    )["broadcasts"]
    result = run_dag("periskope_cancel_broadcast", {"broadcast_ids": [b["id"]]})
    assert result.state == "success", result.tail()
    assert mapped_states(result, "cancel_broadcast") == {0: "success"}
    calls = [(c["status_code"], c["result"]) for c in state(sandbox)["cancel_calls"]]
    assert calls == [(200, "deleted"), (404, "not_found")]  # one DELETE per try
    assert [r.get("status_code") for r in state(sandbox)["status_reads"]][:5] == [503] * 5
    assert "an earlier try of this task deleted it" in result.output
    (cancel,) = mapped(result, "cancel_broadcast").values()
    assert (cancel["outcome"], cancel["vendor_status"]) == ("cancelled", "deleted") and "earlier_try" in cancel[
        "detail"
    ]
    assert cancel["final_status"]["state"] == "cancelled"
    (confirmed,) = mapped(result, "confirm_cancelled").values()
    assert confirmed["state"] == "cancelled"
    tries = result._query(
        "SELECT try_number FROM task_instance WHERE dag_id=? AND run_id=? AND task_id=?",
        result.dag_id,
        result.run_id,
        "cancel_broadcast",
    )
    assert tries == [(2,)]


def test_purge_by_broadcast_purges_only_its_queue(sandbox, run_dag):
    target, other = seed(
        sandbox,
        {"status": "inprogress", "delay": 60, "total_chats": 6},
        {"status": "inprogress", "delay": 60, "total_chats": 6},
    )
    result = run_dag("periskope_purge_queue", {"broadcast_id": target["id"]})
    assert result.state == "success", result.tail()
    (purge,) = state(sandbox)["purge_calls"]
    assert purge["mode"] == "broadcast" and purge["body"] == {"broadcast_id": target["id"]}
    assert purge["purged"] == 5 and purge["broadcast_ids"] == [target["id"]] and purge["x_phone"] == PHONE
    views = {b["id"]: b for b in state(sandbox)["broadcasts"]}
    assert views[target["id"]]["purged_chats"] == 5 and views[other["id"]]["queued_chats"] == 5
    xcom = result.xcom("purge_queue")
    assert xcom["outcome"] == "cancelled" and xcom["detail"]["purged"] == 5


def test_purge_by_queue_ids_reads_the_rendered_list(sandbox, run_dag):
    # "{{ params.queue_ids }}" renders ['q1', 'q2']: two ids, not "['q1'" and "'q2']".
    target, other = seed(
        sandbox,
        {"status": "inprogress", "delay": 60, "total_chats": 6},
        {"status": "inprogress", "delay": 60, "total_chats": 6},
    )
    chosen = target["queue_ids"][-2:]  # two unsent jobs
    result = run_dag("periskope_purge_queue", {"queue_ids": chosen})
    assert result.state == "success", result.tail()
    (purge,) = state(sandbox)["purge_calls"]
    assert purge["mode"] == "queue_ids" and purge["body"] == {"queue_ids": chosen} and purge["purged"] == 2
    views = {b["id"]: b for b in state(sandbox)["broadcasts"]}
    assert views[target["id"]]["purged_chats"] == 2 and views[other["id"]]["purged_chats"] == 0
    assert result.xcom("purge_queue")["detail"]["purged"] == 2


def test_purge_without_a_target_sends_nothing(sandbox, run_dag):
    (b,) = seed(sandbox, {"status": "inprogress", "delay": 60})
    result = run_dag("periskope_purge_queue", {})
    assert result.state == "failed" and result.task_states() == {"purge_queue": "failed"}
    assert "empties the whole Periskope queue" in result.output and "purge_all=True" in result.output
    assert periskope_requests(sandbox) == []  # not a single request, let alone an empty purge
    assert state(sandbox)["broadcasts"][0]["queued_chats"] == 9
    assert result.output.count("Give broadcast_id or queue_ids") == 1  # failed at once, no retry


def test_malformed_phone_fails_before_any_request(sandbox, airflow_home):
    (b,) = seed(sandbox, {"status": "inprogress", "delay": 60})
    env = harness.connection_env(sandbox.url)
    env["AIRFLOW_CONN_PERISKOPE_DEFAULT"] = json.dumps(
        {
            "conn_type": "periskope",
            "host": f"{sandbox.url}/periskope/v1",
            "password": "pk_sandbox_key",
            "extra": {"phone": "+91 98745 32456"},
        }
    )
    result = harness.run_dag(airflow_home, "periskope_cancel_broadcast", {"broadcast_ids": [b["id"]]}, env)
    assert result.state == "failed"
    assert mapped_states(result, "cancel_broadcast") == {0: "failed"}
    assert "extra 'phone'" in result.output and "'919874532456'" in result.output
    assert periskope_requests(sandbox) == []
    assert state(sandbox)["broadcasts"][0]["status"] == "inprogress"


def test_wrong_api_key_fails_clearly_without_stopping_anything(sandbox, run_dag):
    (b,) = seed(sandbox, {"status": "inprogress", "delay": 60})
    result = run_dag("periskope_cancel_broadcast", {"broadcast_ids": [b["id"]]}, keys={"periskope": "pk_wrong"})
    assert result.state == "failed"
    assert "HTTP 401" in result.output and "pk_wrong" not in result.output
    assert [r["auth_valid"] for r in periskope_requests(sandbox)] == [False]  # one attempt, not retried
    assert state(sandbox)["broadcasts"][0]["status"] == "inprogress" and state(sandbox)["cancel_calls"] == []
