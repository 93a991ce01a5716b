"""PeriskopeHook, its operators and sensor against requests-mock (plus one async read against the sandbox)."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import jinja2
import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
from airflow_provider_cancel.hooks.periskope import (
    PeriskopeHook,
    PurgeAllUnanswered,
    purge_request,
)
from airflow_provider_cancel.operators.periskope import (
    DELETE_RECORD_KEY,
    PeriskopeCancelBroadcastOperator,
    PeriskopePurgeQueueOperator,
    PurgeAllRetryRefused,
)
from airflow_provider_cancel.sensors.periskope import PeriskopeBroadcastStatusSensor
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.validation import InvalidCancelRequest

BASE = "https://periskope.test/v1"
BID = "b25192d5-2370-4a69-b844-aae5e2bfae92"
DELETE = f"{BASE}/message/broadcast/{BID}"
STATUS = f"{BASE}/queue/broadcast?broadcast_id={BID}"
PURGE = f"{BASE}/message/queues/purge"
PHONE = "919874532456"
KEY = "pk_unit_test_key_123"
NOT_FOUND = {"status": "NOT_FOUND_ERROR", "message": "Not found", "code": 404}
STOPPED = {"broadcast_id": BID, "status": "stopped"}
CONFLICT = {"status": "CONFLICT_ERROR", "message": "Broadcast is already stopped", "code": 409}


class FakeTaskStateStore:
    """Airflow 3.3's ``context["task_state_store"]``: one task instance's keys, shared by all its tries."""

    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, *, retention=None):
        assert value is not None
        self.data[key] = json.loads(json.dumps(value))  # JSON only, as the real store


def context(try_number: int = 1, store: FakeTaskStateStore | None = None, max_tries: int | None = None) -> dict:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=try_number)
    if max_tries is not None:
        ti.max_tries = max_tries
    ctx: dict = {"ti": ti}
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


def status_body(raw, **extra) -> dict:
    return {"broadcast_id": BID, "org_id": "org_1", "total_chats": 10, "sent_chats": 4, "failed_chats": 0,
            "pending_chats": 6, "scheduled_at": None, "broadcast_status": raw, "logs": [], **extra}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone=PHONE)


# ------------------------------------------------------------------ cancel: every documented answer
def test_200_deleted_is_cancelled_and_sends_bearer_and_x_phone(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "deleted"
    assert result.target == {"broadcast_id": BID}
    sent = requests_mock.last_request
    assert sent.method == "DELETE" and sent.body is None
    assert sent.headers["Authorization"] == f"Bearer {KEY}" and sent.headers["x-phone"] == PHONE


@pytest.mark.parametrize("raw", ["stopped", "STOPPED", "Stopped"])
def test_200_stopped_any_case_is_cancelled(requests_mock, raw):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": raw})
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "stopped"


def test_409_on_a_stopped_broadcast_is_already_stopped_with_the_read_back(requests_mock):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body("stopped", sent_chats=4, pending_chats=0))
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.ALREADY_STOPPED and result.vendor_status == "stopped"
    assert result.detail["conflict"] == "Broadcast is already stopped" and result.detail["sent_chats"] == 4
    assert [r.method for r in requests_mock.request_history] == ["DELETE", "GET"]  # never a second DELETE


@pytest.mark.parametrize(("raw", "sent", "word"), [("completed", 10, "completed"), ("Expired", 0, "expired")])
def test_409_on_a_broadcast_that_already_finished_fails_without_retries(requests_mock, raw, sent, word):
    # The issue calls every 409 `already_stopped`; the project rule wins: a finished campaign fails, clearly.
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body(raw, sent_chats=sent, pending_chats=0))
    with pytest.raises(CampaignFinishedError) as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert f"broadcast '{BID}' had already {word} (sent {sent}/10 chats) before the cancel; nothing was stopped" in str(
        err.value)
    assert isinstance(err.value, AirflowFailException)  # no task retry: nothing can change it
    assert [r.method for r in requests_mock.request_history] == ["DELETE", "GET"]


def test_409_with_a_404_read_back_is_already_stopped(requests_mock):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, status_code=404, json=NOT_FOUND)
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.ALREADY_STOPPED and result.vendor_status is None


def test_409_stays_a_success_when_the_deprecated_status_read_fails(requests_mock):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, status_code=410, json={"status": "GONE_ERROR", "message": "Deprecated", "code": 410})
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.ALREADY_STOPPED and result.vendor_status is None


def test_404_is_a_clear_not_found_failure_without_retries(requests_mock, no_sleep):
    requests_mock.delete(DELETE, status_code=404, json=NOT_FOUND)
    with pytest.raises(VendorAPIError, match="not found, or does not belong to the organisation") as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert err.value.status_code == 404 and requests_mock.call_count == 1


def test_401_propagates_once_and_never_holds_the_key(requests_mock, no_sleep):
    body = {"status": "UNAUTHORIZED_ERROR", "message": "Invalid API key", "code": 401}
    requests_mock.delete(DELETE, status_code=401, json=body)
    with pytest.raises(VendorAPIError) as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert err.value.status_code == 401 and "Invalid API key" in str(err.value)
    assert KEY not in str(err.value) and requests_mock.call_count == 1


def test_422_validation_shape_names_the_fields(requests_mock):
    body = {"code": "VALIDATION_ERROR", "fields": {"broadcast_id": "must be a uuid"}}
    requests_mock.delete(DELETE, status_code=422, json=body)
    with pytest.raises(VendorAPIError) as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert err.value.code == "VALIDATION_ERROR" and "broadcast_id: must be a uuid" in err.value.message


def test_5xx_on_delete_is_retried_and_the_retry_answer_counts(requests_mock, no_sleep):
    requests_mock.delete(DELETE, [{"status_code": 503, "json": {}}, {"json": STOPPED}])
    assert PeriskopeHook().cancel_broadcast(BID).vendor_status == "stopped"
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("lost", [requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError])
def test_404_after_a_read_timeout_or_dropped_connection_is_inferred_deleted_and_logged(
    requests_mock, no_sleep, capsys, lost
):
    # The first DELETE went out and plausibly reached Periskope, but no answer came back; the repeat finds nothing.
    requests_mock.delete(DELETE, [{"exc": lost}, {"status_code": 404, "json": {}}])
    result = PeriskopeHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "deleted"
    assert "read timeout or dropped connection" in result.detail["inferred"]
    assert "INFERRED deleted" in capsys.readouterr().out


@pytest.mark.parametrize("gateway", [502, 503, 504])
def test_404_after_a_gateway_5xx_is_not_found_and_says_the_5xx_may_hide_a_delete(requests_mock, no_sleep, gateway):
    # A gateway 5xx may never have reached Periskope: the 404 may be about the id, so no inference.
    requests_mock.delete(DELETE, [{"status_code": gateway, "json": {}}, {"status_code": 404, "json": {}}])
    with pytest.raises(VendorAPIError, match="not found, or does not belong") as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert f"got HTTP {gateway} and no answer" in str(err.value) and "check the Periskope dashboard" in str(err.value)
    assert requests_mock.call_count == 2


def test_404_after_a_429_is_still_not_found(requests_mock, no_sleep):
    # 429 means Periskope refused before acting, so the 404 is about the id.
    requests_mock.delete(DELETE, [{"status_code": 429, "json": {}}, {"status_code": 404, "json": {}}])
    with pytest.raises(VendorAPIError, match="not found"):
        PeriskopeHook().cancel_broadcast(BID)


def test_broadcast_id_is_one_quoted_path_segment(requests_mock):
    requests_mock.delete(f"{BASE}/message/broadcast/..%2Fqueue", json={"broadcast_id": "../queue", "status": "deleted"})
    PeriskopeHook().cancel_broadcast("../queue")
    assert requests_mock.called


# ------------------------------------------------------------------ the connection's phone
@pytest.mark.parametrize(
    ("phone", "hint"),
    [("+91 98745 32456", "'919874532456'"), ("+91-98745-32456", "'919874532456'"), ("98745", ""), ("phone 1", "")],
)
def test_malformed_phone_is_refused_before_any_http_and_says_how_to_write_it(requests_mock, set_conn, phone, hint):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone=phone)
    with pytest.raises(InvalidCancelRequest) as err:
        PeriskopeHook().cancel_broadcast(BID)
    message = str(err.value)
    assert "'phone'" in message and "digits only" in message and hint in message
    assert isinstance(err.value, AirflowFailException)  # a task retry cannot fix a connection typo
    assert not requests_mock.called


@pytest.mark.parametrize("phone", [PHONE, int(PHONE), "phone-abc_123"])
def test_wellformed_phone_forms_are_sent_as_given(requests_mock, set_conn, phone):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone=phone)
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    PeriskopeHook().cancel_broadcast(BID)
    assert requests_mock.last_request.headers["x-phone"] == str(phone)


def test_no_phone_sends_no_x_phone_header(requests_mock, set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY)
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    PeriskopeHook().cancel_broadcast(BID)
    assert "x-phone" not in requests_mock.last_request.headers


def test_operator_with_malformed_phone_fails_without_http(requests_mock, set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone="+91 98745 32456")
    with pytest.raises(InvalidCancelRequest, match="919874532456"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())
    assert not requests_mock.called


def test_test_connection_uses_read_only_queue_health(requests_mock):
    health = {"active": 0, "completed": 3, "failed": 0, "is_running": True, "pending": 0}
    requests_mock.get(f"{BASE}/queue", json=health)
    ok, message = PeriskopeHook().test_connection()
    assert ok and "Periskope" in message and requests_mock.last_request.method == "GET"


def test_test_connection_reports_a_malformed_phone(requests_mock, set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone="+91 98745 32456")
    ok, message = PeriskopeHook().test_connection()
    assert not ok and "digits only" in message and not requests_mock.called


# ------------------------------------------------------------------ status mapping
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        (None, CampaignState.SCHEDULED),
        ("inprogress", CampaignState.ACTIVE),
        ("INPROGRESS", CampaignState.ACTIVE),
        ("InProgress", CampaignState.ACTIVE),
        ("in-progress", CampaignState.ACTIVE),
        ("completed", CampaignState.COMPLETED),
        ("Completed", CampaignState.COMPLETED),
        ("stopped", CampaignState.CANCELLED),
        ("STOPPED", CampaignState.CANCELLED),
        ("expired", CampaignState.FAILED),
        ("warp-speed", CampaignState.UNKNOWN),
    ],
)
def test_status_mapping(requests_mock, raw, state):
    requests_mock.get(STATUS, json=status_body(raw))
    status = PeriskopeHook().get_status(broadcast_id=BID)
    assert status.state is state and status.raw_status == raw
    assert status.extra["sent_chats"] == 4 and status.detail == "sent 4/10 chats"
    assert requests_mock.last_request.qs == {"broadcast_id": [BID]}


def test_terminal_set_is_completed_stopped_expired():
    from airflow_provider_cancel.hooks.periskope import PERISKOPE_STATES

    documented = ("inprogress", "completed", "stopped", "expired", None)
    terminal = {raw for raw in documented if PERISKOPE_STATES[raw].is_terminal}
    assert terminal == {"completed", "stopped", "expired"}


def test_missing_broadcast_status_field_is_unknown_not_scheduled(requests_mock):
    requests_mock.get(STATUS, json={"broadcast_id": BID})
    assert PeriskopeHook().get_status(broadcast_id=BID).state is CampaignState.UNKNOWN


def test_a_list_of_rows_is_tolerated_and_the_matching_row_used(requests_mock):
    other = dict(status_body("completed"), broadcast_id="other")
    requests_mock.get(STATUS, json=[other, status_body("stopped")])
    assert PeriskopeHook().get_status(broadcast_id=BID).state is CampaignState.CANCELLED


def test_404_after_our_delete_means_cancelled(requests_mock):
    requests_mock.get(STATUS, status_code=404, json=NOT_FOUND)
    status = PeriskopeHook().get_status(broadcast_id=BID, cancel_status="deleted")
    assert status.state is CampaignState.CANCELLED and "deleted" in status.detail


def test_404_otherwise_is_a_clear_failure(requests_mock):
    requests_mock.get(STATUS, status_code=404, json=NOT_FOUND)
    with pytest.raises(VendorAPIError, match="not found, or does not belong"):
        PeriskopeHook().get_status(broadcast_id=BID)
    with pytest.raises(VendorAPIError, match="not found"):
        PeriskopeHook().get_status(broadcast_id=BID, cancel_status="stopped")


# ------------------------------------------------------------------ cancel operator
@pytest.mark.parametrize("bad", [None, "", "   "])
def test_operator_refuses_a_missing_broadcast_id_before_any_http(requests_mock, bad):
    with pytest.raises(InvalidCancelRequest, match="broadcast_id is required"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=bad).execute(context())
    assert not requests_mock.called


def test_operator_constructor_does_no_connection_lookup(monkeypatch):
    monkeypatch.setattr(PeriskopeHook, "get_connection", lambda *a, **k: pytest.fail("looked up a connection"))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id="{{ params.id }}")
    assert op.template_fields == ("broadcast_id",)


def test_operator_returns_the_json_result(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    result = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())
    assert result == {"vendor": "periskope", "target": {"broadcast_id": BID}, "outcome": "cancelled",
                      "vendor_status": "stopped", "detail": {"broadcast_id": BID}}
    json.dumps(result)


def test_retried_task_repeats_the_same_delete_and_succeeds_as_already_stopped(requests_mock):
    requests_mock.delete(DELETE, [{"json": STOPPED}, {"status_code": 409, "json": CONFLICT}])
    requests_mock.get(STATUS, json=status_body("stopped"))
    first = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context(try_number=1))
    second = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context(try_number=2))
    assert (first["outcome"], second["outcome"]) == ("cancelled", "already_stopped")
    assert {r.path for r in requests_mock.request_history if r.method == "DELETE"} == {f"/v1/message/broadcast/{BID}"}


def test_operator_404_fails_the_task_without_retries(requests_mock):
    requests_mock.delete(DELETE, status_code=404, json={})
    with pytest.raises(AirflowFailException, match="not found, or does not belong"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())


def test_deleted_then_wait_confirms_by_404_without_deferring(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    requests_mock.get(STATUS, status_code=404, json={})
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    result = op.execute(context())
    assert result["final_status"]["state"] == "cancelled" and result["vendor_status"] == "deleted"


def test_stopped_but_still_settling_defers_with_the_target(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    requests_mock.get(STATUS, json=status_body("inprogress"))
    op = PeriskopeCancelBroadcastOperator(
        task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True, poll_interval=2, wait_timeout=60
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.target == {"broadcast_id": BID}
    assert trigger.hook_class == "airflow_provider_cancel.hooks.periskope.PeriskopeHook"
    assert exc.value.timeout == timedelta(seconds=60)
    assert KEY not in json.dumps(trigger.serialize()[1]) and PHONE not in json.dumps(trigger.serialize()[1])


def test_status_target_tells_the_trigger_about_our_delete():
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID)
    from airflow_provider_cancel.status import CancelResult

    deleted = CancelResult("periskope", {"broadcast_id": BID}, CancelOutcome.CANCELLED, "deleted")
    stopped = CancelResult("periskope", {"broadcast_id": BID}, CancelOutcome.CANCELLED, "stopped")
    assert op.status_target(deleted) == {"broadcast_id": BID, "cancel_status": "deleted"}
    assert op.status_target(stopped) == {"broadcast_id": BID}


@pytest.mark.parametrize("wait", [True, False])
def test_409_on_a_completed_broadcast_fails_the_task_with_or_without_the_wait(requests_mock, wait):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body("completed", sent_chats=10, pending_chats=0))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=wait, deferrable=True)
    with pytest.raises(CampaignFinishedError, match=r"had already completed \(sent 10/10 chats\) before the cancel; "
                                                    "nothing was stopped"):
        op.execute(context())
    assert [r.method for r in requests_mock.request_history] == ["DELETE", "GET"]  # no deferral, no second DELETE


def test_409_on_a_stopped_broadcast_then_waiting_succeeds(requests_mock):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body("stopped"))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    result = op.execute(context())
    assert result["outcome"] == "already_stopped" and result["final_status"]["state"] == "cancelled"


# ------------------------------------------------------------------ a task retry after our own delete
def failing_status_reads(requests_mock, then: dict) -> None:
    """Status reads that fail for the whole first try (5 attempts), then ``then``."""
    requests_mock.get(STATUS, [{"status_code": 503, "json": {}}] * 5 + [then])


def test_retry_after_our_delete_and_a_failed_wait_reports_deleted_not_not_found(requests_mock, no_sleep, capsys):
    store = FakeTaskStateStore()
    requests_mock.delete(DELETE, [{"json": {"broadcast_id": BID, "status": "deleted"}}, {"status_code": 404, "json": {}}])
    failing_status_reads(requests_mock, {"status_code": 404, "json": {}})
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False,
                                          retries=2)
    with pytest.raises(VendorAPIError) as first:  # try 1: deleted, then the wait's status read failed
        op.execute(context(try_number=1, store=store))
    assert not isinstance(first.value, AirflowFailException)  # retryable
    assert store.data[DELETE_RECORD_KEY]["delete"] == "deleted"
    again = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False,
                                             retries=2)
    result = again.execute(context(try_number=2, store=store))  # try 2: its DELETE gets 404
    assert (result["outcome"], result["vendor_status"]) == ("cancelled", "deleted")
    assert "earlier_try" in result["detail"] and result["final_status"]["state"] == "cancelled"
    assert "an earlier try of this task deleted it" in capsys.readouterr().out
    assert [r.method for r in requests_mock.request_history].count("DELETE") == 2


def test_retry_after_an_unanswered_delete_that_reached_periskope_is_inferred_deleted(requests_mock, no_sleep):
    store = FakeTaskStateStore()
    requests_mock.delete(DELETE, [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 404, "json": {}}])
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retry_limit=1, retries=2)
    with pytest.raises(VendorAPIError):
        op.execute(context(try_number=1, store=store))
    assert store.data[DELETE_RECORD_KEY]["delete"] == "unanswered"
    result = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
        context(try_number=2, store=store))
    assert result["vendor_status"] == "deleted" and "inferred" in result["detail"]


def test_retry_after_a_gateway_5xx_on_delete_is_still_not_found(requests_mock, no_sleep):
    store = FakeTaskStateStore()
    requests_mock.delete(DELETE, [{"status_code": 504, "json": {}}, {"status_code": 404, "json": {}}])
    with pytest.raises(VendorAPIError):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retry_limit=1, retries=2).execute(
            context(try_number=1, store=store))
    assert DELETE_RECORD_KEY not in store.data
    with pytest.raises(AirflowFailException, match="not found, or does not belong"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
            context(try_number=2, store=store))


def test_the_record_is_only_for_the_same_broadcast(requests_mock):
    store = FakeTaskStateStore()
    store.set(DELETE_RECORD_KEY, {"broadcast_id": "another", "delete": "deleted", "try_number": 1})
    requests_mock.delete(DELETE, status_code=404, json={})
    with pytest.raises(AirflowFailException, match="not found"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
            context(try_number=2, store=store))


def test_retry_without_a_task_state_store_fails_not_found_with_a_hint(requests_mock):
    # Airflow < 3.3 has no task state store, and XCom is cleared when a new try starts.
    requests_mock.delete(DELETE, status_code=404, json={})
    with pytest.raises(AirflowFailException, match="not found.*an earlier try deleted the broadcast"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(context(try_number=2))


def test_a_store_that_fails_never_fails_the_cancel(requests_mock):
    class Broken:
        def get(self, *a, **k):
            raise RuntimeError("store down")

        def set(self, *a, **k):
            raise RuntimeError("store down")

    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    ctx = {**context(), "task_state_store": Broken()}
    assert PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(ctx)["vendor_status"] == "deleted"


def test_non_deferrable_wait_polls_until_stopped(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    requests_mock.get(STATUS, [{"json": status_body("inprogress")}, {"json": status_body("Stopped")}])
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False)
    assert op.execute(context())["final_status"]["raw_status"] == "Stopped"


# ------------------------------------------------------------------ sensor
def test_sensor_waits_through_null_and_inprogress_then_succeeds_on_stopped(requests_mock):
    requests_mock.get(STATUS, [{"json": status_body(raw)} for raw in (None, "inprogress", "STOPPED")])
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID)
    assert [sensor.poke(context()).is_done for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize("cancel_status", ["deleted", "Deleted"])
def test_sensor_404_after_deleted_is_done(requests_mock, cancel_status):
    requests_mock.get(STATUS, status_code=404, json={})
    done = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, cancel_status=cancel_status).poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


@pytest.mark.parametrize("cancel_status", [None, "None", "", "stopped"])
def test_sensor_404_without_our_delete_fails_without_retries(requests_mock, cancel_status):
    requests_mock.get(STATUS, status_code=404, json={})
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, cancel_status=cancel_status)
    with pytest.raises(AirflowFailException, match="not found"):
        sensor.poke(context())


@pytest.mark.parametrize("raw", ["completed", "expired"])
def test_sensor_fails_at_once_when_it_ended_another_way(requests_mock, raw):
    requests_mock.get(STATUS, json=status_body(raw))
    with pytest.raises(CampaignFinishedError, match=raw):
        PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID).poke(context())
    terminal = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, target_state="terminal")
    assert terminal.poke(context()).is_done


def test_sensor_deferrable_pokes_once_then_defers_with_cancel_status(requests_mock):
    requests_mock.get(STATUS, json=status_body("inprogress"))
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, cancel_status="deleted", deferrable=True,
                                            timeout=90, poke_interval=3)
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert exc.value.trigger.target == {"broadcast_id": BID, "cancel_status": "deleted"}
    assert exc.value.timeout == timedelta(seconds=90) and requests_mock.call_count == 1


def test_sensor_template_fields():
    assert set(PeriskopeBroadcastStatusSensor.template_fields) == {"broadcast_id", "cancel_status"}


# ------------------------------------------------------------------ purge operator
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "empty purge request empties the whole"),
        ({"broadcast_id": "", "queue_ids": ""}, "empty purge request empties the whole"),
        ({"queue_ids": []}, "non-empty list"),
        ({"broadcast_id": BID, "queue_ids": ["q1"]}, "not both"),
        ({"purge_all": True, "broadcast_id": BID}, "do not combine"),
        ({"purge_all": "true"}, "True or False"),
        ({"purge_all": 1}, "True or False"),
    ],
)
def test_purge_refuses_anything_ambiguous_before_any_http(requests_mock, kwargs, match):
    with pytest.raises(InvalidCancelRequest, match=match):
        PeriskopePurgeQueueOperator(task_id="p", **kwargs).execute(context())
    assert not requests_mock.called


def test_purge_by_broadcast(requests_mock):
    requests_mock.post(PURGE, json={"purged": 6, "mode": "broadcast", "queue_ids": ["q1", "q2"]})
    result = PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID).execute(context())
    assert requests_mock.last_request.json() == {"broadcast_id": BID}
    assert result["outcome"] == "cancelled" and result["detail"]["purged"] == 6
    assert result["target"] == {"mode": "broadcast", "broadcast_id": BID}


def test_purge_queue_ids_from_a_rendered_comma_string(requests_mock):
    requests_mock.post(PURGE, json={"purged": 0, "mode": "queue_ids", "queue_ids": []})
    result = PeriskopePurgeQueueOperator(task_id="p", queue_ids="q1, q2").execute(context())
    assert requests_mock.last_request.json() == {"queue_ids": ["q1", "q2"]}
    assert result["outcome"] == "nothing_to_cancel"


def test_purge_all_with_the_opt_in_sends_the_empty_body(requests_mock):
    requests_mock.post(PURGE, json={"purged": 9, "mode": "all", "queue_ids": []})
    result = PeriskopePurgeQueueOperator(task_id="p", purge_all=True).execute(context())
    assert requests_mock.last_request.json() == {} and result["detail"]["purged"] == 9


@pytest.mark.parametrize(
    "answer",
    [{"status_code": 503, "json": {}}, {"status_code": 500, "json": {}}, {"exc": requests.exceptions.ReadTimeout},
     {"exc": requests.exceptions.ConnectionError}],
)
def test_an_unanswered_purge_all_fails_for_good_and_tells_on_call_to_check_the_queue(requests_mock, no_sleep, answer):
    requests_mock.post(PURGE, [answer, {"json": {"purged": 9, "mode": "all"}}])
    with pytest.raises(PurgeAllUnanswered) as err:
        PeriskopePurgeQueueOperator(task_id="p", purge_all=True, retries=3).execute(context())
    assert isinstance(err.value, AirflowFailException)  # no task retry re-sends it
    assert "MAY OR MAY NOT have purged" in str(err.value) and "check the Periskope queue" in str(err.value)
    assert requests_mock.call_count == 1 and requests_mock.last_request.json() == {}  # never repeated by the hook


def test_a_purge_all_that_could_not_connect_says_nothing_was_purged(requests_mock, no_sleep):
    from urllib3.exceptions import NewConnectionError

    refused = requests.exceptions.ConnectionError(NewConnectionError(None, "refused"))
    requests_mock.post(PURGE, exc=refused)
    with pytest.raises(PurgeAllUnanswered, match="was not sent.*Nothing was purged"):
        PeriskopeHook(retry_limit=2).purge_queue(purge_all=True)


def test_a_purge_all_4xx_is_not_called_unanswered(requests_mock):
    requests_mock.post(PURGE, status_code=422, json={"code": "VALIDATION_ERROR", "fields": {"body": "bad"}})
    with pytest.raises(VendorAPIError) as err:
        PeriskopeHook().purge_queue(purge_all=True)
    assert not isinstance(err.value, PurgeAllUnanswered)


@pytest.mark.parametrize("max_tries", [None, 2])
def test_an_automatic_retry_refuses_to_resend_a_purge_all(requests_mock, max_tries):
    requests_mock.post(PURGE, json={"purged": 9, "mode": "all"})
    op = PeriskopePurgeQueueOperator(task_id="p", purge_all=True, retries=2)
    with pytest.raises(PurgeAllRetryRefused, match="Not re-sending the Periskope purge-all on automatic retry"):
        op.execute(context(try_number=2, max_tries=max_tries))
    assert not requests_mock.called


def test_the_first_try_after_a_clear_sends_the_purge_all(requests_mock):
    # Cleared once: max_tries = 3 + 2, and try 4 is the clear's first try (a fresh start).
    requests_mock.post(PURGE, json={"purged": 9, "mode": "all"})
    PeriskopePurgeQueueOperator(task_id="p", purge_all=True, retries=2).execute(context(try_number=4, max_tries=5))
    assert requests_mock.call_count == 1


def test_resend_purge_all_on_retry_lets_a_retry_send_it(requests_mock):
    requests_mock.post(PURGE, json={"purged": 3, "mode": "all"})
    op = PeriskopePurgeQueueOperator(task_id="p", purge_all=True, resend_purge_all_on_retry=True, retries=2)
    assert op.execute(context(try_number=2))["detail"]["purged"] == 3


def test_a_targeted_purge_is_resent_on_retry(requests_mock):
    requests_mock.post(PURGE, json={"purged": 2, "mode": "broadcast"})
    PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID, retries=2).execute(context(try_number=2))
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("flag", ["true", 1, "{{ params.resend }}"])
def test_resend_purge_all_on_retry_must_be_a_literal_bool(requests_mock, flag):
    with pytest.raises(InvalidCancelRequest, match="resend_purge_all_on_retry must be True or False"):
        PeriskopePurgeQueueOperator(task_id="p", purge_all=True, resend_purge_all_on_retry=flag).execute(context())
    assert not requests_mock.called


def test_targeted_purge_is_retried_after_a_5xx(requests_mock, no_sleep):
    requests_mock.post(PURGE, [{"status_code": 503, "json": {}}, {"json": {"purged": 2, "mode": "broadcast"}}])
    assert PeriskopeHook().purge_queue(broadcast_id=BID).detail["purged"] == 2


def test_purge_fails_loudly_if_periskope_purged_more_than_asked(requests_mock):
    requests_mock.post(PURGE, json={"purged": 40, "mode": "all", "queue_ids": []})
    with pytest.raises(AirflowFailException, match="reports mode 'all'"):
        PeriskopeHook().purge_queue(broadcast_id=BID)


def test_purge_template_fields_exclude_the_opt_in():
    assert set(PeriskopePurgeQueueOperator.template_fields) == {"broadcast_id", "queue_ids"}


@pytest.mark.parametrize(
    "template", ["{{ ids }}", "{{ ids | tojson }}", "{{ ids | join(',') }}", "{{ ids | join(', ') }}", "{{ ids | list }}"]
)
def test_queue_ids_rendered_by_jinja_are_read_as_the_list(requests_mock, template):
    # "{{ params.queue_ids }}" renders a Python list as text: ['q1', 'q2'] (it used to become "['q1'", "'q2']").
    rendered = jinja2.Environment().from_string(template).render(ids=["q1", "q2"])
    requests_mock.post(PURGE, json={"purged": 2, "mode": "queue_ids", "queue_ids": ["q1", "q2"]})
    PeriskopePurgeQueueOperator(task_id="p", queue_ids=rendered).execute(context())
    assert requests_mock.last_request.json() == {"queue_ids": ["q1", "q2"]}


@pytest.mark.parametrize("empty", ["[]", " [ ] ", "()", ""])
def test_an_empty_rendered_list_means_not_given(requests_mock, empty):
    requests_mock.post(PURGE, json={"purged": 1, "mode": "broadcast"})
    PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID, queue_ids=empty).execute(context())
    assert requests_mock.last_request.json() == {"broadcast_id": BID}


@pytest.mark.parametrize(
    ("queue_ids", "match"),
    [
        ("['q1', 'q2'", "looks like a list but cannot be read"),
        ("'q1', 'q2'", "neither a list nor comma-separated ids"),
        ('{"q1": 1}', "neither a list nor comma-separated ids"),
        ("q1 q2", "neither a list nor comma-separated ids"),
        ("[['q1']]", "flat list"),
        ('["q1", ""]', "queue_ids\\[\\] is required"),
        ("[\"['q1'\"]", "not an id"),
        (["['q1'", "'q2']"], "not an id"),
        ("[1.5]", "queue_ids\\[\\] is required"),
        ("{'a', 'b'}", "neither a list nor comma-separated ids"),
    ],
)
def test_queue_ids_that_are_neither_a_list_nor_ids_are_refused_before_any_http(requests_mock, queue_ids, match):
    with pytest.raises(InvalidCancelRequest, match=match):
        PeriskopePurgeQueueOperator(task_id="p", queue_ids=queue_ids).execute(context())
    assert not requests_mock.called


def test_purge_request_reads_json_python_and_comma_forms_alike():
    expected = ({"queue_ids": ["q1", "q2"]}, "queue_ids")
    for text in ('["q1", "q2"]', "['q1', 'q2']", "('q1', 'q2')", "q1,q2", " q1 , q2 ,"):
        assert purge_request(None, text, False) == expected, text


# ------------------------------------------------------------------ async read, against the real sandbox
async def test_async_status_read_against_the_sandbox(sandbox_conn):
    sb = sandbox_conn
    sb.admin("POST", "/config", {"periskope": {"status_case": "upper"}})
    (b,) = sb.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "inprogress", "delay": 60}]})["broadcasts"]
    hook = PeriskopeHook()
    async with hook.async_session():
        status = await hook.aget_status(broadcast_id=b["id"])
    assert status.state is CampaignState.ACTIVE and status.raw_status == "INPROGRESS"
    (read,) = sb.admin("GET", "/periskope/state")["status_reads"]
    assert read["x_phone"] == PHONE and "aiohttp" in read["user_agent"]


def test_purge_by_broadcast_with_the_example_dags_empty_rendered_queue_ids(requests_mock):
    requests_mock.post(PURGE, json={"purged": 1, "mode": "broadcast", "queue_ids": ["q1"]})
    PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID, queue_ids="").execute(context())
    assert requests_mock.last_request.json() == {"broadcast_id": BID}


# ------------------------------------------------------------------ lost answers, against the real sandbox
@pytest.fixture
def sandbox_conn(set_conn):
    from airflow_provider_cancel.sandbox import SandboxServer

    with SandboxServer() as sb:
        set_conn("periskope_default", "periskope", sb.vendor_url("periskope"), password="pk_sandbox_key", phone=PHONE)
        yield sb


def test_delete_done_but_answer_lost_in_a_gateway_504_is_not_inferred(sandbox_conn, no_sleep):
    # The sandbox deletes, then answers 504 (gateway). A 504 is not proof the request reached Periskope,
    # so the repeat's 404 fails as not found, and the message says the 504 may have hidden a delete.
    (b,) = sandbox_conn.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "scheduled"}],
                                                           "lose_next_delete_answers": 1})["broadcasts"]
    with pytest.raises(VendorAPIError, match="not found.*got HTTP 504 and no answer.*check the Periskope dashboard"):
        PeriskopeHook().cancel_broadcast(b["id"])
    calls = sandbox_conn.admin("GET", "/periskope/state")["cancel_calls"]
    assert [(c["status_code"], c["result"]) for c in calls] == [(504, "deleted"), (404, "not_found")]


def test_retry_after_delete_then_failing_status_reads_against_the_sandbox(sandbox_conn, no_sleep):
    # Try 1 deletes, then every status read of the wait fails (503); try 2's DELETE answers 404.
    (b,) = sandbox_conn.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "scheduled"}],
                                                           "fail_next_status_reads": 5})["broadcasts"]
    store = FakeTaskStateStore()

    def op():
        return PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=b["id"], wait_for_completion=True,
                                                deferrable=False, retries=2)

    with pytest.raises(VendorAPIError, match="HTTP 503"):
        op().execute(context(try_number=1, store=store))
    result = op().execute(context(try_number=2, store=store))
    assert (result["outcome"], result["vendor_status"], result["final_status"]["state"]) == (
        "cancelled", "deleted", "cancelled")
    calls = sandbox_conn.admin("GET", "/periskope/state")["cancel_calls"]
    assert [(c["status_code"], c["result"]) for c in calls] == [(200, "deleted"), (404, "not_found")]


def test_dropped_connection_before_acting_is_retried_to_the_real_answer(sandbox_conn, no_sleep):
    seeded = sandbox_conn.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "inprogress", "delay": 60}]})
    (b,) = seeded["broadcasts"]
    sandbox_conn.admin("POST", "/periskope/faults", {"drop_next": 1})
    result = PeriskopeHook().cancel_broadcast(b["id"])
    assert (result.outcome, result.vendor_status) == (CancelOutcome.CANCELLED, "stopped")
    outcomes = [r["outcome"] for r in sandbox_conn.admin("GET", "/requests?vendor=periskope")["requests"]]
    assert outcomes == ["dropped", "handled"]
