"""Input checks that run before any HTTP call, so bad task arguments fail fast and send nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk.exceptions import AirflowFailException


class InvalidCancelRequest(AirflowFailException, ValueError):
    """
    A cancel or status request is missing what it needs; nothing was sent to the vendor.

    Fails the task without retries: a retry would fail the same way.
    """


def require_id(name: str, value: Any) -> str:
    """Return ``value`` as a stripped id string, or raise :class:`InvalidCancelRequest`."""
    if value is None or not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidCancelRequest(f"{name} is required (got {value!r}); nothing was sent to the vendor.")
    text = str(value).strip()
    if not text:
        raise InvalidCancelRequest(f"{name} is required (got an empty value); nothing was sent to the vendor.")
    return text


def path_segment(value: str) -> str:
    """Quote an id for use as one URL path segment (an id such as ``../x`` must not change the path)."""
    return quote(value, safe="")


def require_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Return ``value`` lower-cased if it is one of ``choices``, or raise :class:`InvalidCancelRequest`."""
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text not in choices:
        raise InvalidCancelRequest(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return text
