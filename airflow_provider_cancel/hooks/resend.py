"""Resend: cancel a broadcast or a scheduled email, and read their status."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_plain_id
from airflow_provider_cancel.utils.templating import is_blank, parse_flag
from airflow_provider_cancel.vendors.resend import (
    BROADCAST_STATES,
    EMAIL_STATES,
    QUOTA_CODES,
    REFUSAL_NAMES,
    REFUSAL_STATUSES,
)


class ResendHook(CampaignVendorHook, vendor="resend"):
    """
    Hook for Resend (``resend`` connection type).

    Connection: Base URL in *host* (default ``https://api.resend.com``), a **full-access** API key
    (``re_...``) in *password*, sent as ``Authorization: Bearer <key>`` (a sending-only key is refused
    with 401 ``restricted_api_key`` on everything but sending); extras ``timeout``,
    ``connect_timeout``. Resend allows 2 requests/s per team and answers 429 with ``retry-after``,
    which the base hook honours; a used-up daily or monthly quota is not retried.

    :param resend_conn_id: Airflow connection id (default ``resend_default``).
    """

    test_connection_path = "/broadcasts"  # read-only, and refused to a sending-only key
    non_retryable_codes = QUOTA_CODES

    # ----------------------------------------------------------------- cancel
    def cancel_broadcast(self, broadcast_id: str) -> CancelResult:
        """
        Cancel a broadcast (``POST /broadcasts/{id}/cancel``): scheduled -> draft, queued -> canceled.

        A ``validation_error`` refusal is followed by a read of the broadcast: canceled is
        ``already_cancelled``; draft is ``nothing_to_cancel`` (nothing is scheduled to go out); sent or
        failed raises :class:`CampaignFinishedError`. Cancelling one broadcast is harmless to repeat,
        so a 5xx or a lost answer is retried.
        """
        broadcast_id = require_plain_id("broadcast_id", broadcast_id)
        return self._cancel("broadcast", broadcast_id, f"/broadcasts/{path_segment(broadcast_id)}")

    def cancel_email(self, email_id: str) -> CancelResult:
        """
        Cancel an email sent with ``scheduled_at`` (``POST /emails/{id}/cancel``) before it goes out.

        A ``validation_error`` refusal is followed by a read of the email: ``last_event`` canceled is
        ``already_cancelled``; sent (or any later event) raises :class:`CampaignFinishedError`.
        """
        email_id = require_plain_id("email_id", email_id)
        return self._cancel("email", email_id, f"/emails/{path_segment(email_id)}")

    def _cancel(self, kind: str, object_id: str, path: str) -> CancelResult:
        target = {f"{kind}_id": object_id}
        try:
            body = self.request("POST", f"{path}/cancel", idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code not in REFUSAL_STATUSES or exc.code not in (*REFUSAL_NAMES, None):
                raise
            return self._judge_refusal(exc, kind, target)
        detail = {k: body[k] for k in ("id", "object") if isinstance(body, dict) and k in body}
        raw = body.get("last_event") or body.get("status") if isinstance(body, dict) else None
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, raw if isinstance(raw, str) else None, detail)

    def _judge_refusal(self, exc: VendorAPIError, kind: str, target: dict[str, str]) -> CancelResult:
        """Resend refused the cancel: the broadcast's or email's status says why."""
        status = self.get_status(**target)
        where = f"Resend {kind} {next(iter(target.values()))}"
        if status.is_cancelled:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status)
        if kind == "broadcast" and status.state is CampaignState.DRAFT:
            return CancelResult(
                self.vendor,
                target,
                CancelOutcome.NOTHING_TO_CANCEL,
                status.raw_status,
                {
                    "note": "the broadcast is a draft: nothing is scheduled to go out (a scheduled one goes back to draft when cancelled)"
                },
            )
        if status.is_terminal:
            raise CampaignFinishedError(
                f"{where} had already finished with status {status.raw_status!r}; there was nothing left to cancel."
            ) from None
        raise VendorAPIError(
            self.vendor,
            exc.status_code,
            f"{exc.message} ({kind} status is {status.raw_status!r})",
            code=exc.code,
            method="POST",
            path=exc.path,
        ) from None

    # ----------------------------------------------------------------- status
    def status_request(
        self, broadcast_id: str | None = None, email_id: str | None = None, draft_means_cancelled: Any = False
    ) -> tuple[str, dict[str, Any] | None]:
        given = {k: v for k, v in (("broadcast_id", broadcast_id), ("email_id", email_id)) if not is_blank(v)}
        if len(given) != 1:
            raise InvalidTarget(
                "target is missing broadcast_id or email_id: give exactly one of them "
                f"(got {', '.join(given) or 'neither'}); nothing was sent to the vendor.",
                field="target",
            )
        try:
            parse_flag(draft_means_cancelled)
        except ValueError:
            raise InvalidTarget(
                f"draft_means_cancelled must be true or false (got {draft_means_cancelled!r:.100})",
                field="draft_means_cancelled",
            ) from None
        ((name, value),) = given.items()
        object_id = path_segment(require_plain_id(name, value))
        return (f"/broadcasts/{object_id}" if name == "broadcast_id" else f"/emails/{object_id}"), None

    def parse_status(
        self,
        body: Any,
        error: VendorAPIError | None,
        broadcast_id: str | None = None,
        email_id: str | None = None,
        draft_means_cancelled: Any = False,
    ) -> CampaignStatus:
        if error is not None:
            raise error  # a 404 means a wrong id (or a key of another team)
        is_broadcast = not is_blank(broadcast_id)
        body = body if isinstance(body, dict) else {}
        raw = body.get("status") if is_broadcast else body.get("last_event")
        raw = raw if isinstance(raw, str) else None
        state = map_raw_status(raw, BROADCAST_STATES if is_broadcast else EMAIL_STATES)
        detail = ""
        if is_broadcast and state is CampaignState.DRAFT and parse_flag(draft_means_cancelled):
            state, detail = CampaignState.CANCELLED, "back to draft after the cancel: nothing was sent"
        target = {"broadcast_id": str(broadcast_id)} if is_broadcast else {"email_id": str(email_id)}
        return CampaignStatus(vendor=self.vendor, target=target, state=state, raw_status=raw, detail=detail)
