"""Helpers shared by the unit tests of every vendor: target-model checks, trigger events, sensor failure policy."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget, VendorAPIError
from airflow_provider_cancel.vendors import parse_target


def assert_round_trips(target) -> dict:
    """``target.to_dict()`` is JSON-safe and parses back, by its own class and through the registry; returns it."""
    data = target.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert type(target).parse(data) == target
    assert parse_target(json.loads(json.dumps(data))) == target  # through the registry, as the kill switch does
    return data


def assert_reports_every_field(error: InvalidTarget, names: list[str]) -> None:
    """One ``InvalidTarget`` names every bad field, and its message counts them and lists each one."""
    assert sorted(error.fields) == sorted(names)
    message = str(error)
    assert message.startswith(f"{len(names)} problems, nothing was sent: ")
    for name in names:
        assert f"{name}: " in message


def vendor_error_event(vendor: str, status_code: int, code: str, message: str | None = None) -> dict:
    """The trigger's event when the vendor answered an error a retry cannot fix (``retryable`` False)."""
    return {
        "status": "error",
        "message": f"Stopped waiting: {status_code}" if message is None else message,
        "campaign_status": None,
        "vendor": vendor,
        "status_code": status_code,
        "code": code,
        "retryable": False,
    }


def poke_vendor_error(sensor, context: dict, status: int, fails_now: bool) -> Exception:
    """
    Poke ``sensor`` into a vendor error answered with HTTP ``status``; returns what the poke raised.

    It fails the task at once (``AirflowFailException`` wrapping the ``VendorAPIError``) only when ``fails_now``;
    otherwise the ``VendorAPIError`` itself is raised, for Airflow's retries.
    """
    with pytest.raises((AirflowFailException, VendorAPIError)) as err:
        sensor.poke(context)
    assert isinstance(err.value, AirflowFailException) is fails_now
    cause = err.value.error if fails_now else err.value
    assert isinstance(cause, VendorAPIError) and cause.status_code == status
    return err.value
