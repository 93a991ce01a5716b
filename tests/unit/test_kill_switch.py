"""The kill switch's decisions (Airflow-free): targets, approval, per-kind arguments, the report."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.kill_switch import (
    FAILED,
    NOT_RUN,
    Plan,
    markdown_table,
    operator_kwargs,
    read_targets,
    result_row,
    row,
    summarise,
    text_table,
)

ARSEL = {"vendor": "arsel", "campaign_id": "c1", "channel": "sms"}
BROAD = {"vendor": "suprsend_broadcast", "list_id": "all", "allow_broad_match": True}


@pytest.mark.parametrize(
    "raw",
    [
        [ARSEL],
        json.dumps([ARSEL]),
        str([ARSEL]),  # what "{{ params.targets }}" renders a Python list as
        ARSEL,  # one target object on its own
    ],
)
def test_targets_come_as_a_list_json_text_or_rendered_text(raw):
    (target,) = read_targets(raw)
    assert target.to_dict()["campaign_id"] == "c1" and target.channel == "sms"


@pytest.mark.parametrize("raw", ["", "[]", None, "[not json"])
def test_no_or_unreadable_targets_are_refused(raw):
    with pytest.raises(InvalidTarget, match="targets"):
        read_targets(raw)


def test_approval_is_needed_above_the_threshold_or_for_a_broad_filter():
    ten = read_targets([{**ARSEL, "campaign_id": f"c{i}"} for i in range(10)])
    assert not Plan(ten, dry_run=False).needs_approval
    eleven = read_targets([{**ARSEL, "campaign_id": f"c{i}"} for i in range(11)])
    plan = Plan(eleven, dry_run=False)
    assert plan.needs_approval and "11 targets, more than the approval threshold of 10" in plan.approval_reasons[0]
    broad = Plan(read_targets([BROAD]), dry_run=False)
    assert broad.needs_approval and "broad filter" in broad.approval_reasons[0]
    assert not Plan(read_targets([BROAD]), dry_run=False, skip_approval=True).needs_approval
    assert not Plan(read_targets([BROAD]), dry_run=True).needs_approval  # a dry run never waits for a person
    assert Plan(read_targets([ARSEL] * 1), dry_run=False, approval_threshold=0).needs_approval


def test_a_dry_run_hands_no_target_to_any_cancel_task():
    plan = Plan(read_targets([ARSEL, BROAD]), dry_run=True)
    assert plan.cancel_kwargs("arsel") == [] and plan.cancel_kwargs("suprsend_broadcast") == []
    live = Plan(read_targets([ARSEL, BROAD]), dry_run=False, skip_approval=True)
    assert live.cancel_kwargs("arsel") == [
        {"campaign_id": "c1", "channel": "sms", "idempotency_key": None, "arsel_conn_id": "arsel_default"}
    ]
    assert live.cancel_kwargs("periskope") == []


def test_operator_kwargs_carry_the_connection_under_the_vendor_name():
    (target,) = read_targets([{**ARSEL, "conn_id": "arsel_eu"}])
    assert operator_kwargs(target)["arsel_conn_id"] == "arsel_eu"
    (workflow,) = read_targets([{"vendor": "suprsend_workflow", "recipients": '["u1"]', "allow_broad_match": "true"}])
    kwargs = operator_kwargs(workflow)
    assert kwargs["recipients"] == ["u1"] and kwargs["allow_broad_match"] is True
    assert kwargs["suprsend_conn_id"] == "suprsend_default"
    json.dumps(kwargs)  # mapped task arguments are stored as JSON


def test_result_rows_from_a_result_an_error_or_nothing():
    target = read_targets([ARSEL])[0].to_dict()
    done = result_row(
        target, {"outcome": "cancelled", "vendor_status": "cancelled", "final_status": {"state": "cancelled"}}, None
    )
    assert (done["outcome"], done["final_state"], done["error"]) == ("cancelled", "cancelled", None)
    failed = result_row(target, None, "CampaignFinishedError: it was sent")
    assert failed["outcome"] == FAILED and "sent" in failed["error"]
    assert result_row(target, None, None)["outcome"] == NOT_RUN


def test_tables_escape_vendor_text_and_summaries_count():
    target = read_targets([ARSEL])[0].to_dict()
    rows = [row(target, "cancelled", vendor_status="a|b\nc"), row(target, FAILED, error="HTTP 404")]
    table = markdown_table(rows)
    assert "a\\|b c" in table and table.count("\n") == 3  # header, rule, two rows
    assert "HTTP 404" in text_table(rows)
    assert summarise(rows) == "2 target(s): 1 cancelled, 1 failed"


def test_an_empty_standing_list_is_allowed_only_when_asked():
    assert read_targets("[]", allow_empty=True) == []
    with pytest.raises(InvalidTarget, match="empty"):
        read_targets("[]")


def _kill_switch_dag(**kwargs):
    from airflow.sdk import DAG

    from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

    with DAG("ks_unit", schedule=None) as dag:
        kill_switch_task_group(targets=[ARSEL], **kwargs)
    return dag


def test_by_default_one_cancel_task_handles_every_target_after_the_approval():
    from airflow_provider_cancel.operators.batch import BatchCancelOperator

    dag = _kill_switch_dag(rate_limits={"periskope": 5})
    cancel = dag.get_task("kill_switch.cancel")
    assert isinstance(cancel, BatchCancelOperator)
    assert cancel.upstream_task_ids >= {"kill_switch.approval", "kill_switch.plan"}
    assert cancel.trigger_rule == "none_failed" and "kill_switch.report" in cancel.downstream_task_ids
    # Arsel is paced to its documented 2 requests/s; a kind given in rate_limits to that; others not at all.
    assert (cancel.rate_limit("arsel"), cancel.rate_limit("periskope"), cancel.rate_limit("loop_comms")) == (2, 5, None)
    assert not [t for t in dag.task_ids if t.startswith("kill_switch.cancel_")]


def test_the_task_group_maps_one_cancel_task_per_kind_after_the_approval():
    from airflow_provider_cancel.vendors import target_kinds

    dag = _kill_switch_dag(one_task_per_target=True, pools={"arsel": "cancel_arsel"})
    for kind in target_kinds():
        cancel = dag.get_task(f"kill_switch.cancel_{kind}")
        assert cancel.upstream_task_ids >= {"kill_switch.approval", f"kill_switch.targets_{kind}"}
        assert cancel.trigger_rule == "none_failed" and "kill_switch.report" in cancel.downstream_task_ids
    assert dag.get_task("kill_switch.cancel_arsel").partial_kwargs["pool"] == "cancel_arsel"
    assert dag.get_task("kill_switch.report").trigger_rule == "all_done"


def test_a_run_that_needs_approval_fails_before_cancelling_where_there_is_no_approval_operator(monkeypatch):
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_cancel.operators import kill_switch as module

    gate = _kill_switch_dag().get_task("kill_switch.gate")
    monkeypatch.setattr(module, "approval_operator_class", lambda: None)
    with pytest.raises(AirflowFailException, match="skip_approval=true"):
        gate.python_callable(needs_approval=True, dry_run=False)
    assert gate.python_callable(needs_approval=False, dry_run=False) == []  # nobody needed: nothing to fail


def test_unknown_pool_kinds_are_refused_at_parse():
    from airflow.sdk import DAG

    from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

    with DAG("ks_bad", schedule=None), pytest.raises(ValueError, match="unknown target kinds"):
        kill_switch_task_group(targets=[], one_task_per_target=True, pools={"mailgun": "p"})
