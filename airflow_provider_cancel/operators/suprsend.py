"""Cancel SuprSend workflow runs and broadcast runs by filters."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.hooks.suprsend import SuprSendHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelOutcome, CancelResult
from airflow_provider_cancel.timeutil import parse_time
from airflow_provider_cancel.vendors.suprsend import (
    BROADCAST,
    DEFAULT_SETTLE_SECONDS,
    MAX_WATCHED_EXECUTIONS,
    WORKFLOW,
    SuprSendBroadcastRuns,
    SuprSendRuns,
    SuprSendWorkflowRuns,
    flag,
)

#: ``task_state_store`` key (Airflow >= 3.3) holding the last cancel that matched runs. Unlike XCom,
#: which Airflow clears when a new try starts, the task state store is shared by every try of a task
#: instance, so an automatic retry can go on waiting for the runs an earlier try cancelled.
CANCEL_STATE_KEY = "suprsend_cancel"


class BroadCancelRetryRefused(AirflowFailException):
    """An automatic retry of a broad cancel was stopped before it re-sent anything."""


class SuprSendNothingMatchedError(AirflowFailException):
    """The cancel matched no running workflow/broadcast run and the task asked to fail in that case."""


def _cancel_result_from(data: Any) -> CancelResult | None:
    """A recorded cancel result that names runs and a readable cancel time; ``None`` for anything else."""
    if not isinstance(data, dict) or data.get("vendor") != "suprsend" or not isinstance(data.get("detail"), dict):
        return None
    detail = data["detail"]
    ids = detail.get("execution_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(e, str) and e for e in ids):
        return None
    if parse_time(detail.get("cancelled_at")) is None:
        return None
    return CancelResult(
        vendor="suprsend",
        target=data["target"] if isinstance(data.get("target"), dict) else {},
        outcome=CancelOutcome.CANCELLED,
        vendor_status=data.get("vendor_status"),
        detail={k: v for k, v in detail.items() if k not in ("earlier_try", "resent")},
    )


class _SuprSendCancelRunsOperator(BaseCancelOperator[SuprSendHook, SuprSendRuns]):
    """Shared by the workflow and broadcast cancel operators (see their docstrings)."""

    hook_class = SuprSendHook
    run_type: ClassVar[str]

    def __init__(
        self,
        *,
        suprsend_conn_id: str = SuprSendHook.default_conn_name,
        allow_broad_match: bool | str = False,
        resend_broad_match_on_retry: bool | str = False,
        fail_if_nothing_matched: bool | str = False,
        settle_seconds: float | str = DEFAULT_SETTLE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.suprsend_conn_id = suprsend_conn_id
        self.allow_broad_match = allow_broad_match
        self.resend_broad_match_on_retry = resend_broad_match_on_retry
        self.fail_if_nothing_matched = fail_if_nothing_matched
        self.settle_seconds = settle_seconds

    def validate(self) -> None:
        flag("resend_broad_match_on_retry", self.resend_broad_match_on_retry)
        flag("fail_if_nothing_matched", self.fail_if_nothing_matched)
        self.target()  # every filter, the broad-match opt-in and settle_seconds, all problems at once

    def cancel(self, context: Any) -> CancelResult:
        filters = self.target().filters
        retry = self.is_automatic_retry(context)
        earlier = self._recall_cancel(context) if retry else None
        if filters.is_broad and retry and not flag("resend_broad_match_on_retry", self.resend_broad_match_on_retry):
            if earlier is not None:  # try 1's broad cancel did go through: wait on what it cancelled, send nothing
                self.log.warning(
                    "Not re-sending the broad SuprSend %s cancel (%s) on automatic retry (try %s); resuming the "
                    "wait on the %d run(s) an earlier try cancelled at %s.",
                    self.run_type,
                    filters.describe(),
                    context["ti"].try_number,
                    len(earlier.detail["execution_ids"]),
                    earlier.detail["cancelled_at"],
                )
                return self._resumed(earlier, None)
            raise BroadCancelRetryRefused(
                f"Not re-sending a broad SuprSend {self.run_type} cancel ({filters.describe()}) on automatic retry "
                f"(try {context['ti'].try_number}): an earlier try may already have cancelled the matching runs, and "
                "sending it again would also cancel any run that started since. Nothing was sent. Check the SuprSend "
                "logs; to send it again on purpose clear this task or trigger a new run (both count as a fresh "
                "start), or set resend_broad_match_on_retry=True."
            )
        result = self.hook.cancel_runs(filters, allow_broad_match=True)  # the opt-in was checked in validate()
        if earlier is not None:
            result = self._resumed(earlier, result)
        if result.detail.get("execution_ids"):  # cancelled, or cancelled by an attempt whose answer was lost
            self._remember_cancel(context, result)
        if result.outcome is not CancelOutcome.NOTHING_TO_CANCEL:
            return result
        if retry:  # an earlier try may have cancelled them: an empty answer proves nothing now
            self.log.warning(
                "Nothing matched on a retry, and no earlier try of this task recorded a cancel%s; an earlier try "
                "may still have cancelled these runs before it failed.",
                ""
                if context.get("task_state_store") is not None
                else " (recording one across tries needs Airflow 3.3+, where task_state_store exists)",
            )
        elif flag("fail_if_nothing_matched", self.fail_if_nothing_matched):
            raise SuprSendNothingMatchedError(
                f"The SuprSend {self.run_type} cancel ({filters.describe()}) matched no running run, and "
                "fail_if_nothing_matched=True. Check the ids and filters."
            )
        return result

    # ---------------------------------------------------------------- memory across tries
    def _remember_cancel(self, context: Any, result: CancelResult) -> None:
        """
        Record a cancel that matched runs, right after it returned, so a later automatic try can wait on them.

        SuprSend answers ``[]`` once the runs are cancelled, so a retry (after the wait timed out or
        failed) could not otherwise tell "nothing matched" from "an earlier try cancelled them".
        Kept in ``task_state_store`` (shared by all tries, Airflow 3.3+) and pushed to XCom.
        """
        data = result.to_dict()
        ti = context["ti"]
        saved = {
            "result": data,
            "clear_generation": self.clear_generation(context),
            "try_number": getattr(ti, "try_number", None),
        }
        self.remember_across_tries(context, CANCEL_STATE_KEY, saved)
        self.push_result(context, data)

    def _recall_cancel(self, context: Any) -> CancelResult | None:
        """The cancel an earlier try of this run of the task recorded (same clear generation), if any."""
        ti = context["ti"]
        data: Any = None
        try_number: Any = None
        if context.get("task_state_store") is not None:
            saved = self.recall_across_tries(context, CANCEL_STATE_KEY)
            if isinstance(saved, dict) and saved.get("clear_generation") == self.clear_generation(context):
                data, try_number = saved.get("result"), saved.get("try_number")
        elif getattr(ti, "xcom_pull", None) is not None:
            # Without a task state store (Airflow < 3.3) XCom is the only place; Airflow clears a task's
            # XComs when a new try starts, so this finds something only where they survive.
            try:
                data = self.pull_result(context)
            except Exception as exc:
                self.log.warning("Could not read what an earlier try cancelled (%s); treating it as nothing.", exc)
        result = _cancel_result_from(data)
        if result is not None:
            self.log.info(
                "An earlier try%s cancelled %d SuprSend %s run(s) at %s: %s",
                f" ({try_number})" if try_number else "",
                len(result.detail["execution_ids"]),
                self.run_type,
                result.detail["cancelled_at"],
                result.detail["execution_ids"][:50],
            )
        return result

    def _resumed(self, earlier: CancelResult, now: CancelResult | None) -> CancelResult:
        """
        The runs to wait on after a retry: the earlier try's plus any this try's cancel matched.

        Waiting starts from the earlier cancel when this try matched nothing new (messages since then
        are the evidence), else from this try's cancel, so a run it just cancelled gets a whole window.
        """
        earlier_ids = list(earlier.detail["execution_ids"])
        new_ids = list(now.detail["execution_ids"]) if now is not None else []
        base = now if now is not None else earlier
        return CancelResult(
            vendor=base.vendor,
            target=base.target,
            outcome=CancelOutcome.CANCELLED,
            vendor_status=base.vendor_status,
            detail={
                **base.detail,
                "execution_ids": list(dict.fromkeys([*earlier_ids, *new_ids])),
                "cancelled_at": base.detail["cancelled_at"] if new_ids else earlier.detail["cancelled_at"],
                "earlier_try": {"execution_ids": earlier_ids, "cancelled_at": earlier.detail["cancelled_at"]},
                "resent": now is not None,
            },
        )

    def status_target(self, result: CancelResult) -> dict[str, Any] | None:
        execution_ids = result.detail.get("execution_ids") or []
        if len(execution_ids) > MAX_WATCHED_EXECUTIONS:
            self.log.warning(
                "Cancelled %d runs; waiting on the first %d only.", len(execution_ids), MAX_WATCHED_EXECUTIONS
            )
        return super().status_target(result)


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

    Retries keep waiting: a cancel that matched runs is recorded (``task_state_store``, Airflow 3.3+,
    and XCom ``cancel_result``) as soon as it returns. When an automatic retry follows a failed or
    timed-out wait, SuprSend answers the repeated cancel with ``[]`` (the runs are already
    cancelled), so the retry waits on the recorded runs (plus any new ones it matched) instead of
    reporting ``nothing_to_cancel``. A broad cancel is then not re-sent at all: the retry only waits.

    Returns (XCom) ``{"outcome": "cancelled"|"nothing_to_cancel", "detail": {"execution_ids": [...],
    "cancelled_at": ..., "broad_match": ...}, ...}`` (after a retry resumed an earlier try's cancel,
    ``detail`` also has ``earlier_try: {"execution_ids", "cancelled_at"}`` and ``resent``). With
    ``wait_for_completion=True`` it then waits until the message log of every cancelled execution
    stays quiet for ``settle_seconds``.

    :param execution_id: One workflow execution id, e.g. ``dsl_...`` (templated).
    :param recipients: distinct_ids or contact info (templated; a list, one string, or a JSON list).
    :param idempotency_key: The idempotency key the workflow was triggered with (templated).
    :param workflow_slug: The workflow's slug (templated).
    :param tenant_id: Narrow to one tenant (templated).
    :param allow_broad_match: Opt in to a broad cancel, one without ``execution_id`` or
        ``idempotency_key`` (templated; ``True``/``"true"``). Never the default.
    :param resend_broad_match_on_retry: Let an automatic task retry re-send a broad cancel. By default
        the retry sends nothing: it fails, or waits on the runs an earlier try cancelled (see the class
        docstring). ``True``/``"true"``; anything else that is not a boolean is refused before sending.
    :param fail_if_nothing_matched: Fail (without retries) when SuprSend answers ``execution_ids: []``
        on the first try. Later tries only warn: an earlier try may have cancelled the runs (when it
        recorded them, the retry waits on them instead).
    :param settle_seconds: With ``wait_for_completion=True``: how long the message log must stay quiet
        for each cancelled execution before it counts as settled (templated).
    :param suprsend_conn_id: Airflow connection id (templated; default ``suprsend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    run_type = WORKFLOW
    target_model = SuprSendWorkflowRuns
    template_fields = (
        "execution_id",
        "recipients",
        "idempotency_key",
        "workflow_slug",
        "tenant_id",
        "allow_broad_match",
        "settle_seconds",
        "suprsend_conn_id",
        "dry_run_flag",
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


class SuprSendCancelBroadcastOperator(_SuprSendCancelRunsOperator):
    """
    Cancel running SuprSend broadcast runs (``POST /v1/broadcast_run/cancel/``).

    Filters are ANDed; at least one of ``execution_id``, ``list_id``, ``idempotency_key`` is
    required. ``list_id`` without ``execution_id``/``idempotency_key`` is a broad cancel: it needs
    ``allow_broad_match=True`` and gets the same retry protection as a broad workflow cancel, and
    a retry resumes waiting on the runs an earlier try cancelled (see
    :class:`SuprSendCancelWorkflowOperator`). The broadcast trigger API returns no execution id, so
    to target one broadcast set ``$idempotency_key`` when triggering it and cancel by that key.

    :param execution_id: One broadcast execution id, e.g. ``broadcast_...`` (templated).
    :param list_id: The subscriber list the broadcast was sent to (templated).
    :param idempotency_key: The idempotency key the broadcast was triggered with (templated).
    :param tenant_id: Narrow to one tenant (templated).
    :param allow_broad_match: Opt in to a broad cancel, one without ``execution_id`` or
        ``idempotency_key`` (templated; ``True``/``"true"``). Never the default.
    :param resend_broad_match_on_retry: Let an automatic task retry re-send a broad cancel. By default
        the retry sends nothing: it fails, or waits on the runs an earlier try cancelled (see the class
        docstring). ``True``/``"true"``; anything else that is not a boolean is refused before sending.
    :param fail_if_nothing_matched: Fail (without retries) when SuprSend answers ``execution_ids: []``
        on the first try. Later tries only warn: an earlier try may have cancelled the runs (when it
        recorded them, the retry waits on them instead).
    :param settle_seconds: With ``wait_for_completion=True``: how long the message log must stay quiet
        for each cancelled execution before it counts as settled (templated).
    :param suprsend_conn_id: Airflow connection id (templated; default ``suprsend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    run_type = BROADCAST
    target_model = SuprSendBroadcastRuns
    template_fields = (
        "execution_id",
        "list_id",
        "idempotency_key",
        "tenant_id",
        "allow_broad_match",
        "settle_seconds",
        "suprsend_conn_id",
        "dry_run_flag",
    )

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
