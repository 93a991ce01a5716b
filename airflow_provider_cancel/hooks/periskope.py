"""Periskope (WhatsApp broadcasts): cancel, status and queue purge over Periskope's REST API."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_id
from airflow_provider_cancel.vendors.periskope import (
    PURGE_PATH,
    STATES,
    STATUS_COUNTERS,
    STATUS_PATH,
    check_phone,
    pick_row,
    purge_request,
)

#: What is known of an earlier DELETE of the same broadcast (``cancel_broadcast(prior_delete=...)``).
PRIOR_DELETED = "deleted"  # Periskope answered `deleted`
PRIOR_UNANSWERED = "unanswered"  # a DELETE that plausibly reached Periskope got no answer


class PurgeAllUnanswered(AmbiguousWriteError):
    """A purge-all got no answer: it may or may not have purged, so it is never sent again by itself."""


class PeriskopeHook(CampaignVendorHook, vendor="periskope"):
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

    test_connection_path = "/queue"  # queue health: read-only and cheap

    # ----------------------------------------------------------------- connection
    def validate_settings(self, settings: ConnectionSettings) -> None:
        try:
            check_phone(settings.extras.get("phone"))
        except ValueError as exc:
            raise ConnectionConfigError(f"Connection {self.conn_id!r}: {exc}") from None

    def vendor_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        phone = check_phone(settings.extras.get("phone"))
        return {"x-phone": phone} if phone else {}

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

    # ----------------------------------------------------------------- cancel
    @staticmethod
    def _broadcast_path(broadcast_id: str) -> str:
        return f"/message/broadcast/{path_segment(broadcast_id)}"

    def cancel_broadcast(self, broadcast_id: str, *, prior_delete: str | None = None) -> CancelResult:
        """
        Delete a broadcast that has not started, or stop one that is sending.

        ``DELETE /message/broadcast/{id}``. 200 ``deleted`` or ``stopped`` is ``cancelled``. 409
        (already in a terminal state) is checked with a best-effort status read: ``stopped`` (or no
        usable read) is ``already_stopped``; ``completed`` or ``expired`` raises
        :class:`CampaignFinishedError` (it ended before the cancel: nothing was stopped). 404 raises
        a :class:`VendorAPIError` that says the broadcast is unknown or not in this organisation,
        except when a DELETE of ours explains it (the record of a deleted broadcast is gone):

        * an earlier attempt of this call timed out or lost its connection after the request went
          out: the 404 is inferred to be that delete (``detail.inferred``; logged as inferred);
        * ``prior_delete="deleted"``: the caller knows an earlier DELETE got ``deleted``;
        * ``prior_delete="unanswered"``: the caller knows an earlier DELETE went out and got no
          answer (inferred, as above).

        A gateway 5xx (502/503/504) before the 404 is not taken as our delete: it may never have
        reached Periskope; the not-found error then says so, so on-call can check.
        """
        broadcast_id = require_id("broadcast_id", broadcast_id)
        path = self._broadcast_path(broadcast_id)
        target = {"broadcast_id": broadcast_id}
        try:
            body = self.request("DELETE", path)
        except VendorAPIError as exc:
            if exc.status_code == 409:
                return self._already_stopped(target, exc)
            if exc.status_code == 404:
                return self._gone_after_our_delete(broadcast_id, prior_delete, exc)
            raise
        raw = body.get("status") if isinstance(body, dict) else None
        status = raw.strip().lower() if isinstance(raw, str) else raw
        if status not in ("deleted", "stopped"):
            self.log.warning("Periskope answered 200 with an undocumented status %r; treating it as cancelled", raw)
        detail = {"broadcast_id": body.get("broadcast_id")} if isinstance(body, dict) else {}
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, status, detail)

    def _gone_after_our_delete(self, broadcast_id: str, prior_delete: str | None, exc: VendorAPIError) -> CancelResult:
        """A 404 on DELETE: our own earlier delete if one explains it, else a clear not-found error."""
        target = {"broadcast_id": broadcast_id}
        if prior_delete == PRIOR_DELETED:
            self.log.info("Periskope broadcast %s: 404 after an earlier DELETE answered 'deleted'", broadcast_id)
            detail = {"earlier_try": "Periskope answered 'deleted' to an earlier DELETE; this one got 404"}
            return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "deleted", detail)
        unanswered_here = any(a.may_have_acted for a in exc.attempts[:-1])
        if unanswered_here or prior_delete == PRIOR_UNANSWERED:
            where = "an earlier attempt" if unanswered_here else "an earlier DELETE"
            self.log.warning(
                "Periskope broadcast %s: INFERRED deleted. %s timed out or lost its connection after it was "
                "sent, so it may have reached Periskope, and this repeat found the broadcast gone; a broadcast "
                "deleted before it started leaves no record, so it is counted as deleted (not confirmed by Periskope).",
                broadcast_id,
                where.capitalize(),
            )
            detail = {
                "inferred": f"404 on a repeated DELETE after {where} got no answer (read timeout or dropped connection)"
            }
            return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "deleted", detail)
        gateway = next((a.status_code for a in exc.attempts[:-1] if a.status_code and a.status_code >= 500), None)
        raise self._not_found(broadcast_id, exc, gateway) from None

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
            self.log.warning(
                "409 from Periskope, but the status read-back says %r; counting it as already stopped",
                status.raw_status,
            )
        detail.update(status.extra)
        return CancelResult(self.vendor, target, CancelOutcome.ALREADY_STOPPED, status.raw_status, detail)

    def _not_found(self, broadcast_id: str, exc: VendorAPIError, failed_status: int | None = None) -> VendorAPIError:
        hint = ""
        if failed_status is not None:
            hint = (
                f". An earlier attempt of this DELETE got HTTP {failed_status} and no answer from Periskope; that is "
                "not taken as proof it reached Periskope, but if it did, it deleted the broadcast: check the "
                "Periskope dashboard before treating the id as wrong"
            )
        return VendorAPIError(
            self.vendor,
            404,
            f"broadcast {broadcast_id!r} was not found, or does not belong to the organisation of this API key "
            f"(Periskope said: {exc.message}){hint}",
            code=exc.code,
            method=exc.method,
            path=exc.path,
            attempts=exc.attempts,
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
        which tells on-call to check the queue.
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
            # Already done and not what was asked: fail loudly, and never repeat it.
            raise AmbiguousWriteError(
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
        return STATUS_PATH, {"broadcast_id": require_id("broadcast_id", broadcast_id)}

    def parse_status(
        self, body: Any, error: VendorAPIError | None, broadcast_id: str, cancel_status: str | None = None
    ) -> CampaignStatus:
        target = {"broadcast_id": str(broadcast_id)}
        if error is not None:
            if error.status_code == 404 and str(cancel_status or "").lower() == "deleted":
                return CampaignStatus(
                    self.vendor,
                    target,
                    CampaignState.CANCELLED,
                    None,
                    "gone after our cancel deleted it before it started",
                )
            if error.status_code == 404:
                raise self._not_found(str(broadcast_id), error)
            raise error
        row = pick_row(body, str(broadcast_id))
        if row is None or "broadcast_status" not in row:
            return CampaignStatus(
                self.vendor,
                target,
                CampaignState.UNKNOWN,
                None,
                "the status answer has no broadcast_status for this broadcast",
            )
        raw = row["broadcast_status"]
        extra = {k: row[k] for k in STATUS_COUNTERS if k in row}
        counted = {"sent_chats", "total_chats"} <= set(row)
        detail = f"sent {row['sent_chats']}/{row['total_chats']} chats" if counted else ""
        return CampaignStatus(self.vendor, target, map_raw_status(raw, STATES), raw, detail, extra)
