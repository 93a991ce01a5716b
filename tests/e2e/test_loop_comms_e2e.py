"""Loop Health comms end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

TOKEN = "lph_at_sandbox_token"


def seed(sandbox, *campaigns, **extra):
    return sandbox.admin("POST", "/loop/seed", {"campaigns": list(campaigns), **extra})["campaigns"]


def state(sandbox):
    return sandbox.admin("GET", "/loop/state")


def by_id(sandbox):
    return {c["id"]: c for c in state(sandbox)["campaigns"]}


def parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def mapped_states(result) -> dict[int, str]:
    with sqlite3.connect(result.home / "airflow.db") as db:
        rows = db.execute(
            "SELECT map_index, state FROM task_instance WHERE dag_id=? AND run_id=? AND task_id='cancel_campaign'",
            (result.dag_id, result.run_id),
        ).fetchall()
    return dict(rows)


def test_kill_switch_defers_until_the_draining_send_finishes_and_cancels_only_the_target(sandbox, run_dag):
    # The target is mid-send; after the cancel its send keeps delivering for 6 s (messages already
    # handed over), so the first status read is not final and the task must defer to the trigger.
    seed(
        sandbox,
        {"id": "flash-sale", "status": "sending", "advance_every_s": 600, "drain_s": 6, "total_recipients": 1000},
        {"id": "weekly-digest", "status": "sending", "advance_every_s": 600},
        {"id": "new-year", "status": "scheduled"},
    )
    result = run_dag("loop_comms_cancel_campaign", {"campaign_id": "flash-sale"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_campaign": "success", "confirm_cancelled": "success"}
    assert "Pausing task as DEFERRED" in result.output and "[DAG TEST] running trigger in line" in result.output

    campaigns = by_id(sandbox)
    target = campaigns["flash-sale"]
    assert target["status"] == "cancelled"
    (target_send,) = target["sends"]
    assert target_send["status"] == "cancelled" and 0 < target_send["sent"] < 1000
    drained = parse(target_send["completed_at"]) - parse(target["cancelled_at"])
    assert abs(drained.total_seconds() - 6) < 0.01
    # Only the target was touched: the bystanders are exactly as seeded, and one cancel was sent.
    assert campaigns["weekly-digest"]["status"] == "sending"
    assert campaigns["weekly-digest"]["sends"][0]["completed_at"] is None
    assert campaigns["new-year"]["status"] == "scheduled" and campaigns["new-year"]["sends"] == []
    assert [(c["campaign_id"], c["result"]) for c in state(sandbox)["cancel_calls"]] == [("flash-sale", "cancelled")]

    # The worker read the history right after the cancel (a send still running, so it deferred);
    # the trigger kept reading until the send had finished.
    reads = [
        parse(r["at"])
        for r in sandbox.admin("GET", "/requests?vendor=loop")["requests"]
        if r["method"] == "GET" and r["path"] == "/loop/v1/admin/campaigns/flash-sale/history"
    ]
    done_at = parse(target_send["completed_at"])
    assert len(reads) >= 2 and reads[0] < done_at <= reads[-1]

    xcom = result.xcom("cancel_campaign")
    assert xcom["outcome"] == "cancelled" and xcom["vendor_status"] == "cancelled"
    assert xcom["detail"]["cancelled_at"] == target["cancelled_at"]
    assert xcom["final_status"]["state"] == "cancelled" and xcom["final_status"]["extra"]["running_send_ids"] == []
    assert result.xcom("confirm_cancelled")["state"] == "cancelled"
    assert TOKEN not in result.output  # the token never reaches the logs


def test_batch_already_cancelled_sent_unknown_and_a_500_after_the_cancel(sandbox, run_dag):
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    seed(
        sandbox,
        {"id": "old-cancelled", "status": "cancelled", "cancelled_at": long_ago},
        {"id": "already-sent", "status": "sent"},
        {"id": "scheduled-promo", "status": "scheduled"},
        fail_cancels_after_applying=1,  # the first real cancel applies, then answers 500 "Cancel failed"
    )
    ids = ["old-cancelled", "already-sent", "scheduled-promo", "no-such-campaign"]
    result = run_dag("loop_comms_cancel_campaigns", {"campaign_ids": ids})
    assert result.state == "failed"
    assert mapped_states(result) == {0: "success", 1: "failed", 2: "success", 3: "failed"}, result.tail()

    # Sent before the cancel: a clear failure, and the campaign is left as it was.
    assert (
        "Loop comms campaign already-sent had already been sent; nothing was cancelled "
        "(HTTP 409: Campaign already sent)"
    ) in result.output
    assert "HTTP 404 [not_found]: Campaign not found" in result.output
    campaigns = by_id(sandbox)
    assert campaigns["already-sent"]["status"] == "sent" and campaigns["already-sent"]["cancelled_at"] is None
    assert campaigns["scheduled-promo"]["status"] == "cancelled"
    assert campaigns["old-cancelled"]["cancelled_at"].startswith(long_ago[:19])  # untouched

    calls = [(c["campaign_id"], c["result"]) for c in state(sandbox)["cancel_calls"]]
    # The 500 came after the cancel had applied; the hook's retry saw it cancelled. Failures were
    # not retried (a task retry cannot change "sent" or "not found").
    assert sorted(calls) == sorted(
        [
            ("old-cancelled", "unchanged_cancelled"),
            ("already-sent", "refused_sent"),
            ("scheduled-promo", "cancelled_then_500"),
            ("scheduled-promo", "unchanged_cancelled"),
            ("no-such-campaign", "not_found"),
        ]
    )
    with sqlite3.connect(result.home / "airflow.db") as db:
        outcomes = dict(
            db.execute(
                "SELECT map_index, value FROM xcom WHERE dag_id=? AND run_id=? AND task_id='cancel_campaign' "
                "AND key='return_value'",
                (result.dag_id, result.run_id),
            ).fetchall()
        )
    assert '"already_cancelled"' in outcomes[0] and '"cancelled"' in outcomes[2]


def test_history_only_sensor_waits_for_a_send_stopped_by_an_outside_cancel(sandbox, run_dag):
    # Someone cancelled the campaign in Loop's own tools: no cancel response, only history. Its send
    # keeps running until the sandbox is told to finish it, which happens only once the sensor has
    # been seen polling, so the sensor must wait (deferred) for that change.
    seed(sandbox, {"id": "outside", "status": "sending", "advance_every_s": 600, "drain_s": 3600})
    sandbox.admin("POST", "/loop/advance", {"id": "outside", "status": "cancelled"})
    history = "/loop/v1/admin/campaigns/outside/history"

    def reads() -> int:
        return sum(r["path"] == history for r in sandbox.admin("GET", "/requests?vendor=loop")["requests"])

    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(run_dag, "loop_comms_wait_for_campaign", {"campaign_id": "outside"})
        deadline = time.monotonic() + 120
        while reads() < 2 and not run.done() and time.monotonic() < deadline:
            time.sleep(0.2)  # the first poke on the worker, then the first poll of the trigger
        finished = sandbox.admin("POST", "/loop/advance", {"id": "outside"})["campaign"]["sends"][0]
        result = run.result(timeout=300)
    assert result.state == "success", result.tail()
    assert "Pausing task as DEFERRED" in result.output
    assert finished["status"] == "cancelled" and finished["completed_at"]
    final = result.xcom("wait_until_cancelled")
    assert final["state"] == "cancelled" and final["raw_status"] == "cancelled"  # the send's own word
    assert reads() >= 3 and state(sandbox)["cancel_calls"] == []  # it only read


def test_wrong_token_fails_clearly_without_cancelling(sandbox, run_dag):
    seed(sandbox, {"id": "promo", "status": "sending"})
    result = run_dag("loop_comms_cancel_campaign", {"campaign_id": "promo"}, keys={"loop_comms": "lph_at_wrong"})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "HTTP 401 [unauthorized]: Missing or invalid access token" in result.output
    assert by_id(sandbox)["promo"]["status"] == "sending" and state(sandbox)["cancel_calls"] == []
    assert "lph_at_wrong" not in result.output
