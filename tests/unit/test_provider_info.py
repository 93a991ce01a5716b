"""Provider metadata: what Airflow's discovery and the connection form read."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from importlib.resources import files

import jsonschema
import pytest
from packaging.utils import canonicalize_name

from airflow_provider_cancel import get_provider_info

INFO = get_provider_info()


def _schema(name: str) -> dict:
    return json.loads(files("airflow").joinpath(name).read_text())


def test_validates_against_the_runtime_schema():
    jsonschema.validate(INFO, _schema("provider_info.schema.json"))


def test_connection_types_validate_against_the_strict_provider_yaml_schema():
    schema = _schema("provider.yaml.schema.json")
    sub = dict(schema["properties"]["connection-types"])
    sub["definitions"] = schema.get("definitions", {})
    if "$defs" in schema:
        sub["$defs"] = schema["$defs"]
    jsonschema.validate(INFO["connection-types"], sub)


def test_package_name_matches_the_installed_distribution():
    dist = importlib.metadata.distribution("airflow-provider-cancel")
    assert INFO["package-name"] == canonicalize_name(dist.metadata["Name"])


def test_entry_point_is_registered():
    eps = importlib.metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in eps if ep.value.startswith("airflow_provider_cancel")]
    assert len(ours) == 1 and ours[0].load()()["package-name"] == "airflow-provider-cancel"


@pytest.mark.parametrize("entry", INFO["connection-types"], ids=lambda e: e["connection-type"])
def test_each_hook_class_imports_with_matching_conn_type(entry):
    module, _, name = entry["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), name)
    assert hook.conn_type == entry["connection-type"]
    assert hook.hook_name == entry["hook-name"]
    assert hook.default_base_url == entry["ui-field-behaviour"]["placeholders"]["host"]
    assert callable(getattr(hook, "test_connection", None))


@pytest.mark.parametrize("entry", INFO["connection-types"], ids=lambda e: e["connection-type"])
def test_form_hides_unused_fields_and_relabels_the_key(entry):
    behaviour = entry["ui-field-behaviour"]
    assert {"schema", "port", "login"} <= set(behaviour["hidden-fields"])
    assert behaviour["relabeling"]["password"] in ("API key", "Access token")
    assert "timeout" in entry["conn-fields"]


@pytest.mark.parametrize("key", ["hooks", "operators", "sensors", "triggers"])
def test_listed_modules_import(key):
    for item in INFO[key]:
        for module in item["python-modules"]:
            importlib.import_module(module)


def test_airflow_cli_lists_the_provider_and_every_connection_type(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    providers = subprocess.run([airflow, "providers", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert providers.returncode == 0, providers.stderr
    assert "airflow-provider-cancel" in providers.stdout
    hooks = subprocess.run([airflow, "providers", "hooks"], env=env, capture_output=True, text=True, timeout=120)
    assert hooks.returncode == 0, hooks.stderr
    for entry in INFO["connection-types"]:
        line = next((ln for ln in hooks.stdout.splitlines() if ln.startswith(entry["connection-type"] + " ")), "")
        assert entry["hook-class-name"] in line and entry["hook-name"] in line, hooks.stdout


def test_get_provider_info_is_import_light():
    # Airflow calls it on every provider discovery: plain data only, no hook, no Airflow, no HTTP client.
    import subprocess
    import sys

    code = (
        "import sys; from airflow_provider_cancel import get_provider_info; info = get_provider_info(); "
        "print(len(info['connection-types'])); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'requests', 'aiohttp') "
        "or m.startswith(('airflow_provider_cancel.hooks', 'airflow_provider_cancel.operators'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert int(out[0]) >= 4 and out[1] == "[]"
