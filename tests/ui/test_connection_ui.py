"""Connection setup in the real Airflow 3 UI, in headless Chromium, against the sandbox.

For each vendor an admin opens Admin > Connections > Add Connection, picks the vendor's type,
sees its labels, placeholders and own fields (and not the unused ones), fills them in, saves,
and presses Test: success against the sandbox, then a clear "key rejected" after editing in a
wrong key. Screenshots in ``test-artifacts/ui/``: ``<vendor>.png`` (type, Base URL and key filled
in), ``<vendor>-extra-fields.png`` (the vendor's own fields), ``<vendor>-test-ok.png`` and
``<vendor>-test-wrong-key.png`` (the Test button's answers).

The Test button calls ``POST /api/v2/connections/test`` on the API server, which puts the
connection in a temporary ``AIRFLOW_CONN_*`` variable and calls our hook's ``test_connection``.
The same endpoint is driven directly for the cases a browser adds nothing to (wrong host,
nothing listening, vendor outage), and the sandbox's request log proves every test was a GET.
"""

from __future__ import annotations

import importlib
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import open_page
from tests.ui.expected_forms import FORMS, FORMS_FROM_METADATA, VENDORS, ExpectedForm, hook_meta

pytestmark = [pytest.mark.ui, pytest.mark.e2e]  # e2e: keeps `-m "not e2e"` the fast set

# Fields of the Add Connection form that these connection types must not show.
UNUSED_FORM_INPUTS = ("login", "port", "schema")


def require_vendor(vendor: str, sandbox: Any) -> None:
    """Fail with a clear reason when a vendor's hook or sandbox module has not landed."""
    module = FORMS[vendor].hook_class_name.rpartition(".")[0]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{FORMS[vendor].hook_name}: hook module {module} is missing ({exc})")
    if FORMS[vendor].sandbox_vendor not in sandbox.app.vendors:
        pytest.fail(
            f"{FORMS[vendor].hook_name}: the sandbox has no {FORMS[vendor].sandbox_vendor!r} vendor "
            "(sandbox/app.py VENDORS)"
        )


def vendor_requests(sandbox: Any, vendor: str) -> list[tuple[str, str, bool | None]]:
    entries = sandbox.app.log.entries(FORMS[vendor].sandbox_vendor)
    return [(e["method"], e["path"], e["auth_valid"]) for e in entries]


def assert_only_reads(sandbox: Any, vendor: str) -> None:
    calls = vendor_requests(sandbox, vendor)
    assert calls, "the Test button reached nothing"
    assert {method for method, _, _ in calls} == {"GET"}, f"Test must only read, it sent {calls}"


def labelled(scope: Any, label: str) -> Any:
    """The input a form label names; required fields' labels end in a "*"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}\s*\*?$"))


def screenshot(page: Any, path: Path) -> None:
    # animations="disabled" fast-forwards the toasts' slide-in so the picture shows the message.
    page.screenshot(path=str(path), full_page=True, animations="disabled")


def delete_connection(api_server: Any, conn_id: str) -> None:
    status, body = api_server.call("DELETE", f"/api/v2/connections/{conn_id}")
    assert status in (204, 404), body


def test_running_server_offers_the_forms_the_ui_service_builds(api_server):
    status, body = api_server.call("GET", "/ui/connections/hook_meta")
    assert status == 200, body
    served = {item["connection_type"]: item for item in body}
    expected = hook_meta()
    for vendor in VENDORS:
        assert served.get(vendor) == expected[vendor], vendor


# ----------------------------------------------------------------------------- the browser
def open_add_connection_form(page: Any, api_server: Any, form: ExpectedForm, conn_id: str) -> Any:
    from playwright.sync_api import expect

    open_page(page, f"{api_server.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    dialog.locator('input[name="connection_id"]').fill(conn_id)
    dialog.get_by_label("Connection Type").fill(form.hook_name)
    option = page.get_by_role("option", name=form.hook_name, exact=True)
    expect(option).to_be_visible()  # listed under the vendor's name, not the raw conn type
    option.click()
    expect(dialog.locator('input[name="host"]')).to_be_visible()
    return dialog


def check_and_fill_standard_fields(dialog: Any, form: ExpectedForm, host: str, key: str) -> None:
    from playwright.sync_api import expect

    base_url = dialog.get_by_label("Base URL", exact=True)
    expect(base_url).to_have_attribute("placeholder", form.base_url)
    key_input = dialog.get_by_label(form.key_label, exact=True)
    expect(key_input).to_have_attribute("type", "password")
    expect(key_input).to_have_attribute("placeholder", form.key_placeholder)
    expect(dialog.get_by_label("Description", exact=True)).to_be_visible()
    for name in UNUSED_FORM_INPUTS:
        expect(dialog.locator(f'[name="{name}"]')).to_have_count(0)
    for label in ("Login", "Port", "Schema", "Host", "Password"):
        expect(dialog.get_by_label(label, exact=True)).to_have_count(0)
    base_url.fill(host)
    key_input.fill(key)


def check_and_fill_extra_fields(page: Any, dialog: Any, form: ExpectedForm, values: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    for name, spec in form.extra_fields.items():
        label = dialog.locator("label").filter(has_text=re.compile(rf"^{re.escape(spec.label)}\s*\*?$"))
        expect(label).to_be_visible()
        # The form stores each field under its own key; not every field's input is tied to its label.
        stored_value = dialog.locator(f'input[name="element_{name}"]')
        # Airflow 3.1 shows a (nullable) choice as a combobox that displays its value, with no hidden input.
        shown = (
            dialog.get_by_role("group").filter(has_text=spec.label).first
            if spec.enum and not FORMS_FROM_METADATA
            else None
        )
        if spec.default is not None:
            if shown is not None:
                expect(shown).to_contain_text(str(spec.default))
            else:
                expect(stored_value).to_have_value(str(spec.default))
        if name not in values:
            continue
        if spec.enum:
            labelled(dialog, spec.label).first.click()  # 3.1 also labels the (hidden) list with it
            expect(page.get_by_role("option")).to_have_text([str(choice) for choice in spec.enum])
            page.get_by_role("option", name=str(values[name]), exact=True).click()
            if shown is not None:
                expect(shown).to_contain_text(str(values[name]))
            else:
                expect(stored_value).to_have_value(str(values[name]))
        else:
            stored_value.fill(str(values[name]))


@pytest.mark.parametrize("vendor", VENDORS)
def test_admin_sets_up_and_tests_the_connection_in_the_browser(vendor, api_server, sandbox, page, artifacts_dir):
    from playwright.sync_api import expect

    form = FORMS[vendor]
    require_vendor(vendor, sandbox)
    conn_id = f"{vendor}_ui"
    delete_connection(api_server, conn_id)
    host = sandbox.url + form.sandbox_prefix  # as scripts/harness.py connects the e2e tests
    typed = {**form.fill_extras, "timeout": 20}

    dialog = open_add_connection_form(page, api_server, form, conn_id)
    check_and_fill_standard_fields(dialog, form, host, form.sandbox_key)
    screenshot(page, artifacts_dir / f"{vendor}.png")
    check_and_fill_extra_fields(page, dialog, form, typed)
    screenshot(page, artifacts_dir / f"{vendor}-extra-fields.png")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # Saved as the hook reads it: the key in the (masked) password, settings as plain extras.
    status, saved = api_server.call("GET", f"/api/v2/connections/{conn_id}")
    assert status == 200, saved
    assert (saved["conn_type"], saved["host"], saved["password"]) == (form.conn_type, host, "***")
    assert saved["port"] is None and saved["login"] is None
    stored_extra = json.loads(saved["extra"])
    assert set(stored_extra) == set(form.extra_fields)
    for name, spec in form.extra_fields.items():
        assert stored_extra[name] == typed.get(name, spec.default), name

    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=conn_id, exact=True))
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Test Connection").click()
    success = f"Connected to {form.hook_name} at {host}; the {form.key_label} was accepted."
    expect(page.get_by_text(success)).to_be_visible()
    screenshot(page, artifacts_dir / f"{vendor}-test-ok.png")
    assert_only_reads(sandbox, vendor)
    assert all(valid for _, _, valid in vendor_requests(sandbox, vendor))

    # Edit in a wrong key: the Test button must say it is the key, not the host or the vendor.
    sandbox.app.log.clear()
    row.get_by_role("button", name="Edit Connection").click()
    edit = page.get_by_role("dialog")
    edit.get_by_label(form.key_label, exact=True).fill("wrong_key_for_the_ui_test")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    row.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_text(f"{form.hook_name} rejected the {form.key_label}")).to_be_visible()
    expect(page.get_by_text(f"Check the {form.key_label}.")).to_be_visible()
    screenshot(page, artifacts_dir / f"{vendor}-test-wrong-key.png")
    assert_only_reads(sandbox, vendor)
    assert [valid for _, _, valid in vendor_requests(sandbox, vendor)] == [False]

    # Editing the key kept the other settings the admin chose.
    status, saved = api_server.call("GET", f"/api/v2/connections/{conn_id}")
    assert json.loads(saved["extra"]) == stored_extra
    delete_connection(api_server, conn_id)


# ----------------------------------------------------------------------------- the endpoint behind Test
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on exit: nothing listens there


def press_test(api_server: Any, form: ExpectedForm, host: str, key: str) -> tuple[bool, str]:
    """What the Test button does for a connection whose fields are in the request."""
    body = {
        "connection_id": f"{form.conn_type}_probe",
        "conn_type": form.conn_type,
        "host": host,
        "password": key,
        "extra": json.dumps(form.sandbox_extras),
    }
    status, answer = api_server.call("POST", "/api/v2/connections/test", body)
    assert status == 200, answer
    return answer["status"], answer["message"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_test_button_tells_key_host_and_outage_apart(vendor, api_server, sandbox):
    form = FORMS[vendor]
    require_vendor(vendor, sandbox)
    good_host = sandbox.url + form.sandbox_prefix

    ok, message = press_test(api_server, form, good_host, form.sandbox_key)
    assert ok, message
    assert message == f"Connected to {form.hook_name} at {good_host}; the {form.key_label} was accepted."

    ok, message = press_test(api_server, form, good_host, "wrong_key_0123456789")
    assert not ok
    assert f"rejected the {form.key_label}" in message and "HTTP 401" in message

    wrong_path = f"{sandbox.url}/not-{vendor}"
    ok, message = press_test(api_server, form, wrong_path, form.sandbox_key)
    assert not ok
    assert "Base URL looks wrong" in message and form.base_url in message

    nowhere = f"http://127.0.0.1:{closed_port()}"
    ok, message = press_test(api_server, form, nowhere, form.sandbox_key)
    assert not ok
    assert message.startswith(f"Could not reach {nowhere}") and "Check the Base URL" in message

    sandbox.admin("POST", f"{form.sandbox_vendor}/faults", {"fail_next": 1, "status": 503})
    ok, message = press_test(api_server, form, good_host, form.sandbox_key)
    assert not ok
    assert "HTTP 503" in message and "vendor outage" in message
    assert f"rejected the {form.key_label}" not in message

    assert_only_reads(sandbox, vendor)


def test_wrong_key_message_does_not_echo_the_key(api_server, sandbox):
    form = FORMS["arsel"]
    ok, message = press_test(api_server, form, sandbox.url + form.sandbox_prefix, "be_leaky_secret_value_42")
    assert not ok and "be_leaky_secret_value_42" not in message
    assert re.search(r"rejected the API key", message)
