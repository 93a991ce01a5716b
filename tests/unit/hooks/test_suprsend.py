"""SuprSendHook against requests-mock: cancel answers, HTTP retry safety, the settle check (plus the async path against the sandbox)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests

from airflow_provider_cancel.exceptions import InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.suprsend import SuprSendHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.vendors.suprsend import MAX_WATCHED_EXECUTIONS, VENDOR, build_cancel_filters
from tests.unit.support.suprsend import (
    BC_CANCEL,
    KEY,
    MESSAGES,
    WF_400,
    WF_CANCEL,
    ago,
    now,
    page,
    query,
    sent_json,
    set_default_conn,
)


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


# ------------------------------------------------------------------ construction
def test_hook_takes_the_vendor_named_or_positional_conn_id(set_conn, requests_mock):
    set_conn("suprsend_eu", "suprsend", "https://eu.suprsend.test", password=KEY)
    requests_mock.post("https://eu.suprsend.test/v1/workflow_run/cancel/", json={"execution_ids": []})
    assert SuprSendHook(suprsend_conn_id="suprsend_eu").conn_id == SuprSendHook("suprsend_eu").conn_id == "suprsend_eu"
    assert SuprSendHook().conn_id == "suprsend_default"
    SuprSendHook(suprsend_conn_id="suprsend_eu").cancel_workflow_runs(execution_id="dsl_1")
    assert requests_mock.last_request.url.startswith("https://eu.suprsend.test/")


# ------------------------------------------------------------------ documented responses
def test_workflow_cancel_200_returns_the_cancelled_ids(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    result = SuprSendHook().cancel_workflow_runs(execution_id=" dsl_1 ", recipients=["user_1"], tenant_id="acme")
    assert sent_json(requests_mock) == {"execution_id": "dsl_1", "recipients": ["user_1"], "tenant_id": "acme"}
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {KEY}"
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.target == {
        "run_type": "workflow",
        "filters": {"execution_id": "dsl_1", "recipients": ["user_1"], "tenant_id": "acme"},
    }
    assert result.detail["execution_ids"] == ["dsl_1", "dsl_2"] and result.detail["broad_match"] is False
    assert (
        abs((dt.datetime.fromisoformat(result.detail["cancelled_at"].replace("Z", "+00:00")) - now()).total_seconds())
        < 5
    )


def test_broadcast_cancel_200_empty_is_nothing_to_cancel(requests_mock):
    requests_mock.post(BC_CANCEL, json={"execution_ids": []})
    result = SuprSendHook().cancel_broadcast_runs(idempotency_key="launch-42")
    assert sent_json(requests_mock) == {"idempotency_key": "launch-42"}
    assert result.outcome is CancelOutcome.NOTHING_TO_CANCEL and result.detail["execution_ids"] == []


@pytest.mark.parametrize(
    ("first", "target", "watched"),
    [
        ({"status_code": 500, "json": {"message": "oops"}}, {"execution_id": "dsl_1"}, ["dsl_1"]),
        ({"exc": requests.exceptions.ReadTimeout}, {"execution_id": "dsl_1"}, ["dsl_1"]),
        ({"exc": requests.exceptions.ReadTimeout}, {"idempotency_key": "launch-42"}, []),
    ],
)
def test_a_repeat_that_matches_nothing_after_a_lost_answer_is_already_cancelled(
    requests_mock, no_sleep, first, target, watched
):
    # The first attempt reached SuprSend (a 500 or no answer) and cancelled the run; the repeat finds nothing.
    requests_mock.post(WF_CANCEL, [first, {"json": {"execution_ids": []}}])
    result = SuprSendHook().cancel_workflow_runs(**target)
    assert requests_mock.call_count == 2
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.detail["answer_lost"] is True
    assert result.detail["execution_ids"] == watched  # the settle check watches the run asked for, when named


def test_a_repeat_after_an_attempt_that_never_reached_suprsend_says_nothing_to_cancel(requests_mock, no_sleep):
    requests_mock.post(WF_CANCEL, [{"exc": requests.exceptions.ConnectTimeout}, {"json": {"execution_ids": []}}])
    result = SuprSendHook().cancel_workflow_runs(execution_id="dsl_1")
    assert result.outcome is CancelOutcome.NOTHING_TO_CANCEL and result.detail["answer_lost"] is False


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        ({"execution_ids": None}, []),
        ({}, []),
        (["broadcast_1"], ["broadcast_1"]),
        ({"execution_ids": ["b1", None]}, ["b1"]),
    ],
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


# ------------------------------------------------------------------ HTTP retry safety
def test_targeted_cancel_is_retried_on_5xx(requests_mock, no_sleep):
    requests_mock.post(
        WF_CANCEL,
        [{"status_code": 503, "json": {"code": 503, "message": "down"}}, {"json": {"execution_ids": ["dsl_1"]}}],
    )
    assert SuprSendHook().cancel_workflow_runs(idempotency_key="k1").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 2


@pytest.mark.parametrize(
    "failure", [{"status_code": 503, "json": {"code": 503, "message": "down"}}, {"exc": requests.ReadTimeout}]
)
def test_broad_cancel_is_never_resent_after_it_may_have_reached_suprsend(requests_mock, no_sleep, failure):
    requests_mock.post(WF_CANCEL, [failure, {"json": {"execution_ids": ["dsl_new"]}}])
    with pytest.raises(VendorAPIError):
        SuprSendHook().cancel_workflow_runs(workflow_slug="promo", allow_broad_match=True)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    "failure", [{"status_code": 429, "json": {"code": 429, "message": "slow down"}}, {"exc": requests.ConnectTimeout}]
)
def test_broad_cancel_is_retried_when_suprsend_surely_did_nothing(requests_mock, no_sleep, failure):
    requests_mock.post(BC_CANCEL, [failure, {"json": {"execution_ids": ["b1"]}}])
    result = SuprSendHook().cancel_broadcast_runs(list_id="all-users", allow_broad_match=True)
    assert result.detail["execution_ids"] == ["b1"] and requests_mock.call_count == 2


# ------------------------------------------------------------------ the broad-match opt-in, checked by the hook
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
    with pytest.raises(InvalidTarget, match="allow_broad_match=True"):
        call(**filters)
    assert not requests_mock.called
    assert build_cancel_filters(run_type, **filters).is_broad


def test_bad_filters_given_to_the_hook_are_refused_before_any_http(requests_mock):
    with pytest.raises(InvalidTarget) as err:
        SuprSendHook().cancel_workflow_runs(execution_id=["a"], recipients="[not json")
    assert set(err.value.fields) == {"execution_id", "recipients"}
    assert not requests_mock.called


# ------------------------------------------------------------------ the settle check over the message log
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


@pytest.mark.parametrize(
    "target", [{"execution_ids": [], "since": "2026-05-01T12:00:00Z"}, {"execution_ids": ["a"], "since": "yesterday"}]
)
def test_get_status_refuses_a_bad_target_before_any_http(requests_mock, target):
    with pytest.raises(InvalidTarget):
        SuprSendHook().get_status(**target)
    assert not requests_mock.called


def test_a_4xx_from_the_message_list_is_raised(requests_mock):
    requests_mock.get(MESSAGES, status_code=400, json={"code": 400, "message": "created_at_gte must be RFC3339"})
    with pytest.raises(VendorAPIError, match="RFC3339"):
        SuprSendHook().get_status(execution_ids=["dsl_1"], since=ago(10))


# ------------------------------------------------------------------ async path + trigger (real HTTP, sandbox)
@pytest.fixture
def suprsend_sandbox(sandbox, set_conn):
    set_conn("suprsend_default", "suprsend", sandbox.vendor_url("suprsend"), password=VENDOR.sandbox_key)
    return sandbox


async def test_aget_status_and_trigger_against_the_sandbox(suprsend_sandbox):
    sandbox = suprsend_sandbox
    (run,) = sandbox.admin(
        "POST", "/suprsend/seed", {"workflow_runs": [{"message_every_s": 0.3, "total_messages": 50}]}
    )["workflow_runs"]
    sandbox.admin("POST", "/config", {"suprsend": {"cancel_lag_s": 0.5}})  # late messages after the cancel
    result = SuprSendHook().cancel_workflow_runs(execution_id=run["execution_id"])
    target = {
        "execution_ids": result.detail["execution_ids"],
        "since": result.detail["cancelled_at"],
        "settle_seconds": 1.0,
    }
    first = await SuprSendHook().aget_status(**target)
    assert first.state is CampaignState.ACTIVE
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.suprsend.SuprSendHook",
        conn_id="suprsend_default",
        target=target,
        poll_interval=0.3,
    )
    event = (await trigger.run().__anext__()).payload
    assert event["status"] == "success", event
    final = event["campaign_status"]
    assert final["state"] == "cancelled" and final["extra"]["new_messages"] >= 1  # the lagging messages were seen
    assert final["extra"]["checked_at"] >= final["extra"]["quiet_until"]
    assert KEY not in json.dumps(trigger.serialize()) and VENDOR.sandbox_key not in json.dumps(trigger.serialize())
