"""SuprSend (workflow and broadcast runs): registry entry, target models, cancel filters and settle logic.

SuprSend has **no execution status API**. After a cancel we watch the message log instead:
``GET /v1/message/?execution_id=<id>&created_at_gte=<cancel time>``. An execution counts as settled
(reported as ``CANCELLED``) once no message has been created for it during a whole settle window
that started at the cancel (or at its newest message since the cancel, whichever is later).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.timeutil import iso, parse_time
from airflow_provider_cancel.utils.templating import optional_text, parse_flag, parse_id_list, parse_number
from airflow_provider_cancel.vendors import VendorSpec

WORKFLOW = "workflow"
BROADCAST = "broadcast"
CANCEL_PATHS = {WORKFLOW: "/v1/workflow_run/cancel/", BROADCAST: "/v1/broadcast_run/cancel/"}
MESSAGES_PATH = "/v1/message/"

# Filters that name one run (or one trigger call): repeating a cancel by them is harmless.
TARGETED_FILTERS = ("execution_id", "idempotency_key")
#: Filters that are one id each (checked with ``require_plain_id``); the others are free text or contacts.
ID_FILTERS = ("execution_id", "list_id", "tenant_id")
# Filters SuprSend accepts as "at least one filter" (docs); tenant_id only narrows the others.
QUALIFYING_FILTERS = {
    WORKFLOW: ("execution_id", "recipients", "idempotency_key", "workflow_slug"),
    BROADCAST: ("execution_id", "list_id", "idempotency_key"),
}
IDEMPOTENCY_KEY_MAX_LEN = 255  # the API docs say 255; the Python SDK README says 64: accept the larger
DEFAULT_SETTLE_SECONDS = 60.0
# Most executions a settle check watches: each costs one GET per poll.
MAX_WATCHED_EXECUTIONS = 100
# Message created_at has second precision (documented): a message stamped 12:00:05 may be from 12:00:05.999.
CREATED_AT_PRECISION = dt.timedelta(seconds=1)

VENDOR = VendorSpec(
    name="suprsend",
    display_name="SuprSend",
    docs_url="https://docs.suprsend.com/",
    conn_type="suprsend",
    default_base_url="https://hub.suprsend.com",
    hook="airflow_provider_cancel.hooks.suprsend.SuprSendHook",
    operators=(
        "airflow_provider_cancel.operators.suprsend.SuprSendCancelWorkflowOperator",
        "airflow_provider_cancel.operators.suprsend.SuprSendCancelBroadcastOperator",
    ),
    sensor="airflow_provider_cancel.sensors.suprsend.SuprSendExecutionStatusSensor",
    target_kinds={
        "suprsend_workflow": "airflow_provider_cancel.vendors.suprsend.SuprSendWorkflowRuns",
        "suprsend_broadcast": "airflow_provider_cancel.vendors.suprsend.SuprSendBroadcastRuns",
    },
    sandbox="airflow_provider_cancel.sandbox.suprsend.SuprSend",
    sandbox_prefix="/suprsend",
    sandbox_key="ss_sandbox_key",
)


# ---------------------------------------------------------------------------- cancel filters
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


def _filter_value(name: str, value: Any) -> Any:
    try:
        if name == "recipients":
            return parse_id_list(value)
        text = optional_text(value, max_len=IDEMPOTENCY_KEY_MAX_LEN if name == "idempotency_key" else None)
    except ValueError as exc:
        raise InvalidTarget(f"{name} {exc}; nothing was sent to SuprSend.", field=name) from None
    # SuprSend's ids are slugs ([a-z0-9_-] for lists and tenants, dsl_.../broadcast_... for executions).
    return require_plain_id(name, text) if text is not None and name in ID_FILTERS else text


def build_cancel_filters(run_type: str, **filters: Any) -> CancelFilters:
    """
    Validate cancel filters and build the request body, before anything is sent.

    Blank values are dropped (an unset templated param renders as ``""``). At least one of the
    filters SuprSend documents must remain; ``tenant_id`` alone does not qualify. Every bad filter
    is reported in one :class:`InvalidTarget`.
    """
    if run_type not in CANCEL_PATHS:
        raise InvalidTarget(f"run_type must be one of {sorted(CANCEL_PATHS)} (got {run_type!r}).", field="run_type")
    allowed = (*QUALIFYING_FILTERS[run_type], "tenant_id")
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise InvalidTarget(f"Unknown SuprSend {run_type} cancel filter(s) {unknown}; allowed: {', '.join(allowed)}.")
    errors = FieldErrors()
    body: dict[str, Any] = {}
    for name in allowed:
        value = errors.check(name, partial(_filter_value, name, filters.get(name)))
        if value is not None:
            body[name] = value
    errors.raise_if_any()
    if not any(k in body for k in QUALIFYING_FILTERS[run_type]):
        given = f" (only tenant_id={body['tenant_id']!r} was given, which only narrows the others)" if body else ""
        raise InvalidTarget(
            f"A SuprSend {run_type} cancel needs at least one filter: "
            f"{', '.join(QUALIFYING_FILTERS[run_type])}{given}. Nothing was sent to SuprSend.",
            field="filters",
        )
    return CancelFilters(run_type, body)


def require_broad_opt_in(filters: CancelFilters, allow_broad_match: bool) -> None:
    """Refuse a wide-blast cancel (no execution_id or idempotency_key) unless it was opted into."""
    if filters.is_broad and not allow_broad_match:
        raise InvalidTarget(
            f"Refusing a broad SuprSend {filters.run_type} cancel ({filters.describe()}): without execution_id "
            f"or idempotency_key it cancels EVERY running {filters.run_type} run that matches, including runs "
            "started moments ago. Pass allow_broad_match=True to do this on purpose, or add execution_id / "
            "idempotency_key. Nothing was sent to SuprSend.",
            field="allow_broad_match",
        )


def flag(name: str, value: Any) -> bool:
    """A boolean argument that may arrive rendered (``"True"``/``"false"``); strict otherwise."""
    try:
        return parse_flag(value)
    except ValueError as exc:
        raise InvalidTarget(f"{name} {exc}; nothing was sent to SuprSend.", field=name) from None


def settle_seconds(value: Any) -> float:
    try:
        seconds = parse_number(value, minimum=0)
    except ValueError as exc:
        raise InvalidTarget(f"settle_seconds {exc}.", field="settle_seconds") from None
    if not math.isfinite(seconds):  # "nan" and "inf" read as numbers, but no window ends at either
        raise InvalidTarget(f"settle_seconds must be a finite number (got {value!r}).", field="settle_seconds")
    return seconds


# ---------------------------------------------------------------------------- target models
@dataclass(frozen=True)
class SuprSendRuns(Target):
    """
    What SuprSend's workflow and broadcast run targets share (see their docstrings).

    :param execution_id: One execution id.
    :param idempotency_key: The idempotency key the run was triggered with.
    :param tenant_id: Narrows the other filters.
    :param allow_broad_match: Opt in to a cancel without ``execution_id`` or ``idempotency_key``.
    :param settle_seconds: Quiet time after which a cancelled execution counts as settled.
    """

    vendor = "suprsend"
    run_type: ClassVar[str]
    execution_id: str | None = None
    idempotency_key: str | None = None
    tenant_id: str | None = None
    allow_broad_match: bool = False
    settle_seconds: float = DEFAULT_SETTLE_SECONDS

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        names = [*QUALIFYING_FILTERS[cls.run_type], "tenant_id"]
        allow = errors.check("allow_broad_match", lambda: flag("allow_broad_match", raw.get("allow_broad_match")))
        seconds = errors.check(
            "settle_seconds", lambda: settle_seconds(raw.get("settle_seconds", DEFAULT_SETTLE_SECONDS))
        )
        filters = errors.check("filters", lambda: build_cancel_filters(cls.run_type, **{n: raw.get(n) for n in names}))
        if filters is None:
            return {}
        if allow is not None:
            errors.check("allow_broad_match", lambda: require_broad_opt_in(filters, allow))
        values: dict[str, Any] = {n: filters.body.get(n) for n in names}
        if values.get("recipients") is not None:
            values["recipients"] = tuple(values["recipients"])
        return {**values, "allow_broad_match": bool(allow), "settle_seconds": seconds}

    @property
    def filters(self) -> CancelFilters:
        names = [*QUALIFYING_FILTERS[self.run_type], "tenant_id"]
        return build_cancel_filters(self.run_type, **{n: _listed(getattr(self, n)) for n in names})

    @property
    def is_broad(self) -> bool:
        return self.filters.is_broad

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        return watch_target(result, self.settle_seconds) if result is not None else None


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class SuprSendWorkflowRuns(SuprSendRuns):
    """
    SuprSend workflow runs to cancel, by filters SuprSend ANDs together.

    :param execution_id: One workflow execution id.
    :param recipients: distinct_ids or contact info.
    :param idempotency_key: The idempotency key the workflow was triggered with.
    :param workflow_slug: The workflow's slug.
    :param tenant_id: Narrows the other filters.
    :param allow_broad_match: Opt in to a cancel without ``execution_id`` or ``idempotency_key``.
    :param settle_seconds: Quiet time after which a cancelled execution counts as settled.
    """

    kind = "suprsend_workflow"
    run_type = WORKFLOW
    example = {"vendor": "suprsend_workflow", "execution_id": "dsl_01HZX", "settle_seconds": 30}
    recipients: tuple[str, ...] | None = None
    workflow_slug: str | None = None


@dataclass(frozen=True)
class SuprSendBroadcastRuns(SuprSendRuns):
    """
    SuprSend broadcast runs to cancel, by filters SuprSend ANDs together.

    :param execution_id: One broadcast execution id.
    :param list_id: The subscriber list the broadcast was sent to.
    :param idempotency_key: The idempotency key the broadcast was triggered with.
    :param tenant_id: Narrows the other filters.
    :param allow_broad_match: Opt in to a cancel without ``execution_id`` or ``idempotency_key``.
    :param settle_seconds: Quiet time after which a cancelled execution counts as settled.
    """

    kind = "suprsend_broadcast"
    run_type = BROADCAST
    example = {"vendor": "suprsend_broadcast", "list_id": "all-users", "allow_broad_match": True}
    list_id: str | None = None


def watch_target(result: CancelResult, seconds: float) -> dict[str, Any] | None:
    """What to wait on after a cancel: the executions it cancelled (at most :data:`MAX_WATCHED_EXECUTIONS`)."""
    execution_ids = list(result.detail.get("execution_ids") or [])
    if result.outcome is CancelOutcome.NOTHING_TO_CANCEL or not execution_ids:
        return None
    return {
        "execution_ids": execution_ids[:MAX_WATCHED_EXECUTIONS],
        "since": result.detail["cancelled_at"],
        "settle_seconds": seconds,
    }


# ---------------------------------------------------------------------------- settle logic
def watch_list(execution_ids: Any) -> list[str]:
    """The executions a settle check watches: a list (or one id) of non-empty ids."""
    try:
        ids = parse_id_list(execution_ids, unique=False)
    except ValueError as exc:
        raise InvalidTarget(f"execution_ids {exc}.", field="execution_ids") from None
    if not ids:
        raise InvalidTarget(
            "At least one SuprSend execution_id is needed to check whether it settled.", field="execution_ids"
        )
    return [require_plain_id("execution_ids", i) for i in ids]


def settle_args(since: Any, seconds: Any) -> tuple[dt.datetime, float]:
    moment = parse_time(since)
    if moment is None:
        raise InvalidTarget(f"since must be an ISO 8601 time (got {since!r}).", field="since")
    return moment, settle_seconds(seconds)


def floor_second(moment: dt.datetime) -> str:
    """The ``created_at_gte`` value: SuprSend compares whole seconds, so round down to stay inclusive."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def settle_status(
    body: Any, execution_id: str, since: dt.datetime, settle_window: float, now: dt.datetime
) -> CampaignStatus:
    """
    Decide from one message-list page whether an execution has settled.

    ``body`` is the answer to ``GET /v1/message/?execution_id=..&created_at_gte=<since>``, newest
    first. Activity ends at the newest message created at or after ``since`` (or at ``since`` if
    there is none; the end of that message's second, as ``created_at`` has second precision); the
    execution is settled once ``settle_window`` seconds have passed since then.
    A message without a readable ``created_at`` (or ``triggered_at``/``updated_at``) counts as
    created now: we never call an execution settled on a guess.
    """
    meta: dict[str, Any] = {}
    if isinstance(body, dict):
        results = body.get("results")
        meta = body["meta"] if isinstance(body.get("meta"), dict) else {}
    else:  # tolerate a bare list
        results = body
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
    newest = max(recent, default=None)
    last_activity = max(since, newest + CREATED_AT_PRECISION) if newest else since
    quiet_until = last_activity + dt.timedelta(seconds=settle_window)
    settled = now >= quiet_until
    if newest is None:
        what = f"no new message since the cancel at {iso(since)}"
    else:
        what = f"{count} message(s) created since the cancel at {iso(since)}, newest at {iso(newest)}"
    if settled:
        detail = f"execution {execution_id}: {what}; quiet for the {settle_window:g}s settle window"
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
            "settle_seconds": settle_window,
        },
    )


def overall_status(ids: list[str], statuses: list[CampaignStatus]) -> CampaignStatus:
    """One status for all watched executions, from the per-execution checks done so far (the last one decides)."""
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
        vendor="suprsend",
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
