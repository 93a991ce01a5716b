"""SuprSend workflow and broadcast runs: cancel, and a settle check. Facts: shared/vendor-apis.md section 1.

SuprSend has **no execution status API**. After a cancel we watch the message log instead:
``GET /v1/message/?execution_id=<id>&created_at_gte=<cancel time>``. An execution counts as settled
(reported as ``CANCELLED``) once no message has been created for it during a whole settle window
that started at the cancel (or at its newest message since the cancel, whichever is later).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import (
    CampaignState,
    CampaignStatus,
    CancelOutcome,
    CancelResult,
)
from airflow_provider_cancel.timeutil import iso, parse_time, utc_now
from airflow_provider_cancel.validation import InvalidCancelRequest

WORKFLOW = "workflow"
BROADCAST = "broadcast"
CANCEL_PATHS = {WORKFLOW: "/v1/workflow_run/cancel/", BROADCAST: "/v1/broadcast_run/cancel/"}
MESSAGES_PATH = "/v1/message/"

# Filters that name one run (or one trigger call): repeating a cancel by them is harmless.
TARGETED_FILTERS = ("execution_id", "idempotency_key")
# Filters SuprSend accepts as "at least one filter" (docs); tenant_id only narrows the others.
QUALIFYING_FILTERS = {
    WORKFLOW: ("execution_id", "recipients", "idempotency_key", "workflow_slug"),
    BROADCAST: ("execution_id", "list_id", "idempotency_key"),
}
IDEMPOTENCY_KEY_MAX_LEN = 255  # the docs say 255; the Python SDK README says 64, so we allow the larger
DEFAULT_SETTLE_SECONDS = 60.0
# Most executions a settle check watches: each costs one GET per poll.
MAX_WATCHED_EXECUTIONS = 100
# Message created_at has second precision (documented): a message stamped 12:00:05 may be from 12:00:05.999.
CREATED_AT_PRECISION = dt.timedelta(seconds=1)


class SuprSendNothingMatchedError(AirflowFailException):
    """The cancel matched no running workflow/broadcast run and the task asked to fail in that case."""


@dataclass(frozen=True)
class CancelFilters:
    """
    A validated SuprSend cancel request body.

    :param run_type: ``workflow`` or ``broadcast``.
    :param body: The JSON body to send: only the filters that were given (ANDed by SuprSend).
    """

    run_type: str
    body: dict[str, Any]

    @property
    def is_broad(self) -> bool:
        """True when no filter names a specific run: the cancel may stop many runs, including new ones."""
        return not any(k in self.body for k in TARGETED_FILTERS)

    def describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.body.items())


def _optional_text(name: str, value: Any, max_len: int | None = None) -> str | None:
    """A filter value as a stripped string; ``None``/blank means "not given" (an unset templated param)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidCancelRequest(
            f"{name} must be a string (got {type(value).__name__}); nothing was sent to SuprSend."
        )
    text = str(value).strip()
    if max_len is not None and len(text) > max_len:
        raise InvalidCancelRequest(f"{name} must be at most {max_len} characters; nothing was sent to SuprSend.")
    return text or None


def parse_recipients(value: Any) -> list[str] | None:
    """
    Recipients as a list of distinct_ids or contact info strings; ``None`` if none were given.

    Accepts a list/tuple of strings, one recipient as a plain string, or a list rendered by a Jinja
    template (JSON, or the ``['a', 'b']`` form of a Python list). Commas are never split: a
    recipient id may contain one.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                try:  # "{{ params.recipients }}" renders a Python list: ['a', 'b']
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise InvalidCancelRequest(
                        f"recipients looks like a list but cannot be read: {text[:100]!r}; "
                        "nothing was sent to SuprSend."
                    ) from None
        else:
            value = [text]
    if not isinstance(value, (list, tuple)):
        raise InvalidCancelRequest(
            f"recipients must be a list of strings (got {type(value).__name__}); nothing was sent to SuprSend."
        )
    recipients: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
            raise InvalidCancelRequest(
                f"recipients must hold non-empty strings (got {item!r}); nothing was sent to SuprSend."
            )
        if str(item).strip() not in recipients:
            recipients.append(str(item).strip())
    return recipients or None


def build_cancel_filters(run_type: str, **filters: Any) -> CancelFilters:
    """
    Validate cancel filters and build the request body, before anything is sent.

    Blank values are dropped (an unset templated param renders as ``""``). At least one of the
    filters SuprSend documents must remain; ``tenant_id`` alone does not qualify.
    """
    if run_type not in CANCEL_PATHS:
        raise InvalidCancelRequest(f"run_type must be one of {sorted(CANCEL_PATHS)} (got {run_type!r}).")
    allowed = (*QUALIFYING_FILTERS[run_type], "tenant_id")
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise InvalidCancelRequest(
            f"Unknown SuprSend {run_type} cancel filter(s) {unknown}; allowed: {', '.join(allowed)}."
        )
    body: dict[str, Any] = {}
    for name in allowed:
        if name == "recipients":
            value: Any = parse_recipients(filters.get(name))
        else:
            max_len = IDEMPOTENCY_KEY_MAX_LEN if name == "idempotency_key" else None
            value = _optional_text(name, filters.get(name), max_len)
        if value is not None:
            body[name] = value
    if not any(k in body for k in QUALIFYING_FILTERS[run_type]):
        given = f" (only tenant_id={body['tenant_id']!r} was given, which only narrows the others)" if body else ""
        raise InvalidCancelRequest(
            f"A SuprSend {run_type} cancel needs at least one filter: "
            f"{', '.join(QUALIFYING_FILTERS[run_type])}{given}. Nothing was sent to SuprSend."
        )
    return CancelFilters(run_type, body)


def require_broad_opt_in(filters: CancelFilters, allow_broad_match: bool) -> None:
    """Refuse a wide-blast cancel (no execution_id or idempotency_key) unless it was opted into."""
    if filters.is_broad and not allow_broad_match:
        raise InvalidCancelRequest(
            f"Refusing a broad SuprSend {filters.run_type} cancel ({filters.describe()}): without execution_id "
            f"or idempotency_key it cancels EVERY running {filters.run_type} run that matches, including runs "
            "started moments ago. Pass allow_broad_match=True to do this on purpose, or add execution_id / "
            "idempotency_key. Nothing was sent to SuprSend."
        )


# ---------------------------------------------------------------------------- settle logic
def floor_second(moment: dt.datetime) -> str:
    """The ``created_at_gte`` value: SuprSend compares whole seconds, so round down to stay inclusive."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def settle_status(
    body: Any, execution_id: str, since: dt.datetime, settle_seconds: float, now: dt.datetime
) -> CampaignStatus:
    """
    Decide from one message-list page whether an execution has settled.

    ``body`` is the answer to ``GET /v1/message/?execution_id=..&created_at_gte=<since>``, newest
    first. Activity ends at the newest message created at or after ``since`` (or at ``since`` if
    there is none; the end of that message's second, as ``created_at`` has second precision); the
    execution is settled once ``settle_seconds`` have passed since then.
    A message without a readable ``created_at`` (or ``triggered_at``/``updated_at``) counts as
    created now: we never call an execution settled on a guess.
    """
    if isinstance(body, dict):
        results = body.get("results")
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    else:  # tolerate a bare list
        results, meta = body, {}
    messages = [m for m in results if isinstance(m, dict)] if isinstance(results, list) else []
    floor = since.replace(microsecond=0)
    created = [
        next((t for t in map(parse_time, (m.get("created_at"), m.get("triggered_at"), m.get("updated_at"))) if t), now)
        for m in messages
    ]
    recent = [c for c in created if c >= floor]
    # meta.count is the total since the cancel, unless the vendor ignored created_at_gte (older rows came back).
    honoured = len(recent) == len(created) and isinstance(meta.get("count"), int)
    count = meta["count"] if honoured else len(recent)
    created = recent
    newest = max(created, default=None)
    last_activity = max(since, newest + CREATED_AT_PRECISION) if newest else since
    quiet_until = last_activity + dt.timedelta(seconds=settle_seconds)
    settled = now >= quiet_until
    if newest is None:
        what = f"no new message since the cancel at {iso(since)}"
    else:
        what = f"{count} message(s) created since the cancel at {iso(since)}, newest at {iso(newest)}"
    if settled:
        detail = f"execution {execution_id}: {what}; quiet for the {settle_seconds:g}s settle window"
    else:
        detail = f"execution {execution_id}: {what}; settles at {iso(quiet_until)} if no new message appears"
    return CampaignStatus(
        vendor="suprsend",
        target={"execution_id": execution_id},
        state=CampaignState.CANCELLED if settled else CampaignState.ACTIVE,
        raw_status=None,  # SuprSend has no run status; the state is inferred from the message log
        detail=detail,
        extra={
            "new_messages": count,
            "last_message_at": iso(newest) if newest else None,
            "quiet_until": iso(quiet_until),
            "checked_at": iso(now),
            "settle_seconds": settle_seconds,
        },
    )


def _watch_list(execution_ids: Any) -> list[str]:
    if isinstance(execution_ids, str):
        execution_ids = [execution_ids]
    if not isinstance(execution_ids, (list, tuple)):
        raise InvalidCancelRequest(f"execution_ids must be a list of strings (got {type(execution_ids).__name__}).")
    ids = [str(e).strip() for e in execution_ids if isinstance(e, (str, int)) and str(e).strip()]
    if not ids:
        raise InvalidCancelRequest("At least one SuprSend execution_id is needed to check whether it settled.")
    return ids


def _settle_args(since: Any, settle_seconds: Any) -> tuple[dt.datetime, float]:
    moment = parse_time(since)
    if moment is None:
        raise InvalidCancelRequest(f"since must be an ISO 8601 time (got {since!r}).")
    try:
        seconds = float(settle_seconds)
    except (TypeError, ValueError):
        raise InvalidCancelRequest(f"settle_seconds must be a number (got {settle_seconds!r}).") from None
    if seconds < 0:
        raise InvalidCancelRequest(f"settle_seconds must be >= 0 (got {settle_seconds!r}).")
    return moment, seconds


class SuprSendHook(CampaignVendorHook):
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

    vendor = "suprsend"
    conn_name_attr = "suprsend_conn_id"
    default_conn_name = "suprsend_default"
    conn_type = "suprsend"
    hook_name = "SuprSend"
    default_base_url = "https://hub.suprsend.com"
    password_label = "API key"
    test_connection_path = MESSAGES_PATH
    test_connection_params = {"limit": 1}

    def __init__(self, suprsend_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(suprsend_conn_id, **kwargs)

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
            WORKFLOW, execution_id=execution_id, recipients=recipients, idempotency_key=idempotency_key,
            workflow_slug=workflow_slug, tenant_id=tenant_id,
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
        body = self.request("POST", CANCEL_PATHS[filters.run_type], json=filters.body, idempotent=not filters.is_broad)
        raw_ids = body.get("execution_ids") if isinstance(body, dict) else body
        execution_ids = [str(e) for e in raw_ids if e] if isinstance(raw_ids, list) else []
        log = self.log.warning if filters.is_broad else self.log.info
        log(
            "SuprSend %s cancel (%s) matched %d running run(s)%s: %s",
            filters.run_type, filters.describe(), len(execution_ids),
            " [broad match]" if filters.is_broad else "", execution_ids[:50] or "none",
        )
        return CancelResult(
            vendor=self.vendor,
            target={"run_type": filters.run_type, "filters": dict(filters.body)},
            outcome=CancelOutcome.CANCELLED if execution_ids else CancelOutcome.NOTHING_TO_CANCEL,
            vendor_status=None,
            detail={"execution_ids": execution_ids, "cancelled_at": cancelled_at, "broad_match": filters.is_broad},
        )

    # ------------------------------------------------------------------ messages and settle status
    def list_messages(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/message/`` with the given filters (``execution_id``, ``created_at_gte``, ``limit``...)."""
        return self.request("GET", MESSAGES_PATH, params=params)

    def status_request(
        self, execution_id: str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> tuple[str, dict[str, Any] | None]:
        moment, _ = _settle_args(since, settle_seconds)
        # Newest first, so one message is enough to know the last activity; meta.count gives the total.
        return MESSAGES_PATH, {"execution_id": execution_id, "created_at_gte": floor_second(moment), "limit": 1}

    def parse_status(
        self, body: Any, error: VendorAPIError | None, execution_id: str, since: str,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> CampaignStatus:
        if error is not None:
            raise error  # no 4xx on the message list means anything about an execution
        moment, seconds = _settle_args(since, settle_seconds)
        return settle_status(body, execution_id, moment, seconds, utc_now())

    def get_status(
        self, execution_ids: list[str] | str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> CampaignStatus:
        """
        Whether every watched execution has settled: one GET per execution, stopping at the first
        that has not (so a poll costs one GET per execution only once the earlier ones are quiet).
        """
        ids = _watch_list(execution_ids)
        statuses = []
        for execution_id in ids[:MAX_WATCHED_EXECUTIONS]:
            status = super().get_status(execution_id=execution_id, since=since, settle_seconds=settle_seconds)
            if not status.is_cancelled:
                return self._overall(ids, [status])
            statuses.append(status)
        return self._overall(ids, statuses)

    async def aget_status(
        self, execution_ids: list[str] | str, since: str, settle_seconds: float = DEFAULT_SETTLE_SECONDS
    ) -> CampaignStatus:
        """Async twin of :meth:`get_status`, for the trigger (stateless: everything comes from ``target``)."""
        ids = _watch_list(execution_ids)
        statuses = []
        for execution_id in ids[:MAX_WATCHED_EXECUTIONS]:
            status = await super().aget_status(execution_id=execution_id, since=since, settle_seconds=settle_seconds)
            if not status.is_cancelled:
                return self._overall(ids, [status])
            statuses.append(status)
        return self._overall(ids, statuses)

    def _overall(self, ids: list[str], statuses: list[CampaignStatus]) -> CampaignStatus:
        watched = min(len(ids), MAX_WATCHED_EXECUTIONS)
        last = statuses[-1]
        unwatched = ""
        if len(ids) > watched:
            unwatched = f"; {len(ids) - watched} more execution(s) not watched (limit {MAX_WATCHED_EXECUTIONS})"
        if not last.is_cancelled:
            detail = f"{last.detail}{unwatched}"
        else:
            window = last.extra["settle_seconds"]
            detail = f"all {watched} watched execution(s) settled: no new message for {window:g}s{unwatched}"
        newest = max((s.extra["last_message_at"] for s in statuses if s.extra["last_message_at"]), default=None)
        return CampaignStatus(
            vendor=self.vendor,
            target={"execution_ids": ids},
            state=last.state,
            raw_status=None,
            detail=detail,
            extra={
                **last.extra,
                "quiet_until": max(s.extra["quiet_until"] for s in statuses),
                "new_messages": sum(s.extra["new_messages"] for s in statuses),
                "last_message_at": newest,
                "watched_executions": watched,
                "pending_execution_id": None if last.is_cancelled else last.target["execution_id"],
            },
        )
