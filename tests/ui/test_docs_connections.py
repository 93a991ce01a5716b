"""docs/connections.md says how to set up each connection without the UI; check that it works.

The documented ``AIRFLOW_CONN_*`` JSON and ``airflow connections add`` commands are read from the
page itself, pointed at the sandbox (host and key swapped for the sandbox's), and then used the way
an admin would: by the hook, by the API server's Test endpoint and by ``airflow connections test``.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import harness
import pytest

from tests.ui.expected_forms import FORMS, VENDORS, ExpectedForm

DOC = Path(__file__).resolve().parents[2] / "docs" / "connections.md"


def documented_env_connections() -> dict[str, dict[str, Any]]:
    """``{conn_id: connection JSON}`` from the doc's ``export AIRFLOW_CONN_...='...'`` lines."""
    found = re.findall(r"^export AIRFLOW_CONN_([A-Z0-9_]+)='(.+)'$", DOC.read_text(), re.MULTILINE)
    return {name.lower(): json.loads(value) for name, value in found}


def documented_add_commands() -> dict[str, list[str]]:
    """``{conn_id: argv}`` from the doc's ``airflow connections add`` commands."""
    text = DOC.read_text().replace("\\\n", " ")
    commands = [shlex.split(line) for line in text.splitlines() if line.startswith("airflow connections add ")]
    return {argv[3]: argv for argv in commands}


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    argv = list(argv)
    argv[argv.index(option) + 1] = value
    return argv


def assert_documents_the_form(form: ExpectedForm, conn_type: str, host: str, extra: dict[str, Any]) -> None:
    assert conn_type == form.conn_type
    assert host == form.base_url
    assert set(extra) <= set(form.extra_fields), f"the doc uses settings the form does not have: {extra}"
    for name, value in extra.items():
        spec = form.extra_fields[name]
        assert value == spec.default or name in form.fill_extras, f"{name}={value!r} is not the form's default"


@pytest.mark.parametrize("vendor", VENDORS)
def test_documented_env_var_json_connects_to_the_sandbox(vendor, sandbox_server, monkeypatch):
    form = FORMS[vendor]
    conn_id = f"{vendor}_default"
    documented = documented_env_connections()
    assert conn_id in documented, f"docs/connections.md has no AIRFLOW_CONN_{conn_id.upper()}"
    conn = documented[conn_id]
    assert set(conn) == {"conn_type", "host", "password", "extra"}
    assert_documents_the_form(form, conn["conn_type"], conn["host"], conn["extra"])

    sandbox_server.reset()
    pointed = conn | {"host": sandbox_server.url + form.sandbox_prefix, "password": form.sandbox_key}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(pointed))
    module, _, name = form.hook_class_name.rpartition(".")
    ok, message = getattr(importlib.import_module(module), name)(conn_id).test_connection()
    assert ok, message


@pytest.mark.ui
@pytest.mark.e2e
def test_documented_cli_commands_make_connections_the_test_button_accepts(api_server, sandbox_server):
    sandbox_server.reset()
    commands = documented_add_commands()
    assert set(commands) == {f"{vendor}_default" for vendor in VENDORS}
    for vendor in VENDORS:
        form = FORMS[vendor]
        conn_id = f"{vendor}_default"
        argv = commands[conn_id]
        options = dict(zip(argv[4::2], argv[5::2], strict=False))
        assert_documents_the_form(
            form, options["--conn-type"], options["--conn-host"], json.loads(options["--conn-extra"])
        )
        api_server.call("DELETE", f"/api/v2/connections/{conn_id}")
        argv = with_option(argv, "--conn-host", sandbox_server.url + form.sandbox_prefix)
        argv = with_option(argv, "--conn-password", form.sandbox_key)
        done = subprocess.run(
            [harness.AIRFLOW, *argv[1:]], env=api_server.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr

        # Test with the stored credentials, as the UI's Test button does (the key comes back masked).
        status, saved = api_server.call("GET", f"/api/v2/connections/{conn_id}")
        assert status == 200, saved
        assert saved["password"] == "***"
        body = {k: saved[k] for k in ("connection_id", "conn_type", "host", "password", "extra")}
        status, answer = api_server.call("POST", "/api/v2/connections/test", body)
        assert status == 200, answer
        assert answer["status"], f"{vendor}: {answer['message']}"

    # The documented command-line workaround for Airflow 3.3.2's Test button.
    reads_before = len(sandbox_server.app.log.entries("arsel"))
    done = subprocess.run(
        [harness.AIRFLOW, "connections", "test", "arsel_default"],
        env=api_server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Connection success!" in done.stdout
    assert [e["method"] for e in sandbox_server.app.log.entries("arsel")[reads_before:]] == ["GET"]
    for vendor in VENDORS:
        api_server.call("DELETE", f"/api/v2/connections/{vendor}_default")
