"""Arsel (Saudi email and SMS campaigns): cancel and status over Arsel's REST API."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_choice, require_id
from airflow_provider_cancel.vendors.arsel import CHANNELS, IDEMPOTENCY_KEY_MAX_LEN, STATES


class ArselHook(CampaignVendorHook, vendor="arsel"):
    """
    Hook for Arsel email and SMS campaigns (``arsel`` connection type).

    Connection: Base URL in *host* (default ``https://api.arsel.sa/v1``), API key (``be_...``) in
    *password*; extras ``default_channel`` (``email``/``sms``), ``timeout``, ``connect_timeout``.
    Arsel allows 2 requests/s per organisation and answers 429 with ``retry-after``, which the base
    hook honours.

    :param arsel_conn_id: Airflow connection id (default ``arsel_default``).
    """

    test_connection_path = "/email/campaigns"
    test_connection_params = {"limit": 1}
    non_retryable_codes = frozenset({"monthly_quota_exceeded"})

    def channel(self, channel: str | None) -> str:
        """The channel to use: the one given, else the connection's ``default_channel``, else email."""
        if channel is None:
            channel = self.settings.extras.get("default_channel") or "email"
        return require_choice("channel", channel, CHANNELS)

    def _campaign_path(self, campaign_id: Any, channel: str | None) -> str:
        campaign_id = require_id("campaign_id", campaign_id)
        return f"/{self.channel(channel)}/campaigns/{path_segment(campaign_id)}"

    def get_campaign(self, campaign_id: str, channel: str | None = None) -> dict[str, Any]:
        """Return the campaign object (``GET /{channel}/campaigns/{id}``)."""
        return self.request("GET", self._campaign_path(campaign_id, channel))

    def cancel_campaign(
        self, campaign_id: str, channel: str | None = None, idempotency_key: str | None = None
    ) -> CancelResult:
        """
        Cancel a scheduled, queued or sending campaign.

        A 400 "cannot be cancelled in its current status" is followed by a GET: a campaign that is
        already cancelled is a success (``already_cancelled``); one that was sent or failed raises
        :class:`CampaignFinishedError`. Both documented 200 bodies (``{"message"}`` and ``{"id"}``)
        are accepted. Pass ``idempotency_key`` so that a repeated call replays the first answer
        instead of cancelling again.
        """
        path = self._campaign_path(campaign_id, channel)
        target = {"campaign_id": str(campaign_id).strip(), "channel": self.channel(channel)}
        if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX_LEN:
            raise InvalidTarget(
                f"idempotency_key must be 1 to {IDEMPOTENCY_KEY_MAX_LEN} characters (Arsel's limit).",
                field="idempotency_key",
            )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            body = self.request("POST", f"{path}/cancel", headers=headers)
        except VendorAPIError as exc:
            if exc.status_code != 400 or exc.code not in (None, "bad_request"):
                raise
            return self._judge_refusal(exc, target, f"{path}/cancel")
        detail = {k: v for k, v in (body or {}).items() if k in ("id", "message")}
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "cancelled", detail)

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, Any], path: str) -> CancelResult:
        """A 400 on cancel: the campaign's status says whether it was already cancelled or had finished."""
        status = self.get_status(**target)
        if status.is_cancelled:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status)
        if status.is_terminal:
            raise CampaignFinishedError(
                f"Arsel {target['channel']} campaign {target['campaign_id']} had already finished "
                f"with status {status.raw_status!r}; there was nothing left to cancel."
            ) from None
        raise VendorAPIError(
            self.vendor,
            400,
            f"{exc.message} (campaign status is {status.raw_status!r})",
            code=exc.code,
            method="POST",
            path=path,
        ) from None

    def status_request(self, campaign_id: str, channel: str | None = None) -> tuple[str, dict[str, Any] | None]:
        return self._campaign_path(campaign_id, channel), None

    def parse_status(
        self, body: Any, error: VendorAPIError | None, campaign_id: str, channel: str | None = None
    ) -> CampaignStatus:
        if error is not None:
            raise error  # Arsel has no status-bearing error: 404 means a wrong id or key
        raw = body.get("status") if isinstance(body, dict) else None
        return CampaignStatus(
            vendor=self.vendor,
            target={"campaign_id": str(campaign_id), "channel": self.channel(channel)},
            state=map_raw_status(raw, STATES),
            raw_status=raw,
            detail=body.get("name", "") if isinstance(body, dict) else "",
        )
