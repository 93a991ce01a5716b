"""PeriskopeHook against requests-mock (plus the async read and lost answers against the sandbox)."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.periskope import PRIOR_DELETED, PRIOR_UNANSWERED, PeriskopeHook, PurgeAllUnanswered
from airflow_provider_cancel.operators.policy import is_permanent
from airflow_provider_cancel.status import CampaignState, CancelOutcome
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
    set_default_conn,
    set_sandbox_conn,
    status_body,
)

NOT_FOUND = {"status": "NOT_FOUND_ERROR", "message": "Not found", "code": 404}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


# ------------------------------------------------------------------ construction
def test_hook_takes_the_vendor_named_or_positional_conn_id():
    assert PeriskopeHook(periskope_conn_id="pk_eu").conn_id == PeriskopeHook("pk_eu").conn_id == "pk_eu"
    assert PeriskopeHook().conn_id == "periskope_default"


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
        err.value
    )
    assert is_permanent(err.value)  # no task retry: nothing can change it
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


@pytest.mark.parametrize("bad", [None, "", "   ", ["x"]])
def test_a_missing_broadcast_id_is_refused_before_any_http(requests_mock, bad):
    with pytest.raises(InvalidTarget, match="broadcast_id is required"):
        PeriskopeHook().cancel_broadcast(bad)
    assert not requests_mock.called


# ------------------------------------------------------------------ a 404 after our own DELETE, within one call
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


def test_the_not_found_error_keeps_every_attempt_of_the_call(requests_mock, no_sleep):
    requests_mock.delete(DELETE, [{"status_code": 503, "json": {}}, {"status_code": 404, "json": {}}])
    with pytest.raises(VendorAPIError) as err:
        PeriskopeHook().cancel_broadcast(BID)
    assert [(a.status_code, a.may_have_acted) for a in err.value.attempts] == [(503, False), (404, False)]


def test_the_hook_holds_no_state_between_calls(requests_mock, no_sleep):
    # Call 1's DELETE times out on every attempt; call 2, on the same hook, gets 404. The 404 must NOT be
    # inferred from call 1's timeout: only attempts of the same call (or the caller's prior_delete) count.
    requests_mock.delete(DELETE, [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 404, "json": NOT_FOUND}])
    hook = PeriskopeHook(retry_limit=1)
    with pytest.raises(VendorAPIError) as first:
        hook.cancel_broadcast(BID)
    assert first.value.status_code is None and [a.may_have_acted for a in first.value.attempts] == [True]
    assert hook.log is not None  # the logger is created lazily on first use: not per-call state
    before = set(vars(hook))
    with pytest.raises(VendorAPIError, match="not found, or does not belong") as second:
        hook.cancel_broadcast(BID)
    assert [a.status_code for a in second.value.attempts] == [404]
    assert set(vars(hook)) == before  # the second call added nothing either
    assert not any("unanswered" in name or "delete" in name for name in vars(hook))


def test_the_caller_says_what_an_earlier_delete_did(requests_mock, capsys):
    requests_mock.delete(DELETE, status_code=404, json=NOT_FOUND)
    deleted = PeriskopeHook().cancel_broadcast(BID, prior_delete=PRIOR_DELETED)
    assert (deleted.outcome, deleted.vendor_status) == (CancelOutcome.CANCELLED, "deleted")
    assert "earlier_try" in deleted.detail and "inferred" not in deleted.detail
    unanswered = PeriskopeHook().cancel_broadcast(BID, prior_delete=PRIOR_UNANSWERED)
    assert unanswered.vendor_status == "deleted" and "inferred" in unanswered.detail
    assert "INFERRED deleted" in capsys.readouterr().out
    with pytest.raises(VendorAPIError, match="not found"):
        PeriskopeHook().cancel_broadcast(BID, prior_delete=None)


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
    with pytest.raises(ConnectionConfigError) as err:
        PeriskopeHook().cancel_broadcast(BID)
    message = str(err.value)
    assert "'phone'" in message and "digits only" in message and hint in message
    assert is_permanent(err.value)  # a task retry cannot fix a connection typo
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


def test_test_connection_uses_read_only_queue_health(requests_mock):
    health = {"active": 0, "completed": 3, "failed": 0, "is_running": True, "pending": 0}
    requests_mock.get(f"{BASE}/queue", json=health)
    ok, message = PeriskopeHook().test_connection()
    assert ok and "Periskope" in message and requests_mock.last_request.method == "GET"


def test_test_connection_reports_a_malformed_phone(requests_mock, set_conn):
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone="+91 98745 32456")
    ok, message = PeriskopeHook().test_connection()
    assert not ok and "digits only" in message and not requests_mock.called


# ------------------------------------------------------------------ status
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


# ------------------------------------------------------------------ purge
def test_a_purge_all_that_could_not_connect_says_nothing_was_purged(requests_mock, no_sleep):
    from urllib3.exceptions import NewConnectionError

    refused = requests.exceptions.ConnectionError(NewConnectionError(None, "refused"))
    requests_mock.post(PURGE, exc=refused)
    with pytest.raises(PurgeAllUnanswered, match="was not sent.*Nothing was purged"):
        PeriskopeHook(retry_limit=2).purge_queue(purge_all=True)


@pytest.mark.parametrize("answer", UNANSWERED)
def test_an_unanswered_purge_all_is_an_ambiguous_write_never_repeated(requests_mock, no_sleep, answer):
    requests_mock.post(PURGE, [answer, {"json": {"purged": 9, "mode": "all"}}])
    with pytest.raises(PurgeAllUnanswered) as err:
        PeriskopeHook().purge_queue(purge_all=True)
    assert isinstance(err.value, AmbiguousWriteError) and is_permanent(err.value)
    assert "MAY OR MAY NOT have purged" in str(err.value)
    assert requests_mock.call_count == 1 and requests_mock.last_request.json() == {}


def test_a_purge_all_4xx_is_not_called_unanswered(requests_mock):
    requests_mock.post(PURGE, status_code=422, json={"code": "VALIDATION_ERROR", "fields": {"body": "bad"}})
    with pytest.raises(VendorAPIError) as err:
        PeriskopeHook().purge_queue(purge_all=True)
    assert not isinstance(err.value, PurgeAllUnanswered)


def test_targeted_purge_is_retried_after_a_5xx(requests_mock, no_sleep):
    requests_mock.post(PURGE, [{"status_code": 503, "json": {}}, {"json": {"purged": 2, "mode": "broadcast"}}])
    assert PeriskopeHook().purge_queue(broadcast_id=BID).detail["purged"] == 2


def test_purge_fails_loudly_if_periskope_purged_more_than_asked(requests_mock):
    requests_mock.post(PURGE, json={"purged": 40, "mode": "all", "queue_ids": []})
    with pytest.raises(AmbiguousWriteError, match="reports mode 'all'"):
        PeriskopeHook().purge_queue(broadcast_id=BID)


def test_purge_refuses_an_ambiguous_request_before_any_http(requests_mock):
    with pytest.raises(InvalidTarget, match="empty purge request empties the whole"):
        PeriskopeHook().purge_queue()
    assert not requests_mock.called


# ------------------------------------------------------------------ against the real sandbox
@pytest.fixture
def sandbox_conn(sandbox, set_conn):
    return set_sandbox_conn(sandbox, set_conn)


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


def test_delete_done_but_answer_lost_in_a_gateway_504_is_not_inferred(sandbox_conn, no_sleep):
    # The sandbox deletes, then answers 504 (gateway). A 504 is not proof the request reached Periskope,
    # so the repeat's 404 fails as not found, and the message says the 504 may have hidden a delete.
    (b,) = sandbox_conn.admin(
        "POST", "/periskope/seed", {"broadcasts": [{"status": "scheduled"}], "lose_next_delete_answers": 1}
    )["broadcasts"]
    with pytest.raises(VendorAPIError, match="not found.*got HTTP 504 and no answer.*check the Periskope dashboard"):
        PeriskopeHook().cancel_broadcast(b["id"])
    calls = sandbox_conn.admin("GET", "/periskope/state")["cancel_calls"]
    assert [(c["status_code"], c["result"]) for c in calls] == [(504, "deleted"), (404, "not_found")]


def test_dropped_connection_before_acting_is_retried_to_the_real_answer(sandbox_conn, no_sleep):
    seeded = sandbox_conn.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "inprogress", "delay": 60}]})
    (b,) = seeded["broadcasts"]
    sandbox_conn.admin("POST", "/periskope/faults", {"drop_next": 1})
    result = PeriskopeHook().cancel_broadcast(b["id"])
    assert (result.outcome, result.vendor_status) == (CancelOutcome.CANCELLED, "stopped")
    outcomes = [r["outcome"] for r in sandbox_conn.admin("GET", "/requests?vendor=periskope")["requests"]]
    assert outcomes == ["dropped", "handled"]
