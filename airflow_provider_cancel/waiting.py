"""What cancel operators and status sensors share: deferring to the status trigger and reading its event."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import TARGET_STATES, CampaignStatus
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger


def default_deferrable() -> bool:
    from airflow.sdk.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def check_target_state(target_state: str) -> str:
    if target_state not in TARGET_STATES:
        raise ValueError(f"target_state must be one of {TARGET_STATES}, got {target_state!r}")
    return target_state


def hook_path(hook_class: type[CampaignVendorHook]) -> str:
    return f"{hook_class.__module__}.{hook_class.__qualname__}"


def defer_until(
    task: Any,
    *,
    hook_class: type[CampaignVendorHook],
    conn_id: str,
    target: dict[str, Any],
    target_state: str,
    poll_interval: float,
    timeout: float,
    kwargs: dict[str, Any] | None = None,
) -> None:
    """Defer ``task`` to :class:`CampaignStatusTrigger`; a deferral timeout fails the task as a timeout."""
    task.defer(
        trigger=CampaignStatusTrigger(
            hook_class=hook_path(hook_class),
            conn_id=conn_id,
            target=target,
            target_state=target_state,
            poll_interval=poll_interval,
        ),
        method_name="execute_complete",
        kwargs=kwargs,
        timeout=timedelta(seconds=timeout),
    )


def status_from_event(event: dict[str, Any] | None) -> CampaignStatus:
    """Validate a trigger event and return its status; raise with the trigger's message on error."""
    if not isinstance(event, dict) or event.get("status") not in ("success", "error"):
        raise AirflowException(f"Unexpected event from the campaign status trigger: {event!r}")
    raw = event.get("campaign_status")
    status = CampaignStatus.from_dict(raw) if raw else None
    if event["status"] == "success" and status is not None:
        return status
    message = event.get("message") or "the campaign status trigger reported an error"
    if status is not None and status.is_terminal and not status.is_cancelled:
        raise CampaignFinishedError(message)
    raise AirflowException(message)


def is_automatic_retry(context: Any, retries: int) -> bool:
    """
    Whether this try is an automatic retry, as opposed to the first try of a run or of a clear.

    Clearing a task sets ``max_tries = try_number + retries``, so the first try after a clear is
    ``max_tries - retries + 1``, the same formula Airflow uses to find a sensor's first try.
    """
    ti = context["ti"]
    try_number = int(getattr(ti, "try_number", 1) or 1)
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        return try_number > 1
    return try_number > max(1, max_tries - (retries or 0) + 1)


def clear_generation(context: Any, retries: int) -> int:
    """Which manual clear this try belongs to (0 = the run's first tries); automatic retries share it."""
    ti = context["ti"]
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        return 0
    return max(0, max_tries - (retries or 0))


def stable_request_key(context: Any, *parts: Any) -> str:
    """
    An idempotency key that is the same for every automatic retry of one task instance and target.

    A retried task therefore repeats the *same* request (the vendor replays its first answer)
    instead of making a second, different cancel. ``try_number`` is left out on purpose; the clear
    generation is in, so a task an engineer clears by hand sends a fresh request rather than getting
    an old refusal replayed.
    """
    ti = context["ti"]
    generation = clear_generation(context, getattr(context.get("task"), "retries", 0) or 0)
    material = "\x1f".join(
        str(p) for p in (ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1), generation, *parts)
    )
    return "airflow-" + hashlib.sha256(material.encode()).hexdigest()[:48]


@contextmanager
def fail_fast_on_client_errors(non_retryable_codes: frozenset[str] = frozenset()) -> Iterator[None]:
    """
    Turn vendor answers that a task retry cannot change (400, 401, 403, 404, 409, 422..., and the
    vendor's ``non_retryable_codes`` such as Arsel's ``monthly_quota_exceeded``) into
    ``AirflowFailException`` so the task fails at once instead of retrying a wrong key or id.
    Other 429s, 5xx and network errors stay retryable.
    """
    try:
        yield
    except VendorAPIError as exc:
        status = exc.status_code
        permanent = exc.code in non_retryable_codes
        if permanent or (status is not None and 400 <= status < 500 and status not in (408, 429)):
            raise AirflowFailException(f"{exc} (not retried: repeating the request cannot change this answer)") from exc
        raise
