"""The connection forms as Airflow's own UI service builds them (``HookMetaService.hook_meta_data``).

Airflow 3.3 renders the "Add Connection" form from this service's answer, which it builds from
provider metadata alone (it never imports our hooks). These tests read that answer in-process
and check every field, label, placeholder and hidden field per vendor against the hand-written
tables in ``expected_forms.py``; then they check that what the form stores is what the hooks read.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest

from tests.ui.expected_forms import (
    FORMS,
    FORMS_FROM_METADATA,
    HIDDEN_STANDARD_FIELDS,
    VENDORS,
    ExpectedForm,
    hook_meta,
)

SECRET_WORDS = re.compile(r"key|token|secret|passw|credential|auth", re.IGNORECASE)


@pytest.fixture(scope="module")
def meta() -> dict[str, dict[str, Any]]:
    return hook_meta()


@pytest.mark.parametrize("vendor", VENDORS)
def test_connection_type_is_listed_under_the_vendor_name(meta, vendor):
    form = FORMS[vendor]
    assert vendor in meta, f"{vendor!r} is not offered in the Connection Type list"
    assert meta[vendor]["hook_name"] == form.hook_name
    assert meta[vendor]["hook_class_name"] == form.hook_class_name


@pytest.mark.parametrize("vendor", VENDORS)
def test_standard_fields_are_relabelled_placeholdered_and_hidden(meta, vendor):
    form = FORMS[vendor]
    fields = meta[vendor]["standard_fields"]
    assert fields is not None, "no ui-field-behaviour reached the UI"
    hidden = {name for name, spec in fields.items() if spec and spec["hidden"]}
    assert hidden == HIDDEN_STANDARD_FIELDS
    assert fields["host"] == {"hidden": False, "title": "Base URL", "placeholder": form.base_url}
    assert fields["password"] == {"hidden": False, "title": form.key_label, "placeholder": form.key_placeholder}
    assert fields["description"] is None  # shown, with Airflow's own label


@pytest.mark.parametrize("vendor", VENDORS)
def test_extra_fields_have_labels_types_and_defaults(meta, vendor):
    form = FORMS[vendor]
    extra = meta[vendor]["extra_fields"] or {}
    assert set(extra) == set(form.extra_fields)
    for name, want in form.extra_fields.items():
        got = extra[name]
        schema = got["schema"]
        assert schema["title"] == want.label, name
        assert got["value"] == want.default, f"{name}: the form pre-fills {got['value']!r}"
        assert schema.get("enum") == want.enum, name
        assert schema.get("format") == want.format, name
        assert got["description"], f"{name} has no help text"
        if FORMS_FROM_METADATA:
            assert schema["type"] == want.type, name
            assert schema.get("minimum") == want.minimum and schema.get("maximum") == want.maximum, name
        else:  # Airflow 3.1: WTForms widgets, whole seconds, no limits
            wanted = {"number": "integer"}.get(want.type[0] if isinstance(want.type, list) else want.type)
            assert schema["type"][0] == (wanted or (want.type[0] if isinstance(want.type, list) else want.type)), name


@pytest.mark.parametrize("vendor", VENDORS)
def test_secret_looking_fields_are_password_fields_that_airflow_masks(meta, vendor):
    from airflow._shared.secrets_masker import should_hide_value_for_key

    for name, spec in (meta[vendor]["extra_fields"] or {}).items():
        if SECRET_WORDS.search(name):
            assert spec["schema"].get("format") == "password", f"{name} looks secret but shows in clear"
        if spec["schema"].get("format") == "password":
            # The API and logs mask extras by key name only: a secret under another name would leak.
            assert should_hide_value_for_key(name), f"{name} is a password field Airflow would not mask"


@pytest.mark.skipif(not FORMS_FROM_METADATA, reason="Airflow 3.1's WTForms forms carry no pattern")
def test_periskope_phone_pattern_accepts_what_the_hook_accepts(meta):
    pattern = re.compile(meta["periskope"]["extra_fields"]["phone"]["schema"]["pattern"])
    for good in ("919874532456", "phone-abc_12"):
        assert pattern.match(good)
    for bad in ("+91 98745 32456", "+919874532456", "98745", "phone-"):
        assert not pattern.match(bad)


def _hook_from_form(form: ExpectedForm, extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The vendor's hook on a connection holding ``extra``, and the settings it parsed from it."""
    conn_id = f"{form.conn_type}_form"
    conn = {"conn_type": form.conn_type, "host": "https://vendor.example", "password": "sk_form_key", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    module, _, name = form.hook_class_name.rpartition(".")
    hook = getattr(importlib.import_module(module), name)(conn_id)
    return hook, hook.settings


@pytest.mark.parametrize("vendor", VENDORS)
def test_what_the_form_stores_is_what_the_hook_reads(meta, vendor, monkeypatch):
    """Keys must match: a field the hook ignores would be a setting that silently does nothing."""
    form = FORMS[vendor]
    # Exactly the JSON the UI saves: every field, the untouched ones at their form value.
    stored = {name: spec["value"] for name, spec in (meta[vendor]["extra_fields"] or {}).items()}
    stored |= {"timeout": 17, "connect_timeout": 7} | form.fill_extras
    hook, settings = _hook_from_form(form, stored, monkeypatch)
    assert (settings.read_timeout, settings.connect_timeout) == (17.0, 7.0)
    if vendor == "arsel":
        assert hook.channel(None) == "sms"
    if vendor == "periskope":
        assert hook.vendor_headers(settings) == {"x-phone": form.fill_extras["phone"]}


@pytest.mark.parametrize("vendor", VENDORS)
def test_form_defaults_alone_make_a_working_connection(meta, vendor, monkeypatch):
    """An admin who fills only Base URL and key gets the documented timeouts, not an error."""
    stored = {name: spec["value"] for name, spec in (meta[vendor]["extra_fields"] or {}).items()}
    _, settings = _hook_from_form(FORMS[vendor], stored, monkeypatch)
    assert (settings.read_timeout, settings.connect_timeout) == (30.0, 10.0)
