"""Loop Health comms admin campaigns: cancel and status over the comms admin API.

Comms has no GET for a campaign: its status is read from what the cancel answered and the send
history (see :mod:`airflow_provider_cancel.vendors.loop_comms`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    UnexpectedAnswerError,
    VendorAPIError,
    excerpt,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_id
from airflow_provider_cancel.timeutil import parse_time
from airflow_provider_cancel.vendors.loop_comms import (
    CAMPAIGN_STATES,
    CLOCK_SKEW_TOLERANCE_S,
    REFUSAL_STATUS_CODES,
    campaign_of,
    classify_history,
    is_cancelled,
    sends_of,
    wording_hint,
)


class LoopCommsHook(CampaignVendorHook, vendor="loop_comms"):
    """
    Hook for Loop Health comms admin campaigns (``loop_comms`` connection type).

    Connection: Base URL in *host* (default ``https://comms.platform.loop.health``), access token
    (``lph_at_...``, sent as ``Authorization: Bearer``) in *password*; extras ``timeout``,
    ``connect_timeout``. A token without the needed scope gets 403 ``insufficient_scope``.
    ``test_connection`` reads the (empty) history of a probe campaign id.

    :param loop_comms_conn_id: Airflow connection id (default ``loop_comms_default``).
    """

    test_connection_path = "/v1/admin/campaigns/airflow-connection-test/history"

    @staticmethod
    def _campaign_path(campaign_id: Any) -> str:
        return f"/v1/admin/campaigns/{path_segment(require_id('campaign_id', campaign_id))}"

    def get_history(self, campaign_id: str) -> list[dict[str, Any]]:
        """Return the campaign's sends (``GET /v1/admin/campaigns/{id}/history``)."""
        body = self.request("GET", f"{self._campaign_path(campaign_id)}/history")
        sends = sends_of(body)
        if sends is None:
            raise UnexpectedAnswerError(f"Loop comms history of {campaign_id} is not {{sends: [...]}}: {body!r:.200}")
        return sends

    def cancel_campaign(self, campaign_id: str) -> CancelResult:
        """
        Cancel one campaign; safe to repeat, so 5xx answers are retried (``idempotent=True``).

        200: cancelled (``status`` cancelled or ``cancelled_at`` set) is ``cancelled``, or
        ``already_cancelled`` when ``cancelled_at`` predates this call; a ``sent``/``failed``
        campaign raises :class:`CampaignFinishedError`. A 400/409/412/422 (undocumented) is judged
        from evidence, never from its wording: a campaign in the error body, else the send history
        (see :meth:`_judge_refusal`).
        """
        path = f"{self._campaign_path(campaign_id)}/cancel"
        target = {"campaign_id": str(campaign_id).strip()}
        requested_at = dt.datetime.now(dt.UTC)
        try:
            body = self.request("POST", path, idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code in REFUSAL_STATUS_CODES:
                return self._judge_refusal(exc, target)
            if exc.status_code is None or exc.status_code >= 500:
                raise VendorAPIError(
                    self.vendor,
                    exc.status_code,
                    f"{exc.message} (the cancel may or may not have taken effect; running the task again is safe)",
                    code=exc.code,
                    method="POST",
                    path=path,
                    body=exc.body,
                    reached_server=exc.reached_server,
                    retry_after=exc.retry_after,
                    attempts=exc.attempts,
                ) from None
            raise
        campaign = campaign_of(body)
        if campaign is None:
            raise UnexpectedAnswerError(
                f"Loop comms cancel of {target['campaign_id']} answered 200 without a campaign: {body!r:.200}"
            )
        return self._judge_campaign(campaign, target, requested_at)

    def _judge_campaign(
        self, campaign: dict[str, Any], target: dict[str, Any], requested_at: dt.datetime | None
    ) -> CancelResult:
        raw, cancelled_at = campaign.get("status"), campaign.get("cancelled_at")
        detail = {
            "campaign_status": raw,
            "cancelled_at": cancelled_at,
            "sent_at": campaign.get("sent_at"),
            "evidence": "campaign",
        }
        if is_cancelled(raw, cancelled_at):
            when = parse_time(cancelled_at)
            before = requested_at is None or (
                when is not None and when < requested_at - dt.timedelta(seconds=CLOCK_SKEW_TOLERANCE_S)
            )
            outcome = CancelOutcome.ALREADY_CANCELLED if before else CancelOutcome.CANCELLED
            return CancelResult(self.vendor, target, outcome, raw, detail)
        state = map_raw_status(raw, CAMPAIGN_STATES)
        if state in (CampaignState.COMPLETED, CampaignState.FAILED):
            raise CampaignFinishedError(
                f"Loop comms campaign {target['campaign_id']} had already finished with status {raw!r} "
                f"(sent_at {campaign.get('sent_at')}) before the cancel; nothing was cancelled."
            )
        raise UnexpectedAnswerError(
            f"Loop comms answered the cancel of {target['campaign_id']} with status {raw!r} and no cancelled_at: "
            "it was not cancelled."
        )

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, Any]) -> CancelResult:
        """
        Judge a 4xx refusal of the cancel from evidence; its wording is only a hint.

        1. A campaign object in the error body settles it (as a 200 would).
        2. Else the send history: a finished send with a cancelled-like status (none running) is
           ``already_cancelled``; sends that all finished normally or failed raise
           :class:`CampaignFinishedError`.
        3. Only when history has no sends at all may a non-negated "already cancelled" wording
           break the tie (draft, scheduled and cancelled-before-sending look alike there): it is
           ``already_cancelled`` with ``detail["refusal_hint"]``, and the wait keeps checking that
           no send ever shows up.
        4. Anything else raises :class:`VendorAPIError` naming what history showed. In particular
           a send still running is a failure even when the wording says "already cancelled":
           the refusal means this call cancelled nothing, and history cannot tell a cancelled
           campaign's draining send from one that nobody stopped. For a kill switch a loud
           failure beats a success (or a wait that "confirms" once the send ends) that may hide
           messages still going out.
        """
        campaign_id = target["campaign_id"]
        refusal = f"HTTP {exc.status_code}: {exc.message}"
        campaign = exc.body.get("campaign") if isinstance(exc.body, dict) else None
        if isinstance(campaign, dict):  # a refusal that shows the campaign (Courier-style) settles it
            return self._judge_campaign(campaign, target, requested_at=None)
        hint = wording_hint(exc.code, exc.message)
        sends = self.get_history(campaign_id)
        history = classify_history(campaign_id, sends)
        detail: dict[str, Any] = {"refusal": exc.message, "evidence": "history", "history": history.detail}
        if history.state is CampaignState.CANCELLED:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, None, detail)
        if history.state in (CampaignState.COMPLETED, CampaignState.FAILED):
            if hint == "sent":
                message = (
                    f"Loop comms campaign {campaign_id} had already been sent; nothing was cancelled "
                    f"({refusal}). History: {history.detail}."
                )
            else:
                message = (
                    f"Loop comms campaign {campaign_id} refused the cancel ({refusal}) and its history "
                    f"shows it finished without being cancelled (send status {history.raw_status!r}): "
                    f"{history.detail}; nothing was cancelled."
                )
            raise CampaignFinishedError(message) from None
        if not sends and hint == "cancelled":
            detail.update(evidence="refusal_wording", refusal_hint="cancelled")
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, None, detail)
        if history.state is CampaignState.ACTIVE:
            why = f"its history shows {history.detail} and nothing shows the campaign cancelled"
            if hint == "cancelled":
                why += (
                    " (the refusal's wording says it was already cancelled, but that is not proof: no campaign "
                    "in the answer, no send stopped as cancelled); messages may still be going out"
                )
        elif not sends:
            why = (
                "its history shows no sends, so nothing shows the campaign cancelled (a draft, a scheduled and a "
                "cancelled-before-sending campaign look the same)"
            )
            if hint == "sent":
                why += "; the wording says it was sent, but no send is in its history"
        else:
            why = f"its history shows {history.detail}, which does not show it cancelled"
        raise VendorAPIError(
            self.vendor,
            exc.status_code,
            f"{excerpt(exc.message, 200)} (cancel refused and not confirmed: {why})",
            code=exc.code,
            method="POST",
            path=exc.path,
            body=exc.body,
            attempts=exc.attempts,
        ) from None

    def status_request(
        self,
        campaign_id: str,
        cancel_status: str | None = None,
        cancelled_at: str | None = None,
        refusal_hint: str | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        return f"{self._campaign_path(campaign_id)}/history", None

    def parse_status(
        self,
        body: Any,
        error: VendorAPIError | None,
        campaign_id: str,
        cancel_status: str | None = None,
        cancelled_at: str | None = None,
        refusal_hint: str | None = None,
    ) -> CampaignStatus:
        if error is not None:
            raise error  # no status-bearing error: a 404 means a wrong id or base URL
        sends = sends_of(body)
        if sends is None:
            return CampaignStatus(
                self.vendor,
                {"campaign_id": campaign_id},
                CampaignState.UNKNOWN,
                detail=f"unexpected history body: {body!r:.200}",
            )
        return classify_history(campaign_id, sends, cancel_status, cancelled_at, refusal_hint)
