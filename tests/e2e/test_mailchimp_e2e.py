"""Mailchimp end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP.

Three DAG runs in all: the example DAG twice (cancel_send through ``canceling``; unschedule of a
campaign that is already sending) and the kill switch once with Mailchimp targets next to an Arsel one.
"""

from __future__ import annotations

KEY = "mc_sandbox_key-us1"


def seed(sandbox, *campaigns):
    return sandbox.admin("POST", "/mailchimp/seed", {"campaigns": list(campaigns)})["campaigns"]


def state(sandbox):
    return sandbox.admin("GET", "/mailchimp/state")


def statuses(sandbox):
    return {c["id"]: c["status"] for c in state(sandbox)["campaigns"]}


def test_cancel_send_waits_through_canceling(sandbox, run_dag):
    sandbox.admin("POST", "/config", {"mailchimp": {"canceling_s": 4}})
    seed(
        sandbox,
        {"id": "mcpromo01", "status": "sending", "send_duration_s": None},
        {"id": "mcdigest1", "status": "sending", "send_duration_s": None},
    )
    result = run_dag("mailchimp_cancel_campaign", {"campaign_id": "mcpromo01", "action": "cancel_send"})
    assert result.state == "success", result.tail()
    assert "DEFERRED" in result.output.upper()  # the first read said "canceling": the trigger waited
    assert statuses(sandbox) == {"mcpromo01": "canceled", "mcdigest1": "sending"}
    calls = state(sandbox)["cancel_calls"]
    assert [(c["campaign_id"], c["action"], c["result"]) for c in calls] == [("mcpromo01", "cancel-send", "canceling")]
    reads = [r for r in sandbox.admin("GET", "/requests?vendor=mailchimp")["requests"] if r["method"] == "GET"]
    assert len(reads) >= 2 and all(r["query"] == {"fields": "id,status,send_time,type"} for r in reads)
    xcom = result.xcom("cancel_campaign")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["raw_status"] == "canceled"
    assert KEY not in result.output


def test_unschedule_of_a_sending_campaign_fails_and_never_cancels_it_instead(sandbox, run_dag):
    seed(sandbox, {"id": "mcsending", "status": "sending", "send_duration_s": None})
    result = run_dag("mailchimp_cancel_campaign", {"campaign_id": "mcsending", "action": "unschedule"})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "use action 'cancel_send'" in result.output
    assert "up_for_retry" not in result.output  # a retry cannot make a sending campaign scheduled again
    assert [c["action"] for c in state(sandbox)["cancel_calls"]] == ["unschedule"]  # no cancel-send was sent
    assert statuses(sandbox) == {"mcsending": "sending"}


def test_kill_switch_with_mailchimp_targets_next_to_an_arsel_one(sandbox, run_dag):
    seed(
        sandbox,
        {"id": "mcsend001", "status": "sending", "send_duration_s": None},
        {"id": "mcsched01", "status": "schedule", "send_in_s": 3600},
        {"id": "mcsent001", "status": "sent"},
        {"id": "mcbystand", "status": "sending", "send_duration_s": None},
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "sms", "name": "sms blast", "status": "sending"}]}
    )["campaigns"]
    targets = [
        {"vendor": "mailchimp", "campaign_id": "mcsend001", "action": "cancel_send"},
        {"vendor": "mailchimp", "campaign_id": "mcsched01", "action": "unschedule"},
        {"vendor": "mailchimp", "campaign_id": "mcsent001", "action": "cancel_send"},
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "sms"},
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "failed", result.tail()  # the sent campaign fails its target, after the others
    report = result.xcom("kill_switch.report")
    assert report is not None, result.tail()
    rows = report["rows"]
    assert [(r["target"]["vendor"], r["outcome"]) for r in rows] == [
        ("mailchimp", "cancelled"),
        ("mailchimp", "cancelled"),
        ("mailchimp", "failed"),
        ("arsel", "cancelled"),
    ], rows
    assert [r["final_state"] for r in rows] == ["cancelled", None, None, "cancelled"]
    assert "already finished with status 'sent'" in rows[2]["error"]

    assert statuses(sandbox) == {
        "mcsend001": "canceled",
        "mcsched01": "save",
        "mcsent001": "sent",
        "mcbystand": "sending",
    }
    calls = sorted((c["campaign_id"], c["action"], c["result"]) for c in state(sandbox)["cancel_calls"])
    assert calls == [
        ("mcsched01", "unschedule", "unscheduled"),
        ("mcsend001", "cancel-send", "canceling"),
        ("mcsent001", "cancel-send", "not_sending"),
    ]
    assert sandbox.admin("GET", "/arsel/state")["campaigns"][0]["status"] == "cancelled"
    for secret in (KEY, "be_sandbox_key"):
        assert secret not in result.output
