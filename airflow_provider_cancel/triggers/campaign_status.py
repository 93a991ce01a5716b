"""A poll-only trigger that waits until a campaign is cancelled (or terminal) at its vendor."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook, shared_log
from airflow_provider_cancel.status import CampaignState, CampaignStatus, Reach, reach, unreachable_message

#: Attempts per poll when the deferring task did not say (triggers serialised by older versions).
DEFAULT_TRIGGER_RETRY_LIMIT = 2
#: While the observed status stays the same, its "next poll" line is repeated at most this often (s).
#: A triggerer may run thousands of these waits; one unchanged line per poll each is mostly noise.
UNCHANGED_STATUS_LOG_EVERY_S = 300.0
#: The longest wait after a failed poll that a vendor's ``Retry-After`` can ask for (s): honoured so a
#: rate-limited account is not polled again too soon, bounded so a bad header cannot park a wait for hours.
MAX_RETRY_AFTER_WAIT_S = 900.0


class CampaignStatusTrigger(BaseTrigger):
    """
    Poll a campaign's status with read-only GETs until it reaches ``target_state``, then fire once.

    The condition is evaluated here, from the normalised status model, so deferral never depends on
    a user callable. It never cancels anything: the cancel POST always runs on the worker, because a
    triggerer restart re-runs ``run()`` from the serialised kwargs. For the same reason killing the
    deferred task cancels nothing at the vendor (this trigger started no external work).

    Events: ``{"status": "success"|"error", "message": str, "campaign_status": dict|None}``; an error
    from the vendor also carries ``vendor``, ``status_code``, ``code``, ``retryable`` and
    ``retry_after``, so the task that resumes fails (or is retried) exactly as it would have on the worker.

    :param hook_class: Dotted path of a :class:`CampaignVendorHook` subclass.
    :param conn_id: Airflow connection id (the only connection data kept in kwargs: no secrets).
    :param target: Keyword arguments of the hook's ``aget_status`` (ids, channel...), JSON values only.
    :param target_state: ``"cancelled"`` or ``"terminal"``.
    :param poll_interval: Seconds between polls, after every non-final outcome. The trigger log shows
        each new status, and an unchanged one again every ``UNCHANGED_STATUS_LOG_EVERY_S`` (5 minutes).
    :param max_consecutive_failures: Transient errors in a row (5xx, 429, network) before giving up.
        After one, the next poll waits ``poll_interval`` or the vendor's ``Retry-After``, whichever is
        longer (at most ``MAX_RETRY_AFTER_WAIT_S``, 15 minutes).
    :param retry_limit: HTTP attempts per poll (the deferring task's ``retry_limit``).
    :param first_poll_delay: Seconds before the first poll. The deferring task has just polled, and
        a trigger that fires within seconds of deferring can lose its event to an Airflow race
        (apache/airflow#72716, #71580), so callers wait at least ``poll_interval`` and 10 s by default.
        ``None`` (triggers serialised by older versions) means ``poll_interval``.
    """

    def __init__(
        self,
        hook_class: str,
        conn_id: str,
        target: dict[str, Any],
        target_state: str = "cancelled",
        poll_interval: float = 30.0,
        max_consecutive_failures: int = 5,
        retry_limit: int = DEFAULT_TRIGGER_RETRY_LIMIT,
        first_poll_delay: float | None = None,
    ) -> None:
        super().__init__()
        self.hook_class = hook_class
        self.conn_id = conn_id
        self.target = dict(target)
        self.target_state = target_state
        self.poll_interval = float(poll_interval)
        self.max_consecutive_failures = int(max_consecutive_failures)
        self.retry_limit = max(1, int(retry_limit))
        self.first_poll_delay = self.poll_interval if first_poll_delay is None else max(0.0, float(first_poll_delay))

    @property
    def log(self) -> Any:
        """The class's logger, shared by its instances (trigger logs are routed by context, not by logger)."""
        return shared_log(self, lambda: super(CampaignStatusTrigger, self).log)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "hook_class": self.hook_class,
                "conn_id": self.conn_id,
                "target": self.target,
                "target_state": self.target_state,
                "poll_interval": self.poll_interval,
                "max_consecutive_failures": self.max_consecutive_failures,
                "retry_limit": self.retry_limit,
                "first_poll_delay": self.first_poll_delay,
            },
        )

    def _make_hook(self) -> CampaignVendorHook:
        module_name, _, class_name = self.hook_class.rpartition(".")
        hook_cls = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(hook_cls, type) and issubclass(hook_cls, CampaignVendorHook)):
            raise TypeError(f"{self.hook_class} is not a CampaignVendorHook")
        return hook_cls(self.conn_id, retry_limit=self.retry_limit)

    @staticmethod
    def _event(
        status: str, message: str, campaign_status: CampaignStatus | None = None, error: VendorAPIError | None = None
    ) -> TriggerEvent:
        payload: dict[str, Any] = {
            "status": status,
            "message": message,
            "campaign_status": campaign_status.to_dict() if campaign_status is not None else None,
        }
        if error is not None:
            payload.update(
                vendor=error.vendor,
                status_code=error.status_code,
                code=error.code,
                retryable=error.is_transient,
                retry_after=error.retry_after,
            )
        return TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook = self._make_hook()
        except Exception as exc:
            yield self._event("error", f"Cannot build the hook: {exc}")
            return
        failures = 0
        unknown_logged: set[str | None] = set()
        loop = asyncio.get_running_loop()
        last_logged: tuple[Any, ...] | None = None
        last_logged_at = 0.0
        if self.first_poll_delay:
            self.log.info("First poll in %.0fs (the task polled just before deferring)", self.first_poll_delay)
            await asyncio.sleep(self.first_poll_delay)
        async with hook.async_session():
            while True:
                try:
                    status = await hook.aget_status(**self.target)
                except VendorAPIError as exc:
                    failures += 1
                    if not exc.is_transient:
                        yield self._event("error", f"Stopped waiting: {exc}", error=exc)
                        return
                    if failures >= self.max_consecutive_failures:
                        yield self._event(
                            "error", f"Gave up after {failures} failed polls in a row; last error: {exc}", error=exc
                        )
                        return
                    wait = max(self.poll_interval, min(exc.retry_after or 0.0, MAX_RETRY_AFTER_WAIT_S))
                    self.log.warning("Poll %d failed (%s); retrying in %.0fs", failures, exc, wait)
                    await asyncio.sleep(wait)
                    continue
                except Exception as exc:  # a bad connection or argument: polling again cannot fix it
                    yield self._event("error", f"Stopped waiting: {type(exc).__name__}: {exc}")
                    return
                failures = 0
                where = reach(status, self.target_state)
                if where is Reach.UNREACHABLE:
                    yield self._event("error", unreachable_message(status), status)
                    return
                if where is Reach.REACHED:
                    yield self._event("success", status.describe(), status)
                    return
                if status.state is CampaignState.UNKNOWN and status.raw_status not in unknown_logged:
                    unknown_logged.add(status.raw_status)
                    self.log.warning(
                        "Unrecognised status %r; treating it as not final and polling on", status.raw_status
                    )
                seen = (status.state, status.raw_status, status.detail)  # what describe() shows that can change
                if seen != last_logged or loop.time() - last_logged_at >= UNCHANGED_STATUS_LOG_EVERY_S:
                    self.log.info("%s; next poll in %.0fs", status.describe(), self.poll_interval)
                    last_logged, last_logged_at = seen, loop.time()
                await asyncio.sleep(self.poll_interval)
