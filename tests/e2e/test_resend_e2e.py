"""Resend end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

KEY = "re_sandbox_key"


def seed(sandbox, **body):
    return sandbox.admin("POST", "/resend/seed", body)


def statuses(sandbox):
    state = sandbox.admin("GET", "/resend/state")
    return {b["id"]: b["status"] for b in state["broadcasts"]} | {e["id"]: e["last_event"] for e in state["emails"]}


def test_cancel_a_sending_broadcast_and_confirm_with_the_generic_sensor(sandbox, run_dag):
    seed(sandbox, broadcasts=[{"id": "promo", "status": "queued"}, {"id": "digest", "status": "queued"}])
    result = run_dag("resend_cancel_broadcast", {"broadcast_id": "promo"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_broadcast": "success", "confirm_cancelled": "success"}
    assert statuses(sandbox) == {"promo": "canceled", "digest": "queued"}  # only the target was touched
    calls = sandbox.admin("GET", "/resend/state")["cancel_calls"]
    assert [(c["id"], c["result"]) for c in calls] == [("promo", "canceled")]
    xcom = result.xcom("cancel_broadcast")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["raw_status"] == "canceled"
    assert KEY not in result.output


def test_cancel_a_scheduled_email(sandbox, run_dag):
    seed(sandbox, emails=[{"id": "reminder"}, {"id": "receipt", "last_event": "delivered"}])
    result = run_dag("resend_cancel_email", {"email_id": "reminder"})
    assert result.state == "success", result.tail()
    assert result.xcom("cancel_email")["final_status"]["state"] == "cancelled"
    assert statuses(sandbox) == {"reminder": "canceled", "receipt": "delivered"}
    assert KEY not in result.output


def test_kill_switch_with_resend_targets_next_to_an_arsel_one(sandbox, run_dag):
    sandbox.admin("POST", "/config", {"resend": {"recancel": "refuse"}})
    seed(
        sandbox,
        broadcasts=[{"id": "tomorrow"}, {"id": "yesterday", "status": "sent"}, {"id": "bystander", "status": "queued"}],
        emails=[{"id": "e-scheduled"}, {"id": "e-cancelled", "last_event": "canceled"}],
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "sms", "name": "otp", "status": "queued"}]}
    )["campaigns"]
    targets = [
        {"vendor": "resend_broadcast", "broadcast_id": "tomorrow"},
        {"vendor": "resend_broadcast", "broadcast_id": "yesterday"},
        {"vendor": "resend_email", "email_id": "e-scheduled"},
        {"vendor": "resend_email", "email_id": "e-cancelled"},
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "sms"},
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "failed", result.tail()  # the sent broadcast fails the run, after the report
    rows = result.xcom("kill_switch.report")["rows"]
    assert [r["outcome"] for r in rows] == ["cancelled", "failed", "cancelled", "already_cancelled", "cancelled"]
    assert [r["final_state"] for r in rows if r["outcome"] != "failed"] == ["cancelled"] * 4
    assert "already finished with status 'sent'" in rows[1]["error"]
    assert statuses(sandbox) == {
        "tomorrow": "draft",  # unscheduled: nothing was sent
        "yesterday": "sent",
        "bystander": "queued",
        "e-scheduled": "canceled",
        "e-cancelled": "canceled",
    }
    assert [c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]] == ["cancelled"]
    assert KEY not in result.output and "be_sandbox_key" not in result.output
