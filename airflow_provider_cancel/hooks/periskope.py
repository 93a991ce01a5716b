"""Periskope (WhatsApp) broadcasts: cancel, status and queue purge. Facts: shared/vendor-apis.md section 2."""

from __future__ import annotations

import re
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.status import (
    CampaignState,
    CampaignStatus,
    CancelOutcome,
    CancelResult,
    map_raw_status,
)
from airflow_provider_cancel.validation import (
    InvalidCancelRequest,
    path_segment,
    require_id,
)

# The org phone as Periskope wants it in x-phone: country code + number, digits only, or a phone-... id.
PHONE_PATTERN = re.compile(r"^(?:[0-9]{8,15}|phone-[A-Za-z0-9_-]+)$")

# broadcast_status is the `enum_broadcast_status` of @periskope/types (nullable); the API reference
# only says "pending, in-progress, completed, failed, etc.", so those spellings are accepted too.
PERISKOPE_STATES: dict[str | None, CampaignState] = {
    None: CampaignState.SCHEDULED,  # null: created, not started yet
    "": CampaignState.SCHEDULED,
    "scheduled": CampaignState.SCHEDULED,
    "pending": CampaignState.SCHEDULED,
    "inprogress": CampaignState.ACTIVE,
    "in-progress": CampaignState.ACTIVE,
    "in_progress": CampaignState.ACTIVE,
    "completed": CampaignState.COMPLETED,
    "stopped": CampaignState.CANCELLED,
    # Ended by itself without delivering (not by a cancel): terminal, and not "cancelled".
    "expired": CampaignState.FAILED,
    "failed": CampaignState.FAILED,
}

# The status counters worth showing an on-call engineer; copied into CampaignStatus.extra.
STATUS_COUNTERS = ("total_chats", "sent_chats", "failed_chats", "pending_chats", "scheduled_at")


class PeriskopeHook(CampaignVendorHook):
    """
    Hook for Periskope WhatsApp broadcasts (``periskope`` connection type).

    Connection: Base URL in *host* (default ``https://api.periskope.app/v1``), API key in *password*
    (sent as ``Authorization: Bearer``); extra ``phone``: the org's connected phone as country code +
    number, digits only (``919874532456``), or a ``phone-...`` id, sent as the ``x-phone`` header.
    A phone written any other way (``+91 98745 32456``) is refused before any request, with the
    fix in the message. Periskope documents ``X-RateLimit-*`` headers but no ``Retry-After``: a 429
    is retried with exponential backoff.

    :param periskope_conn_id: Airflow connection id (default ``periskope_default``).
    """

    vendor = "periskope"
    conn_name_attr = "periskope_conn_id"
    default_conn_name = "periskope_default"
    conn_type = "periskope"
    hook_name = "Periskope"
    default_base_url = "https://api.periskope.app/v1"
    test_connection_path = "/queue"  # queue health: read-only and cheap

    def __init__(self, periskope_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(periskope_conn_id, **kwargs)
        # DELETE paths whose earlier attempt may have reached Periskope without us seeing the answer.
        self._unanswered_deletes: set[str] = set()

    # ----------------------------------------------------------------- connection
    def validate_settings(self, settings: ConnectionSettings) -> None:
        phone = settings.extras.get("phone")
        if phone in (None, ""):
            return
        text = str(phone).strip() if isinstance(phone, (str, int)) and not isinstance(phone, bool) else None
        if text is None or not PHONE_PATTERN.match(text):
            digits = re.sub(r"\D", "", str(phone))
            hint = f" (for {phone!r} that is {digits!r})" if 8 <= len(digits) <= 15 else ""
            raise InvalidCancelRequest(
                f"Connection {self.conn_id!r}: extra 'phone' (Periskope x-phone) is {phone!r}; write it as "
                f"country code + number, digits only, with no '+', spaces or dashes{hint}, or as a "
                "'phone-...' id. Nothing was sent to Periskope."
            )

    def vendor_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        phone = settings.extras.get("phone")
        return {"x-phone": str(phone).strip()} if phone not in (None, "") else {}

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        code, message = super().parse_error(body, text)
        if not isinstance(body, dict):
            return code, message
        # 409 {status: "CONFLICT_ERROR", code: 409}; 422 {code: "VALIDATION_ERROR", fields: {...}}.
        code = next((body[k] for k in ("status", "code") if isinstance(body.get(k), str) and body[k]), code)
        fields = body.get("fields")
        if isinstance(fields, dict) and fields:
            listed = "; ".join(f"{k}: {v}" for k, v in fields.items())
            message = f"{body['message']} ({listed})" if body.get("message") else f"invalid fields: {listed}"
        return code, message

    def is_retryable(self, exc: BaseException, idempotent: bool) -> bool:
        retry = super().is_retryable(exc, idempotent)
        if retry and isinstance(exc, VendorAPIError) and exc.method == "DELETE" and exc.reached_server:
            if exc.status_code != 429:  # 429: refused before acting
                self._unanswered_deletes.add(exc.path or "")
        return retry

    # ----------------------------------------------------------------- cancel
    @staticmethod
    def _broadcast_path(broadcast_id: str) -> str:
        return f"/message/broadcast/{path_segment(broadcast_id)}"

    def cancel_broadcast(self, broadcast_id: str) -> CancelResult:
        """
        Delete a broadcast that has not started, or stop one that is sending.

        ``DELETE /message/broadcast/{id}``. 200 ``deleted`` or ``stopped`` is ``cancelled``; 409
        (already in a terminal state) is ``already_stopped``, with a best-effort status read saying
        which terminal state (``completed`` means every message went out). 404 raises a
        :class:`VendorAPIError` that says the broadcast is unknown or not in this organisation,
        except when an earlier attempt of this same call may have deleted it (its answer was lost):
        then the 404 is what that delete left behind, reported as ``deleted``.
        """
        broadcast_id = require_id("broadcast_id", broadcast_id)
        path = self._broadcast_path(broadcast_id)
        target = {"broadcast_id": broadcast_id}
        self._unanswered_deletes.discard(path)
        try:
            body = self.request("DELETE", path)
        except VendorAPIError as exc:
            if exc.status_code == 409:
                return self._already_stopped(target, exc)
            if exc.status_code == 404 and path in self._unanswered_deletes:
                self.log.warning(
                    "Periskope broadcast %s: an earlier DELETE got no usable answer and the repeat found it "
                    "gone; a broadcast deleted before it started leaves no record, so it counts as deleted.",
                    broadcast_id,
                )
                detail = {"inferred": "404 on a repeated DELETE after an unanswered attempt"}
                return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "deleted", detail)
            if exc.status_code == 404:
                raise self._not_found(broadcast_id, exc) from None
            raise
        raw = body.get("status") if isinstance(body, dict) else None
        status = raw.strip().lower() if isinstance(raw, str) else raw
        if status not in ("deleted", "stopped"):
            self.log.warning("Periskope answered 200 with an undocumented status %r; treating it as cancelled", raw)
        detail = {"broadcast_id": body.get("broadcast_id")} if isinstance(body, dict) else {}
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, status, detail)

    def _already_stopped(self, target: dict[str, Any], conflict: VendorAPIError) -> CancelResult:
        detail: dict[str, Any] = {"conflict": conflict.message}
        try:
            status = self.get_status(**target)
        except VendorAPIError as exc:  # the status endpoint is deprecated: its absence must not fail a cancel
            self.log.warning("409 from Periskope, and the status read-back failed (%s)", exc)
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_STOPPED, None, detail)
        if status.state is CampaignState.COMPLETED:
            self.log.warning("Periskope broadcast %s had already completed: nothing was stopped (%s)",
                             target["broadcast_id"], status.detail)
        detail.update(status.extra)
        return CancelResult(self.vendor, target, CancelOutcome.ALREADY_STOPPED, status.raw_status, detail)

    def _not_found(self, broadcast_id: str, exc: VendorAPIError) -> VendorAPIError:
        return VendorAPIError(
            self.vendor, 404,
            f"broadcast {broadcast_id!r} was not found, or does not belong to the organisation of this API key "
            f"(Periskope said: {exc.message})",
            code=exc.code, method=exc.method, path=exc.path,
        )

    # ----------------------------------------------------------------- purge
    def purge_queue(
        self, *, broadcast_id: str | None = None, queue_ids: list[str] | None = None, purge_all: bool = False
    ) -> CancelResult:
        """
        Remove queued (unsent) jobs: ``POST /message/queues/purge``.

        Exactly one of ``broadcast_id``, ``queue_ids`` or ``purge_all=True``. An empty body purges
        every queued job of the organisation, so it is sent only with ``purge_all=True``. ``purged``
        > 0 is ``cancelled``, 0 is ``nothing_to_cancel``.
        """
        body, mode = purge_request(broadcast_id, queue_ids, purge_all)
        # Purging the same jobs twice is harmless; repeating a purge-all could hit jobs queued since.
        answer = self.request("POST", "/message/queues/purge", json=body, idempotent=mode != "all")
        answer = answer if isinstance(answer, dict) else {}
        if answer.get("mode") not in (None, mode):
            # Already done and not what was asked: fail loudly, and never retry it.
            raise AirflowFailException(
                f"Asked Periskope to purge in mode {mode!r} but it reports mode {answer.get('mode')!r} "
                f"({answer.get('purged')} jobs purged); check the queue now."
            )
        purged = answer.get("purged")
        outcome = CancelOutcome.NOTHING_TO_CANCEL if purged == 0 else CancelOutcome.CANCELLED
        detail = {"purged": purged, "mode": answer.get("mode", mode), "queue_ids": answer.get("queue_ids")}
        return CancelResult(self.vendor, {"mode": mode, **body}, outcome, "purged", detail)

    # ----------------------------------------------------------------- status
    def status_request(self, broadcast_id: str, cancel_status: str | None = None) -> tuple[str, dict[str, Any] | None]:
        return "/queue/broadcast", {"broadcast_id": require_id("broadcast_id", broadcast_id)}

    def parse_status(
        self, body: Any, error: VendorAPIError | None, broadcast_id: str, cancel_status: str | None = None
    ) -> CampaignStatus:
        target = {"broadcast_id": str(broadcast_id)}
        if error is not None:
            if error.status_code == 404 and str(cancel_status or "").lower() == "deleted":
                return CampaignStatus(self.vendor, target, CampaignState.CANCELLED, None,
                                      "gone after our cancel deleted it before it started")
            if error.status_code == 404:
                raise self._not_found(str(broadcast_id), error)
            raise error
        row = _pick_row(body, str(broadcast_id))
        if row is None or "broadcast_status" not in row:
            return CampaignStatus(self.vendor, target, CampaignState.UNKNOWN, None,
                                  "the status answer has no broadcast_status for this broadcast")
        raw = row["broadcast_status"]
        extra = {k: row[k] for k in STATUS_COUNTERS if k in row}
        counted = {"sent_chats", "total_chats"} <= set(row)
        detail = f"sent {row['sent_chats']}/{row['total_chats']} chats" if counted else ""
        return CampaignStatus(self.vendor, target, map_raw_status(raw, PERISKOPE_STATES), raw, detail, extra)


def purge_request(
    broadcast_id: str | None, queue_ids: list[str] | str | None, purge_all: bool
) -> tuple[dict[str, Any], str]:
    """
    Build the purge body and its mode, refusing anything ambiguous before a request is sent.

    ``queue_ids`` may be a list or a comma-separated string (a rendered template).
    """
    if isinstance(queue_ids, str):  # an empty rendered template means "not given"
        queue_ids = [q for q in (p.strip() for p in queue_ids.split(",")) if q] or None
    selectors = (("broadcast_id", broadcast_id), ("queue_ids", queue_ids))
    given = [name for name, value in selectors if value not in (None, "")]
    if not isinstance(purge_all, bool):
        raise InvalidCancelRequest(f"purge_all must be True or False (got {purge_all!r}); nothing was purged.")
    if purge_all and given:
        raise InvalidCancelRequest(f"purge_all=True purges every queued job; do not combine it with {given[0]}.")
    if len(given) > 1:
        raise InvalidCancelRequest("Give broadcast_id or queue_ids, not both; nothing was purged.")
    if purge_all:
        return {}, "all"
    if not given:
        raise InvalidCancelRequest(
            "Give broadcast_id or queue_ids. An empty purge request empties the whole Periskope queue, so "
            "it is sent only with purge_all=True; nothing was purged."
        )
    if given == ["broadcast_id"]:
        return {"broadcast_id": require_id("broadcast_id", broadcast_id)}, "broadcast"
    if not isinstance(queue_ids, (list, tuple)) or not queue_ids:
        raise InvalidCancelRequest(
            f"queue_ids must be a non-empty list of ids (got {queue_ids!r}); nothing was purged."
        )
    return {"queue_ids": [require_id("queue_ids[]", q) for q in queue_ids]}, "queue_ids"




def _pick_row(body: Any, broadcast_id: str) -> dict[str, Any] | None:
    """The status row for ``broadcast_id``: the documented object, or a list of rows (tolerated)."""
    if isinstance(body, dict) and isinstance(body.get("data"), (dict, list)) and "broadcast_status" not in body:
        body = body["data"]
    rows = body if isinstance(body, list) else [body]
    rows = [r for r in rows if isinstance(r, dict)]
    matching = [r for r in rows if str(r.get("broadcast_id", broadcast_id)) == broadcast_id]
    return matching[0] if matching else None
