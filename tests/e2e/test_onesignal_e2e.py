"""OneSignal end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

KEY = "os_v2_app_sandbox_key"


def seed(sandbox, *items):
    return sandbox.admin("POST", "/onesignal/seed", {"notifications": list(items)})["notifications"]


def statuses(sandbox):
    return {n["id"]: n["status"] for n in sandbox.admin("GET", "/onesignal/state")["notifications"]}


def test_cancel_a_sending_notification_and_confirm_with_the_generic_sensor(sandbox, run_dag):
    seed(sandbox, {"id": "promo", "status": "sending"}, {"id": "otp", "status": "sending"})
    result = run_dag("onesignal_cancel_notification", {"notification_id": "promo"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_notification": "success", "confirm_cancelled": "success"}
    assert statuses(sandbox) == {"promo": "canceled", "otp": "sending"}  # only the target was touched
    calls = sandbox.admin("GET", "/onesignal/state")["cancel_calls"]
    assert [(c["id"], c["result"]) for c in calls] == [("promo", "canceled")]
    deletes = [r for r in sandbox.admin("GET", "/requests?vendor=onesignal")["requests"] if r["method"] == "DELETE"]
    assert [r["query"] for r in deletes] == [{"app_id": "5eb5a37e-b458-11e3-ac11-000c2940e62c"}]
    xcom = result.xcom("cancel_notification")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["state"] == "cancelled"
    assert KEY not in result.output


def test_a_notification_already_sent_fails_clearly_without_retries(sandbox, run_dag):
    seed(sandbox, {"id": "done", "status": "completed"})
    result = run_dag("onesignal_cancel_notification", {"notification_id": "done"})
    assert result.state == "failed"
    assert result.task_states()["cancel_notification"] == "failed"
    assert "CampaignFinishedError" in result.output and "already been sent to all recipients" in result.output
    assert "up_for_retry" not in result.output
    assert statuses(sandbox) == {"done": "completed"}


def test_kill_switch_with_onesignal_targets_next_to_an_arsel_one(sandbox, run_dag):
    sandbox.admin("POST", "/config", {"onesignal": {"recancel": "400"}})
    seed(
        sandbox,
        {"id": "tonight"},
        {"id": "now", "status": "sending"},
        {"id": "earlier", "status": "canceled"},
        {"id": "done", "status": "completed"},
        {"id": "bystander", "status": "sending"},
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "promo", "status": "scheduled"}]}
    )["campaigns"]
    targets = [{"vendor": "onesignal", "notification_id": nid} for nid in ("tonight", "now", "earlier", "done")] + [
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "email"}
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "failed", result.tail()  # the sent notification fails the run, after the report
    rows = result.xcom("kill_switch.report")["rows"]
    assert [r["outcome"] for r in rows] == ["cancelled", "cancelled", "already_cancelled", "failed", "cancelled"]
    assert [r["final_state"] for r in rows if r["outcome"] != "failed"] == ["cancelled"] * 4
    assert "already been sent to all recipients" in rows[3]["error"]
    assert statuses(sandbox) == {
        "tonight": "canceled",
        "now": "canceled",
        "earlier": "canceled",
        "done": "completed",
        "bystander": "sending",
    }
    assert [c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]] == ["cancelled"]
    assert KEY not in result.output and "be_sandbox_key" not in result.output
