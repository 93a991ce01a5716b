"""SuprSendHook, the cancel operators, the settle logic and the sensor, against requests-mock."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.suprsend import (
    DEFAULT_SETTLE_SECONDS,
    MAX_WATCHED_EXECUTIONS,
    SuprSendHook,
    SuprSendNothingMatchedError,
    build_cancel_filters,
    floor_second,
    iso,
    parse_recipients,
    settle_status,
)
from airflow_provider_cancel.operators.base import CANCEL_RESULT_XCOM_KEY
from airflow_provider_cancel.operators.suprsend import (
    CANCEL_STATE_KEY,
    BroadCancelRetryRefused,
    SuprSendCancelBroadcastOperator,
    SuprSendCancelWorkflowOperator,
    is_automatic_retry,
)
from airflow_provider_cancel.sensors.suprsend import (
    SuprSendExecutionStatusSensor,
    parse_execution_ids,
)
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.validation import InvalidCancelRequest

BASE = "https://suprsend.test"
KEY = "ss_unit_key_0123456789"
WF_CANCEL = f"{BASE}/v1/workflow_run/cancel/"
BC_CANCEL = f"{BASE}/v1/broadcast_run/cancel/"
MESSAGES = f"{BASE}/v1/message/"
WF_400 = {"code": 400, "message": "at least one filter is required: execution_id, recipients, idempotency_key"}
UTC = dt.timezone.utc


def context(try_number=1, max_tries=2, run_start=None):
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="manual__1", map_index=-1, try_number=try_number, max_tries=max_tries)
    return {"ti": ti, "dag_run": SimpleNamespace(start_date=run_start)}


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def ago(seconds: float) -> str:
    return iso(now() - timedelta(seconds=seconds))


def page(*created_at: str, count: int | None = None) -> dict:
    results = [{"message_id": f"m{i}", "status": "triggered", "created_at": c} for i, c in enumerate(created_at)]
    return {"meta": {"count": len(results) if count is None else count, "limit": 1}, "results": results}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_conn("suprsend_default", "suprsend", BASE, password=KEY)


def sent_json(requests_mock, index=-1):
    return requests_mock.request_history[index].json()


def query(request) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


# ------------------------------------------------------------------ hook: documented responses
def test_workflow_cancel_200_returns_the_cancelled_ids(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    result = SuprSendHook().cancel_workflow_runs(execution_id=" dsl_1 ", recipients=["user_1"], tenant_id="acme")
    assert sent_json(requests_mock) == {"execution_id": "dsl_1", "recipients": ["user_1"], "tenant_id": "acme"}
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {KEY}"
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.target == {"run_type": "workflow", "filters": {"execution_id": "dsl_1", "recipients": ["user_1"], "tenant_id": "acme"}}
    assert result.detail["execution_ids"] == ["dsl_1", "dsl_2"] and result.detail["broad_match"] is False
    assert abs((dt.datetime.fromisoformat(result.detail["cancelled_at"].replace("Z", "+00:00")) - now()).total_seconds()) < 5


def test_broadcast_cancel_200_empty_is_nothing_to_cancel(requests_mock):
    requests_mock.post(BC_CANCEL, json={"execution_ids": []})
    result = SuprSendHook().cancel_broadcast_runs(idempotency_key="launch-42")
    assert sent_json(requests_mock) == {"idempotency_key": "launch-42"}
    assert result.outcome is CancelOutcome.NOTHING_TO_CANCEL and result.detail["execution_ids"] == []


@pytest.mark.parametrize(
    ("body", "ids"),
    [({"execution_ids": None}, []), ({}, []), (["broadcast_1"], ["broadcast_1"]), ({"execution_ids": ["b1", None]}, ["b1"])],
)
def test_cancel_body_is_read_tolerantly(requests_mock, body, ids):
    requests_mock.post(BC_CANCEL, json=body)
    assert SuprSendHook().cancel_broadcast_runs(execution_id="b1").detail["execution_ids"] == ids


def test_400_keeps_code_and_message(requests_mock, no_sleep):
    requests_mock.post(WF_CANCEL, status_code=400, json=WF_400)
    with pytest.raises(VendorAPIError) as err:
        SuprSendHook().cancel_workflow_runs(workflow_slug="promo", allow_broad_match=True)
    assert err.value.status_code == 400 and err.value.code == "400"
    assert err.value.message == WF_400["message"] and err.value.body == WF_400
    assert "HTTP 400 [400]: at least one filter is required" in str(err.value)
    assert requests_mock.call_count == 1 and no_sleep == []


def test_401_is_a_typed_error_and_not_retried(requests_mock, no_sleep):
    requests_mock.post(WF_CANCEL, status_code=401, json={"code": 401, "message": "invalid api key"})
    with pytest.raises(VendorAPIError) as err:
        SuprSendHook().cancel_workflow_runs(execution_id="dsl_1")
    assert err.value.status_code == 401 and err.value.message == "invalid api key"
    assert requests_mock.call_count == 1 and KEY not in str(err.value)


# ------------------------------------------------------------------ hook: HTTP retry safety
def test_targeted_cancel_is_retried_on_5xx(requests_mock, no_sleep):
    requests_mock.post(WF_CANCEL, [{"status_code": 503, "json": {"code": 503, "message": "down"}}, {"json": {"execution_ids": ["dsl_1"]}}])
    assert SuprSendHook().cancel_workflow_runs(idempotency_key="k1").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("failure", [{"status_code": 503, "json": {"code": 503, "message": "down"}}, {"exc": requests.ReadTimeout}])
def test_broad_cancel_is_never_resent_after_it_may_have_reached_suprsend(requests_mock, no_sleep, failure):
    requests_mock.post(WF_CANCEL, [failure, {"json": {"execution_ids": ["dsl_new"]}}])
    with pytest.raises(VendorAPIError):
        SuprSendHook().cancel_workflow_runs(workflow_slug="promo", allow_broad_match=True)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("failure", [{"status_code": 429, "json": {"code": 429, "message": "slow down"}}, {"exc": requests.ConnectTimeout}])
def test_broad_cancel_is_retried_when_suprsend_surely_did_nothing(requests_mock, no_sleep, failure):
    requests_mock.post(BC_CANCEL, [failure, {"json": {"execution_ids": ["b1"]}}])
    result = SuprSendHook().cancel_broadcast_runs(list_id="all-users", allow_broad_match=True)
    assert result.detail["execution_ids"] == ["b1"] and requests_mock.call_count == 2


# ------------------------------------------------------------------ validation (no HTTP)
@pytest.mark.parametrize(
    ("run_type", "filters", "match"),
    [
        ("workflow", {}, "at least one filter: execution_id, recipients, idempotency_key, workflow_slug"),
        ("workflow", {"execution_id": "  ", "recipients": [], "workflow_slug": ""}, "at least one filter"),
        ("workflow", {"tenant_id": "acme"}, "only tenant_id='acme' was given"),
        ("broadcast", {}, "at least one filter: execution_id, list_id, idempotency_key"),
        ("broadcast", {"tenant_id": "acme"}, "only narrows"),
        ("workflow", {"recipients": "[not json"}, "cannot be read"),
        ("workflow", {"recipients": [""]}, "non-empty strings"),
        ("workflow", {"recipients": {"a": 1}}, "list of strings"),
        ("workflow", {"recipients": "[1, {}]"}, "non-empty strings"),
        ("workflow", {"execution_id": ["a"]}, "execution_id must be a string"),
        ("broadcast", {"idempotency_key": "k" * 256}, "at most 255"),
        ("broadcast", {"workflow_slug": "x"}, "Unknown SuprSend broadcast cancel filter"),
    ],
)
def test_bad_filters_are_refused_before_any_http(requests_mock, run_type, filters, match):
    with pytest.raises(InvalidCancelRequest, match=match):
        build_cancel_filters(run_type, **filters)
    assert not requests_mock.called


@pytest.mark.parametrize(
    ("run_type", "filters"),
    [
        ("workflow", {"workflow_slug": "promo"}),
        ("workflow", {"recipients": ["user_1"]}),
        ("workflow", {"recipients": ["user_1"], "workflow_slug": "promo", "tenant_id": "acme"}),
        ("broadcast", {"list_id": "all-users"}),
        ("broadcast", {"list_id": "all-users", "tenant_id": "acme"}),
    ],
)
def test_broad_filters_need_the_opt_in(requests_mock, run_type, filters):
    hook = SuprSendHook()
    call = hook.cancel_workflow_runs if run_type == "workflow" else hook.cancel_broadcast_runs
    with pytest.raises(InvalidCancelRequest, match="allow_broad_match=True"):
        call(**filters)
    assert not requests_mock.called
    assert build_cancel_filters(run_type, **filters).is_broad


@pytest.mark.parametrize(
    "filters", [{"execution_id": "b1", "list_id": "l"}, {"idempotency_key": "k", "list_id": "l"}, {"execution_id": "b1"}]
)
def test_filters_naming_one_run_are_targeted(filters):
    assert not build_cancel_filters("broadcast", **filters).is_broad


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), ("", None), ("user_1", ["user_1"]), ('["a", "b@x.com", "a"]', ["a", "b@x.com"]),
        (("a", " b "), ["a", "b"]), ("a,b", ["a,b"]), ([], None), ("['u1', 'u2']", ["u1", "u2"]),
    ],
)
def test_recipients_parsing(value, expected):
    assert parse_recipients(value) == expected


# ------------------------------------------------------------------ settle logic
T0 = dt.datetime(2026, 5, 1, 12, 0, 0, 400000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "seconds_later", "state", "new_messages"),
    [
        (page(), 5, CampaignState.ACTIVE, 0),  # quiet, but the window has not elapsed yet
        (page(), 60, CampaignState.CANCELLED, 0),
        ({"results": []}, 61, CampaignState.CANCELLED, 0),
        (page("2026-05-01T12:00:30.000Z", count=7), 60, CampaignState.ACTIVE, 7),  # a message 30 s after the cancel
        (page("2026-05-01T12:00:30.000Z", count=7), 91, CampaignState.CANCELLED, 7),
        (page("2026-05-01T12:00:30Z"), 90.5, CampaignState.ACTIVE, 1),  # second precision: counts to 12:00:31
        (page("2026-05-01T11:59:00.000Z", count=1), 60, CampaignState.CANCELLED, 0),  # older than the cancel: ignored
        ([{"created_at": "2026-05-01T12:00:10+00:00"}], 60, CampaignState.ACTIVE, 1),  # bare list, offset form
        (page("not a time"), 3600, CampaignState.ACTIVE, 1),  # unreadable created_at never settles on a guess
    ],
)
def test_settle_status(body, seconds_later, state, new_messages):
    status = settle_status(body, "dsl_1", T0, 60.0, T0 + timedelta(seconds=seconds_later))
    assert status.state is state and status.extra["new_messages"] == new_messages
    assert status.raw_status is None and "dsl_1" in status.detail


def test_settle_status_reports_when_it_will_settle():
    status = settle_status(page("2026-05-01T12:00:30.000Z"), "dsl_1", T0, 60.0, T0 + timedelta(seconds=40))
    assert status.extra["last_message_at"] == "2026-05-01T12:00:30.000Z"
    assert status.extra["quiet_until"] == "2026-05-01T12:01:31.000Z"
    assert "settles at 2026-05-01T12:01:31.000Z" in status.detail


def test_floor_second_keeps_created_at_gte_inclusive():
    assert floor_second(T0) == "2026-05-01T12:00:00Z"


def test_get_status_reads_one_page_per_execution_newest_first(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    since = ago(120)
    status = SuprSendHook().get_status(execution_ids=["dsl_1", "dsl_2"], since=since, settle_seconds=60)
    assert status.state is CampaignState.CANCELLED and status.extra["watched_executions"] == 2
    sent = [query(r) for r in requests_mock.request_history]
    assert [q["execution_id"] for q in sent] == ["dsl_1", "dsl_2"]
    assert sent[0]["limit"] == "1" and sent[0]["created_at_gte"] == since[:19] + "Z"


def test_get_status_stops_at_the_first_execution_still_sending(requests_mock):
    answers = {"dsl_1": page(), "dsl_2": page(ago(2), count=3), "dsl_3": page()}
    requests_mock.get(MESSAGES, json=lambda request, ctx: answers[query(request)["execution_id"]])
    status = SuprSendHook().get_status(execution_ids=["dsl_1", "dsl_2", "dsl_3"], since=ago(120), settle_seconds=30)
    assert status.state is CampaignState.ACTIVE and status.extra["pending_execution_id"] == "dsl_2"
    assert status.extra["new_messages"] == 3 and requests_mock.call_count == 2


def test_get_status_watches_at_most_the_limit(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    ids = [f"dsl_{i}" for i in range(MAX_WATCHED_EXECUTIONS + 5)]
    status = SuprSendHook().get_status(execution_ids=ids, since=ago(120), settle_seconds=1)
    assert requests_mock.call_count == MAX_WATCHED_EXECUTIONS and "5 more execution(s) not watched" in status.detail


@pytest.mark.parametrize("target", [{"execution_ids": [], "since": "2026-05-01T12:00:00Z"}, {"execution_ids": ["a"], "since": "yesterday"}])
def test_get_status_refuses_a_bad_target_before_any_http(requests_mock, target):
    with pytest.raises(InvalidCancelRequest):
        SuprSendHook().get_status(**target)
    assert not requests_mock.called


def test_a_4xx_from_the_message_list_is_raised(requests_mock):
    requests_mock.get(MESSAGES, status_code=400, json={"code": 400, "message": "created_at_gte must be RFC3339"})
    with pytest.raises(VendorAPIError, match="RFC3339"):
        SuprSendHook().get_status(execution_ids=["dsl_1"], since=ago(10))


# ------------------------------------------------------------------ async path + trigger (real HTTP, sandbox)
@pytest.fixture
def sandbox(set_conn):
    from airflow_provider_cancel.sandbox import SandboxServer

    with SandboxServer() as server:
        set_conn("suprsend_default", "suprsend", server.vendor_url("suprsend"), password="ss_sandbox_key")
        yield server


async def test_aget_status_and_trigger_against_the_sandbox(sandbox):
    (run,) = sandbox.admin("POST", "/suprsend/seed", {"workflow_runs": [{"message_every_s": 0.3, "total_messages": 50}]})["workflow_runs"]
    sandbox.admin("POST", "/config", {"suprsend": {"cancel_lag_s": 0.5}})  # late messages after the cancel
    result = SuprSendHook().cancel_workflow_runs(execution_id=run["execution_id"])
    target = {"execution_ids": result.detail["execution_ids"], "since": result.detail["cancelled_at"], "settle_seconds": 1.0}
    first = await SuprSendHook().aget_status(**target)
    assert first.state is CampaignState.ACTIVE
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.suprsend.SuprSendHook", conn_id="suprsend_default",
        target=target, poll_interval=0.3,
    )
    event = (await trigger.run().__anext__()).payload
    assert event["status"] == "success", event
    final = event["campaign_status"]
    assert final["state"] == "cancelled" and final["extra"]["new_messages"] >= 1  # the lagging messages were seen
    assert final["extra"]["checked_at"] >= final["extra"]["quiet_until"]
    assert KEY not in json.dumps(trigger.serialize()) and "ss_sandbox_key" not in json.dumps(trigger.serialize())


# ------------------------------------------------------------------ operators
def test_operators_template_the_filters():
    assert {"execution_id", "recipients", "idempotency_key", "workflow_slug", "tenant_id", "allow_broad_match"} <= set(
        SuprSendCancelWorkflowOperator.template_fields
    )
    assert {"execution_id", "list_id", "idempotency_key", "tenant_id", "allow_broad_match"} <= set(
        SuprSendCancelBroadcastOperator.template_fields
    )


def test_operator_constructor_needs_no_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SUPRSEND_DEFAULT", raising=False)
    SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo")  # a broad filter is only checked at run time


@pytest.mark.parametrize(
    ("op_kwargs", "match"),
    [
        ({}, "needs at least one filter: execution_id, recipients, idempotency_key, workflow_slug"),
        ({"workflow_slug": "promo"}, "allow_broad_match=True"),
        ({"recipients": '["user_1"]', "allow_broad_match": "False"}, "allow_broad_match=True"),
        ({"workflow_slug": "promo", "allow_broad_match": "maybe"}, "allow_broad_match must be true or false"),
        ({"execution_id": "dsl_1", "settle_seconds": "soon"}, "settle_seconds"),
    ],
)
def test_workflow_operator_refuses_before_any_http(requests_mock, op_kwargs, match):
    with pytest.raises(InvalidCancelRequest, match=match) as err:
        SuprSendCancelWorkflowOperator(task_id="t", **op_kwargs).execute(context())
    assert not requests_mock.called
    assert isinstance(err.value, AirflowFailException)  # bad input: a task retry cannot help


def test_broadcast_operator_list_id_alone_needs_the_opt_in(requests_mock):
    with pytest.raises(InvalidCancelRequest, match="broad SuprSend broadcast cancel"):
        SuprSendCancelBroadcastOperator(task_id="t", list_id="all-users").execute(context())
    assert not requests_mock.called
    requests_mock.post(BC_CANCEL, json={"execution_ids": ["b1", "b2"]})
    out = SuprSendCancelBroadcastOperator(task_id="t", list_id="all-users", allow_broad_match="True").execute(context())
    assert out["outcome"] == "cancelled" and out["detail"]["execution_ids"] == ["b1", "b2"] and out["detail"]["broad_match"]
    assert sent_json(requests_mock) == {"list_id": "all-users"}


def test_operator_400_fails_fast_with_code_and_message(requests_mock):
    requests_mock.post(WF_CANCEL, status_code=400, json=WF_400)
    op = SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo", allow_broad_match=True)
    with pytest.raises(AirflowFailException, match=r"HTTP 400 \[400\]: at least one filter is required"):
        op.execute(context())


@pytest.mark.parametrize(
    ("try_number", "max_tries", "retries", "expected"),
    [(1, 2, 2, False), (2, 2, 2, True), (3, 2, 2, True), (4, 5, 2, False), (5, 5, 2, True), (1, 0, 0, False), (2, 1, 0, False)],
)
def test_is_automatic_retry(try_number, max_tries, retries, expected):
    assert is_automatic_retry(context(try_number, max_tries), retries) is expected


def test_broad_cancel_is_not_resent_on_an_automatic_retry(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_9"]})
    op = SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo", allow_broad_match=True, retries=2)
    with pytest.raises(BroadCancelRetryRefused, match="Nothing was sent"):
        op.execute(context(try_number=2, max_tries=2))
    assert not requests_mock.called
    # A cleared task is a fresh start (max_tries = last try + retries): the human decided to send again.
    assert op.execute(context(try_number=4, max_tries=5))["outcome"] == "cancelled"
    resend = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry=True, retries=2
    )
    resend.execute(context(try_number=2, max_tries=2))
    assert requests_mock.call_count == 2


def test_targeted_cancel_is_resent_on_retry(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", retries=2)
    assert op.execute(context(try_number=2, max_tries=2))["outcome"] == "nothing_to_cancel"
    assert requests_mock.call_count == 1


def test_fail_if_nothing_matched(requests_mock):
    requests_mock.post(BC_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelBroadcastOperator(task_id="t", idempotency_key="typo", fail_if_nothing_matched=True, retries=2)
    with pytest.raises(SuprSendNothingMatchedError, match="matched no running run"):
        op.execute(context())
    assert issubclass(SuprSendNothingMatchedError, AirflowFailException)
    # On a retry an empty answer may mean the first try cancelled it: warn, succeed.
    assert op.execute(context(try_number=2, max_tries=2))["outcome"] == "nothing_to_cancel"
    default = SuprSendCancelBroadcastOperator(task_id="t", idempotency_key="typo")
    assert default.execute(context())["outcome"] == "nothing_to_cancel"


def test_wait_deferrable_defers_with_a_stateless_target(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    requests_mock.get(MESSAGES, json=page())
    op = SuprSendCancelWorkflowOperator(
        task_id="t", execution_id="dsl_1", wait_for_completion=True, deferrable=True,
        poll_interval=5, wait_timeout=300, settle_seconds="45",
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.hook_class.endswith("SuprSendHook")
    result = exc.value.kwargs["result"]
    assert trigger.target == {"execution_ids": ["dsl_1", "dsl_2"], "since": result["detail"]["cancelled_at"], "settle_seconds": 45.0}
    assert exc.value.timeout == timedelta(seconds=300) and requests_mock.call_count == 2  # POST + first check
    assert KEY not in json.dumps(trigger.serialize()) and KEY not in json.dumps(result)


def test_wait_returns_at_once_when_nothing_matched(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", idempotency_key="k", wait_for_completion=True, deferrable=True)
    assert op.execute(context())["outcome"] == "nothing_to_cancel"
    assert requests_mock.call_count == 1  # no status read: nothing can still send


def test_wait_non_deferrable_polls_until_settled(requests_mock, monkeypatch):
    sleeps = []
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", sleeps.append)
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1"]})
    requests_mock.get(MESSAGES, json=page())
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", wait_for_completion=True, deferrable=False, settle_seconds=0)
    out = op.execute(context())
    assert out["final_status"]["state"] == "cancelled" and out["final_status"]["extra"]["new_messages"] == 0


# ------------------------------------------------------------------ retries after the wait failed
class TaskStateStore(dict):
    """Stand-in for Airflow 3.3's ``context["task_state_store"]``: one store shared by every try."""

    def get(self, key, default=None):
        return super().get(key, default)

    def set(self, key, value, *, retention=None):
        assert value is not None and json.loads(json.dumps(value)) == value  # JSON only, like the real one
        self[key] = value


class XComTI(SimpleNamespace):
    def xcom_push(self, key, value):
        self.xcoms[key] = value

    def xcom_pull(self, task_ids, key, map_indexes):
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return self.xcoms.get(key)


def try_context(try_number, store=None, xcoms=None, max_tries=2):
    ctx = context(try_number, max_tries)
    if xcoms is not None:
        ctx["ti"] = XComTI(**vars(ctx["ti"]), xcoms=xcoms)
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


def workflow_op(**kwargs):
    """A fresh operator per try, as Airflow builds one per try."""
    defaults = {"task_id": "t", "idempotency_key": "order-77", "wait_for_completion": True, "retries": 2}
    return SuprSendCancelWorkflowOperator(**{**defaults, **kwargs})


def test_retry_after_a_failed_deferred_wait_defers_again_on_the_earlier_runs(requests_mock):
    # Try 1 cancels dsl_1 and defers; the wait then times out (messages kept coming) or the trigger gave up.
    store = TaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred) as first:
        workflow_op(deferrable=True).execute(try_context(1, store))
    try_1 = first.value.kwargs["result"]
    # Try 2 re-sends the cancel; SuprSend answers [] because dsl_1 is already cancelled. It must wait again.
    with pytest.raises(TaskDeferred) as second:
        workflow_op(deferrable=True).execute(try_context(2, store))
    assert second.value.trigger.target == {
        "execution_ids": ["dsl_1"], "since": try_1["detail"]["cancelled_at"], "settle_seconds": DEFAULT_SETTLE_SECONDS,
    }
    result = second.value.kwargs["result"]
    assert result["outcome"] == "cancelled" and result["detail"]["resent"] is True
    assert result["detail"]["earlier_try"] == {"execution_ids": ["dsl_1"], "cancelled_at": try_1["detail"]["cancelled_at"]}
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "POST", "GET"]


def test_retry_after_a_transient_error_in_the_polling_wait_polls_again(requests_mock):
    store = TaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, [{"status_code": 503, "json": {"code": 503, "message": "busy"}}, {"json": page()}])
    with pytest.raises(VendorAPIError):  # retryable: the task goes up for retry
        workflow_op(deferrable=False, retry_limit=1).execute(try_context(1, store))
    try_1 = store[CANCEL_STATE_KEY]["result"]
    assert try_1["detail"]["execution_ids"] == ["dsl_1"] and store[CANCEL_STATE_KEY]["try_number"] == 1
    out = workflow_op(deferrable=False, settle_seconds=0).execute(try_context(2, store))
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert out["detail"]["execution_ids"] == ["dsl_1"] and out["detail"]["cancelled_at"] == try_1["detail"]["cancelled_at"]
    last = query(requests_mock.last_request)  # try 2 read the message log of dsl_1 since try 1's cancel
    assert last["execution_id"] == "dsl_1" and last["created_at_gte"] == try_1["detail"]["cancelled_at"][:19] + "Z"


def test_the_cancel_result_is_pushed_to_xcom_right_after_the_cancel_and_a_retry_can_pull_it(requests_mock):
    xcoms = {}  # no task_state_store (Airflow < 3.3): XCom is the only record
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, [{"status_code": 500, "json": {"code": 500, "message": "oops"}}, {"json": page()}])
    with pytest.raises(VendorAPIError):
        workflow_op(deferrable=False, retry_limit=1).execute(try_context(1, xcoms=xcoms))
    assert xcoms[CANCEL_RESULT_XCOM_KEY]["detail"]["execution_ids"] == ["dsl_1"]  # pushed before the wait
    out = workflow_op(deferrable=False, settle_seconds=0).execute(try_context(2, xcoms=xcoms))
    assert out["outcome"] == "cancelled" and out["detail"]["execution_ids"] == ["dsl_1"] and "final_status" in out


def test_retry_waits_on_the_union_of_earlier_and_new_runs_from_the_new_cancel(requests_mock):
    store = TaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": ["dsl_2", "dsl_1"]}}])
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred):
        workflow_op(deferrable=True).execute(try_context(1, store))
    with pytest.raises(TaskDeferred) as second:
        workflow_op(deferrable=True).execute(try_context(2, store))
    result = second.value.kwargs["result"]
    assert second.value.trigger.target["execution_ids"] == ["dsl_1", "dsl_2"]
    # dsl_2 was cancelled only now: its quiet window starts at this try's cancel.
    assert second.value.trigger.target["since"] == result["detail"]["cancelled_at"] != result["detail"]["earlier_try"]["cancelled_at"]
    assert store[CANCEL_STATE_KEY]["result"]["detail"]["execution_ids"] == ["dsl_1", "dsl_2"]  # try 3 would wait on both


def test_retry_with_nothing_recorded_keeps_nothing_to_cancel(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    assert workflow_op(deferrable=True).execute(try_context(2, TaskStateStore()))["outcome"] == "nothing_to_cancel"
    assert workflow_op(deferrable=True).execute(try_context(2, xcoms={}))["outcome"] == "nothing_to_cancel"
    with pytest.raises(SuprSendNothingMatchedError):  # first try: fail_if_nothing_matched still fails
        workflow_op(fail_if_nothing_matched=True).execute(try_context(1, TaskStateStore()))
    assert requests_mock.call_count == 3 and not [r for r in requests_mock.request_history if r.method == "GET"]


def test_a_cancel_recorded_before_a_clear_is_not_resumed(requests_mock):
    store = TaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred):
        workflow_op(deferrable=True).execute(try_context(1, store))
    # Cleared after try 3 (max_tries = 3 + retries); try 5 is an automatic retry of that fresh start.
    out = workflow_op(deferrable=True).execute(try_context(5, store, max_tries=5))
    assert out["outcome"] == "nothing_to_cancel"


@pytest.mark.parametrize("saved", [None, "x", {"result": {"vendor": "suprsend", "detail": {"execution_ids": []}}, "clear_generation": 0},
                                   {"result": {"vendor": "suprsend", "detail": {"execution_ids": ["d"], "cancelled_at": "?"}}, "clear_generation": 0}])
def test_an_unusable_record_is_ignored(requests_mock, saved):
    store = TaskStateStore({CANCEL_STATE_KEY: saved} if saved is not None else {})
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    assert workflow_op().execute(try_context(2, store))["outcome"] == "nothing_to_cancel"


def test_broad_retry_waits_on_what_the_earlier_try_cancelled_without_resending(requests_mock):
    store = TaskStateStore()
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    requests_mock.get(MESSAGES, json=page())
    broad = {"idempotency_key": None, "workflow_slug": "promo", "allow_broad_match": True, "deferrable": True}
    with pytest.raises(TaskDeferred) as first:
        workflow_op(**broad).execute(try_context(1, store))
    with pytest.raises(TaskDeferred) as second:
        workflow_op(**broad).execute(try_context(2, store))
    assert second.value.trigger.target == first.value.trigger.target
    assert second.value.kwargs["result"]["detail"]["resent"] is False
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "GET"]  # no second POST
    with pytest.raises(BroadCancelRetryRefused):  # nothing recorded: still refused
        workflow_op(**broad).execute(try_context(2, TaskStateStore()))


@pytest.mark.parametrize("value", ["false", "False", "0", "no", ""])
def test_resend_broad_match_on_retry_parses_rendered_false(requests_mock, value):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_9"]})
    op = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry=value, retries=2
    )
    with pytest.raises(BroadCancelRetryRefused):
        op.execute(context(try_number=2, max_tries=2))
    assert not requests_mock.called
    resend = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry="true", retries=2
    )
    assert resend.execute(context(try_number=2, max_tries=2))["outcome"] == "cancelled"


@pytest.mark.parametrize("flag", ["resend_broad_match_on_retry", "fail_if_nothing_matched"])
@pytest.mark.parametrize("value", ["maybe", 2.5, ["x"]])
def test_flags_that_are_not_booleans_are_refused_before_any_http(requests_mock, flag, value):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", **{flag: value})
    with pytest.raises(InvalidCancelRequest, match=f"{flag} must be true or false"):
        op.execute(context())
    assert not requests_mock.called


def test_execute_complete_adds_the_final_status():
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1")
    status = settle_status(page(), "dsl_1", T0, 1.0, T0 + timedelta(seconds=5)).to_dict()
    out = op.execute_complete(context(), {"status": "success", "message": "ok", "campaign_status": status}, result={"outcome": "cancelled"})
    assert out["final_status"]["state"] == "cancelled" and out["outcome"] == "cancelled"


# ------------------------------------------------------------------ sensor
@pytest.mark.parametrize(
    ("value", "ids"),
    [("dsl_1", ["dsl_1"]), ("['dsl_1', 'dsl_2']", ["dsl_1", "dsl_2"]), ('["b1"]', ["b1"]), (["a", "b"], ["a", "b"]), ("[]", []), (None, [])],
)
def test_parse_execution_ids(value, ids):
    assert parse_execution_ids(value) == ids


def test_sensor_waits_for_the_window_then_succeeds(requests_mock):
    requests_mock.get(MESSAGES, [{"json": page(ago(1))}, {"json": page(ago(100))}])
    sensor = SuprSendExecutionStatusSensor(task_id="s", execution_ids="dsl_1", since=ago(200), settle_seconds=30)
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_since_defaults_to_the_dag_run_start(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    start = now() - timedelta(minutes=5)
    sensor = SuprSendExecutionStatusSensor(task_id="s", execution_ids=["dsl_1"], settle_seconds=60)
    assert sensor.poke(context(run_start=start)).is_done
    assert query(requests_mock.last_request)["created_at_gte"] == floor_second(start)


def test_sensor_with_no_ids_skips_without_http(requests_mock):
    with pytest.raises(AirflowSkipException, match="nothing"):
        SuprSendExecutionStatusSensor(task_id="s", execution_ids="[]", since=ago(5)).poke(context())
    assert not requests_mock.called


def test_sensor_deferrable_pokes_once_then_defers(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    since = ago(1)
    sensor = SuprSendExecutionStatusSensor(
        task_id="s", execution_ids="['b1']", since=since, settle_seconds="20", deferrable=True, timeout=120, poke_interval=3
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert exc.value.trigger.target == {"execution_ids": ["b1"], "since": since, "settle_seconds": 20.0}
    assert exc.value.timeout == timedelta(seconds=120) and requests_mock.call_count == 1
