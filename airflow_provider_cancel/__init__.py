"""Apache Airflow provider that cancels messaging campaigns and broadcasts at vendors.

This module must stay import-light: Airflow imports it through the ``apache_airflow_provider``
entry point every time it discovers providers (scheduler, API server, CLI). Provider info is built
from the vendor registry (``airflow_provider_cancel.vendors``), which holds plain data only.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel._version import __version__

PACKAGE_NAME = "airflow-provider-cancel"
#: The oldest Airflow this provider is tested on (README, "Tested with").
MIN_AIRFLOW_VERSION = "3.1.0"
TESTED_AIRFLOW_LINES = ("3.1", "3.2", "3.3")


def _check_airflow_version() -> None:
    """
    Refuse to load on an Airflow older than :data:`MIN_AIRFLOW_VERSION`, with a clear message.

    A provider that installs and then fails with an ImportError in every DAG is worse than one that
    says at once what it needs. The version is read from package metadata, so this imports no Airflow.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("apache-airflow-core")
    except PackageNotFoundError:
        try:
            installed = version("apache-airflow")
        except PackageNotFoundError:
            return  # no Airflow at all: the vendor models and the sandbox work without it
    release = tuple(int(part) for part in installed.split(".")[:3] if part.isdigit())
    if release < tuple(int(part) for part in MIN_AIRFLOW_VERSION.split(".")):
        raise RuntimeError(
            f"The package {PACKAGE_NAME}:{__version__} needs Apache Airflow {MIN_AIRFLOW_VERSION}+ "
            f"(tested on {', '.join(TESTED_AIRFLOW_LINES)}); found {installed}. Airflow 2 reached end of "
            "life on 2026-04-22 and 3.0 ended at 3.0.6; upgrade Airflow to use this provider."
        )


_check_airflow_version()

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    from airflow_provider_cancel.vendors import vendors

    specs = list(vendors().values())
    names = ", ".join(spec.display_name for spec in specs)

    def modules(layer: str) -> list[dict[str, Any]]:
        return [
            {"integration-name": spec.display_name, "python-modules": spec.modules(layer)}
            for spec in specs
            if spec.modules(layer)
        ]

    return {
        "package-name": PACKAGE_NAME,
        "name": "Cancel (messaging campaign kill switch)",
        "description": f"Cancel broadcasts, workflow runs and campaigns at messaging vendors ({names}) "
        "and wait until they are cancelled.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": spec.display_name, "external-doc-url": spec.docs_url, "tags": ["service"]}
            for spec in specs
        ],
        "hooks": modules("hooks"),
        "operators": modules("operators"),
        "sensors": [
            *modules("sensors"),
            {"integration-name": specs[0].display_name, "python-modules": ["airflow_provider_cancel.sensors.base"]},
        ],
        "triggers": [
            {
                "integration-name": spec.display_name,
                "python-modules": ["airflow_provider_cancel.triggers.campaign_status"],
            }
            for spec in specs
        ],
        "connection-types": [spec.connection_type() for spec in specs],
        "config": {
            "cancel_provider": {
                "description": "Settings of the campaign cancel provider.",
                "options": {
                    "min_first_poll_delay": {
                        "description": "Seconds a deferred cancel or sensor waits before its first status poll "
                        "(at least its poll interval). The task polled just before deferring, and a trigger "
                        "that fires within seconds of deferring can make Airflow retry or fail a task that "
                        "succeeded (apache/airflow#72716).",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "10",
                        "default": "10",
                    }
                },
            }
        },
    }
