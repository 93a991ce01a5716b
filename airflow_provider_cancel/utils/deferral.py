"""Deferring to the status trigger, and reading its event back on the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
from airflow_provider_cancel.status import TARGET_STATES, CampaignStatus
from airflow_provider_cancel.targets import require_json_safe


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (read when an operator is built, as Airflow's own operators do)."""
    from airflow.providers.common.compat.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def check_target_state(target_state: str) -> str:
    if target_state not in TARGET_STATES:
        raise ValueError(f"target_state must be one of {TARGET_STATES}, got {target_state!r}")
    return target_state


#: Default floor of the trigger's first poll delay, in seconds (config ``[cancel_provider] min_first_poll_delay``).
DEFAULT_MIN_FIRST_POLL_DELAY = 10.0


def first_poll_delay(poll_interval: float) -> float:
    """
    Seconds the trigger waits before its first poll: at least ``poll_interval`` (the task has just
    polled) and at least ``[cancel_provider] min_first_poll_delay``.

    A trigger that fires within a few seconds of deferring can make Airflow mark a task that succeeded
    ``up_for_retry`` or ``failed`` (apache/airflow#72716, #71580); waiting before the first poll keeps
    our triggers out of that window.
    """
    from airflow.providers.common.compat.sdk import conf

    floor = conf.getfloat("cancel_provider", "min_first_poll_delay", fallback=DEFAULT_MIN_FIRST_POLL_DELAY)
    return max(float(poll_interval), floor)


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def defer_until(
    task: Any,
    *,
    hook_class: type,
    conn_id: str,
    target: dict[str, Any],
    target_state: str,
    poll_interval: float,
    timeout: float,
    retry_limit: int,
    kwargs: dict[str, Any] | None = None,
) -> None:
    """
    Defer ``task`` to :class:`CampaignStatusTrigger`; a deferral timeout fails the task as a timeout.

    The target is checked JSON-safe here, on the worker: trigger kwargs are stored as plain JSON, and a
    value that does not survive that would otherwise fail later, in the triggerer, far from its cause.
    """
    # Imported here, not at module level: a DAG file imports the operators, and only a running task
    # defers (airflow.triggers.base is a noticeable part of the parse cost).
    from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

    trigger = CampaignStatusTrigger(
        hook_class=class_path(hook_class),
        conn_id=conn_id,
        target=require_json_safe("target", target),
        target_state=target_state,
        poll_interval=poll_interval,
        retry_limit=retry_limit,
        first_poll_delay=first_poll_delay(poll_interval),
    )
    task.defer(trigger=trigger, method_name="execute_complete", kwargs=kwargs, timeout=timedelta(seconds=timeout))


def status_from_event(event: dict[str, Any] | None) -> CampaignStatus:
    """
    Validate a trigger event and return its status, or raise the domain error it reports.

    An error event keeps the vendor's HTTP status, so a 401/403/404 seen while deferred fails the
    task just as it would on the worker (through the operator's failure policy), instead of a retry
    that would re-send the cancel.
    """
    if not isinstance(event, dict) or event.get("status") not in ("success", "error"):
        raise AirflowException(f"Unexpected event from the campaign status trigger: {event!r}")
    raw = event.get("campaign_status")
    status = CampaignStatus.from_dict(raw) if raw else None
    if event["status"] == "success" and status is not None:
        return status
    message = event.get("message") or "the campaign status trigger reported an error"
    if status is not None and status.is_terminal and not status.is_cancelled:
        raise CampaignFinishedError(message)
    if event.get("status_code") is not None or event.get("vendor"):
        retry_after = event.get("retry_after")
        raise VendorAPIError(
            str(event.get("vendor") or "vendor"),
            event.get("status_code"),
            message,
            code=event.get("code"),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )
    raise AirflowException(message)
