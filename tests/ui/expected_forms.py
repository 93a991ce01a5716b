"""What an admin must see in the Airflow 3 "Add Connection" form, per vendor, written out by hand.

Deliberately not derived from ``get_provider_info()``: these tables are the specification the
metadata is checked against (by ``HookMetaService`` in-process and in a real browser).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import harness


def _forms_from_metadata() -> bool:
    from importlib.metadata import version

    return tuple(int(p) for p in version("apache-airflow-core").split(".")[:2]) >= (3, 2)


#: Airflow 3.2+ builds the form from provider info (JSON schema: number types, limits, patterns);
#: 3.1 converts the hooks' WTForms widgets, which know strings and integers only, without limits.
FORMS_FROM_METADATA = _forms_from_metadata()

# Standard fields that mean nothing to these REST APIs and must not be shown.
HIDDEN_STANDARD_FIELDS = frozenset({"url_schema", "port", "login"})


@dataclass(frozen=True)
class ExtraField:
    """One vendor setting in the form's "Extra Fields" section."""

    label: str
    type: str | list[str]
    default: Any = None
    enum: list[Any] | None = None
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None


TIMEOUT_FIELDS = {
    "timeout": ExtraField("Read timeout (seconds)", ["number", "null"], 30, minimum=1, maximum=600),
    "connect_timeout": ExtraField("Connect timeout (seconds)", ["number", "null"], 10, minimum=1, maximum=120),
}


@dataclass(frozen=True)
class ExpectedForm:
    """The connection form of one vendor, and how the browser test fills it for the sandbox."""

    conn_type: str
    hook_name: str
    hook_class_name: str
    base_url: str
    key_label: str
    key_placeholder: str
    extra_fields: dict[str, ExtraField]
    # What the browser test types into the vendor's own fields (label -> value) and expects stored.
    fill_extras: dict[str, Any] = field(default_factory=dict)

    @property
    def sandbox_prefix(self) -> str:
        return next(prefix for vendor, _, prefix, _ in harness.VENDOR_CONNECTIONS if vendor == self.conn_type)

    @property
    def sandbox_vendor(self) -> str:
        """The sandbox's name for the vendor: the first segment of its path prefix."""
        return self.sandbox_prefix.split("/")[1]

    @property
    def sandbox_key(self) -> str:
        return harness.SANDBOX_KEYS[self.conn_type]

    @property
    def sandbox_extras(self) -> dict[str, Any]:
        return next(extra for vendor, _, _, extra in harness.VENDOR_CONNECTIONS if vendor == self.conn_type)


FORMS: dict[str, ExpectedForm] = {
    "arsel": ExpectedForm(
        conn_type="arsel",
        hook_name="Arsel",
        hook_class_name="airflow_provider_cancel.hooks.arsel.ArselHook",
        base_url="https://api.arsel.sa/v1",
        key_label="API key",
        key_placeholder="be_... (Arsel API key)",
        extra_fields={
            "default_channel": ExtraField("Default channel", "string", "email", enum=["email", "sms"]),
            **TIMEOUT_FIELDS,
        },
        fill_extras={"default_channel": "sms"},
    ),
    "suprsend": ExpectedForm(
        conn_type="suprsend",
        hook_name="SuprSend",
        hook_class_name="airflow_provider_cancel.hooks.suprsend.SuprSendHook",
        base_url="https://hub.suprsend.com",
        key_label="API key",
        key_placeholder="Your SuprSend API key",
        extra_fields=dict(TIMEOUT_FIELDS),
    ),
    "periskope": ExpectedForm(
        conn_type="periskope",
        hook_name="Periskope",
        hook_class_name="airflow_provider_cancel.hooks.periskope.PeriskopeHook",
        base_url="https://api.periskope.app/v1",
        key_label="API key",
        key_placeholder="Periskope API key (console: Settings > API)",
        extra_fields={"phone": ExtraField("Org phone (x-phone)", ["string", "null"]), **TIMEOUT_FIELDS},
        fill_extras={"phone": harness.SANDBOX_PERISKOPE_PHONE},
    ),
    "loop_comms": ExpectedForm(
        conn_type="loop_comms",
        hook_name="Loop Health comms",
        hook_class_name="airflow_provider_cancel.hooks.loop_comms.LoopCommsHook",
        base_url="https://comms.platform.loop.health",
        key_label="Access token",
        key_placeholder="lph_at_... (Loop Health access token)",
        extra_fields=dict(TIMEOUT_FIELDS),
    ),
    "klaviyo": ExpectedForm(
        conn_type="klaviyo",
        hook_name="Klaviyo",
        hook_class_name="airflow_provider_cancel.hooks.klaviyo.KlaviyoHook",
        base_url="https://a.klaviyo.com/api",
        key_label="API key",
        key_placeholder="pk_... (Klaviyo private API key, scope campaigns:write)",
        extra_fields={"revision": ExtraField("API revision", ["string", "null"], "2026-07-15"), **TIMEOUT_FIELDS},
        fill_extras={"revision": "2025-10-15"},
    ),
    "mailchimp": ExpectedForm(
        conn_type="mailchimp",
        hook_name="Mailchimp",
        hook_class_name="airflow_provider_cancel.hooks.mailchimp.MailchimpHook",
        base_url="https://{dc}.api.mailchimp.com/3.0",
        key_label="API key",
        key_placeholder="...-us6 (Mailchimp API key; its suffix is the data centre)",
        extra_fields={"data_center": ExtraField("Data centre", ["string", "null"]), **TIMEOUT_FIELDS},
        fill_extras={"data_center": "us1"},
    ),
    "sendgrid": ExpectedForm(
        conn_type="sendgrid",
        hook_name="SendGrid",
        hook_class_name="airflow_provider_cancel.hooks.sendgrid.SendGridHook",
        base_url="https://api.sendgrid.com",
        key_label="API key",
        key_placeholder="SG.... (SendGrid API key, scopes user.scheduled_sends.*)",
        extra_fields={
            "region": ExtraField("Region", "string", "global", enum=["global", "eu"]),
            "on_behalf_of": ExtraField("On behalf of (subuser)", ["string", "null"]),
            **TIMEOUT_FIELDS,
        },
        fill_extras={"region": "eu"},
    ),
    "customerio": ExpectedForm(
        conn_type="customerio",
        hook_name="Customer.io",
        hook_class_name="airflow_provider_cancel.hooks.customerio.CustomerIoHook",
        base_url="https://api.customer.io",
        key_label="API key",
        key_placeholder="Customer.io App API key (not the Track API site id/key)",
        extra_fields={"region": ExtraField("Region", "string", "us", enum=["us", "eu"]), **TIMEOUT_FIELDS},
        fill_extras={"region": "eu"},
    ),
    "resend": ExpectedForm(
        conn_type="resend",
        hook_name="Resend",
        hook_class_name="airflow_provider_cancel.hooks.resend.ResendHook",
        base_url="https://api.resend.com",
        key_label="API key",
        key_placeholder="re_... (a full-access Resend API key)",
        extra_fields=dict(TIMEOUT_FIELDS),
    ),
    "onesignal": ExpectedForm(
        conn_type="onesignal",
        hook_name="OneSignal",
        hook_class_name="airflow_provider_cancel.hooks.onesignal.OneSignalHook",
        base_url="https://api.onesignal.com",
        key_label="API key",
        key_placeholder="os_v2_app_... (the app's App API key)",
        extra_fields={
            "app_id": ExtraField("App ID", ["string", "null"]),
            "scheme": ExtraField("Authorization scheme", "string", "key", enum=["key", "basic"]),
            **TIMEOUT_FIELDS,
        },
        fill_extras={"app_id": "5eb5a37e-b458-11e3-ac11-000c2940e62c"},
    ),
}
VENDORS = list(FORMS)


def hook_meta() -> dict[str, dict[str, Any]]:
    """What Airflow's UI service (``GET /ui/connections/hook_meta``) answers, per connection type."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    return {m.connection_type: m.model_dump(mode="json") for m in HookMetaService.hook_meta_data()}
