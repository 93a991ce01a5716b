"""SuprSend's pure logic, table-driven and without HTTP: cancel filters, the broad-match rule, the settle check, the target models."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult
from airflow_provider_cancel.vendors import parse_target, vendor
from airflow_provider_cancel.vendors.suprsend import (
    DEFAULT_SETTLE_SECONDS,
    MAX_WATCHED_EXECUTIONS,
    SuprSendBroadcastRuns,
    SuprSendWorkflowRuns,
    build_cancel_filters,
    flag,
    floor_second,
    overall_status,
    require_broad_opt_in,
    settle_args,
    settle_status,
    watch_list,
)
from tests.unit.support.common import assert_round_trips
from tests.unit.support.suprsend import UTC, page

T0 = dt.datetime(2026, 5, 1, 12, 0, 0, 400000, tzinfo=UTC)
CANCELLED_AT = "2026-05-01T12:00:00.400Z"


def cancel_result(ids, outcome=CancelOutcome.CANCELLED) -> CancelResult:
    return CancelResult(
        "suprsend",
        {"run_type": "workflow"},
        outcome,
        None,
        {"execution_ids": list(ids), "cancelled_at": CANCELLED_AT, "broad_match": False},
    )


# ------------------------------------------------------------------ registry
def test_the_registry_knows_suprsend_and_its_two_target_kinds():
    spec = vendor("suprsend")
    assert spec.conn_type == "suprsend" and spec.default_conn_id == "suprsend_default"
    assert spec.default_base_url == "https://hub.suprsend.com"
    assert isinstance(parse_target({"vendor": "suprsend_workflow", "execution_id": "dsl_1"}), SuprSendWorkflowRuns)
    assert isinstance(parse_target({"vendor": "suprsend_broadcast", "execution_id": "b1"}), SuprSendBroadcastRuns)


def test_suprsend_has_no_status_table_its_state_is_inferred():
    # SuprSend has no run status API: no raw status word is ever reported, in any casing.
    status = settle_status(page(), "dsl_1", T0, 60.0, T0 + timedelta(seconds=61))
    assert status.raw_status is None and status.state is CampaignState.CANCELLED


# ------------------------------------------------------------------ cancel filters (no HTTP)
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
    with pytest.raises(InvalidTarget, match=match):
        build_cancel_filters(run_type, **filters)
    assert not requests_mock.called


def test_every_bad_filter_is_reported_at_once():
    with pytest.raises(InvalidTarget) as err:
        build_cancel_filters("workflow", execution_id=["a"], recipients=[""], idempotency_key="k" * 256)
    assert err.value.fields == ["execution_id", "recipients", "idempotency_key"]
    assert str(err.value).startswith("3 problems, nothing was sent")


@pytest.mark.parametrize(
    ("run_type", "filters", "body"),
    [
        ("workflow", {"execution_id": " dsl_1 ", "tenant_id": ""}, {"execution_id": "dsl_1"}),
        ("workflow", {"recipients": '["u1", "u2"]', "workflow_slug": None}, {"recipients": ["u1", "u2"]}),
        ("workflow", {"idempotency_key": "k" * 255}, {"idempotency_key": "k" * 255}),
        ("broadcast", {"list_id": "all", "tenant_id": "acme"}, {"list_id": "all", "tenant_id": "acme"}),
        ("broadcast", {"execution_id": 42}, {"execution_id": "42"}),
    ],
)
def test_good_filters_build_the_body_from_the_given_values_only(run_type, filters, body):
    built = build_cancel_filters(run_type, **filters)
    assert built.run_type == run_type and built.body == body


@pytest.mark.parametrize("run_type", ["", "campaign", None])
def test_an_unknown_run_type_is_refused(run_type):
    with pytest.raises(InvalidTarget, match="run_type must be one of"):
        build_cancel_filters(run_type, execution_id="x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("user_1", ["user_1"]),
        ('["a", "b@x.com", "a"]', ["a", "b@x.com"]),
        (("a", " b "), ["a", "b"]),
        ("a,b", ["a,b"]),
        ([], None),
        ("['u1', 'u2']", ["u1", "u2"]),
    ],
)
def test_recipients_parsing(value, expected):
    # Was parse_recipients: the recipients filter as build_cancel_filters reads it.
    assert build_cancel_filters("workflow", execution_id="dsl_1", recipients=value).body.get("recipients") == expected


# ------------------------------------------------------------------ the broad-match rule
@pytest.mark.parametrize(
    ("run_type", "filters", "broad"),
    [
        ("broadcast", {"execution_id": "b1", "list_id": "l"}, False),
        ("broadcast", {"idempotency_key": "k", "list_id": "l"}, False),
        ("broadcast", {"execution_id": "b1"}, False),
        ("broadcast", {"list_id": "l"}, True),
        ("broadcast", {"list_id": "l", "tenant_id": "acme"}, True),
        ("workflow", {"workflow_slug": "promo"}, True),
        ("workflow", {"recipients": ["u1"]}, True),
        ("workflow", {"recipients": ["u1"], "idempotency_key": "k"}, False),
        ("workflow", {"execution_id": "dsl_1", "workflow_slug": "promo"}, False),
    ],
)
def test_filters_naming_one_run_are_targeted(run_type, filters, broad):
    assert build_cancel_filters(run_type, **filters).is_broad is broad


@pytest.mark.parametrize(
    ("filters", "allow", "refused"),
    [
        ({"workflow_slug": "promo"}, False, True),
        ({"workflow_slug": "promo"}, True, False),
        ({"execution_id": "dsl_1"}, False, False),
        ({"idempotency_key": "k", "workflow_slug": "promo"}, False, False),
    ],
)
def test_require_broad_opt_in(filters, allow, refused):
    built = build_cancel_filters("workflow", **filters)
    if refused:
        with pytest.raises(InvalidTarget, match="allow_broad_match=True") as err:
            require_broad_opt_in(built, allow)
        assert err.value.fields == ["allow_broad_match"] and "Nothing was sent to SuprSend" in str(err.value)
    else:
        require_broad_opt_in(built, allow)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("true", True),
        ("1", True),
        ("yes", True),
        (1, True),
        ("False", False),
        ("false", False),
        ("0", False),
        ("no", False),
        ("", False),
        ("None", False),
        (None, False),
        (0, False),
    ],
)
def test_flag_reads_rendered_booleans(value, expected):
    assert flag("allow_broad_match", value) is expected


@pytest.mark.parametrize("value", ["maybe", 2.5, ["x"], "2"])
def test_flag_refuses_anything_else_naming_the_field(value):
    with pytest.raises(InvalidTarget, match="fail_if_nothing_matched must be true or false") as err:
        flag("fail_if_nothing_matched", value)
    assert err.value.fields == ["fail_if_nothing_matched"]


# ------------------------------------------------------------------ settle logic
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


def test_overall_status_sums_the_checks_and_names_the_pending_execution():
    settled = settle_status(page("2026-05-01T12:00:05.000Z", count=2), "dsl_1", T0, 10.0, T0 + timedelta(seconds=60))
    pending = settle_status(page("2026-05-01T12:00:55.000Z", count=3), "dsl_2", T0, 10.0, T0 + timedelta(seconds=60))
    done = overall_status(["dsl_1"], [settled])
    assert done.state is CampaignState.CANCELLED and done.extra["pending_execution_id"] is None
    assert "all 1 watched execution(s) settled" in done.detail
    waiting = overall_status(["dsl_1", "dsl_2"], [pending])
    assert waiting.state is CampaignState.ACTIVE and waiting.extra["pending_execution_id"] == "dsl_2"
    assert waiting.target == {"execution_ids": ["dsl_1", "dsl_2"]}
    both = overall_status(
        ["dsl_1", "dsl_2"], [settled, settle_status(page(), "dsl_2", T0, 10.0, T0 + timedelta(seconds=60))]
    )
    assert both.extra["new_messages"] == 2 and both.extra["last_message_at"] == "2026-05-01T12:00:05.000Z"


@pytest.mark.parametrize(
    ("value", "ids"),
    [("dsl_1", ["dsl_1"]), (["a", "a"], ["a", "a"]), ('["b1", "b2"]', ["b1", "b2"]), ("['x']", ["x"])],
)
def test_watch_list(value, ids):
    assert watch_list(value) == ids


@pytest.mark.parametrize(
    ("value", "match"), [([], "At least one"), ("", "At least one"), ([""], "non-empty"), ({"a": 1}, "list")]
)
def test_watch_list_refuses_nothing_to_watch(value, match):
    with pytest.raises(InvalidTarget, match=match) as err:
        watch_list(value)
    assert err.value.fields == ["execution_ids"]


@pytest.mark.parametrize(
    ("since", "seconds", "field"),
    [
        ("yesterday", 60, "since"),
        (None, 60, "since"),
        ("2026-05-01T12:00:00Z", "soon", "settle_seconds"),
        ("2026-05-01T12:00:00Z", -1, "settle_seconds"),
    ],
)
def test_settle_args_refuse_bad_values(since, seconds, field):
    with pytest.raises(InvalidTarget) as err:
        settle_args(since, seconds)
    assert err.value.fields == [field]


def test_settle_args_read_rendered_values():
    assert settle_args("2026-05-01T12:00:00Z", "45") == (dt.datetime(2026, 5, 1, 12, tzinfo=UTC), 45.0)


# ------------------------------------------------------------------ target models
@pytest.mark.parametrize(
    ("model", "raw", "expected"),
    [
        (
            SuprSendWorkflowRuns,
            {
                "execution_id": " dsl_1 ",
                "recipients": "['u1', 'u2']",
                "tenant_id": "",
                "settle_seconds": "45",
                "allow_broad_match": "false",
                "conn_id": " suprsend_eu ",
            },
            SuprSendWorkflowRuns(
                execution_id="dsl_1", recipients=("u1", "u2"), settle_seconds=45.0, conn_id="suprsend_eu"
            ),
        ),
        (
            SuprSendWorkflowRuns,
            {
                "workflow_slug": "promo",
                "recipients": '["u1"]',
                "allow_broad_match": "true",
                "idempotency_key": "None",
                "conn_id": "",
            },
            SuprSendWorkflowRuns(workflow_slug="promo", recipients=("u1",), allow_broad_match=True),
        ),
        (
            SuprSendBroadcastRuns,
            {
                "vendor": "suprsend_broadcast",
                "list_id": "all",
                "allow_broad_match": "True",
                "tenant_id": "acme",
                "execution_id": None,
            },
            SuprSendBroadcastRuns(list_id="all", tenant_id="acme", allow_broad_match=True),
        ),
        (
            SuprSendBroadcastRuns,
            {"idempotency_key": "launch-42"},
            SuprSendBroadcastRuns(idempotency_key="launch-42", settle_seconds=DEFAULT_SETTLE_SECONDS),
        ),
    ],
)
def test_target_parse_reads_rendered_templates(model, raw, expected):
    assert model.parse(raw) == expected


def test_target_parse_reports_every_bad_field_in_one_error():
    raw = {
        "execution_id": ["a"],
        "recipients": "[not json",
        "allow_broad_match": "maybe",
        "settle_seconds": "soon",
        "typo_field": 1,
        "conn_id": 7,
    }
    with pytest.raises(InvalidTarget) as err:
        SuprSendWorkflowRuns.parse(raw)
    assert set(err.value.fields) == {
        "execution_id",
        "recipients",
        "allow_broad_match",
        "settle_seconds",
        "typo_field",
        "conn_id",
    }
    assert str(err.value).startswith("6 problems, nothing was sent")


@pytest.mark.parametrize(
    ("model", "raw", "fields", "match"),
    [
        (SuprSendWorkflowRuns, {}, ["filters"], "needs at least one filter"),
        (SuprSendWorkflowRuns, {"workflow_slug": "promo"}, ["allow_broad_match"], "allow_broad_match=True"),
        (
            SuprSendBroadcastRuns,
            {"list_id": "all", "allow_broad_match": "no"},
            ["allow_broad_match"],
            "broad SuprSend broadcast",
        ),
        (SuprSendBroadcastRuns, {"workflow_slug": "promo", "execution_id": "b1"}, ["workflow_slug"], "unknown field"),
        (SuprSendWorkflowRuns, {"execution_id": "dsl_1", "settle_seconds": -5}, ["settle_seconds"], ">= 0"),
    ],
)
def test_target_parse_refuses(model, raw, fields, match):
    with pytest.raises(InvalidTarget, match=match) as err:
        model.parse(raw)
    assert err.value.fields == fields


@pytest.mark.parametrize(
    "target",
    [
        SuprSendWorkflowRuns(execution_id="dsl_1", recipients=("u1", "u2"), tenant_id="acme", conn_id="ss"),
        SuprSendWorkflowRuns(workflow_slug="promo", allow_broad_match=True, settle_seconds=5.5),
        SuprSendBroadcastRuns(list_id="all", allow_broad_match=True),
        SuprSendBroadcastRuns(idempotency_key="k1", tenant_id="acme"),
    ],
)
def test_to_dict_is_json_safe_and_round_trips(target):
    assert assert_round_trips(target)["vendor"] == target.kind


@pytest.mark.parametrize(
    ("target", "broad"),
    [
        (SuprSendWorkflowRuns(execution_id="dsl_1"), False),
        (SuprSendWorkflowRuns(idempotency_key="k", workflow_slug="promo"), False),
        (SuprSendWorkflowRuns(workflow_slug="promo", allow_broad_match=True), True),
        (SuprSendWorkflowRuns(recipients=("u1",), allow_broad_match=True), True),
        (SuprSendBroadcastRuns(list_id="all", allow_broad_match=True), True),
        (SuprSendBroadcastRuns(list_id="all", execution_id="b1"), False),
    ],
)
def test_is_broad(target, broad):
    assert target.is_broad is broad


def test_filters_of_a_target_are_the_request_body():
    target = SuprSendWorkflowRuns(execution_id="dsl_1", recipients=("u1",), tenant_id="acme")
    assert target.filters.body == {"execution_id": "dsl_1", "recipients": ["u1"], "tenant_id": "acme"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        (cancel_result([], CancelOutcome.NOTHING_TO_CANCEL), None),
        (cancel_result([]), None),
        (
            cancel_result(["dsl_1", "dsl_2"]),
            {"execution_ids": ["dsl_1", "dsl_2"], "since": CANCELLED_AT, "settle_seconds": 30.0},
        ),
        (
            cancel_result([f"d{i}" for i in range(MAX_WATCHED_EXECUTIONS + 3)]),
            {
                "execution_ids": [f"d{i}" for i in range(MAX_WATCHED_EXECUTIONS)],
                "since": CANCELLED_AT,
                "settle_seconds": 30.0,
            },
        ),
    ],
)
def test_status_target_waits_on_what_the_cancel_matched(result, expected):
    assert SuprSendWorkflowRuns(execution_id="dsl_1", settle_seconds=30.0).status_target(result) == expected


def test_describe_leaves_out_the_connection_and_empty_fields():
    text = SuprSendBroadcastRuns(list_id="all", allow_broad_match=True, conn_id="secret_conn").describe()
    assert text.startswith("suprsend_broadcast ") and "list_id='all'" in text and "secret_conn" not in text
    assert "execution_id" not in text


def test_settled_status_round_trips_through_a_trigger_event():
    status = settle_status(page(), "dsl_1", T0, 1.0, T0 + timedelta(seconds=5))
    assert CampaignStatus.from_dict(json.loads(json.dumps(status.to_dict()))) == status
