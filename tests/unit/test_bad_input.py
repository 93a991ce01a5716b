"""Bad input, table-driven: every argument is refused before any HTTP call, by a message naming it.

One table per layer:

* target models and ``parse_targets`` (Airflow-free: what the kill switch and the operators share);
* operators: arguments that are not templated fail when the operator is built (DAG parse, no
  connection lookup); templated ones (the target's fields, the connection id, ``dry_run``) fail in
  ``execute`` once rendered, before any request (``requests_mock.call_count == 0``);
* sensors: the same split, ``poke`` for the templated ones;
* connection settings: the host, the key, the timeouts and the vendor's own extras;
* the kill switch: ``kill_switch_task_group`` arguments at DAG parse, and what its ``plan`` task
  reads once rendered.

Every row names the exception type and the argument its message must name. Rows that apply to every
vendor are generated from the registry (``vendors()``, each target model's ``example``), so a new
vendor is covered without editing this file: an id field is an ``example`` field named ``*_id``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests_mock as requests_mock_module
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.exceptions import ConnectionConfigError, InvalidTarget
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.kill_switch import operator_kwargs
from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group, make_plan, operator_for_kind
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from airflow_provider_cancel.vendors import import_path, parse_targets, target_kinds, vendors
from tests.unit.conftest import make_context

MODELS = {kind: import_path(path) for kind, path in target_kinds().items()}
SPECS = vendors()
OPERATORS = sorted({path for spec in SPECS.values() for path in spec.operators})
SENSORS = sorted(spec.sensor for spec in SPECS.values() if spec.sensor)
BID = "b25192d5-2370-4a69-b844-aae5e2bfae92"
SINCE = "2026-01-01T00:00:00Z"

# Valid arguments of the operators and sensors the registry cannot build from a target's example
# (an operator without a target model, sensors whose arguments are the status target). A new vendor
# whose operator or sensor is missing here fails `test_every_registered_class_has_valid_arguments`.
OPERATOR_ARGS: dict[str, dict[str, Any]] = {"PeriskopePurgeQueueOperator": {"broadcast_id": BID}}
SENSOR_ARGS: dict[str, dict[str, Any]] = {
    "ArselCampaignStatusSensor": {"campaign_id": "c1", "channel": "email"},
    "PeriskopeBroadcastStatusSensor": {"broadcast_id": BID},
    "LoopCommsCampaignStatusSensor": {"campaign_id": "camp_91"},
    "SuprSendExecutionStatusSensor": {"execution_ids": ["dsl_1"], "since": SINCE},
}


def id_fields(model: Any) -> list[str]:
    """A target kind's id fields, read from its ``example``: those named ``*_id`` (not ``conn_id``)."""
    return [name for name in model.example if name.endswith("_id") and name != "conn_id"]


def operator_args(operator: Any) -> dict[str, Any]:
    """Valid arguments of ``operator`` (without ``task_id``): its target model's example, else the table above."""
    if operator.target_model is not None:
        model = operator.target_model
        return operator_kwargs(model.parse(model.example))
    return dict(OPERATOR_ARGS[operator.__name__])


# Ids that are not one id, whatever the vendor: (row id, value, what the message must say besides the name).
BAD_IDS: list[tuple[str, Any, str]] = [
    ("empty", "", ""),
    ("blank", "   ", ""),
    ("None", None, ""),
    ("rendered-None", "None", ""),
    ("slash", "a/b", "not an id"),
    ("traversal", "../cancel", "not an id"),
    ("dot-dot", "..", "not an id"),
    ("backslash", "a\\b", "not an id"),
    ("line-break", "c\n1", "not an id"),
    ("rendered-list", "['c1', 'c2']", "not an id"),
    ("rendered-bool", "True", "not an id"),
    ("list", ["c1"], ""),
    ("dict", {"id": "c1"}, ""),
    ("bool", True, ""),
    ("float", 1.5, ""),
]
# The same values given through a template, as Jinja renders them (text): a float renders as a valid id.
TEMPLATED_BAD_IDS = [(name, value) for name, value, _ in BAD_IDS if name not in ("float", "rendered-None")]


@pytest.fixture
def no_http(requests_mock):
    """Every URL answers, so a request that slips through is counted rather than refused by requests_mock."""
    requests_mock.register_uri(requests_mock_module.ANY, requests_mock_module.ANY, json={})
    return requests_mock


@pytest.fixture
def connections(set_conn):
    """A working default connection for every registered vendor."""
    for spec in SPECS.values():
        set_conn(spec.default_conn_id, spec.conn_type, f"https://{spec.name}.test/v1", "k_test", **spec.sandbox_extras)
    return set_conn


@pytest.fixture
def no_lookup(monkeypatch):
    """Building an operator or sensor must not look up a connection (DAG parse)."""
    monkeypatch.setattr(CampaignVendorHook, "get_connection", lambda *a, **k: pytest.fail("connection looked up"))


def assert_names(raised: BaseException, expected: type[BaseException], argument: str, also: str = "") -> None:
    """``raised`` is ``expected`` (or fails the task at once because of one) and its message names ``argument``."""
    error = raised
    if isinstance(raised, AirflowFailException) and expected is not AirflowFailException:
        error = getattr(raised, "error", None)
    assert isinstance(error, expected), f"{type(error).__name__}: {error}"
    message = str(raised)
    assert argument in message, f"{argument!r} not named in: {message}"
    assert also in message, f"{also!r} not in: {message}"


# =============================================================================== 1. target models
def _model_rows() -> list[Any]:
    rows = []
    for kind, model in MODELS.items():
        for field in id_fields(model):
            for name, value, also in BAD_IDS:
                raw = {**model.example, field: value}
                rows.append(pytest.param(kind, raw, field, also, id=f"{kind}-{field}-{name}"))
        for name, value in [("number", 7), ("list", ["c"]), ("bool", True), ("dict", {"a": 1})]:
            rows.append(
                pytest.param(kind, {**model.example, "conn_id": value}, "conn_id", "", id=f"{kind}-conn_id-{name}")
            )
        rows.append(
            pytest.param(kind, {**model.example, "campain_id": "c1"}, "campain_id", "unknown field", id=f"{kind}-typo")
        )
    specific = [
        ("arsel", {"channel": "fax"}, "channel", "email, sms"),
        ("arsel", {"channel": 5}, "channel", ""),
        ("arsel", {"channel": ["email"]}, "channel", ""),
        ("arsel", {"idempotency_key": "k" * 257}, "idempotency_key", "256"),
        ("arsel", {"idempotency_key": 5}, "idempotency_key", ""),
        ("suprsend_workflow", {"recipients": [""]}, "recipients", ""),
        ("suprsend_workflow", {"recipients": [None]}, "recipients", ""),
        ("suprsend_workflow", {"recipients": {"u": 1}}, "recipients", ""),
        ("suprsend_workflow", {"recipients": "['u1'"}, "recipients", "cannot be read"),
        ("suprsend_workflow", {"idempotency_key": "k" * 256}, "idempotency_key", "255"),
        ("suprsend_workflow", {"execution_id": None, "tenant_id": "t1"}, "tenant_id", "only narrows"),
        ("suprsend_workflow", {"execution_id": None, "workflow_slug": "promo"}, "allow_broad_match", "broad"),
        ("suprsend_workflow", {"allow_broad_match": "maybe"}, "allow_broad_match", "true or false"),
        ("suprsend_workflow", {"allow_broad_match": 2}, "allow_broad_match", ""),
        ("suprsend_workflow", {"settle_seconds": -1}, "settle_seconds", ">= 0"),
        ("suprsend_workflow", {"settle_seconds": "soon"}, "settle_seconds", "number"),
        ("suprsend_workflow", {"settle_seconds": True}, "settle_seconds", ""),
        ("suprsend_workflow", {"settle_seconds": "nan"}, "settle_seconds", "finite"),
        ("suprsend_workflow", {"settle_seconds": math.inf}, "settle_seconds", "finite"),
        ("suprsend_workflow", {"settle_seconds": [30]}, "settle_seconds", ""),
        ("suprsend_broadcast", {"tenant_id": "a/b"}, "tenant_id", "not an id"),
        ("suprsend_broadcast", {"execution_id": "broadcast_1/../x"}, "execution_id", "not an id"),
    ]
    for kind, change, field, also in specific:
        raw = {**MODELS[kind].example, **change}
        rows.append(pytest.param(kind, raw, field, also, id=f"{kind}-{field}-{str(list(change.values())[-1])[:12]}"))
    return rows


@pytest.mark.parametrize(("kind", "raw", "argument", "also"), _model_rows())
def test_target_models_refuse_bad_fields(kind, raw, argument, also):
    with pytest.raises(InvalidTarget) as err:
        MODELS[kind].parse(raw)
    assert_names(err.value, InvalidTarget, argument, also)
    with pytest.raises(InvalidTarget) as err:  # the same through the registry, as the kill switch reads it
        parse_targets([{**raw, "vendor": kind}])
    assert_names(err.value, InvalidTarget, "targets[0].", argument)


def _parse_targets_rows() -> list[Any]:
    rows = [
        pytest.param("arsel", "targets", "a list", id="a-string"),
        pytest.param(5, "targets", "a list", id="a-number"),
        pytest.param(None, "targets", "a list", id="None"),
        pytest.param({"vendor": "arsel", "campaign_id": "c1"}, "targets", "a list", id="one-object"),
        pytest.param(["arsel"], "targets[0]", "object", id="item-a-string"),
        pytest.param([None], "targets[0]", "object", id="item-None"),
        pytest.param([{"campaign_id": "c1"}], "targets[0].vendor", "missing", id="no-vendor"),
        pytest.param([{"vendor": "", "campaign_id": "c1"}], "targets[0].vendor", "missing", id="empty-vendor"),
        pytest.param([{"vendor": "mailgun", "campaign_id": "c1"}], "targets[0].vendor", "unknown vendor", id="unknown"),
        pytest.param(
            [{"vendor": ["arsel"], "campaign_id": "c1"}], "targets[0].vendor", "unknown vendor", id="list-vendor"
        ),
        pytest.param([{"vendor": 5}], "targets[0].vendor", "unknown vendor", id="number-vendor"),
        pytest.param(
            [{"vendor": "arsel", "campaign_id": ""}, {"vendor": "loop_comms", "campaign_id": "a/b"}],
            "targets[1].campaign_id",
            "targets[0].campaign_id",
            id="every-problem-at-once",
        ),
        pytest.param(
            [{"vendor": "arsel", "campaign_id": "c1", "channel": "EMAIL"}, {"vendor": "arsel", "campaign_id": "c1 "}]
            + [{"vendor": "arsel", "campaign_id": "c1", "channel": "email"}],
            "targets[2]",
            "duplicate of targets[0]",
            id="duplicate-after-normalising",
        ),
    ]
    for kind, model in MODELS.items():
        rows.append(pytest.param([model.example, model.example], "targets[1]", "duplicate", id=f"duplicate-{kind}"))
    return rows


@pytest.mark.parametrize(("raw", "argument", "also"), _parse_targets_rows())
def test_parse_targets_refuses_bad_lists(raw, argument, also):
    with pytest.raises(InvalidTarget) as err:
        parse_targets(raw)
    assert_names(err.value, InvalidTarget, argument, also)


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("arsel", {"campaign_id": 91}, {"campaign_id": "91"}),  # a whole number is a fine id
        ("arsel", {"campaign_id": "  cmp_7d1f  "}, {"campaign_id": "cmp_7d1f"}),
        ("arsel", {"channel": " SMS "}, {"channel": "sms"}),
        ("arsel", {"channel": ""}, {"channel": None}),  # blank: the connection's default channel
        ("arsel", {"conn_id": "  "}, {"conn_id": None}),  # blank: the vendor's default connection
        ("loop_comms", {"campaign_id": "camp-91.v2"}, {"campaign_id": "camp-91.v2"}),  # one dot is fine
        ("suprsend_workflow", {"settle_seconds": "0"}, {"settle_seconds": 0.0}),
        ("suprsend_workflow", {"allow_broad_match": "false"}, {"allow_broad_match": False}),
        ("suprsend_broadcast", {"list_id": "All-Users_2"}, {"list_id": "All-Users_2"}),
    ],
)
def test_target_models_keep_the_tolerant_readings(kind, change, expected):
    """Not a bad-input row: what stays accepted, so the rows above do not refuse more than they should."""
    target = MODELS[kind].parse({**MODELS[kind].example, **change}).to_dict()
    assert {k: target[k] for k in expected} == expected


# =============================================================================== 2. operators
def test_every_registered_class_has_valid_arguments(no_lookup):
    """The tables below need valid arguments for every operator and sensor the registry lists."""
    for path in OPERATORS:
        operator = import_path(path)
        operator(task_id="ok", **operator_args(operator))
    for path in SENSORS:
        sensor = import_path(path)
        assert sensor.__name__ in SENSOR_ARGS, f"add {sensor.__name__}'s valid arguments to SENSOR_ARGS"
        sensor(task_id="ok", **SENSOR_ARGS[sensor.__name__])


@pytest.mark.parametrize("path", OPERATORS)
def test_operators_keep_the_tolerant_readings(no_lookup, path):
    """Not a bad-input row: whole numbers are seconds, ``None`` means the defaults, templates wait for execute."""
    operator = import_path(path)
    args = {**operator_args(operator), "poll_interval": 5, "wait_timeout": 60, "request_timeout": None}
    op = operator(task_id="t", deferrable=None, dry_run="{{ params.dry_run }}", **args)
    assert (op.poll_interval, op.wait_timeout, op.request_timeout) == (5.0, 60.0, None)


# Arguments no template renders: refused when the operator is built. (argument, value, exception, also)
BUILD_TIME: list[tuple[str, Any, type[Exception], str]] = [
    ("poll_interval", 0, InvalidTarget, "> 0"),
    ("poll_interval", -5, InvalidTarget, "> 0"),
    ("poll_interval", "30", InvalidTarget, "number of seconds"),
    ("poll_interval", True, InvalidTarget, "a boolean"),
    ("poll_interval", None, InvalidTarget, ""),
    ("poll_interval", math.nan, InvalidTarget, "finite"),
    ("wait_timeout", 0, InvalidTarget, "> 0"),
    ("wait_timeout", -1, InvalidTarget, "> 0"),
    ("wait_timeout", "1h", InvalidTarget, ""),
    ("wait_timeout", math.inf, InvalidTarget, "finite"),
    ("retry_limit", 0, InvalidTarget, ">= 1"),
    ("retry_limit", -1, InvalidTarget, ">= 1"),
    ("retry_limit", 2.5, InvalidTarget, "whole number"),
    ("retry_limit", "3", InvalidTarget, "whole number"),
    ("retry_limit", True, InvalidTarget, "a boolean"),
    ("request_timeout", 0, InvalidTarget, "> 0"),
    ("request_timeout", -1, InvalidTarget, "> 0"),
    ("request_timeout", "30", InvalidTarget, ""),
    ("request_timeout", False, InvalidTarget, ""),
    ("wait_for_completion", "false", InvalidTarget, "True or False"),
    ("wait_for_completion", 1, InvalidTarget, "True or False"),
    ("wait_for_completion", None, InvalidTarget, "True or False"),
    ("deferrable", "yes", InvalidTarget, "True or False"),
    ("deferrable", 0, InvalidTarget, "True or False"),
    ("target_state", "done", ValueError, "cancelled"),
    ("target_state", None, ValueError, ""),
    ("target_state", ["cancelled"], ValueError, ""),
]


@pytest.mark.parametrize("path", OPERATORS)
@pytest.mark.parametrize(("argument", "value", "expected", "also"), BUILD_TIME)
def test_operators_refuse_bad_arguments_when_built(no_lookup, path, argument, value, expected, also):
    operator = import_path(path)
    with pytest.raises(expected) as err:
        operator(task_id="t", **{**operator_args(operator), argument: value})
    assert_names(err.value, expected, argument, also)


def _execute_rows() -> list[Any]:
    """(operator path, arguments, argument to name, extra text, how: literal or templated)."""
    rows = []
    for kind, model in MODELS.items():
        path = f"{operator_for_kind(kind).__module__}.{operator_for_kind(kind).__name__}"
        valid = operator_kwargs(model.parse(model.example))
        for field in id_fields(model):
            for name, value, also in BAD_IDS:
                rows.append(pytest.param(path, {**valid, field: value}, field, also, None, id=f"{kind}-{field}-{name}"))
            for name, value in TEMPLATED_BAD_IDS:
                rows.append(
                    pytest.param(path, {**valid, field: value}, field, "", field, id=f"{kind}-{field}-{name}-templated")
                )
    for path in OPERATORS:
        operator = import_path(path)
        conn_field = operator.conn_id_field()
        valid = operator_args(operator)
        short = operator.__name__
        for name, value in [("number", 5), ("list", ["a"]), ("bool", True)]:
            rows.append(
                pytest.param(path, {**valid, conn_field: value}, conn_field, "string", None, id=f"{short}-conn-{name}")
            )
        for name, value in [("maybe", "maybe"), ("number", 2), ("list", ["x"])]:
            rows.append(
                pytest.param(
                    path, {**valid, "dry_run": value}, "dry_run", "true or false", None, id=f"{short}-dry_run-{name}"
                )
            )
        rows.append(
            pytest.param(path, {**valid, "dry_run": "maybe"}, "dry_run", "", "dry_run", id=f"{short}-dry_run-templated")
        )
    arsel = "airflow_provider_cancel.operators.arsel.ArselCancelCampaignOperator"
    workflow = "airflow_provider_cancel.operators.suprsend.SuprSendCancelWorkflowOperator"
    broadcast = "airflow_provider_cancel.operators.suprsend.SuprSendCancelBroadcastOperator"
    purge = "airflow_provider_cancel.operators.periskope.PeriskopePurgeQueueOperator"
    specific = [
        (arsel, {"campaign_id": "c1", "channel": "fax"}, "channel", "email, sms", None),
        (arsel, {"campaign_id": "c1", "channel": "fax"}, "channel", "email, sms", "channel"),
        (arsel, {"campaign_id": "c1", "channel": ["sms"]}, "channel", "", None),
        (arsel, {"campaign_id": "c1", "idempotency_key": "k" * 300}, "idempotency_key", "256", None),
        (workflow, {}, "execution_id", "at least one filter", None),
        (workflow, {"execution_id": ""}, "execution_id", "at least one filter", "execution_id"),
        (workflow, {"tenant_id": "t1"}, "tenant_id", "only narrows", None),
        (workflow, {"workflow_slug": "promo"}, "allow_broad_match", "broad", None),
        (
            workflow,
            {"workflow_slug": "promo", "allow_broad_match": "maybe"},
            "allow_broad_match",
            "",
            "allow_broad_match",
        ),
        (workflow, {"execution_id": "dsl_1", "recipients": [""]}, "recipients", "", None),
        (workflow, {"execution_id": "dsl_1", "recipients": "['u1'"}, "recipients", "", None),
        (workflow, {"execution_id": "dsl_1", "settle_seconds": -1}, "settle_seconds", ">= 0", None),
        (workflow, {"execution_id": "dsl_1", "settle_seconds": "soon"}, "settle_seconds", "", "settle_seconds"),
        (
            workflow,
            {"execution_id": "dsl_1", "resend_broad_match_on_retry": "maybe"},
            "resend_broad_match_on_retry",
            "",
            None,
        ),
        (workflow, {"execution_id": "dsl_1", "fail_if_nothing_matched": 2.5}, "fail_if_nothing_matched", "", None),
        (broadcast, {"list_id": "all/../x", "allow_broad_match": True}, "list_id", "not an id", None),
        (purge, {}, "broadcast_id", "purge_all=True", None),
        (purge, {"broadcast_id": "../x"}, "broadcast_id", "not an id", None),
        (purge, {"broadcast_id": "x", "queue_ids": ["q1"]}, "queue_ids", "not both", None),
        (purge, {"purge_all": "true"}, "purge_all", "True or False", None),
        (purge, {"purge_all": True, "broadcast_id": BID}, "purge_all", "do not combine", None),
        (purge, {"queue_ids": "q1 q2"}, "queue_ids", "", None),
        (purge, {"queue_ids": ["q/../1"]}, "queue_ids", "not an id", None),
        (purge, {"queue_ids": ["q1", ["q2"]]}, "queue_ids", "flat list", None),
        (purge, {"queue_ids": "['q1', 'q2'"}, "queue_ids", "", "queue_ids"),
        (purge, {"broadcast_id": BID, "resend_purge_all_on_retry": "yes"}, "resend_purge_all_on_retry", "", None),
    ]
    for path, args, argument, also, templated in specific:
        rows.append(
            pytest.param(
                path,
                args,
                argument,
                also,
                templated,
                id=f"{path.rpartition('.')[2]}-{argument}-{templated or 'literal'}",
            )
        )
    return rows


def _render(op: Any, field: str, value: Any) -> None:
    """Give ``field`` as a template and render it with ``value`` (Jinja renders text, as Airflow does by default)."""
    attribute = "dry_run_flag" if field == "dry_run" else field
    assert attribute in op.template_fields, f"{field} is not templated"
    setattr(op, attribute, "{{ params.value }}")
    op.render_template_fields(context={"params": {"value": value}})


@pytest.mark.parametrize(("path", "args", "argument", "also", "templated"), _execute_rows())
def test_operators_refuse_bad_templated_arguments_in_execute_before_any_http(
    no_http, connections, monkeypatch, path, args, argument, also, templated
):
    operator = import_path(path)
    monkeypatch.setattr(CampaignVendorHook, "get_connection", lambda *a, **k: pytest.fail("connection looked up"))
    given = {**args, templated: "{{ params.value }}"} if templated else args
    op = operator(task_id="t", **{("dry_run" if k == "dry_run_flag" else k): v for k, v in given.items()})
    if templated:
        _render(op, templated, args[templated])
    with pytest.raises(AirflowFailException) as err:
        op.execute(make_context(xcom=True))
    assert_names(err.value, InvalidTarget, argument, also)
    assert no_http.call_count == 0


# Connections that are wrong in a way no retry fixes: refused on first use, before the request.
def _connection_rows() -> list[Any]:
    rows = []
    for spec in SPECS.values():
        host = f"https://{spec.name}.test/v1"
        for name, conn, argument in [
            ("no-key", {"host": host, "password": ""}, f"no {spec.password_label}"),
            ("ftp-host", {"host": "ftp://files.example.com"}, "host (Base URL)"),
            ("no-host", {"host": "https://"}, "host (Base URL)"),
            ("timeout-text", {"extra": {"timeout": "soon"}}, "extra 'timeout'"),
            ("connect-timeout-negative", {"extra": {"connect_timeout": -1}}, "extra 'connect_timeout'"),
        ]:
            rows.append(pytest.param(spec.name, conn, argument, id=f"{spec.name}-{name}"))
    rows.append(
        pytest.param("periskope", {"extra": {"phone": "+91 98745 32456"}}, "extra 'phone'", id="periskope-phone")
    )
    rows.append(
        pytest.param(
            "arsel", {"extra": {"default_channel": "fax"}}, "extra 'default_channel'", id="arsel-default-channel"
        )
    )
    return rows


@pytest.mark.parametrize(("vendor", "conn", "argument"), _connection_rows())
def test_operators_refuse_a_bad_connection_before_any_http(no_http, connections, vendor, conn, argument):
    spec = SPECS[vendor]
    extra = {**spec.sandbox_extras, **conn.get("extra", {})}
    connections(
        spec.default_conn_id,
        spec.conn_type,
        conn.get("host", f"https://{vendor}.test/v1"),
        conn.get("password", "k"),
        **extra,
    )
    kind = next(iter(spec.target_kinds))
    model, operator = MODELS[kind], operator_for_kind(kind)
    args = operator_kwargs(model.parse({k: v for k, v in model.example.items() if k != "channel"}))
    with pytest.raises(AirflowFailException) as err:
        operator(task_id="t", **args).execute(make_context(xcom=True))
    assert_names(err.value, ConnectionConfigError, argument)
    assert no_http.call_count == 0


# =============================================================================== 3. sensors
SENSOR_BUILD_TIME: list[tuple[str, Any, type[Exception], str]] = [
    ("target_state", "done", ValueError, "cancelled"),
    ("retry_limit", 0, InvalidTarget, ">= 1"),
    ("retry_limit", "3", InvalidTarget, "whole number"),
    ("retry_limit", True, InvalidTarget, ""),
    ("deferrable", "yes", InvalidTarget, "True or False"),
    ("poke_interval", -1, ValueError, "`poke_interval`"),  # Airflow's own checks
    ("poke_interval", "5", ValueError, "`poke_interval`"),
    ("timeout", -1, ValueError, "`timeout`"),
    ("mode", "sometimes", ValueError, ""),
]


def _sensor_classes() -> list[Any]:
    rows = [pytest.param(path, SENSOR_ARGS[path.rpartition(".")[2]], id=path.rpartition(".")[2]) for path in SENSORS]
    rows.append(
        pytest.param(
            "airflow_provider_cancel.sensors.base.CampaignStatusSensor",
            {"vendor": "arsel", "target": {"campaign_id": "c1"}},
            id="CampaignStatusSensor",
        )
    )
    return rows


@pytest.mark.parametrize(("path", "valid"), _sensor_classes())
@pytest.mark.parametrize(("argument", "value", "expected", "also"), SENSOR_BUILD_TIME)
def test_sensors_refuse_bad_arguments_when_built(no_lookup, path, valid, argument, value, expected, also):
    with pytest.raises(expected) as err:
        import_path(path)(task_id="s", **{**valid, argument: value})
    assert_names(err.value, expected, argument, also)


@pytest.mark.parametrize("vendor", ["mailgun", None, ["arsel"], ""])
def test_the_generic_sensor_refuses_an_unknown_vendor_when_built(no_lookup, vendor):
    with pytest.raises(InvalidTarget) as err:
        CampaignStatusSensor(task_id="s", vendor=vendor, target={"campaign_id": "c1"})
    assert_names(err.value, InvalidTarget, "vendor")


def _poke_rows() -> list[Any]:
    """(sensor path, arguments, argument to name, extra text)."""
    arsel = "airflow_provider_cancel.sensors.arsel.ArselCampaignStatusSensor"
    periskope = "airflow_provider_cancel.sensors.periskope.PeriskopeBroadcastStatusSensor"
    loop = "airflow_provider_cancel.sensors.loop_comms.LoopCommsCampaignStatusSensor"
    suprsend = "airflow_provider_cancel.sensors.suprsend.SuprSendExecutionStatusSensor"
    generic = "airflow_provider_cancel.sensors.base.CampaignStatusSensor"
    rows = []
    for path, field in [(arsel, "campaign_id"), (periskope, "broadcast_id"), (loop, "campaign_id")]:
        valid = SENSOR_ARGS[path.rpartition(".")[2]]
        for name, value, also in BAD_IDS:
            rows.append(
                pytest.param(path, {**valid, field: value}, field, also, id=f"{path.rpartition('.')[2]}-{name}")
            )
    for path in SENSORS:
        sensor = import_path(path)
        conn_field = sensor.hook_class.conn_name_attr
        args = {**SENSOR_ARGS[sensor.__name__], conn_field: 5}
        rows.append(pytest.param(path, args, conn_field, "string", id=f"{sensor.__name__}-conn-number"))
    # The generic sensor: each vendor's status target (from its example), with bad ids; then bad shapes.
    for kind, model in MODELS.items():
        target = model.parse(model.example).status_target()
        if target is None:
            continue
        vendor = model.vendor
        for key in [k for k in target if k.endswith("_id")]:
            for name, value, also in BAD_IDS:
                args = {"vendor": vendor, "target": {**target, key: value}}
                rows.append(pytest.param(generic, args, f"target.{key}", also, id=f"generic-{kind}-{key}-{name}"))
        rows.append(
            pytest.param(
                generic,
                {"vendor": vendor, "target": {**target, "typo": 1}},
                "typo",
                "no field",
                id=f"generic-{kind}-typo",
            )
        )
        rows.append(
            pytest.param(generic, {"vendor": vendor, "target": {}}, "target", "missing", id=f"generic-{kind}-empty")
        )
    rows += [
        pytest.param(arsel, {"campaign_id": "c1", "channel": "fax"}, "channel", "email, sms", id="arsel-channel"),
        pytest.param(suprsend, {"execution_ids": [""], "since": SINCE}, "execution_ids", "", id="suprsend-empty-id"),
        pytest.param(
            suprsend,
            {"execution_ids": ["dsl/../1"], "since": SINCE},
            "execution_ids",
            "not an id",
            id="suprsend-traversal",
        ),
        pytest.param(
            suprsend, {"execution_ids": [["dsl_1"]], "since": SINCE}, "execution_ids", "", id="suprsend-nested"
        ),
        pytest.param(
            suprsend, {"execution_ids": "['dsl_1'", "since": SINCE}, "execution_ids", "", id="suprsend-half-list"
        ),
        pytest.param(
            suprsend, {"execution_ids": ["dsl_1"], "since": "yesterday"}, "since", "ISO 8601", id="suprsend-since"
        ),
        pytest.param(
            suprsend,
            {"execution_ids": ["dsl_1"], "since": SINCE, "settle_seconds": -1},
            "settle_seconds",
            "",
            id="suprsend-settle-negative",
        ),
        pytest.param(
            suprsend,
            {"execution_ids": ["dsl_1"], "since": SINCE, "settle_seconds": "nan"},
            "settle_seconds",
            "finite",
            id="suprsend-settle-nan",
        ),
        pytest.param(
            generic, {"vendor": "arsel", "target": "not json"}, "target", "JSON object", id="generic-not-json"
        ),
        pytest.param(generic, {"vendor": "arsel", "target": "[1]"}, "target", "object", id="generic-a-list"),
        pytest.param(
            generic,
            {"vendor": "arsel", "target": {"campaign_id": "c1"}, "conn_id": ["a"]},
            "conn_id",
            "string",
            id="generic-conn-list",
        ),
        pytest.param(
            generic,
            {"vendor": "suprsend", "target": {"execution_ids": ["a/b"], "since": SINCE}},
            "execution_ids",
            "not an id",
            id="generic-suprsend-ids",
        ),
        pytest.param(
            generic,
            {"vendor": "suprsend", "target": {"execution_ids": ["dsl_1"]}},
            "since",
            "missing",
            id="generic-suprsend-no-since",
        ),
    ]
    return rows


@pytest.mark.parametrize(("path", "args", "argument", "also"), _poke_rows())
def test_sensors_refuse_bad_templated_arguments_in_poke_before_any_http(
    no_http, connections, path, args, argument, also
):
    sensor = import_path(path)(task_id="s", **args)
    with pytest.raises(AirflowFailException) as err:
        sensor.poke(make_context())
    assert_names(err.value, InvalidTarget, argument, also)
    assert no_http.call_count == 0


@pytest.mark.parametrize(("name", "value"), [n for n in TEMPLATED_BAD_IDS if n[0] != "bool"])
def test_a_sensor_id_rendered_bad_fails_in_poke_before_any_http(no_http, connections, name, value):
    sensor = import_path(SENSORS[0])(task_id="s", **SENSOR_ARGS[SENSORS[0].rpartition(".")[2]])
    field = next(f for f in sensor.template_fields if f.endswith("_id") and not f.endswith("conn_id"))
    setattr(sensor, field, "{{ params.value }}")
    sensor.render_template_fields(context={"params": {"value": value}})
    with pytest.raises(AirflowFailException) as err:
        sensor.poke(make_context())
    assert_names(err.value, InvalidTarget, field)
    assert no_http.call_count == 0


# =============================================================================== 4. connection settings
def _settings_rows() -> list[Any]:
    rows = []
    for spec in SPECS.values():
        label = spec.password_label
        for name, conn, extras, argument, also in [
            ("no-key", {"password": None}, {}, f"no {label}", "password field"),
            ("empty-key", {"password": ""}, {}, f"no {label}", "password field"),
            ("blank-key", {"password": "   "}, {}, f"no {label}", "password field"),
            ("ftp", {"host": "ftp://files.example.com/v1"}, {}, "host (Base URL)", "http:// or https://"),
            ("file", {"host": "file:///etc/passwd"}, {}, "host (Base URL)", "http:// or https://"),
            ("scheme-only", {"host": "http://"}, {}, "host (Base URL)", "no host"),
            ("no-host", {"host": "https:///v1"}, {}, "host (Base URL)", "no host"),
            ("half-scheme", {"host": "https:/api.example.com"}, {}, "host (Base URL)", "malformed scheme"),
            ("credentials", {"host": "https://user:secret@api.example.com"}, {}, "host (Base URL)", "password field"),
            ("query", {"host": "https://api.example.com/v1?key=1"}, {}, "host (Base URL)", "query string"),
            ("fragment", {"host": "https://api.example.com/v1#x"}, {}, "host (Base URL)", "fragment"),
            ("blank-inside", {"host": "https://api example.com"}, {}, "host (Base URL)", "blanks"),
            ("bad-port", {"host": "https://api.example.com:http/v1"}, {}, "host (Base URL)", ""),
            ("timeout-text", {}, {"timeout": "soon"}, "extra 'timeout'", "number of seconds"),
            ("timeout-negative", {}, {"timeout": -1}, "extra 'timeout'", "positive"),
            ("timeout-zero", {}, {"timeout": "0"}, "extra 'timeout'", "positive"),
            ("timeout-bool", {}, {"timeout": True}, "extra 'timeout'", "number of seconds"),
            ("timeout-nan", {}, {"timeout": "nan"}, "extra 'timeout'", "finite"),
            ("timeout-inf", {}, {"timeout": math.inf}, "extra 'timeout'", "finite"),
            ("timeout-list", {}, {"timeout": [30]}, "extra 'timeout'", "number of seconds"),
            ("connect-timeout-dict", {}, {"connect_timeout": {"s": 1}}, "extra 'connect_timeout'", "number of seconds"),
            ("legacy-timeout", {}, {f"extra__{spec.conn_type}__timeout": "-3"}, "extra 'timeout'", "positive"),
        ]:
            rows.append(pytest.param(spec.name, conn, extras, argument, also, id=f"{spec.name}-{name}"))
    for phone in ["+91 98745 32456", "919-874-532456", "123", "phone-", True, 9.19e11, ["919874532456"]]:
        rows.append(
            pytest.param(
                "periskope", {}, {"phone": phone}, "extra 'phone'", "digits only", id=f"periskope-phone-{phone!r:.16}"
            )
        )
    for channel in ["fax", 5, ["sms"]]:
        rows.append(
            pytest.param(
                "arsel",
                {},
                {"default_channel": channel},
                "extra 'default_channel'",
                "email, sms",
                id=f"arsel-default-channel-{channel!r}",
            )
        )
    return rows


def _settings(vendor: str, conn: dict[str, Any], extras: dict[str, Any]) -> ConnectionSettings:
    spec = SPECS[vendor]
    fields = {"conn_id": f"{vendor}_bad", "host": f"https://{vendor}.test/v1", "password": "k", **conn}
    return import_path(spec.hook)(f"{vendor}_bad")._settings_from(
        SimpleNamespace(**fields), {**spec.sandbox_extras, **extras}
    )


@pytest.mark.parametrize(("vendor", "conn", "extras", "argument", "also"), _settings_rows())
def test_connection_settings_refuse_bad_connections(vendor, conn, extras, argument, also):
    with pytest.raises(ConnectionConfigError) as err:
        _settings(vendor, conn, extras)
    assert_names(err.value, ConnectionConfigError, argument, also)
    assert f"{vendor}_bad" in str(err.value)  # and the connection
    assert "secret" not in str(err.value)  # credentials written into the host are never echoed


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        (None, "DEFAULT"),
        ("", "DEFAULT"),
        ("api.example.com/v1/", "https://api.example.com/v1"),  # no scheme: https:// (decisions.md)
        ("localhost:8080", "https://localhost:8080"),
        ("127.0.0.1:8765/arsel/v1", "https://127.0.0.1:8765/arsel/v1"),
        ("http://127.0.0.1:8765/arsel/v1", "http://127.0.0.1:8765/arsel/v1"),
        (" HTTPS://api.example.com ", "HTTPS://api.example.com"),
    ],
)
def test_connection_settings_keep_the_tolerant_readings(host, base_url):
    """Not a bad-input row: what stays accepted, so the rows above do not refuse more than they should."""
    for spec in SPECS.values():
        # Mailchimp's default host names a data centre, which a key without a -<dc> suffix cannot tell.
        data_center = {"data_center": "us1"} if "{dc}" in spec.default_base_url else {}
        settings = _settings(spec.name, {"host": host}, {"timeout": "20", "connect_timeout": 5, **data_center})
        default_base_url = spec.default_base_url.replace("{dc}", "us1")
        assert settings.base_url == (default_base_url if base_url == "DEFAULT" else base_url)
        assert (settings.connect_timeout, settings.read_timeout) == (5.0, 20.0)


# =============================================================================== 5. the kill switch
ARSEL = {"vendor": "arsel", "campaign_id": "c1", "channel": "sms"}


def _kill_switch_rows() -> list[Any]:
    """(arguments given to kill_switch_task_group, argument to name, extra text)."""
    rows = []
    for argument, values, also in [
        ("approval_threshold", [-1, 2.5, "10", True, None], "whole number"),
        ("poll_interval", [0, -1, "10", None, math.nan], "seconds"),
        ("wait_timeout", [0, "1h", math.inf], "seconds"),
        ("retries", [-1, 1.5, "2", True, None], "whole number"),
        ("retry_delay", [timedelta(seconds=-1), "10s", -1, None], "timedelta"),
        ("approval_timeout", [timedelta(0), "1h", None, -60], "timedelta"),
        ("allow_empty", ["yes", None, 1], "True or False"),
        ("dry_run", ["maybe", 2, ["x"]], "true or false"),
        ("skip_approval", ["maybe", 1.5], "true or false"),
        ("one_task_per_target", ["maybe", 2], "True or False"),
        ("max_concurrency", [0, 1.5, "8"], "whole number"),
    ]:
        for value in values:
            rows.append(pytest.param({argument: value}, argument, also, id=f"{argument}-{value!r:.12}"))
    mapped = {"one_task_per_target": True}  # pools belong to the one-task-per-target layout
    for value in ["arsel", ["arsel"]]:
        rows.append(pytest.param({**mapped, "pools": value}, "pools", "pool names", id=f"pools-{value!r:.12}"))
    rows += [
        pytest.param({**mapped, "pools": {"mailgun": "p"}}, "pools", "unknown target kinds", id="pools-unknown-kind"),
        pytest.param({**mapped, "pools": {"arsel": ""}}, "pools['arsel']", "pool", id="pools-empty-name"),
        pytest.param({**mapped, "pools": {"arsel": 5}}, "pools['arsel']", "pool", id="pools-number"),
        pytest.param({"pools": {"arsel": "p"}}, "pools", "one_task_per_target", id="pools-with-one-cancel-task"),
        pytest.param({"rate_limits": {"mailgun": 2}}, "rate_limits", "unknown target kinds", id="rate-unknown-kind"),
        pytest.param({"rate_limits": "fast"}, "rate_limits", "requests per second", id="rate-not-a-mapping"),
        pytest.param({"rate_limits": {"arsel": 0}}, "rate_limits['arsel']", "seconds", id="rate-zero"),
        pytest.param({"targets": []}, "targets", "empty", id="targets-empty-list"),
        pytest.param({"targets": "[]"}, "targets", "empty", id="targets-empty-json"),
        pytest.param({"targets": None}, "targets", "empty", id="targets-None"),
        pytest.param({"targets": ""}, "targets", "empty", id="targets-empty-text"),
        pytest.param({"targets": "[not json"}, "targets", "cannot be read", id="targets-unreadable"),
        pytest.param({"targets": 5}, "targets", "a list", id="targets-number"),
        pytest.param({"targets": "arsel"}, "targets[0]", "object", id="targets-a-word"),
        pytest.param(
            {"targets": [{"vendor": "mailgun", "campaign_id": "c1"}]},
            "targets[0].vendor",
            "unknown",
            id="unknown-vendor",
        ),
        pytest.param({"targets": [{"vendor": ["arsel"]}]}, "targets[0].vendor", "unknown", id="list-vendor"),
        pytest.param({"targets": [{"campaign_id": "c1"}]}, "targets[0].vendor", "missing", id="no-vendor"),
        pytest.param({"targets": [{**ARSEL, "campain_id": "c1"}]}, "campain_id", "unknown field", id="typo"),
    ]
    for kind, model in MODELS.items():
        rows.append(
            pytest.param({"targets": [model.example, model.example]}, "targets[1]", "duplicate", id=f"duplicate-{kind}")
        )
        for field in id_fields(model):
            targets = [{**model.example, field: "../x"}]
            rows.append(
                pytest.param({"targets": targets}, f"targets[0].{field}", "not an id", id=f"{kind}-{field}-traversal")
            )
    return rows


@pytest.mark.parametrize(("args", "argument", "also"), _kill_switch_rows())
def test_kill_switch_refuses_bad_arguments_when_the_dag_is_parsed(no_lookup, args, argument, also):
    from airflow.sdk import DAG

    with DAG("ks_bad_input", schedule=None), pytest.raises(InvalidTarget) as err:
        kill_switch_task_group(**{"targets": [ARSEL], **args})
    assert_names(err.value, InvalidTarget, argument, also)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"targets": "{{ params.targets | tojson }}", "dry_run": "{{ params.dry_run }}"}, id="templated"),
        pytest.param({"targets": [], "allow_empty": True}, id="empty-allowed"),
        pytest.param(
            {"targets": "[]", "allow_empty": True, "dry_run": "false", "skip_approval": "true"}, id="rendered-text"
        ),
        pytest.param({"retry_delay": 30, "approval_timeout": 600, "approval_threshold": 0, "retries": 0}, id="numbers"),
    ],
)
def test_kill_switch_still_accepts(no_lookup, args):
    """Not a bad-input row: templated values wait for the plan task, and literal good ones pass."""
    from airflow.sdk import DAG

    with DAG("ks_ok", schedule=None):
        kill_switch_task_group(**{"targets": [ARSEL], **args})


def _plan_rows() -> list[Any]:
    """What the plan task reads once rendered: (targets, dry_run, skip_approval, argument, extra text)."""
    example = MODELS["arsel"].example
    return [
        pytest.param("[]", "true", "false", "targets", "empty", id="empty"),
        pytest.param("", "true", "false", "targets", "empty", id="rendered-empty"),
        pytest.param("None", "true", "false", "targets", "empty", id="rendered-None"),
        pytest.param("[not json", "true", "false", "targets", "cannot be read", id="unreadable"),
        pytest.param('{"vendor": "mailgun"}', "true", "false", "targets[0].vendor", "unknown", id="unknown-vendor"),
        pytest.param(str([example, example]), "true", "false", "targets[1]", "duplicate", id="duplicate"),
        pytest.param(
            str([{**example, "campaign_id": "../x"}]),
            "true",
            "false",
            "targets[0].campaign_id",
            "not an id",
            id="traversal",
        ),
        pytest.param(str([example]), "maybe", "false", "dry_run", "true or false", id="dry_run"),
        pytest.param(str([example]), "false", "2", "skip_approval", "true or false", id="skip_approval"),
    ]


@pytest.mark.parametrize(("targets", "dry_run", "skip_approval", "argument", "also"), _plan_rows())
def test_kill_switch_plan_refuses_bad_rendered_arguments_before_any_http(
    no_http, targets, dry_run, skip_approval, argument, also
):
    with pytest.raises(AirflowFailException) as err:
        make_plan(targets, dry_run, skip_approval, approval_threshold=10)
    assert_names(err.value, AirflowFailException, argument, also)
    assert "nothing was sent" in str(err.value) and no_http.call_count == 0
