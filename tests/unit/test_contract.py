"""The contract every registered vendor keeps, checked for each entry of the vendor registry.

A vendor added to the registry inherits every test here: it cannot forget a templated connection
id, a docstring, a JSON-safe target, its sandbox, its docs page or an example DAG.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import fields
from pathlib import Path

import pytest

from airflow_provider_cancel import get_provider_info
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.status import CancelOutcome, CancelResult
from airflow_provider_cancel.targets import Target
from airflow_provider_cancel.vendors import import_path, parse_target, vendors

REPO = Path(__file__).resolve().parents[2]
SPECS = list(vendors().values())
NAMES = [spec.name for spec in SPECS]
KINDS = [(spec, kind, path) for spec in SPECS for kind, path in spec.target_kinds.items()]
OPERATORS = [(spec, path) for spec in SPECS for path in spec.operators]


def build(cls: type, **overrides):
    """An operator or sensor with every required argument set to a plain id."""
    params = inspect.signature(cls.__init__).parameters
    required = {
        name: "x1"
        for name, p in params.items()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty and name != "kwargs"
    }
    return cls(task_id="t", **{**required, **overrides})


def documented_params(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(
            line.split(":param ", 1)[1].split(":", 1)[0]
            for line in (klass.__doc__ or "").splitlines()
            if ":param " in line
        )
    return names


def test_the_registry_has_the_seed_vendors():
    assert {"arsel", "suprsend", "periskope", "loop_comms"} <= set(NAMES)


@pytest.mark.parametrize("spec", SPECS, ids=NAMES)
def test_hook_attributes_match_the_registry_and_provider_info(spec):
    hook = import_path(spec.hook)
    assert issubclass(hook, CampaignVendorHook)
    assert (hook.vendor, hook.conn_type, hook.hook_name, hook.default_base_url) == (
        spec.name,
        spec.conn_type,
        spec.display_name,
        spec.default_base_url,
    )
    assert hook.default_conn_name == f"{spec.conn_type}_default" and hook.conn_name_attr == f"{spec.conn_type}_conn_id"
    assert hook.test_connection_path
    entry = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == spec.conn_type)
    assert entry["hook-class-name"] == spec.hook
    assert hook(**{hook.conn_name_attr: "named"}).conn_id == "named"  # how Airflow's UI builds it


@pytest.mark.parametrize(("spec", "path"), OPERATORS, ids=[p.rsplit(".", 1)[1] for _, p in OPERATORS])
def test_operator_conn_id_is_the_vendor_named_templated_field(spec, path):
    cls = import_path(path)
    assert issubclass(cls, BaseCancelOperator) and cls.hook_class is import_path(spec.hook)
    conn_attr = cls.conn_id_field()
    assert conn_attr == f"{spec.conn_type}_conn_id" and conn_attr in cls.template_fields
    op = build(cls, **{conn_attr: "picked_from_params"})
    assert op.resolved_conn_id == "picked_from_params"
    assert build(cls).resolved_conn_id == spec.default_conn_id
    for name in cls.template_fields:
        assert hasattr(op, name), f"{cls.__name__}.template_fields names {name!r}, which is not an attribute"


@pytest.mark.parametrize("path", [p for _, p in OPERATORS] + [s.sensor for s in SPECS if s.sensor])
def test_every_argument_is_documented(path):
    cls = import_path(path)
    params = {n for n, p in inspect.signature(cls.__init__).parameters.items() if n not in ("self", "kwargs")}
    assert params - documented_params(cls) == set()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.sensor], ids=[s.name for s in SPECS if s.sensor])
def test_sensor_conn_id_is_templated(spec):
    cls = import_path(spec.sensor)
    assert issubclass(cls, BaseCampaignStatusSensor)
    conn_attr = import_path(spec.hook).conn_name_attr
    assert conn_attr in cls.template_fields
    assert build(cls, **{conn_attr: "picked"}).resolved_conn_id == "picked"


@pytest.mark.parametrize(("spec", "kind", "path"), KINDS, ids=[k for _, k, _ in KINDS])
def test_target_kind_is_an_airflow_free_model_named_like_its_operator(spec, kind, path):
    model = import_path(path)
    assert issubclass(model, Target) and model.kind == kind and model.vendor == spec.name
    operator = next(import_path(p) for p in spec.operators if import_path(p).target_model is model)
    params = set(inspect.signature(operator.__init__).parameters) | set(
        inspect.signature(BaseCancelOperator.__init__).parameters
    )
    for cls in operator.__mro__[1:]:
        if issubclass(cls, BaseCancelOperator):
            params |= set(inspect.signature(cls.__init__).parameters)
    names = {f.name for f in fields(model)} - {"conn_id"}
    assert names <= params, f"target fields not named as {operator.__name__}'s arguments: {names - params}"
    assert names <= set(operator.template_fields)


@pytest.mark.parametrize(("spec", "kind", "path"), KINDS, ids=[k for _, k, _ in KINDS])
def test_target_example_parses_round_trips_and_is_json_safe(spec, kind, path):
    target = parse_target(import_path(path).example)
    data = target.to_dict()
    assert json.loads(json.dumps(data)) == data and data["vendor"] == kind
    assert parse_target(data) == target
    waits_on = target.status_target(
        CancelResult(
            spec.name,
            {**data},
            CancelOutcome.CANCELLED,
            "cancelled",
            {"execution_ids": ["e1"], "cancelled_at": "2026-01-01T00:00:00Z"},
        )
    )
    assert waits_on is None or json.loads(json.dumps(waits_on)) == waits_on


@pytest.mark.parametrize(("spec", "kind", "path"), KINDS, ids=[k for _, k, _ in KINDS])
def test_target_refuses_unknown_fields(spec, kind, path):
    from airflow_provider_cancel.exceptions import InvalidTarget

    with pytest.raises(InvalidTarget) as err:
        parse_target({**import_path(path).example, "campain_id": "typo"})
    assert "campain_id" in err.value.fields


@pytest.mark.parametrize("spec", SPECS, ids=NAMES)
def test_the_sandbox_mounts_the_vendor_with_the_registry_key(spec):
    from airflow_provider_cancel.sandbox.app import VENDORS, SandboxApp

    sandbox_class = import_path(spec.sandbox)
    assert sandbox_class in VENDORS
    app = SandboxApp()
    prefix = spec.sandbox_prefix.strip("/").split("/")[0]
    assert prefix in app.vendors
    assert spec.sandbox_key


@pytest.mark.parametrize("spec", SPECS, ids=NAMES)
def test_the_vendor_has_a_docs_page_and_an_example_dag(spec):
    assert (REPO / "docs" / "vendors" / f"{spec.name}.md").is_file()
    modules = {path.rpartition(".")[0] for path in spec.operators}
    examples = [p for p in (REPO / "example_dags").glob("*.py") if any(m in p.read_text() for m in modules)]
    assert examples, f"no example DAG uses {sorted(modules)}"


def test_vendor_modules_import_no_airflow_and_no_http():
    import ast

    for spec in SPECS:
        path = REPO / "airflow_provider_cancel" / "vendors" / f"{spec.name}.py"
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        bad = {
            m
            for m in imported
            if m.split(".")[0] in ("airflow", "requests", "aiohttp")
            or m.startswith(("airflow_provider_cancel.hooks", "airflow_provider_cancel.operators"))
        }
        assert bad == set(), f"{path.name} imports {bad}"
