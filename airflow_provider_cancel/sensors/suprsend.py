"""Wait until SuprSend executions stop producing messages (SuprSend has no execution status API)."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowSkipException, PokeReturnValue

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.hooks.suprsend import SuprSendHook
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.timeutil import iso
from airflow_provider_cancel.utils.templating import parse_id_list
from airflow_provider_cancel.vendors.suprsend import DEFAULT_SETTLE_SECONDS, settle_args


def parse_execution_ids(value: Any) -> list[str]:
    """Execution ids from a list, one id, or a rendered template (a JSON list or a Python list's text)."""
    try:
        return parse_id_list(value, unique=False) or []
    except ValueError as exc:
        raise InvalidTarget(f"execution_ids {exc}.", field="execution_ids") from None


class SuprSendExecutionStatusSensor(BaseCampaignStatusSensor[SuprSendHook]):
    """
    Wait until SuprSend workflow/broadcast executions have settled: no message created for them
    during a whole ``settle_seconds`` window.

    SuprSend has no API that reports an execution's state, so each poke (or trigger poll) reads
    ``GET /v1/message/?execution_id=<id>&created_at_gte=<since>&limit=1`` per execution. An
    execution is settled, and reported ``cancelled``, once ``settle_seconds`` have passed since
    ``since`` and since its newest message created after ``since``. Messages that keep appearing
    keep it waiting (the sensor's ``timeout`` then fails it). An empty id list skips the task:
    there is nothing to watch (for example the cancel matched nothing).

    :param execution_ids: One execution id or a list (templated; a rendered list such as
        ``{{ ti.xcom_pull('cancel')['detail']['execution_ids'] }}`` is accepted).
    :param since: ISO 8601 time from which messages count (templated), normally the cancel's
        ``detail.cancelled_at``. Defaults to the DAG run's start, which stays the same across pokes.
    :param settle_seconds: Quiet time needed per execution (templated).
    :param suprsend_conn_id: Airflow connection id (templated; default ``suprsend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.sensors.base.BaseCampaignStatusSensor`.
    """

    hook_class = SuprSendHook
    template_fields = ("execution_ids", "since", "settle_seconds", "suprsend_conn_id")

    def __init__(
        self,
        *,
        execution_ids: list[str] | str,
        since: str | None = None,
        settle_seconds: float | str = DEFAULT_SETTLE_SECONDS,
        suprsend_conn_id: str = SuprSendHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.execution_ids = execution_ids
        self.since = since
        self.settle_seconds = settle_seconds
        self.suprsend_conn_id = suprsend_conn_id
        self._run_start: str | None = None

    def poke(self, context: Any) -> PokeReturnValue:
        dag_run = context.get("dag_run")
        start = getattr(dag_run, "start_date", None)
        self._run_start = iso(start) if start is not None else None
        return super().poke(context)

    def status_target(self) -> dict[str, Any]:
        ids = parse_execution_ids(self.execution_ids)
        if not ids:
            raise AirflowSkipException("No SuprSend execution ids to watch (the cancel matched nothing).")
        since = self.since if self.since not in (None, "") else self._run_start
        _, settle_seconds = settle_args(since, self.settle_seconds)
        return {"execution_ids": ids, "since": since, "settle_seconds": settle_seconds}
