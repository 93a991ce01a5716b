"""Base for sensors that wait until a campaign is cancelled (or terminal) at its vendor."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import CampaignState, is_target_reached
from airflow_provider_cancel.waiting import (
    check_target_state,
    default_deferrable,
    defer_until,
    fail_fast_on_client_errors,
    status_from_event,
)


class BaseCampaignStatusSensor(BaseSensorOperator):
    """
    Wait until a campaign reaches ``target_state``, in poke/reschedule mode or deferred.

    Succeeds on ``cancelled`` (or any terminal state with ``target_state="terminal"``) and pushes
    the final status to XCom. Fails at once, without retries, if the campaign ends in another
    terminal state (for example it was sent) while waiting for ``cancelled``. An unrecognised vendor
    status is ``unknown``: the sensor keeps waiting and logs it.

    In deferrable mode it pokes once on the worker and then defers to
    :class:`~airflow_provider_cancel.triggers.campaign_status.CampaignStatusTrigger` with the
    sensor's ``timeout``, so running out of time raises ``AirflowSensorTimeout``. Killing the
    deferred task cancels nothing at the vendor: the sensor only reads.

    :param conn_id: Airflow connection id of the vendor.
    :param target_state: ``"cancelled"`` (default) or ``"terminal"``.
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param retry_limit: HTTP attempts per status request.
    """

    hook_class: ClassVar[type[CampaignVendorHook]]

    def __init__(
        self,
        *,
        conn_id: str,
        target_state: str = "cancelled",
        deferrable: bool | None = None,
        retry_limit: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.target_state = check_target_state(target_state)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.retry_limit = retry_limit
        self._unknown_logged: set[str | None] = set()

    @cached_property
    def hook(self) -> CampaignVendorHook:
        return self.hook_class(self.conn_id, retry_limit=self.retry_limit)

    def status_target(self) -> dict[str, Any]:
        """Keyword arguments for the hook's ``get_status``, built from the rendered template fields."""
        raise NotImplementedError

    def poke(self, context: Any) -> PokeReturnValue:
        with fail_fast_on_client_errors(self.hook_class.non_retryable_codes):
            status = self.hook.get_status(**self.status_target())
        if status.state is CampaignState.UNKNOWN and status.raw_status not in self._unknown_logged:
            self._unknown_logged.add(status.raw_status)
            self.log.warning("Unrecognised status %r; treating it as not final", status.raw_status)
        done = is_target_reached(status, self.target_state)
        self.log.info("%s%s", status.describe(), "" if done else "; waiting")
        return PokeReturnValue(is_done=done, xcom_value=status.to_dict() if done else None)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        defer_until(
            self,
            hook_class=self.hook_class,
            conn_id=self.conn_id,
            target=self.status_target(),
            target_state=self.target_state,
            poll_interval=self.poke_interval,
            timeout=self.timeout,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        status = status_from_event(event)
        self.log.info("Done: %s", status.describe())
        return status.to_dict()
