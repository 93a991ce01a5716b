"""Cancel SuprSend workflow runs and broadcast runs by filters."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.hooks.suprsend import (
    BROADCAST,
    DEFAULT_SETTLE_SECONDS,
    MAX_WATCHED_EXECUTIONS,
    WORKFLOW,
    CancelFilters,
    SuprSendHook,
    SuprSendNothingMatchedError,
    build_cancel_filters,
    require_broad_opt_in,
)
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelOutcome, CancelResult
from airflow_provider_cancel.validation import InvalidCancelRequest
from airflow_provider_cancel.waiting import is_automatic_retry


class BroadCancelRetryRefused(AirflowFailException):
    """An automatic retry of a broad cancel was stopped before it re-sent anything."""


def parse_flag(name: str, value: Any) -> bool:
    """A boolean argument that may arrive as a rendered template (``"True"``/``"false"``); strict otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "", "none"):
        return False
    raise InvalidCancelRequest(f"{name} must be true or false (got {value!r}); nothing was sent to SuprSend.")


class _SuprSendCancelRunsOperator(BaseCancelOperator):
    """Shared by the workflow and broadcast cancel operators (see their docstrings)."""

    hook_class = SuprSendHook
    run_type: ClassVar[str]

    def __init__(
        self,
        *,
        suprsend_conn_id: str = SuprSendHook.default_conn_name,
        allow_broad_match: bool | str = False,
        resend_broad_match_on_retry: bool = False,
        fail_if_nothing_matched: bool = False,
        settle_seconds: float | str = DEFAULT_SETTLE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=suprsend_conn_id, **kwargs)
        self.suprsend_conn_id = suprsend_conn_id
        self.allow_broad_match = allow_broad_match
        self.resend_broad_match_on_retry = resend_broad_match_on_retry
        self.fail_if_nothing_matched = fail_if_nothing_matched
        self.settle_seconds = settle_seconds

    def filter_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _filters(self) -> CancelFilters:
        return build_cancel_filters(self.run_type, **self.filter_kwargs())

    def _settle_seconds(self) -> float:
        try:
            seconds = float(self.settle_seconds)
        except (TypeError, ValueError):
            raise InvalidCancelRequest(f"settle_seconds must be a number (got {self.settle_seconds!r}).") from None
        if seconds < 0:
            raise InvalidCancelRequest(f"settle_seconds must be >= 0 (got {self.settle_seconds!r}).")
        return seconds

    def validate(self) -> None:
        require_broad_opt_in(self._filters(), parse_flag("allow_broad_match", self.allow_broad_match))
        self._settle_seconds()

    def cancel(self, context: Any) -> CancelResult:
        filters = self._filters()
        retry = is_automatic_retry(context, self.retries)
        if filters.is_broad and retry and not self.resend_broad_match_on_retry:
            raise BroadCancelRetryRefused(
                f"Not re-sending a broad SuprSend {self.run_type} cancel ({filters.describe()}) on automatic retry "
                f"(try {context['ti'].try_number}): an earlier try may already have cancelled the matching runs, and "
                "sending it again would also cancel any run that started since. Nothing was sent. Check the SuprSend "
                "logs; to send it again on purpose clear this task or trigger a new run (both count as a fresh "
                "start), or set resend_broad_match_on_retry=True."
            )
        result = self.hook.cancel_runs(filters, allow_broad_match=True)  # the opt-in was checked in validate()
        if result.outcome is CancelOutcome.NOTHING_TO_CANCEL and parse_flag(
            "fail_if_nothing_matched", self.fail_if_nothing_matched
        ):
            if retry:  # an earlier try may have cancelled them: an empty answer proves nothing now
                self.log.warning("Nothing matched on a retry; an earlier try may already have cancelled these runs.")
            else:
                raise SuprSendNothingMatchedError(
                    f"The SuprSend {self.run_type} cancel ({filters.describe()}) matched no running run, and "
                    "fail_if_nothing_matched=True. Check the ids and filters."
                )
        return result

    def status_target(self, result: CancelResult) -> dict[str, Any] | None:
        execution_ids = list(result.detail.get("execution_ids") or [])
        if result.outcome is CancelOutcome.NOTHING_TO_CANCEL or not execution_ids:
            return None
        if len(execution_ids) > MAX_WATCHED_EXECUTIONS:
            self.log.warning(
                "Cancelled %d runs; waiting on the first %d only.", len(execution_ids), MAX_WATCHED_EXECUTIONS
            )
        return {
            "execution_ids": execution_ids[:MAX_WATCHED_EXECUTIONS],
            "since": result.detail["cancelled_at"],
            "settle_seconds": self._settle_seconds(),
        }


class SuprSendCancelWorkflowOperator(_SuprSendCancelRunsOperator):
    """
    Cancel running SuprSend workflow runs (``POST /v1/workflow_run/cancel/``).

    Filters are ANDed by SuprSend; at least one of ``execution_id``, ``recipients``,
    ``idempotency_key``, ``workflow_slug`` is required (checked before any HTTP call).
    ``tenant_id`` only narrows. Blank filters (an unset templated param) are ignored.

    A cancel without ``execution_id`` or ``idempotency_key`` is **broad**: it cancels every running
    run that matches, so it needs ``allow_broad_match=True``, is never retried at HTTP level after
    it may have reached SuprSend, and an automatic task retry fails instead of re-sending it
    (unless ``resend_broad_match_on_retry=True``). Targeted cancels are safe to repeat.

    Returns (XCom) ``{"outcome": "cancelled"|"nothing_to_cancel", "detail": {"execution_ids": [...],
    "cancelled_at": ..., "broad_match": ...}, ...}``. With ``wait_for_completion=True`` it then
    waits until the message log of every cancelled execution stays quiet for ``settle_seconds``.

    :param execution_id: One workflow execution id, e.g. ``dsl_...`` (templated).
    :param recipients: distinct_ids or contact info (templated; a list, one string, or a JSON list).
    :param idempotency_key: The idempotency key the workflow was triggered with (templated).
    :param workflow_slug: The workflow's slug (templated).
    :param tenant_id: Narrow to one tenant (templated).
    :param allow_broad_match: Opt in to a broad cancel, one without ``execution_id`` or
        ``idempotency_key`` (templated; ``True``/``"true"``). Never the default.
    :param resend_broad_match_on_retry: Let an automatic task retry re-send a broad cancel. By default
        the retry fails without sending (see the class docstring).
    :param fail_if_nothing_matched: Fail (without retries) when SuprSend answers ``execution_ids: []``
        on the first try. Later tries only warn: an earlier try may have cancelled the runs.
    :param settle_seconds: With ``wait_for_completion=True``: how long the message log must stay quiet
        for each cancelled execution before it counts as settled (templated).
    :param suprsend_conn_id: Airflow connection id (default ``suprsend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    run_type = WORKFLOW
    template_fields = (
        "execution_id", "recipients", "idempotency_key", "workflow_slug", "tenant_id",
        "allow_broad_match", "settle_seconds",
    )

    def __init__(
        self,
        *,
        execution_id: str | None = None,
        recipients: list[str] | str | None = None,
        idempotency_key: str | None = None,
        workflow_slug: str | None = None,
        tenant_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.execution_id = execution_id
        self.recipients = recipients
        self.idempotency_key = idempotency_key
        self.workflow_slug = workflow_slug
        self.tenant_id = tenant_id

    def filter_kwargs(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id, "recipients": self.recipients, "idempotency_key": self.idempotency_key,
            "workflow_slug": self.workflow_slug, "tenant_id": self.tenant_id,
        }


class SuprSendCancelBroadcastOperator(_SuprSendCancelRunsOperator):
    """
    Cancel running SuprSend broadcast runs (``POST /v1/broadcast_run/cancel/``).

    Filters are ANDed; at least one of ``execution_id``, ``list_id``, ``idempotency_key`` is
    required. ``list_id`` without ``execution_id``/``idempotency_key`` is a broad cancel: it needs
    ``allow_broad_match=True`` and gets the same retry protection as a broad workflow cancel (see
    :class:`SuprSendCancelWorkflowOperator`). The broadcast trigger API returns no execution id, so
    to target one broadcast set ``$idempotency_key`` when triggering it and cancel by that key.

    :param execution_id: One broadcast execution id, e.g. ``broadcast_...`` (templated).
    :param list_id: The subscriber list the broadcast was sent to (templated).
    :param idempotency_key: The idempotency key the broadcast was triggered with (templated).
    :param tenant_id: Narrow to one tenant (templated).
    :param allow_broad_match: Opt in to a broad cancel, one without ``execution_id`` or
        ``idempotency_key`` (templated; ``True``/``"true"``). Never the default.
    :param resend_broad_match_on_retry: Let an automatic task retry re-send a broad cancel. By default
        the retry fails without sending (see the class docstring).
    :param fail_if_nothing_matched: Fail (without retries) when SuprSend answers ``execution_ids: []``
        on the first try. Later tries only warn: an earlier try may have cancelled the runs.
    :param settle_seconds: With ``wait_for_completion=True``: how long the message log must stay quiet
        for each cancelled execution before it counts as settled (templated).
    :param suprsend_conn_id: Airflow connection id (default ``suprsend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    run_type = BROADCAST
    template_fields = ("execution_id", "list_id", "idempotency_key", "tenant_id", "allow_broad_match", "settle_seconds")

    def __init__(
        self,
        *,
        execution_id: str | None = None,
        list_id: str | None = None,
        idempotency_key: str | None = None,
        tenant_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.execution_id = execution_id
        self.list_id = list_id
        self.idempotency_key = idempotency_key
        self.tenant_id = tenant_id

    def filter_kwargs(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id, "list_id": self.list_id,
            "idempotency_key": self.idempotency_key, "tenant_id": self.tenant_id,
        }
