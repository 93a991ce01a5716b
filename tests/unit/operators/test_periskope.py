"""The Periskope operators: cancel a broadcast (policy, waiting, memory across tries) and purge the queue."""

from __future__ import annotations

import json
from datetime import timedelta

import jinja2
import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.periskope import PeriskopeHook, PurgeAllUnanswered
from airflow_provider_cancel.operators.periskope import (
    DELETE_RECORD_KEY,
    PeriskopeCancelBroadcastOperator,
    PeriskopePurgeQueueOperator,
    PurgeAllRetryRefused,
)
from airflow_provider_cancel.status import CancelOutcome, CancelResult
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from tests.unit.conftest import FakeTaskStateStore
from tests.unit.support.periskope import (
    BASE,
    BID,
    CONFLICT,
    DELETE,
    KEY,
    PHONE,
    PURGE,
    STATUS,
    STOPPED,
    UNANSWERED,
    context,
    set_default_conn,
    set_sandbox_conn,
    status_body,
)


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


# ------------------------------------------------------------------ construction, templating, connection
def test_operator_constructor_does_no_connection_lookup(monkeypatch):
    monkeypatch.setattr(PeriskopeHook, "get_connection", lambda *a, **k: pytest.fail("looked up a connection"))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id="{{ params.id }}")
    assert op.template_fields == ("broadcast_id", "periskope_conn_id", "dry_run_flag")


@pytest.mark.parametrize("cls", [PeriskopeCancelBroadcastOperator, PeriskopePurgeQueueOperator])
def test_periskope_conn_id_is_templated_and_is_the_connection_the_hook_uses(cls, set_conn, requests_mock):
    assert "periskope_conn_id" in cls.template_fields and cls.conn_id_field() == "periskope_conn_id"
    set_conn("pk_eu", "periskope", "https://eu.periskope.test/v1", password=KEY, phone=PHONE)
    requests_mock.delete(f"https://eu.periskope.test/v1/message/broadcast/{BID}", json=STOPPED)
    requests_mock.post("https://eu.periskope.test/v1/message/queues/purge", json={"purged": 1, "mode": "broadcast"})
    op = cls(task_id="t", broadcast_id="{{ params.b }}", periskope_conn_id="{{ params.conn }}")
    op.render_template_fields({"params": {"b": BID, "conn": "pk_eu"}}, jinja_env=jinja2.Environment())
    assert op.periskope_conn_id == op.resolved_conn_id == op.hook.conn_id == "pk_eu"
    assert op.execute(context())["outcome"] == "cancelled"
    assert requests_mock.call_count == 1 and requests_mock.last_request.url.startswith("https://eu.periskope.test/")


def test_default_connection_is_periskope_default():
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID)
    assert op.resolved_conn_id == op.hook.conn_id == "periskope_default"


# ------------------------------------------------------------------ cancel operator
@pytest.mark.parametrize("bad", [None, "", "   "])
def test_operator_refuses_a_missing_broadcast_id_before_any_http(requests_mock, bad):
    with pytest.raises(AirflowFailException, match="broadcast_id is required") as err:
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=bad).execute(context())
    assert isinstance(err.value.error, InvalidTarget) and err.value.error.fields == ["broadcast_id"]
    assert not requests_mock.called


def test_operator_with_malformed_phone_fails_without_http(requests_mock, set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone="+91 98745 32456")
    with pytest.raises(AirflowFailException, match="919874532456") as err:
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())
    assert isinstance(err.value.error, ConnectionConfigError)
    assert not requests_mock.called


def test_operator_returns_the_json_result(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    result = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())
    assert result == {
        "vendor": "periskope",
        "target": {"broadcast_id": BID},
        "outcome": "cancelled",
        "vendor_status": "stopped",
        "detail": {"broadcast_id": BID},
    }
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
    with pytest.raises(AirflowFailException, match="not found, or does not belong") as err:
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context())
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 404


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


def test_deleted_but_status_still_readable_defers_telling_the_trigger_about_our_delete(requests_mock):
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "deleted"})
    requests_mock.get(STATUS, json=status_body(None))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    assert exc.value.trigger.target == {"broadcast_id": BID, "cancel_status": "deleted"}


def test_status_target_tells_the_trigger_about_our_delete():
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID)
    deleted = CancelResult("periskope", {"broadcast_id": BID}, CancelOutcome.CANCELLED, "deleted")
    stopped = CancelResult("periskope", {"broadcast_id": BID}, CancelOutcome.CANCELLED, "stopped")
    assert op.status_target(deleted) == {"broadcast_id": BID, "cancel_status": "deleted"}
    assert op.status_target(stopped) == {"broadcast_id": BID}


@pytest.mark.parametrize("wait", [True, False])
def test_409_on_a_completed_broadcast_fails_the_task_with_or_without_the_wait(requests_mock, wait):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body("completed", sent_chats=10, pending_chats=0))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=wait, deferrable=True)
    with pytest.raises(
        AirflowFailException,
        match=r"had already completed \(sent 10/10 chats\) before the cancel; "
        "nothing was stopped",
    ) as err:
        op.execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)
    assert [r.method for r in requests_mock.request_history] == ["DELETE", "GET"]  # no deferral, no second DELETE


def test_409_on_a_stopped_broadcast_then_waiting_succeeds(requests_mock):
    requests_mock.delete(DELETE, status_code=409, json=CONFLICT)
    requests_mock.get(STATUS, json=status_body("stopped"))
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    result = op.execute(context())
    assert result["outcome"] == "already_stopped" and result["final_status"]["state"] == "cancelled"


def test_non_deferrable_wait_polls_until_stopped(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    requests_mock.get(STATUS, [{"json": status_body("inprogress")}, {"json": status_body("Stopped")}])
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False)
    assert op.execute(context())["final_status"]["raw_status"] == "Stopped"


def test_non_deferrable_wait_fails_at_once_when_the_broadcast_completes_instead(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.delete(DELETE, json={"broadcast_id": BID, "status": "stopped"})
    requests_mock.get(STATUS, [{"json": status_body("inprogress")}, {"json": status_body("completed")}])
    op = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False)
    with pytest.raises(AirflowFailException, match="ended without being cancelled") as err:
        op.execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


# ------------------------------------------------------------------ a task retry after our own delete
def failing_status_reads(requests_mock, then: dict) -> None:
    """Status reads that fail for the whole first try (5 attempts), then ``then``."""
    requests_mock.get(STATUS, [{"status_code": 503, "json": {}}] * 5 + [then])


def test_retry_after_our_delete_and_a_failed_wait_reports_deleted_not_not_found(requests_mock, no_sleep, capsys):
    store = FakeTaskStateStore()
    requests_mock.delete(
        DELETE, [{"json": {"broadcast_id": BID, "status": "deleted"}}, {"status_code": 404, "json": {}}]
    )
    failing_status_reads(requests_mock, {"status_code": 404, "json": {}})
    op = PeriskopeCancelBroadcastOperator(
        task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False, retries=2
    )
    with pytest.raises(VendorAPIError) as first:  # try 1: deleted, then the wait's status read failed
        op.execute(context(try_number=1, store=store))
    assert not isinstance(first.value, AirflowFailException)  # retryable
    assert store.data[DELETE_RECORD_KEY]["delete"] == "deleted"
    again = PeriskopeCancelBroadcastOperator(
        task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=False, retries=2
    )
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
        context(try_number=2, store=store)
    )
    assert result["vendor_status"] == "deleted" and "inferred" in result["detail"]


def test_an_earlier_attempt_that_may_have_acted_is_recorded_although_the_last_answered_5xx(requests_mock, no_sleep):
    # Attempt 1 times out after the DELETE went out; attempt 2 (same call) gets a 503. The raised error is the
    # 503, but its `attempts` show attempt 1 may have deleted: the operator records `unanswered`.
    store = FakeTaskStateStore()
    requests_mock.delete(
        DELETE,
        [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 503, "json": {}}, {"status_code": 404, "json": {}}],
    )
    with pytest.raises(VendorAPIError) as err:
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retry_limit=2, retries=2).execute(
            context(try_number=1, store=store)
        )
    assert err.value.status_code == 503 and [a.may_have_acted for a in err.value.attempts] == [True, False]
    assert store.data[DELETE_RECORD_KEY] == {"broadcast_id": BID, "delete": "unanswered", "try_number": 1}
    result = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
        context(try_number=2, store=store)
    )
    assert (result["outcome"], result["vendor_status"]) == ("cancelled", "deleted") and "inferred" in result["detail"]


def test_a_404_inferred_within_one_try_is_recorded_as_unanswered(requests_mock, no_sleep):
    store = FakeTaskStateStore()
    requests_mock.delete(DELETE, [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 404, "json": {}}])
    result = PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
        context(try_number=1, store=store)
    )
    assert result["vendor_status"] == "deleted" and "inferred" in result["detail"]
    assert store.data[DELETE_RECORD_KEY]["delete"] == "unanswered"  # not Periskope's own `deleted`


def test_retry_after_a_gateway_5xx_on_delete_is_still_not_found(requests_mock, no_sleep):
    store = FakeTaskStateStore()
    requests_mock.delete(DELETE, [{"status_code": 504, "json": {}}, {"status_code": 404, "json": {}}])
    with pytest.raises(VendorAPIError):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retry_limit=1, retries=2).execute(
            context(try_number=1, store=store)
        )
    assert DELETE_RECORD_KEY not in store.data
    with pytest.raises(AirflowFailException, match="not found, or does not belong"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
            context(try_number=2, store=store)
        )


def test_the_record_is_only_for_the_same_broadcast(requests_mock):
    store = FakeTaskStateStore()
    store.set(DELETE_RECORD_KEY, {"broadcast_id": "another", "delete": "deleted", "try_number": 1})
    requests_mock.delete(DELETE, status_code=404, json={})
    with pytest.raises(AirflowFailException, match="not found"):
        PeriskopeCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=2).execute(
            context(try_number=2, store=store)
        )


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
    with pytest.raises(AirflowFailException, match=match) as err:
        PeriskopePurgeQueueOperator(task_id="p", **kwargs).execute(context())
    assert isinstance(err.value.error, InvalidTarget)
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


@pytest.mark.parametrize("answer", UNANSWERED)
def test_an_unanswered_purge_all_fails_for_good_and_tells_on_call_to_check_the_queue(requests_mock, no_sleep, answer):
    requests_mock.post(PURGE, [answer, {"json": {"purged": 9, "mode": "all"}}])
    with pytest.raises(AirflowFailException) as err:
        PeriskopePurgeQueueOperator(task_id="p", purge_all=True, retries=3).execute(context())
    assert isinstance(err.value.error, PurgeAllUnanswered)  # no task retry re-sends it
    assert "MAY OR MAY NOT have purged" in str(err.value) and "check the Periskope queue" in str(err.value)
    assert requests_mock.call_count == 1 and requests_mock.last_request.json() == {}  # never repeated by the hook


def test_purge_that_reports_another_mode_fails_the_task_without_retries(requests_mock):
    requests_mock.post(PURGE, json={"purged": 40, "mode": "all", "queue_ids": []})
    with pytest.raises(AirflowFailException, match="reports mode 'all'") as err:
        PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID, retries=3).execute(context())
    assert isinstance(err.value.error, AmbiguousWriteError)


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
    with pytest.raises(AirflowFailException, match="resend_purge_all_on_retry must be True or False") as err:
        PeriskopePurgeQueueOperator(task_id="p", purge_all=True, resend_purge_all_on_retry=flag).execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_purge_template_fields_exclude_the_opt_in():
    assert set(PeriskopePurgeQueueOperator.template_fields) == {
        "broadcast_id",
        "queue_ids",
        "periskope_conn_id",
        "dry_run_flag",
    }
    assert not {"purge_all", "resend_purge_all_on_retry"} & set(PeriskopePurgeQueueOperator.template_fields)


@pytest.mark.parametrize(
    "template",
    ["{{ ids }}", "{{ ids | tojson }}", "{{ ids | join(',') }}", "{{ ids | join(', ') }}", "{{ ids | list }}"],
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
    with pytest.raises(AirflowFailException, match=match) as err:
        PeriskopePurgeQueueOperator(task_id="p", queue_ids=queue_ids).execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_purge_by_broadcast_with_the_example_dags_empty_rendered_queue_ids(requests_mock):
    requests_mock.post(PURGE, json={"purged": 1, "mode": "broadcast", "queue_ids": ["q1"]})
    PeriskopePurgeQueueOperator(task_id="p", broadcast_id=BID, queue_ids="").execute(context())
    assert requests_mock.last_request.json() == {"broadcast_id": BID}


# ------------------------------------------------------------------ against the real sandbox
@pytest.fixture
def sandbox_conn(sandbox, set_conn):
    return set_sandbox_conn(sandbox, set_conn)


def test_retry_after_delete_then_failing_status_reads_against_the_sandbox(sandbox_conn, no_sleep):
    # Try 1 deletes, then every status read of the wait fails (503); try 2's DELETE answers 404.
    (b,) = sandbox_conn.admin(
        "POST", "/periskope/seed", {"broadcasts": [{"status": "scheduled"}], "fail_next_status_reads": 5}
    )["broadcasts"]
    store = FakeTaskStateStore()

    def op():
        return PeriskopeCancelBroadcastOperator(
            task_id="t", broadcast_id=b["id"], wait_for_completion=True, deferrable=False, retries=2
        )

    with pytest.raises(VendorAPIError, match="HTTP 503"):
        op().execute(context(try_number=1, store=store))
    result = op().execute(context(try_number=2, store=store))
    assert (result["outcome"], result["vendor_status"], result["final_status"]["state"]) == (
        "cancelled",
        "deleted",
        "cancelled",
    )
    calls = sandbox_conn.admin("GET", "/periskope/state")["cancel_calls"]
    assert [(c["status_code"], c["result"]) for c in calls] == [(200, "deleted"), (404, "not_found")]
