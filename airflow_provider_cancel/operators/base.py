"""Base for cancel operators: validate, cancel on the worker, optionally wait until it is cancelled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from functools import cached_property
from typing import Any, Generic, TypeVar

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.operators.memory import TryMemoryMixin
from airflow_provider_cancel.operators.policy import DEFAULT_RETRY_POLICY, retry_policy_kwargs, task_failure_policy
from airflow_provider_cancel.status import CampaignStatus, CancelResult, Reach, reach, unreachable_message
from airflow_provider_cancel.targets import Target, require_conn_id, require_count, require_flag, require_seconds
from airflow_provider_cancel.utils.deferral import (
    check_target_state,
    default_deferrable,
    defer_until,
    status_from_event,
)
from airflow_provider_cancel.utils.templating import parse_flag

#: The outcome a dry run reports: valid, and would be cancelled.
WOULD_CANCEL = "would_cancel"

HookT = TypeVar("HookT", bound=CampaignVendorHook)
TargetT = TypeVar("TargetT", bound=Target)


class BaseCancelOperator(TryMemoryMixin, BaseOperator, Generic[HookT, TargetT]):
    """
    Cancel something at a messaging vendor and return a JSON-able :class:`CancelResult` (to XCom).

    Subclasses set ``hook_class`` (and ``target_model`` when the vendor has a kill-switch target
    kind), store the connection id under the hook's vendor-named attribute (``arsel_conn_id``...)
    and implement :meth:`cancel`. Validation runs after templates render and before any HTTP call.
    "Already cancelled" is a success, not a failure. Errors no retry can fix (bad input, a finished
    campaign, 4xx) fail the task at once (``operators/policy.py``).

    :param wait_for_completion: After cancelling, wait until the vendor reports the campaign cancelled
        (or any terminal state, see ``target_state``).
    :param deferrable: Wait in the triggerer instead of holding a worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: Seconds between status polls while waiting.
    :param wait_timeout: Seconds to wait before failing with a timeout.
    :param target_state: ``"cancelled"`` (default) or ``"terminal"``.
    :param retry_limit: HTTP attempts per request (retries honour ``Retry-After``), on the worker and
        in the trigger.
    :param request_timeout: HTTP read timeout in seconds; overrides the connection's ``timeout``.
    :param dry_run: Validate and read the current status only; send no cancel, delete or purge, and
        return ``outcome: "would_cancel"`` (templated; ``True``/``"true"``).
    :param retry_policy: Airflow 3.3+: the task's retry policy. Defaults to
        :class:`~airflow_provider_cancel.operators.policy.CancelRetryPolicy` (fail at once on what no
        retry can fix, retry a 429 or 5xx after the vendor's ``Retry-After``); ``None`` for none. Not
        passed to Airflow < 3.3, which has no retry policies.
    """

    hook_class: type[HookT]
    #: The kill-switch target model whose fields are this operator's templated arguments.
    target_model: type[TargetT] | None = None
    ui_color = "#f9d6d5"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poll_interval: float = 30.0,
        wait_timeout: float = 3600.0,
        target_state: str = "cancelled",
        retry_limit: int = 5,
        request_timeout: float | None = None,
        dry_run: bool | str = False,
        retry_policy: Any = DEFAULT_RETRY_POLICY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**retry_policy_kwargs(retry_policy), **kwargs)
        # These arguments are not templated, so a bad value is refused here, when the DAG is parsed;
        # the templated ones (the target's fields, the connection id, dry_run) are checked in execute().
        self.dry_run_flag = dry_run  # not `dry_run`: BaseOperator.dry_run() is a method
        self.wait_for_completion = require_flag("wait_for_completion", wait_for_completion)
        self.deferrable = default_deferrable() if deferrable is None else require_flag("deferrable", deferrable)
        self.poll_interval = require_seconds("poll_interval", poll_interval)
        self.wait_timeout = require_seconds("wait_timeout", wait_timeout)
        self.target_state = check_target_state(target_state)
        self.retry_limit = require_count("retry_limit", retry_limit, minimum=1)
        self.request_timeout = None if request_timeout is None else require_seconds("request_timeout", request_timeout)

    @classmethod
    def conn_id_field(cls) -> str:
        """The attribute holding the connection id (``arsel_conn_id``...), as the http provider's ``conn_id_field``."""
        return cls.hook_class.conn_name_attr

    @property
    def resolved_conn_id(self) -> str:
        """The (rendered) connection id, or the vendor's default when blank; :class:`InvalidTarget` if not a string."""
        field = self.conn_id_field()
        return require_conn_id(field, getattr(self, field, None)) or self.hook_class.default_conn_name

    @cached_property
    def hook(self) -> HookT:
        return self.hook_class(self.resolved_conn_id, retry_limit=self.retry_limit, timeout=self.request_timeout)

    # ----------------------------------------------------------------- what subclasses provide
    def target(self) -> TargetT:
        """The rendered arguments as this vendor's typed target (raises ``InvalidTarget`` naming every bad field)."""
        if self.target_model is None:
            raise NotImplementedError(f"{type(self).__name__} has no target model")
        names = [f.name for f in fields(self.target_model) if f.name != "conn_id"]
        return self.target_model.parse({name: getattr(self, name, None) for name in names})

    def validate(self) -> None:
        """Check the (rendered) arguments; raise before anything is sent."""
        if self.target_model is not None:
            self.target()

    def cancel(self, context: Any) -> CancelResult:
        raise NotImplementedError

    def status_target(self, result: CancelResult) -> dict[str, Any] | None:
        """Keyword arguments for the hook's ``get_status`` to wait on; ``None`` when there is nothing to wait for."""
        return self.target().status_target(result) if self.target_model is not None else None

    # ----------------------------------------------------------------- the run
    def execute(self, context: Any) -> dict[str, Any]:
        with self.reporting_errors(context), task_failure_policy(self.hook_class.non_retryable_codes):
            _ = self.resolved_conn_id  # a rendered connection id that is not a string fails here, before any HTTP
            self.validate()
            if self.is_dry_run():
                return self.dry_run_result()
            result = self._cancel_and_wait(context)
        self.forget_result(context, resumed=False)
        return result

    def is_dry_run(self) -> bool:
        try:
            return parse_flag(self.dry_run_flag)
        except ValueError as exc:
            raise InvalidTarget(f"dry_run {exc}; nothing was sent.", field="dry_run") from None

    def dry_run_plan(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """What a dry run reports as the target, and the status target to read (``None``: no status call)."""
        if self.target_model is None:
            return {}, None
        target = self.target()
        return target.to_dict(), target.status_target()

    def dry_run_result(self) -> dict[str, Any]:
        """Validate and read the current status where the vendor has a status call; send nothing that writes."""
        target, status_target = self.dry_run_plan()
        status = self.hook.get_status(**status_target) if status_target is not None else None
        self.log.info(
            "DRY RUN: would cancel %s%s; nothing was sent.",
            target,
            f" (now: {status.describe()})" if status is not None else " (the vendor has no status call)",
        )
        return {
            "vendor": self.hook_class.vendor,
            "target": target,
            "outcome": WOULD_CANCEL,
            "vendor_status": status.raw_status if status is not None else None,
            "detail": {"current_status": status.to_dict() if status is not None else None},
        }

    @contextmanager
    def reporting_errors(self, context: Any) -> Iterator[None]:
        """On failure, leave a short message in XCom (``cancel_error``) for the kill switch's report."""
        try:
            yield
        except Exception as exc:
            if not isinstance(exc, TaskDeferred):
                self.push_error(context, exc)
            raise

    def _cancel_and_wait(self, context: Any) -> dict[str, Any]:
        result = self.cancel(context)
        self.log.info("%s cancel of %s: %s", result.vendor, result.target, result.outcome.value)
        target = self.status_target(result) if self.wait_for_completion else None
        if target is None:
            return result.to_dict()
        status = self.hook.get_status(**target)
        if self._reached(status):
            return self._with_status(result.to_dict(), status)
        if self.deferrable:
            self.push_result(context, result)
            defer_until(
                self,
                hook_class=self.hook_class,
                conn_id=self.resolved_conn_id,
                target=target,
                target_state=self.target_state,
                poll_interval=self.poll_interval,
                timeout=self.wait_timeout,
                retry_limit=self.retry_limit,
                kwargs={"result": result.to_dict()},
            )
        deadline = time.monotonic() + self.wait_timeout
        while not self._reached(status):
            if time.monotonic() >= deadline:
                raise AirflowException(f"Timed out after {self.wait_timeout:.0f}s waiting: {status.describe()}")
            self.log.info("%s; polling again in %.0fs", status.describe(), self.poll_interval)
            time.sleep(self.poll_interval)
            status = self.hook.get_status(**target)
        return self._with_status(result.to_dict(), status)

    def _reached(self, status: CampaignStatus) -> bool:
        """Whether ``status`` is what we wait for; raise when it never can be (it ended another way)."""
        where = reach(status, self.target_state)
        if where is Reach.UNREACHABLE:
            raise CampaignFinishedError(unreachable_message(status))
        return where is Reach.REACHED

    def execute_complete(
        self, context: Any, event: dict[str, Any], result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger fired: fail on an error event, else return the cancel result with the final status."""
        with self.reporting_errors(context), task_failure_policy(self.hook_class.non_retryable_codes):
            status = status_from_event(event)
        if result is None:  # resumed with the event only (`airflow dags test` drops defer kwargs)
            result = self.pull_result(context)
        final = self._with_status(result or {}, status)
        self.forget_result(context, resumed=True)  # done: `return_value` holds it now
        return final

    def _with_status(self, result: dict[str, Any], status: CampaignStatus) -> dict[str, Any]:
        self.log.info("Confirmed: %s", status.describe())
        return {**result, "final_status": status.to_dict()}
