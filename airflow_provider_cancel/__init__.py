"""Apache Airflow provider that cancels messaging campaigns and broadcasts at vendors.

This module must stay import-light: Airflow imports it through the ``apache_airflow_provider``
entry point every time it discovers providers (scheduler, API server, CLI).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

PACKAGE_NAME = "airflow-provider-cancel"

# Shared connection-form fields. Airflow 3.2+ builds the connection form only from this metadata
# (it never imports the hook), so every field a user may set is declared here.
_TIMEOUT_FIELDS: dict[str, Any] = {
    "timeout": {
        "label": "Read timeout (seconds)",
        "description": "Seconds to wait for the vendor to answer a request (empty means 30).",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 600, "default": 30},
    },
    "connect_timeout": {
        "label": "Connect timeout (seconds)",
        "description": "Seconds to wait for the TCP/TLS connection (empty means 10).",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 120, "default": 10},
    },
}
_HIDDEN_STANDARD_FIELDS = ["schema", "port", "login"]


def _connection_type(
    conn_type: str,
    hook_class: str,
    hook_name: str,
    base_url: str,
    password_label: str = "API key",
    password_placeholder: str | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # The form shows Description, Base URL, the key and the vendor's own fields; schema, port and
    # login mean nothing to these APIs, so they are hidden. The key goes in the password field,
    # which Airflow masks (and encrypts, given a Fernet key).
    return {
        "connection-type": conn_type,
        "hook-class-name": hook_class,
        "hook-name": hook_name,
        "ui-field-behaviour": {
            "hidden-fields": list(_HIDDEN_STANDARD_FIELDS),
            "relabeling": {"host": "Base URL", "password": password_label},
            "placeholders": {
                "host": base_url,
                "password": password_placeholder or f"Your {hook_name} {password_label}",
            },
        },
        "conn-fields": {**(extra_fields or {}), **_TIMEOUT_FIELDS},
    }


# (integration name, module stem, docs URL) per vendor: one place to add a vendor's modules.
_VENDORS = (
    ("Arsel", "arsel", "https://docs.arsel.sa/"),
    ("SuprSend", "suprsend", "https://docs.suprsend.com/"),
    ("Periskope", "periskope", "https://docs.periskope.app/"),
    ("Loop Health comms", "loop_comms", "https://docs.ross.platform.loop.health/"),
)


def _modules(layer: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": name, "python-modules": [f"airflow_provider_cancel.{layer}.{stem}"]}
        for name, stem, _ in _VENDORS
    ]


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Cancel (messaging campaign kill switch)",
        "description": "Cancel broadcasts, workflow runs and campaigns at messaging vendors "
        "(SuprSend, Periskope, Loop Health comms, Arsel) and wait until they are cancelled.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": name, "external-doc-url": url, "tags": ["service"]} for name, _, url in _VENDORS
        ],
        "hooks": _modules("hooks"),
        "operators": _modules("operators"),
        "sensors": _modules("sensors"),
        "triggers": [
            {
                "integration-name": name,
                "python-modules": ["airflow_provider_cancel.triggers.campaign_status"],
            }
            for name, _, _ in _VENDORS
        ],
        "connection-types": [
            _connection_type(
                "arsel",
                "airflow_provider_cancel.hooks.arsel.ArselHook",
                "Arsel",
                "https://api.arsel.sa/v1",
                password_placeholder="be_... (Arsel API key)",
                extra_fields={
                    "default_channel": {
                        "label": "Default channel",
                        "description": "Channel (email or sms) of the campaigns a task cancels when it "
                        "does not name one.",
                        "schema": {"type": "string", "enum": ["email", "sms"], "default": "email"},
                    },
                },
            ),
            _connection_type(
                "suprsend",
                "airflow_provider_cancel.hooks.suprsend.SuprSendHook",
                "SuprSend",
                "https://hub.suprsend.com",
            ),
            _connection_type(
                "periskope",
                "airflow_provider_cancel.hooks.periskope.PeriskopeHook",
                "Periskope",
                "https://api.periskope.app/v1",
                password_placeholder="Periskope API key (console: Settings > API)",
                extra_fields={
                    "phone": {
                        "label": "Org phone (x-phone)",
                        "description": "The connected WhatsApp number as country code + number, digits "
                        "only (e.g. 919874532456), or a phone-... id. Sent as the x-phone header.",
                        "schema": {"type": ["string", "null"], "pattern": "^([0-9]{8,15}|phone-[A-Za-z0-9_-]+)$"},
                    },
                },
            ),
            _connection_type(
                "loop_comms",
                "airflow_provider_cancel.hooks.loop_comms.LoopCommsHook",
                "Loop Health comms",
                "https://comms.platform.loop.health",
                password_label="Access token",
                password_placeholder="lph_at_... (Loop Health access token)",
            ),
        ],
    }
