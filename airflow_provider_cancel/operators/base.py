"""Base for cancel operators: validate, cancel on the worker, optionally wait until it is cancelled."""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import (
    CampaignStatus,
    CancelResult,
    is_target_reached,
)
from airflow_provider_cancel.waiting import (
    check_target_state,
    default_deferrable,
    defer_until,
    fail_fast_on_client_errors,
    status_from_event,
)

#: XCom key of the cancel result while the operator is deferred.
CANCEL_RESULT_XCOM_KEY = "cancel_result"


class BaseCancelOperator(BaseOperator):
    """
    Cancel something at a messaging vendor and return a JSON-able :class:`CancelResult` (to XCom).

    Subclasses implement :meth:`validate` (runs before any HTTP call, after templates render),
    :meth:`cancel` and :meth:`status_target`. "Already cancelled" is a success, not a failure.

    :param conn_id: Airflow connection id of the vendor.
    :param wait_for_completion: After cancelling, wait until the vendor reports the campaign cancelled
        (or any terminal state, see ``target_state``).
    :param deferrable: Wait in the triggerer instead of holding a worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: Seconds between status polls while waiting.
    :param wait_timeout: Seconds to wait before failing with a timeout.
    :param target_state: ``"cancelled"`` (default) or ``"terminal"``.
    :param retry_limit: HTTP attempts per request (retries honour ``Retry-After``).
    :param request_timeout: HTTP read timeout in seconds; overrides the connection's ``timeout``.
    """

    hook_class: ClassVar[type[CampaignVendorHook]]
    ui_color = "#f9d6d5"

    def __init__(
        self,
        *,
        conn_id: str,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poll_interval: float = 30.0,
        wait_timeout: float = 3600.0,
        target_state: str = "cancelled",
        retry_limit: int = 5,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.target_state = check_target_state(target_state)
        self.retry_limit = retry_limit
        self.request_timeout = request_timeout

    @cached_property
    def hook(self) -> CampaignVendorHook:
        return self.hook_class(self.conn_id, retry_limit=self.retry_limit, timeout=self.request_timeout)

    def validate(self) -> None:
        """Check the (rendered) arguments; raise before anything is sent."""

    def cancel(self, context: Any) -> CancelResult:
        raise NotImplementedError

    def status_target(self, result: CancelResult) -> dict[str, Any] | None:
        """Keyword arguments for the hook's ``get_status`` to wait on; ``None`` when there is nothing to wait for."""
        return None

    def execute(self, context: Any) -> dict[str, Any]:
        self.validate()
        with fail_fast_on_client_errors(self.hook_class.non_retryable_codes):
            return self._cancel_and_wait(context)

    def _cancel_and_wait(self, context: Any) -> dict[str, Any]:
        result = self.cancel(context)
        self.log.info("%s cancel of %s: %s", result.vendor, result.target, result.outcome.value)
        target = self.status_target(result) if self.wait_for_completion else None
        if target is None:
            return result.to_dict()
        status = self.hook.get_status(**target)
        if is_target_reached(status, self.target_state):
            return self._with_status(result.to_dict(), status)
        if self.deferrable:
            self._remember_result(context, result.to_dict())
            defer_until(
                self,
                hook_class=self.hook_class,
                conn_id=self.conn_id,
                target=target,
                target_state=self.target_state,
                poll_interval=self.poll_interval,
                timeout=self.wait_timeout,
                kwargs={"result": result.to_dict()},
            )
        deadline = time.monotonic() + self.wait_timeout
        while not is_target_reached(status, self.target_state):
            if time.monotonic() >= deadline:
                raise AirflowException(f"Timed out after {self.wait_timeout:.0f}s waiting: {status.describe()}")
            self.log.info("%s; polling again in %.0fs", status.describe(), self.poll_interval)
            time.sleep(self.poll_interval)
            status = self.hook.get_status(**target)
        return self._with_status(result.to_dict(), status)

    def execute_complete(
        self, context: Any, event: dict[str, Any], result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger fired: fail on an error event, else return the cancel result with the final status."""
        status = status_from_event(event)
        if result is None:  # resumed with the event only (see _remember_result)
            ti = context["ti"]
            result = ti.xcom_pull(task_ids=self.task_id, key=CANCEL_RESULT_XCOM_KEY, map_indexes=ti.map_index)
        return self._with_status(result or {}, status)

    # ----------------------------------------------------------------- memory across tries
    def recall_across_tries(self, context: Any, key: str) -> Any:
        """
        What an earlier try of this task instance stored under ``key``, or ``None``.

        Uses Airflow 3.3's ``task_state_store``, which every try of a task instance shares (XComs are
        cleared when a new try starts). A failure to read is logged, never raised: the memory helps a
        retry decide, it must not fail a cancel.
        """
        store = context.get("task_state_store")
        if store is None:
            return None
        try:
            return store.get(key)
        except Exception as exc:  # noqa: BLE001
            self.log.warning("Could not read %r from the task state store (%s); carrying on without it", key, exc)
            return None

    def remember_across_tries(self, context: Any, key: str, value: Any) -> bool:
        """Store ``value`` for later tries of this task instance; ``False`` if there is no store or it failed."""
        store = context.get("task_state_store")
        if store is None:
            return False
        try:
            store.set(key, value)
        except Exception as exc:  # noqa: BLE001 - the cancel is done; never fail it over the bookkeeping
            self.log.warning("Could not write %r to the task state store (%s): a retry will not see it", key, exc)
            return False
        return True

    @staticmethod
    def _remember_result(context: Any, result: dict[str, Any]) -> None:
        # `airflow dags test` resumes a deferred task with {"event": ...} only, dropping the defer
        # kwargs (the real triggerer keeps them); XCom survives a deferral, so keep the result there too.
        push = getattr(context.get("ti"), "xcom_push", None)
        if push is not None:
            push(key=CANCEL_RESULT_XCOM_KEY, value=result)

    def _with_status(self, result: dict[str, Any], status: CampaignStatus) -> dict[str, Any]:
        self.log.info("Confirmed: %s", status.describe())
        return {**result, "final_status": status.to_dict()}

