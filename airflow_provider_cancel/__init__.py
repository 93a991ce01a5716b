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
        "description": "Seconds to wait for the vendor to answer a request. Default 30.",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 600},
    },
    "connect_timeout": {
        "label": "Connect timeout (seconds)",
        "description": "Seconds to wait for the TCP/TLS connection. Default 10.",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 120},
    },
}
_HIDDEN_STANDARD_FIELDS = ["schema", "port", "login"]


def _connection_type(
    conn_type: str,
    hook_class: str,
    hook_name: str,
    base_url: str,
    password_label: str = "API key",
    extra_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "connection-type": conn_type,
        "hook-class-name": hook_class,
        "hook-name": hook_name,
        "ui-field-behaviour": {
            "hidden-fields": list(_HIDDEN_STANDARD_FIELDS),
            "relabeling": {"host": "Base URL", "password": password_label},
            "placeholders": {"host": base_url, "password": f"Your {hook_name} {password_label}"},
        },
        "conn-fields": {**(extra_fields or {}), **_TIMEOUT_FIELDS},
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Cancel (messaging campaign kill switch)",
        "description": "Cancel broadcasts, workflow runs and campaigns at messaging vendors "
        "(SuprSend, Periskope, Loop Health comms, Arsel) and wait until they are cancelled.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Arsel",
                "external-doc-url": "https://docs.arsel.sa/",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {"integration-name": "Arsel", "python-modules": ["airflow_provider_cancel.hooks.arsel"]},
        ],
        "operators": [
            {"integration-name": "Arsel", "python-modules": ["airflow_provider_cancel.operators.arsel"]},
        ],
        "sensors": [
            {"integration-name": "Arsel", "python-modules": ["airflow_provider_cancel.sensors.arsel"]},
        ],
        "triggers": [
            {
                "integration-name": "Arsel",
                "python-modules": ["airflow_provider_cancel.triggers.campaign_status"],
            },
        ],
        "connection-types": [
            _connection_type(
                "arsel",
                "airflow_provider_cancel.hooks.arsel.ArselHook",
                "Arsel",
                "https://api.arsel.sa/v1",
                extra_fields={
                    "default_channel": {
                        "label": "Default channel",
                        "description": "Channel used when a task does not name one.",
                        "schema": {"type": "string", "enum": ["email", "sms"], "default": "email"},
                    },
                },
            ),
        ],
    }
