"""The kill switch end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP.

20 targets across every vendor in one run; a dry run that sends nothing; an invalid list that names
every mistake and sends nothing.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PERISKOPE_PHONE = "919874532456"
WRITES = ("POST", "DELETE", "PUT", "PATCH")


def seed_everything(sandbox) -> dict:
    """Bad campaigns at every vendor (targets) and bystanders that must be left alone."""
    arsel = sandbox.admin(
        "POST",
        "/arsel/seed",
        {
            "campaigns": [
                {"channel": "email", "name": "promo wrong prices", "status": "sending"},
                {"channel": "email", "name": "promo reminder", "status": "queued"},
                {"channel": "sms", "name": "sms blast", "status": "sending"},
                {"channel": "sms", "name": "sms follow-up", "status": "scheduled"},
                {"channel": "email", "name": "cancelled yesterday", "status": "cancelled"},
                {"channel": "email", "name": "already sent", "status": "sent"},
                {"channel": "email", "name": "weekly digest (bystander)", "status": "sending"},
            ]
        },
    )["campaigns"]
    periskope = sandbox.admin(
        "POST",
        "/periskope/seed",
        {
            "broadcasts": [
                {"status": "inprogress", "delay": 60, "id": "wa-promo-1"},
                {"status": "inprogress", "delay": 60, "id": "wa-promo-2"},
                {"status": "scheduled", "id": "wa-promo-tomorrow"},
                {"status": "stopped", "id": "wa-stopped-earlier"},
                {"status": "inprogress", "delay": 60, "id": "wa-otp (bystander)"},
            ]
        },
    )["broadcasts"]
    loop = sandbox.admin(
        "POST",
        "/loop/seed",
        {
            "campaigns": [
                {"id": "loop-promo-1", "status": "sending", "advance_every_s": 600, "drain_s": 2},
                {"id": "loop-promo-2", "status": "scheduled"},
                # Cancelled yesterday, as its name says: a cancel now reads it as already cancelled.
                {"id": "loop-cancelled-earlier", "status": "cancelled", "cancelled_at": "2026-01-01T00:00:00Z"},
                {"id": "loop-digest-bystander", "status": "sending", "advance_every_s": 600},
            ]
        },
    )["campaigns"]
    sending = {"message_every_s": 1, "total_messages": 500}
    sandbox.admin(
        "POST",
        "/suprsend/seed",
        {
            "workflow_runs": [
                {"execution_id": "dsl_bad_1", "workflow_slug": "promo", "recipient": "u1", **sending},
                {"execution_id": "dsl_bad_2", "workflow_slug": "promo", "recipient": "u2", **sending},
                {"execution_id": "dsl_bad_3", "workflow_slug": "promo", "recipient": "u3", **sending},
                {"execution_id": "dsl_bystander", "workflow_slug": "promo", "recipient": "u4", **sending},
                {"execution_id": "dsl_done", "workflow_slug": "promo", "recipient": "u5", "status": "completed"},
            ],
            "broadcast_runs": [
                {"execution_id": "broadcast_acme_all", "list_id": "all-users", "tenant_id": "acme", **sending},
                {"execution_id": "broadcast_other_tenant", "list_id": "all-users", "tenant_id": "other", **sending},
            ],
        },
    )
    return {"arsel": arsel, "periskope": periskope, "loop": loop}


def targets_for(seeded: dict) -> list[dict]:
    a = seeded["arsel"]
    return [
        *({"vendor": "arsel", "campaign_id": c["id"], "channel": c["channel"]} for c in a[:6]),
        {"vendor": "periskope", "broadcast_id": "wa-promo-1"},
        {"vendor": "periskope", "broadcast_id": "wa-promo-2"},
        {"vendor": "periskope", "broadcast_id": "wa-promo-tomorrow"},
        {"vendor": "periskope", "broadcast_id": "wa-stopped-earlier"},
        {"vendor": "loop_comms", "campaign_id": "loop-promo-1"},
        {"vendor": "loop_comms", "campaign_id": "loop-promo-2"},
        {"vendor": "loop_comms", "campaign_id": "loop-cancelled-earlier"},
        {"vendor": "loop_comms", "campaign_id": "loop-no-such-campaign"},
        {"vendor": "suprsend_workflow", "execution_id": "dsl_bad_1", "settle_seconds": 2},
        {"vendor": "suprsend_workflow", "execution_id": "dsl_bad_2", "settle_seconds": 2},
        {"vendor": "suprsend_workflow", "execution_id": "dsl_bad_3", "settle_seconds": 2},
        {"vendor": "suprsend_workflow", "execution_id": "dsl_done", "settle_seconds": 2},
        {
            "vendor": "suprsend_broadcast",
            "list_id": "all-users",
            "tenant_id": "acme",
            "allow_broad_match": True,
            "settle_seconds": 2,
        },
        {"vendor": "arsel", "campaign_id": "999999", "channel": "email"},
    ]


def writes(sandbox) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sandbox.admin("GET", "/requests")["requests"] if r["method"] in WRITES]


@pytest.mark.parametrize("dag_id", ["kill_switch", "kill_switch_task_per_target"])
def test_twenty_targets_at_every_vendor_in_one_run(sandbox, run_dag, dag_id):
    seeded = seed_everything(sandbox)
    targets = targets_for(seeded)
    assert len(targets) == 20
    result = run_dag(dag_id, {"targets": targets, "dry_run": False, "skip_approval": True})

    # The run failed only because of the bad targets, and only after everything else was done.
    assert result.state == "failed", result.tail()
    report = result.xcom("kill_switch.report")
    assert report is not None, result.tail()
    rows = report["rows"]
    assert [r["target"]["vendor"] for r in rows] == [t["vendor"] for t in targets]
    # The layout: one cancel task for all targets by default; a task instance per target on request.
    ran = set(result.task_states())
    assert ("kill_switch.cancel" in ran) is (dag_id == "kill_switch")
    assert ("kill_switch.cancel_arsel" in ran) is (dag_id == "kill_switch_task_per_target")
    outcomes = [r["outcome"] for r in rows]
    expected = [
        *["cancelled"] * 4,  # arsel: email sending, email queued, sms sending, sms scheduled
        "already_cancelled",  # arsel: cancelled yesterday
        "failed",  # arsel: already sent
        *["cancelled"] * 3,  # periskope: stopped, stopped, deleted before it started
        "already_stopped",  # periskope: stopped earlier
        *["cancelled"] * 2,  # loop: sending, scheduled
        "already_cancelled",  # loop: cancelled earlier
        "failed",  # loop: no such campaign
        *["cancelled"] * 3,  # suprsend: by execution id
        "nothing_to_cancel",  # suprsend: a run that had already finished
        "cancelled",  # suprsend: the broad broadcast filter, opted in
        "failed",  # arsel: no such campaign
    ]
    assert outcomes == expected, rows
    assert report["counts"]["failed"] == 3
    failed = {r["target"].get("campaign_id"): r["error"] for r in rows if r["outcome"] == "failed"}
    assert "already finished with status 'sent'" in failed[seeded["arsel"][5]["id"]]
    assert "404" in failed["loop-no-such-campaign"] and "404" in failed["999999"]
    assert all(r["final_state"] == "cancelled" for r in rows if r["outcome"] == "cancelled")
    for secret in ("be_sandbox_key", "pk_sandbox_key", "lph_at_sandbox_token", "ss_sandbox_key"):
        assert secret not in result.output

    # In the sandbox: exactly the targets were cancelled; the bystanders are untouched.
    arsel = {c["name"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    assert arsel == {
        "promo wrong prices": "cancelled",
        "promo reminder": "cancelled",
        "sms blast": "cancelled",
        "sms follow-up": "cancelled",
        "cancelled yesterday": "cancelled",
        "already sent": "sent",
        "weekly digest (bystander)": "sending",
    }
    periskope = sandbox.admin("GET", "/periskope/state")
    views = {b["id"]: b["status"] for b in periskope["broadcasts"]}
    assert views["wa-promo-1"] == views["wa-promo-2"] == views["wa-stopped-earlier"] == "stopped"
    assert views["wa-otp (bystander)"] == "inprogress" and "wa-promo-tomorrow" not in views
    loop = {c["id"]: c["status"] for c in sandbox.admin("GET", "/loop/state")["campaigns"]}
    assert loop == {
        "loop-promo-1": "cancelled",
        "loop-promo-2": "cancelled",
        "loop-cancelled-earlier": "cancelled",
        "loop-digest-bystander": "sending",
    }
    suprsend = sandbox.admin("GET", "/suprsend/state")
    runs = {r["execution_id"]: r["status"] for r in suprsend["workflow_runs"] + suprsend["broadcast_runs"]}
    assert {k: runs[k] for k in ("dsl_bad_1", "dsl_bad_2", "dsl_bad_3", "broadcast_acme_all")} == dict.fromkeys(
        ("dsl_bad_1", "dsl_bad_2", "dsl_bad_3", "broadcast_acme_all"), "cancelled"
    )
    assert runs["dsl_bystander"] == runs["broadcast_other_tenant"] == "in_progress"


def test_a_dry_run_reads_statuses_and_sends_nothing(sandbox, run_dag):
    seeded = seed_everything(sandbox)
    targets = targets_for(seeded)
    result = run_dag("kill_switch", {"targets": targets})  # dry_run defaults to true
    assert result.state == "success", result.tail()
    assert writes(sandbox) == []  # not one POST or DELETE at any vendor
    report = result.xcom("kill_switch.report")
    assert [r["outcome"] for r in report["rows"]] == ["would_cancel"] * 20
    states = [r["final_state"] for r in report["rows"]]
    assert states[:6] == ["active", "active", "active", "scheduled", "cancelled", "completed"]
    assert states[9] == "cancelled" and states[14:19] == [None] * 5  # SuprSend has no status call
    assert "not found" in report["rows"][19]["error"] or "404" in report["rows"][19]["error"]
    assert "DRY RUN" in result.output


def test_an_invalid_list_names_every_mistake_and_sends_nothing(sandbox, run_dag):
    seed_everything(sandbox)
    bad = [
        {"vendor": "arsel"},  # missing id
        {"vendor": "mailgun", "campaign_id": "m1"},  # unknown vendor
        {"vendor": "suprsend_workflow", "workflow_slug": "promo"},  # broad without the opt-in
        {"vendor": "periskope", "broadcast_id": "b1"},
        {"vendor": "periskope", "broadcast_id": "b1"},  # duplicate
        {"vendor": "loop_comms", "campaign_id": {"id": 1}},  # wrong type
    ]
    result = run_dag("kill_switch", {"targets": bad, "dry_run": False, "skip_approval": True})
    assert result.state == "failed"
    assert result.task_states()["kill_switch.plan"] == "failed"
    for mistake in (
        "targets[0].campaign_id",
        "targets[1].vendor: unknown vendor 'mailgun'",
        "targets[2].allow_broad_match",
        "targets[4]: duplicate of targets[3]",
        "targets[5].campaign_id",
    ):
        assert mistake in result.output, mistake
    assert sandbox.admin("GET", "/requests")["requests"] == []  # nothing was sent, not even a read


def test_the_scheduled_kill_list_cancels_then_reports_already_cancelled(sandbox, airflow_home):
    import json

    import harness

    (campaign,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "sms", "name": "on the kill list", "status": "sending"}]}
    )["campaigns"]
    kill_list = [{"vendor": "arsel", "campaign_id": campaign["id"], "channel": "sms"}]
    env = {**harness.connection_env(sandbox.url), "AIRFLOW_VAR_KILL_SWITCH_TARGETS": json.dumps(kill_list)}
    first = harness.run_dag(airflow_home, "scheduled_kill_switch", {}, env)
    assert first.state == "success", first.tail()
    assert first.xcom("kill_switch.report")["counts"] == {"cancelled": 1}
    second = harness.run_dag(airflow_home, "scheduled_kill_switch", {}, env)  # idempotent: still a success
    assert second.state == "success", second.tail()
    assert second.xcom("kill_switch.report")["counts"] == {"already_cancelled": 1}
    empty = harness.run_dag(airflow_home, "scheduled_kill_switch", {}, harness.connection_env(sandbox.url))
    assert empty.state == "success" and empty.xcom("kill_switch.report")["counts"] == {}
