"""The ``cancel_result`` XCom: kept while a cancel is deferred or its try failed, deleted once the task succeeded."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred, XCom

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.operators.arsel import ArselCancelCampaignOperator
from airflow_provider_cancel.operators.memory import CANCEL_RESULT_XCOM_KEY
from airflow_provider_cancel.operators.suprsend import SuprSendCancelWorkflowOperator
from airflow_provider_cancel.status import CampaignState, CampaignStatus
from tests.unit.conftest import FakeTI, make_context
from tests.unit.support import arsel, suprsend
from tests.unit.support.common import vendor_error_event

CANCELLED = CampaignStatus(
    "arsel", {"campaign_id": "c1", "channel": "email"}, CampaignState.CANCELLED, "cancelled"
).to_dict()


class XComTI(FakeTI):
    """A task instance whose XComs live in ``xcoms``; ``XCom.delete`` (patched) removes them from there."""


@pytest.fixture
def ti(monkeypatch) -> XComTI:
    ti = XComTI(dag_id="d", task_id="cancel", run_id="manual__1", map_index=2, try_number=1, xcoms={})
    deleted: list[dict] = []

    def delete(key, task_id, dag_id, run_id, map_index=None):
        assert (dag_id, task_id, run_id, map_index) == ("d", "cancel", "manual__1", 2)  # its own XCom only
        deleted.append({"key": key})
        ti.xcoms.pop(key, None)

    monkeypatch.setattr(XCom, "delete", delete)
    ti.deleted = deleted
    return ti


@pytest.fixture
def ctx(ti) -> dict:
    return {**make_context(task_id="cancel"), "ti": ti}


@pytest.fixture
def deferred(requests_mock, set_conn, ti, ctx) -> tuple[ArselCancelCampaignOperator, TaskDeferred]:
    """An Arsel cancel that went out and deferred: the campaign still reports ``sending``."""
    arsel.set_default_conn(set_conn)
    requests_mock.post(arsel.CANCEL, json={"id": "c1"})
    requests_mock.get(arsel.GET, json={"id": "c1", "status": "sending"})
    op = ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(ctx)
    return op, exc.value


def test_the_result_is_kept_in_xcom_while_deferred(deferred, ti):
    _, exc = deferred
    assert ti.xcoms[CANCEL_RESULT_XCOM_KEY] == exc.kwargs["result"] and ti.deleted == []


@pytest.mark.parametrize("defer_kwargs", [True, False], ids=["with-defer-kwargs", "event-only"])
def test_a_deferred_cancel_that_resumes_and_succeeds_leaves_only_its_return_value(deferred, ti, ctx, defer_kwargs):
    _, exc = deferred
    op = ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1", wait_for_completion=True, deferrable=True)
    kwargs = {"result": exc.kwargs["result"]} if defer_kwargs else {}  # `airflow dags test` drops them
    out = op.execute_complete(ctx, {"status": "success", "message": "ok", "campaign_status": CANCELLED}, **kwargs)
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert CANCEL_RESULT_XCOM_KEY not in ti.xcoms  # return_value holds the result now
    assert ti.deleted == [{"key": CANCEL_RESULT_XCOM_KEY}]


@pytest.mark.parametrize(
    ("event", "raised"),
    [
        (vendor_error_event("arsel", 401, "unauthorized"), AirflowFailException),
        (vendor_error_event("arsel", 503, "unavailable"), VendorAPIError),
    ],
)
def test_a_resumed_cancel_that_fails_keeps_the_record_of_what_it_sent(deferred, ti, ctx, event, raised):
    _, exc = deferred
    op = ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(raised):
        op.execute_complete(ctx, event)
    assert ti.xcoms[CANCEL_RESULT_XCOM_KEY] == exc.kwargs["result"] and ti.deleted == []


def test_a_cancel_that_never_pushed_a_result_deletes_nothing(requests_mock, set_conn, ti, ctx):
    arsel.set_default_conn(set_conn)
    requests_mock.post(arsel.CANCEL, json={"id": "c1"})
    assert ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1").execute(ctx)["outcome"] == "cancelled"
    assert ti.xcoms == {} and ti.deleted == []  # no extra XCom call on the common path


def test_a_recorded_cancel_that_succeeds_without_deferring_is_deleted_too(requests_mock, set_conn, ti, ctx):
    # SuprSend records a cancel that matched runs as soon as it returns (for a retry of a failed wait).
    suprsend.set_default_conn(set_conn)
    requests_mock.post(suprsend.WF_CANCEL, json={"execution_ids": ["dsl_1"]})
    op = SuprSendCancelWorkflowOperator(task_id="cancel", execution_id="dsl_1")
    assert op.execute(ctx)["detail"]["execution_ids"] == ["dsl_1"]
    assert CANCEL_RESULT_XCOM_KEY not in ti.xcoms and ti.deleted == [{"key": CANCEL_RESULT_XCOM_KEY}]


def test_a_failed_delete_never_fails_the_task(deferred, ti, ctx, monkeypatch):
    _, exc = deferred

    def broken(**kwargs):
        raise RuntimeError("execution API unavailable")

    monkeypatch.setattr(XCom, "delete", broken)
    op = ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1", wait_for_completion=True, deferrable=True)
    out = op.execute_complete(ctx, {"status": "success", "message": "ok", "campaign_status": CANCELLED})
    assert out["final_status"]["state"] == "cancelled" and CANCEL_RESULT_XCOM_KEY in ti.xcoms
