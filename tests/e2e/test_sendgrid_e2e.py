"""SendGrid end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP.

Three DAG runs in all: each example DAG once (cancel a scheduled batch; unschedule a Single Send)
and the kill switch once with SendGrid targets next to an Arsel one.
"""

from __future__ import annotations

import time

KEY = "SG.sandbox_key"


def state(sandbox):
    return sandbox.admin("GET", "/sendgrid/state")


def test_cancel_a_scheduled_batch_then_it_is_discarded_at_its_send_time(sandbox, run_dag):
    sandbox.admin(
        "POST",
        "/sendgrid/seed",
        {"batches": [{"batch_id": "promo-batch", "send_in_s": 3600}, {"batch_id": "digest-batch", "send_in_s": 3600}]},
    )
    send_at = int(time.time()) + 3600
    result = run_dag(
        "sendgrid_cancel_scheduled_send", {"batch_id": "promo-batch", "action": "cancel", "send_at": str(send_at)}
    )
    assert result.state == "success", result.tail()
    xcom = result.xcom("cancel_scheduled_send")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["state"] == "cancelled"
    assert xcom["target"] == {"batch_id": "promo-batch", "action": "cancel", "send_at": send_at}
    calls = state(sandbox)["cancel_calls"]
    assert [(c["method"], c["target"], c["result"]) for c in calls] == [("POST", "promo-batch", "cancel_created")]
    assert KEY not in result.output

    sandbox.admin("POST", "/time", {"advance_s": 3601})  # the send time comes
    delivery = {b["batch_id"]: b["delivery"] for b in state(sandbox)["batches"]}
    assert delivery == {"promo-batch": "discarded", "digest-batch": "sent"}


def test_unschedule_a_single_send(sandbox, run_dag):
    sandbox.admin(
        "POST",
        "/sendgrid/seed",
        {"single_sends": [{"id": "ss-promo", "status": "scheduled"}, {"id": "ss-digest", "status": "scheduled"}]},
    )
    result = run_dag("sendgrid_unschedule_single_send", {"single_send_id": "ss-promo"})
    assert result.state == "success", result.tail()
    assert result.xcom("unschedule_single_send")["vendor_status"] == "draft"
    singles = {s["id"]: s["status"] for s in state(sandbox)["single_sends"]}
    assert singles == {"ss-promo": "draft", "ss-digest": "scheduled"}


def test_kill_switch_with_sendgrid_targets_next_to_an_arsel_one(sandbox, run_dag):
    sandbox.admin(
        "POST",
        "/sendgrid/seed",
        {
            "batches": [
                {"batch_id": "b-scheduled", "send_in_s": 3600},
                {"batch_id": "b-paused", "send_in_s": 3600, "hold": "pause"},
                {"batch_id": "b-bystander", "send_in_s": 3600},
            ],
            "single_sends": [{"id": "ss-triggered", "status": "triggered"}],
        },
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "promo", "status": "queued"}]}
    )["campaigns"]
    gone = int(time.time()) - 120
    targets = [
        {"vendor": "sendgrid_batch", "batch_id": "b-scheduled"},
        {"vendor": "sendgrid_batch", "batch_id": "b-paused", "action": "cancel"},
        {"vendor": "sendgrid_batch", "batch_id": "b-sent", "send_at": gone},
        {"vendor": "sendgrid_single_send", "single_send_id": "ss-triggered"},
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "email"},
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "failed", result.tail()  # two targets could not be stopped: said, after the others
    report = result.xcom("kill_switch.report")
    assert report is not None, result.tail()
    rows = report["rows"]
    assert [(r["target"]["vendor"], r["outcome"]) for r in rows] == [
        ("sendgrid_batch", "cancelled"),
        ("sendgrid_batch", "cancelled"),  # the pause was changed to a cancel
        ("sendgrid_batch", "failed"),
        ("sendgrid_single_send", "failed"),
        ("arsel", "cancelled"),
    ], rows
    assert [r["final_state"] for r in rows] == ["cancelled", "cancelled", None, None, "cancelled"]
    assert "it was sent. SendGrid has no API to stop a send that is already under way" in rows[2]["error"]
    assert "already triggered" in rows[3]["error"]

    holds = {b["batch_id"]: b["hold"] for b in state(sandbox)["batches"]}
    assert holds == {"b-scheduled": "cancel", "b-paused": "cancel", "b-bystander": None}
    writes = sorted((c["method"], c["target"], c["result"]) for c in state(sandbox)["cancel_calls"])
    assert writes == [  # nothing was sent for the batch whose send time had passed
        ("DELETE", "ss-triggered", "already_triggered"),
        ("PATCH", "b-paused", "changed_to_cancel"),
        ("POST", "b-paused", "hold_exists"),
        ("POST", "b-scheduled", "cancel_created"),
    ]
    assert sandbox.admin("GET", "/arsel/state")["campaigns"][0]["status"] == "cancelled"
    for secret in (KEY, "be_sandbox_key"):
        assert secret not in result.output
