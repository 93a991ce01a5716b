"""Klaviyo end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP.

Three DAG runs in all: the example DAG twice (a mid-send cancel that must wait, a campaign already
sent) and the kill switch once with Klaviyo targets next to an Arsel one.
"""

from __future__ import annotations

KEY = "pk_klaviyo_sandbox_key"


def seed(sandbox, *campaigns):
    return sandbox.admin("POST", "/klaviyo/seed", {"campaigns": list(campaigns)})["campaigns"]


def state(sandbox):
    return sandbox.admin("GET", "/klaviyo/state")


def by_id(sandbox):
    return {c["id"]: c for c in state(sandbox)["campaigns"]}


def test_mid_send_cancel_waits_for_the_send_job_then_confirms(sandbox, run_dag):
    # The cancelled campaign's send job keeps "processing" for a few seconds (the sandbox's reading of
    # a mid-send cancel draining), so the first status read is not final and the task must defer.
    sandbox.admin("POST", "/config", {"klaviyo": {"cancel_settle_s": 4}})
    seed(
        sandbox,
        {"id": "01KLAVIYOPROMO", "name": "wrong prices", "status": "Sending", "send_duration_s": None},
        {"id": "01KLAVIYODIGEST", "name": "weekly digest", "status": "Sending", "send_duration_s": None},
    )
    result = run_dag("klaviyo_cancel_campaign", {"campaign_id": "01KLAVIYOPROMO"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_campaign": "success", "confirm_cancelled": "success"}
    assert "DEFERRED" in result.output.upper()

    campaigns = by_id(sandbox)
    assert (campaigns["01KLAVIYOPROMO"]["status"], campaigns["01KLAVIYOPROMO"]["job_status"]) == (
        "Cancelled",
        "cancelled",
    )
    assert campaigns["01KLAVIYODIGEST"]["status"] == "Sending"  # only the target was touched
    calls = state(sandbox)["cancel_calls"]
    assert [(c["campaign_id"], c["action"], c["result"]) for c in calls] == [("01KLAVIYOPROMO", "cancel", "cancelled")]
    assert calls[0]["content_type"] == "application/vnd.api+json"
    log = sandbox.admin("GET", "/requests?vendor=klaviyo")["requests"]
    job_reads = [r for r in log if r["method"] == "GET" and "/campaign-send-jobs/" in r["path"]]
    assert len(job_reads) >= 2  # the trigger polled the send job until it stopped
    assert all(r["auth_valid"] for r in log)

    xcom = result.xcom("cancel_campaign")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["state"] == "cancelled"
    assert xcom["final_status"]["extra"] == {"send_job_status": "cancelled"}
    assert KEY not in result.output  # the key never reaches the logs


def test_a_sent_campaign_fails_clearly_without_retries(sandbox, run_dag):
    seed(sandbox, {"id": "01KLAVIYOSENT", "name": "done", "status": "Sent"})
    result = run_dag("klaviyo_cancel_campaign", {"campaign_id": "01KLAVIYOSENT"})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "had already been sent (status 'Sent'); there was nothing left to cancel" in result.output
    assert "up_for_retry" not in result.output  # a retry cannot unsend a campaign
    assert [c["result"] for c in state(sandbox)["cancel_calls"]] == ["already_sent"]  # refused once, read back
    assert by_id(sandbox)["01KLAVIYOSENT"]["status"] == "Sent"


def test_kill_switch_with_klaviyo_targets_next_to_an_arsel_one(sandbox, run_dag):
    seed(
        sandbox,
        {"id": "01KSENDING", "status": "Sending", "send_duration_s": None},
        {"id": "01KSCHEDULED", "status": "Scheduled", "send_in_s": 3600},
        {"id": "01KCANCELLED", "status": "Cancelled"},
        {"id": "01KBYSTANDER", "status": "Sending", "send_duration_s": None},
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "promo", "status": "sending"}]}
    )["campaigns"]
    targets = [
        {"vendor": "klaviyo", "campaign_id": "01KSENDING"},
        {"vendor": "klaviyo", "campaign_id": "01KSCHEDULED", "action": "revert"},
        {"vendor": "klaviyo", "campaign_id": "01KCANCELLED", "action": "cancel"},
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "email"},
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "success", result.tail()
    report = result.xcom("kill_switch.report")
    assert report is not None, result.tail()
    rows = report["rows"]
    assert [(r["target"]["vendor"], r["outcome"]) for r in rows] == [
        ("klaviyo", "cancelled"),
        ("klaviyo", "cancelled"),  # reverted to draft: nothing to wait for
        ("klaviyo", "already_cancelled"),
        ("arsel", "cancelled"),
    ], rows
    assert [r["final_state"] for r in rows] == ["cancelled", None, "cancelled", "cancelled"]
    assert report["counts"] == {"cancelled": 3, "already_cancelled": 1}

    campaigns = by_id(sandbox)
    assert {cid: c["status"] for cid, c in campaigns.items()} == {
        "01KSENDING": "Cancelled",
        "01KSCHEDULED": "Draft",
        "01KCANCELLED": "Cancelled",
        "01KBYSTANDER": "Sending",
    }
    calls = sorted((c["campaign_id"], c["action"], c["result"]) for c in state(sandbox)["cancel_calls"])
    assert calls == [  # one PATCH each (mapped tasks run in any order)
        ("01KCANCELLED", "cancel", "already_cancelled"),
        ("01KSCHEDULED", "revert", "reverted"),
        ("01KSENDING", "cancel", "cancelled"),
    ]
    assert sandbox.admin("GET", "/arsel/state")["campaigns"][0]["status"] == "cancelled"
    for secret in (KEY, "be_sandbox_key"):
        assert secret not in result.output
