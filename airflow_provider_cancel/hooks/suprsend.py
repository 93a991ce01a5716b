"""SuprSend workflow and broadcast runs: cancel by filters, and the settle check over the message log.

SuprSend has no execution status API; see :mod:`airflow_provider_cancel.vendors.suprsend` for how an
execution counts as settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_cancel.exceptions import Attempt, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import CampaignStatus, CancelOutcome, CancelResult
from airflow_provider_cancel.timeutil import iso, utc_now
from airflow_provider_cancel.vendors.suprsend import (
    BROADCAST,
    CANCEL_PATHS,
    DEFAULT_SETTLE_SECONDS,
    MAX_WATCHED_EXECUTIONS,
    MESSAGES_PATH,
    WORKFLOW,
    CancelFilters,
    build_cancel_filters,
    floor_second,
    overall_status,
    require_broad_opt_in,
    settle_args,
    settle_status,
    watch_list,
)


class SuprSendHook(CampaignVendorHook, vendor="suprsend"):
    """
    Hook for SuprSend workflow and broadcast runs (``suprsend`` connection type).

    Connection: Base URL in *host* (default ``https://hub.suprsend.com``), the workspace API key in
    *password* (sent as ``Authorization: Bearer <key>``); extras ``timeout``, ``connect_timeout``.

    Cancels by filters that SuprSend ANDs together. A cancel aimed at a specific ``execution_id``
    or ``idempotency_key`` is harmless to repeat, so it is retried on 5xx and read timeouts. A
    broad one (for example only ``workflow_slug``) is not: a repeat could cancel runs that started
    in between, so it is retried only when the request surely never reached SuprSend (429 or no
    connection).

    :param suprsend_conn_id: Airflow connection id (default ``suprsend_default``).
    """

    test_connection_path = MESSAGES_PATH
    test_connection_params = {"limit": 1}

    # ------------------------------------------------------------------ cancel
    def cancel_workflow_runs(
        self,
        *,
        execution_id: str | None = None,
        recipients: Iterable[str] | str | None = None,
        idempotency_key: str | None = None,
        workflow_slug: str | None = None,
        tenant_id: str | None = None,
        allow_broad_match: bool = False,
    ) -> CancelResult:
        """``POST /v1/workflow_run/cancel/``; returns the cancelled ``execution_ids`` in ``detail``."""
        filters = build_cancel_filters(
            WORKFLOW,
            execution_id=execution_id,
            recipients=recipients,
            idempotency_key=idempotency_key,
            workflow_slug=workflow_slug,
            tenant_id=tenant_id,
        )
        return self.cancel_runs(filters, allow_broad_match=allow_broad_match)

    def cancel_broadcast_runs(
        self,
        *,
        execution_id: str | None = None,
        list_id: str | None = None,
        idempotency_key: str | None = None,
        tenant_id: str | None = None,
        allow_broad_match: bool = False,
    ) -> CancelResult:
        """``POST /v1/broadcast_run/cancel/``; returns the cancelled ``execution_ids`` in ``detail``."""
        filters = build_cancel_filters(
            BROADCAST, execution_id=execution_id, list_id=list_id, idempotency_key=idempotency_key, tenant_id=tenant_id
        )
        return self.cancel_runs(filters, allow_broad_match=allow_broad_match)

    def cancel_runs(self, filters: CancelFilters, *, allow_broad_match: bool = False) -> CancelResult:
        """
        Send one validated cancel. ``[]`` back means nothing matched (``nothing_to_cancel``).

        ``detail.cancelled_at`` is taken just before sending: the settle check looks for messages
        created from then on.
        """
        require_broad_opt_in(filters, allow_broad_match)
        cancelled_at = iso(utc_now())
        failed: list[Attempt] = []
        body = self.request(
            "POST", CANCEL_PATHS[filters.run_type], json=filters.body, idempotent=not filters.is_broad, record=failed
        )
        raw_ids = body.get("execution_ids") if isinstance(body, dict) else body
        execution_ids = [str(e) for e in raw_ids if e] if isinstance(raw_ids, list) else []
        log = self.log.warning if filters.is_broad else self.log.info
        log(
            "SuprSend %s cancel (%s) matched %d running run(s)%s: %s",
            filters.run_type,
            filters.describe(),
            len(execution_ids),
            " [broad match]" if filters.is_broad else "",
            execution_ids[:50] or "none",
        )
        outcome = CancelOutcome.CANCELLED if execution_ids else CancelOutcome.NOTHING_TO_CANCEL
        # A repeat that matches nothing after an attempt that reached SuprSend without a usable answer:
        # that attempt most likely cancelled the runs, and only the repeat's (empty) answer came back.
        answer_lost = not execution_ids and any(attempt.reached_server for attempt in failed)
        if answer_lost:
            outcome = CancelOutcome.ALREADY_CANCELLED
            execution_ids = [str(filters.body["execution_id"])] if filters.body.get("execution_id") else []
            self.log.warning(
                "SuprSend's answer to an earlier attempt was lost and the repeat matched no running run: that "
                "attempt most likely cancelled them (reported as already_cancelled; %s).",
                f"the settle check watches {execution_ids[0]}" if execution_ids else "their execution ids are unknown",
            )
        return CancelResult(
            vendor=self.vendor,
            target={"run_type": filters.run_type, "filters": dict(filters.body)},
            outcome=outcome,
            vendor_status=None,
            detail={
                "execution_ids": execution_ids,
                "cancelled_at": cancelled_at,
                "broad_match": filters.is_broad,
                "answer_lost": answer_lost,
            },
        )

    # ------------------------------------------------------------------ messages and settle status
    def list_messages(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/message/`` with the given filters (``execution_id``, ``created_at_gte``, ``limit``...)."""
        return self.request("GET", MESSAGES_PATH, params=params)

    def status_request(
        self, execution_id: str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> tuple[str, dict[str, Any] | None]:
        moment, _ = settle_args(since, settle_seconds)
        # Newest first, so one message is enough to know the last activity; meta.count gives the total.
        return MESSAGES_PATH, {"execution_id": execution_id, "created_at_gte": floor_second(moment), "limit": 1}

    def parse_status(
        self,
        body: Any,
        error: VendorAPIError | None,
        execution_id: str,
        since: str,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> CampaignStatus:
        if error is not None:
            raise error  # no 4xx on the message list means anything about an execution
        moment, seconds = settle_args(since, settle_seconds)
        return settle_status(body, execution_id, moment, seconds, utc_now())

    def get_status(
        self, execution_ids: list[str] | str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> CampaignStatus:
        """
        Whether every watched execution has settled: one GET per execution, stopping at the first
        that has not (so a poll costs one GET per execution only once the earlier ones are quiet).
        """
        ids = watch_list(execution_ids)
        statuses = []
        for execution_id in ids[:MAX_WATCHED_EXECUTIONS]:
            status = super().get_status(execution_id=execution_id, since=since, settle_seconds=settle_seconds)
            if not status.is_cancelled:
                return overall_status(ids, [status])
            statuses.append(status)
        return overall_status(ids, statuses)

    async def aget_status(
        self, execution_ids: list[str] | str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> CampaignStatus:
        """Async twin of :meth:`get_status`, for the trigger (stateless: everything comes from ``target``)."""
        ids = watch_list(execution_ids)
        statuses = []
        for execution_id in ids[:MAX_WATCHED_EXECUTIONS]:
            status = await super().aget_status(execution_id=execution_id, since=since, settle_seconds=settle_seconds)
            if not status.is_cancelled:
                return overall_status(ids, [status])
            statuses.append(status)
        return overall_status(ids, statuses)
