"""Periskope (WhatsApp) broadcasts: cancel, status and queue purge. Facts: shared/vendor-apis.md section 2."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
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

PURGE_PATH = "/message/queues/purge"

# What an earlier try of the same task recorded about its DELETE (see PeriskopeCancelBroadcastOperator).
EARLIER_DELETED = "deleted"  # Periskope answered `deleted`
EARLIER_UNANSWERED = "unanswered"  # a DELETE that plausibly reached Periskope got no answer

# A queue id as it may appear in a comma-separated string: no quotes, brackets or whitespace, so a
# Python or JSON list rendered as text (``['q1', 'q2']``) can never be split into ids.
QUEUE_ID_PATTERN = re.compile(r"^[^\s\[\](){}'\",]+$")


class PurgeAllUnanswered(AirflowFailException):
    """A purge-all got no answer: it may or may not have purged, so it is never sent again by itself."""


def delete_may_have_acted(exc: VendorAPIError) -> bool:
    """
    Whether a failed DELETE plausibly reached Periskope and may have deleted the broadcast.

    Only a read timeout or a connection dropped after the request went out: a gateway 5xx (502,
    503, 504) is answered by the gateway and may never have reached Periskope, a 429 is a refusal
    before acting, and a connection that could not be opened sent nothing.
    """
    return exc.status_code is None and exc.reached_server


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
        # DELETE paths whose earlier attempt (in this call) plausibly reached Periskope without us
        # seeing the answer (read timeout, dropped connection): a 404 on the repeat is that delete.
        self._unanswered_deletes: set[str] = set()
        # DELETE paths whose earlier attempt got a 5xx (e.g. a gateway's 502/503/504): a 404 after it is
        # not inferred as our delete, but the not-found error says the 5xx might have hidden one.
        self._gateway_failed_deletes: dict[str, int] = {}

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
        if retry and isinstance(exc, VendorAPIError) and exc.method == "DELETE":
            if delete_may_have_acted(exc):
                self._unanswered_deletes.add(exc.path or "")
            elif exc.status_code is not None and exc.status_code >= 500:
                self._gateway_failed_deletes[exc.path or ""] = exc.status_code
        return retry

    # ----------------------------------------------------------------- cancel
    @staticmethod
    def _broadcast_path(broadcast_id: str) -> str:
        return f"/message/broadcast/{path_segment(broadcast_id)}"

    def cancel_broadcast(self, broadcast_id: str, *, earlier_attempt: str | None = None) -> CancelResult:
        """
        Delete a broadcast that has not started, or stop one that is sending.

        ``DELETE /message/broadcast/{id}``. 200 ``deleted`` or ``stopped`` is ``cancelled``. 409
        (already in a terminal state) is checked with a best-effort status read: ``stopped`` (or no
        usable read) is ``already_stopped``; ``completed`` or ``expired`` raises
        :class:`CampaignFinishedError` (it ended before the cancel: nothing was stopped). 404 raises
        a :class:`VendorAPIError` that says the broadcast is unknown or not in this organisation,
        except when our own earlier DELETE explains it (the record of a deleted broadcast is gone):

        * an earlier attempt of this call timed out or lost its connection after the request went
          out: the 404 is inferred to be that delete (``detail.inferred``; logged as inferred);
        * ``earlier_attempt="deleted"``: an earlier *try* of the task got ``deleted`` for it;
        * ``earlier_attempt="unanswered"``: an earlier try's DELETE got no answer in the same way
          (inferred, as above).

        A gateway 5xx (502/503/504) before the 404 is not taken as our delete: it may never have
        reached Periskope; the not-found error then says so, so on-call can check.
        """
        broadcast_id = require_id("broadcast_id", broadcast_id)
        path = self._broadcast_path(broadcast_id)
        target = {"broadcast_id": broadcast_id}
        self._unanswered_deletes.discard(path)
        self._gateway_failed_deletes.pop(path, None)
        try:
            body = self.request("DELETE", path)
        except VendorAPIError as exc:
            if exc.status_code == 409:
                return self._already_stopped(target, exc)
            if exc.status_code == 404:
                return self._gone_after_our_delete(broadcast_id, path, earlier_attempt, exc)
            raise
        raw = body.get("status") if isinstance(body, dict) else None
        status = raw.strip().lower() if isinstance(raw, str) else raw
        if status not in ("deleted", "stopped"):
            self.log.warning("Periskope answered 200 with an undocumented status %r; treating it as cancelled", raw)
        detail = {"broadcast_id": body.get("broadcast_id")} if isinstance(body, dict) else {}
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, status, detail)

    def delete_went_unanswered(self, broadcast_id: str) -> bool:
        """Whether the last :meth:`cancel_broadcast` of ``broadcast_id`` sent a DELETE that plausibly reached
        Periskope (read timeout, dropped connection) and never saw its answer."""
        return self._broadcast_path(require_id("broadcast_id", broadcast_id)) in self._unanswered_deletes

    def _gone_after_our_delete(
        self, broadcast_id: str, path: str, earlier_attempt: str | None, exc: VendorAPIError
    ) -> CancelResult:
        """A 404 on DELETE: our own earlier delete if one explains it, else a clear not-found error."""
        target = {"broadcast_id": broadcast_id}
        if earlier_attempt == EARLIER_DELETED:
            self.log.warning(
                "Periskope broadcast %s: an earlier try of this task deleted it (Periskope answered 'deleted'); "
                "a deleted broadcast leaves no record, so this 404 is that delete, reported as deleted.",
                broadcast_id,
            )
            detail = {"earlier_try": "Periskope answered 'deleted' to an earlier try's DELETE; this try got 404"}
            return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "deleted", detail)
        if path in self._unanswered_deletes or earlier_attempt == EARLIER_UNANSWERED:
            where = "an earlier attempt" if path in self._unanswered_deletes else "an earlier try of this task"
            self.log.warning(
                "Periskope broadcast %s: INFERRED deleted. The DELETE of %s timed out or lost its connection after "
                "it was sent, so it may have reached Periskope, and this repeat found the broadcast gone; a broadcast "
                "deleted before it started leaves no record, so it is counted as deleted (not confirmed by Periskope).",
                broadcast_id, where,
            )
            detail = {"inferred": f"404 on a repeated DELETE after {where} got no answer (read timeout or dropped "
                                  "connection)"}
            return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "deleted", detail)
        raise self._not_found(broadcast_id, exc, self._gateway_failed_deletes.get(path)) from None

    def _already_stopped(self, target: dict[str, Any], conflict: VendorAPIError) -> CancelResult:
        detail: dict[str, Any] = {"conflict": conflict.message}
        try:
            status = self.get_status(**target)
        except VendorAPIError as exc:  # the status endpoint is deprecated: its absence must not fail a cancel
            self.log.warning("409 from Periskope, and the status read-back failed (%s)", exc)
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_STOPPED, None, detail)
        if status.is_terminal and not status.is_cancelled:
            # completed / expired: it ended before the cancel, by itself. Nothing was stopped.
            raw = str(status.raw_status or status.state.value).strip().lower()
            counts = f" ({status.detail})" if status.detail else ""
            raise CampaignFinishedError(
                f"Periskope broadcast {target['broadcast_id']!r} had already {raw}{counts} before the cancel; "
                "nothing was stopped."
            )
        if not status.is_terminal:
            self.log.warning("409 from Periskope, but the status read-back says %r; counting it as already stopped",
                             status.raw_status)
        detail.update(status.extra)
        return CancelResult(self.vendor, target, CancelOutcome.ALREADY_STOPPED, status.raw_status, detail)

    def _not_found(self, broadcast_id: str, exc: VendorAPIError, failed_status: int | None = None) -> VendorAPIError:
        hint = ""
        if failed_status is not None:
            hint = (f". An earlier attempt of this DELETE got HTTP {failed_status} and no answer from Periskope; that is "
                    "not taken as proof it reached Periskope, but if it did, it deleted the broadcast: check the "
                    "Periskope dashboard before treating the id as wrong")
        return VendorAPIError(
            self.vendor, 404,
            f"broadcast {broadcast_id!r} was not found, or does not belong to the organisation of this API key "
            f"(Periskope said: {exc.message}){hint}",
            code=exc.code, method=exc.method, path=exc.path,
        )

    # ----------------------------------------------------------------- purge
    def purge_queue(
        self, *, broadcast_id: str | None = None, queue_ids: list[str] | str | None = None, purge_all: bool = False
    ) -> CancelResult:
        """
        Remove queued (unsent) jobs: ``POST /message/queues/purge``.

        Exactly one of ``broadcast_id``, ``queue_ids`` or ``purge_all=True``. An empty body purges
        every queued job of the organisation, so it is sent only with ``purge_all=True``. ``purged``
        > 0 is ``cancelled``, 0 is ``nothing_to_cancel``.

        A targeted purge is repeated after a 5xx or a lost answer (purging the same jobs twice is
        harmless). A purge-all never is: repeating it could purge jobs queued since. If it gets no
        answer (5xx, timeout, dropped or refused connection) this raises :class:`PurgeAllUnanswered`,
        which fails the task without retries and tells on-call to check the queue.
        """
        body, mode = purge_request(broadcast_id, queue_ids, purge_all)
        try:
            answer = self.request("POST", PURGE_PATH, json=body, idempotent=mode != "all")
        except VendorAPIError as exc:
            if mode == "all" and (exc.status_code is None or exc.status_code >= 500):
                raise self._purge_all_unanswered(exc) from exc
            raise
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

    @staticmethod
    def _purge_all_unanswered(exc: VendorAPIError) -> PurgeAllUnanswered:
        if exc.status_code is None and not exc.reached_server:
            return PurgeAllUnanswered(
                f"The purge-all (empty body: every queued job of the organisation) was not sent: the connection to "
                f"Periskope could not be opened ({exc}). Nothing was purged. It is not retried automatically; once "
                "Periskope is reachable, clear this task to send it again."
            )
        return PurgeAllUnanswered(
            f"The purge-all (empty body: every queued job of the organisation) got no answer ({exc}). It MAY OR MAY "
            "NOT have purged the queue. It is not sent again automatically, because a repeat would also purge jobs "
            "queued since. On-call: check the Periskope queue (GET /queue, or the dashboard) before doing anything; "
            "clear this task only if you want to purge everything queued now."
        )

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

    ``queue_ids`` may be a list, or a string as a template renders it: a JSON list
    (``["q1", "q2"]``), a Python list (``['q1', 'q2']``, what ``{{ params.queue_ids }}`` renders) or
    comma-separated ids (``q1,q2``). An empty rendering (``""``, ``[]``) means "not given".
    """
    if isinstance(queue_ids, str):
        queue_ids = parse_queue_ids(queue_ids)
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
    return {"queue_ids": [_queue_id(q) for q in queue_ids]}, "queue_ids"


def parse_queue_ids(text: str) -> list[Any] | None:
    """
    Read ``queue_ids`` given as a string (a rendered template); ``None`` when it is empty.

    A string that starts with ``[`` must be a whole JSON or Python list; anything else is split on
    commas, and each part must be a bare id. So ``['q1', 'q2']`` is two ids, never ``"['q1'"`` and
    ``"'q2']"``, and text that is neither form is refused before any request.
    """
    text = text.strip()
    if not text:
        return None
    if text[0] in "[(":
        try:
            value = json.loads(text)
        except ValueError:
            try:  # "{{ params.queue_ids }}" renders a Python list: ['q1', 'q2']
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise InvalidCancelRequest(
                    f"queue_ids looks like a list but cannot be read: {text[:100]!r}; nothing was purged."
                ) from None
        if not isinstance(value, (list, tuple)):
            raise InvalidCancelRequest(
                f"queue_ids must be a list of ids (got {type(value).__name__} {text[:100]!r}); nothing was purged."
            )
        return list(value) or None
    parts = [p.strip() for p in text.split(",")]
    bad = [p for p in parts if p and not QUEUE_ID_PATTERN.match(p)]
    if bad:
        raise InvalidCancelRequest(
            f"queue_ids {text[:100]!r} is neither a list nor comma-separated ids ({bad[0]!r} is not an id); "
            "nothing was purged."
        )
    return [p for p in parts if p] or None


def _queue_id(value: Any) -> str:
    """One queue id from a list: a non-empty string (or int) that is a bare id."""
    if isinstance(value, (list, tuple, dict)):
        raise InvalidCancelRequest(f"queue_ids must be a flat list of ids (got an item {value!r}); nothing was purged.")
    text = require_id("queue_ids[]", value)
    if not QUEUE_ID_PATTERN.match(text):
        raise InvalidCancelRequest(
            f"queue_ids holds {text!r}, which is not an id (quotes, brackets, commas or spaces); nothing was purged."
        )
    return text


def _pick_row(body: Any, broadcast_id: str) -> dict[str, Any] | None:
    """The status row for ``broadcast_id``: the documented object, or a list of rows (tolerated)."""
    if isinstance(body, dict) and isinstance(body.get("data"), (dict, list)) and "broadcast_status" not in body:
        body = body["data"]
    rows = body if isinstance(body, list) else [body]
    rows = [r for r in rows if isinstance(r, dict)]
    matching = [r for r in rows if str(r.get("broadcast_id", broadcast_id)) == broadcast_id]
    return matching[0] if matching else None
