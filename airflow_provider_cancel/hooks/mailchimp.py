"""Mailchimp Marketing API: cancel a sending campaign or unschedule a scheduled one, and read its status."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from airflow_provider_cancel.exceptions import CampaignFinishedError, ConnectionConfigError, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_id
from airflow_provider_cancel.vendors.mailchimp import (
    ACTION_PATHS,
    STATES,
    key_data_center,
    require_data_center,
    resolve_base_url,
)
from airflow_provider_cancel.vendors.mailchimp import action as parse_action

#: What each action needs the campaign to be, and what it does when it is something else.
_WRONG_STATE_HINTS = {
    ("cancel_send", "schedule"): "it has not started sending: use action 'unschedule'",
    ("cancel_send", "save"): "it is a draft: nothing is being sent",
    ("unschedule", "sending"): "it is already sending: unschedule cannot stop it, use action 'cancel_send'",
}


class MailchimpHook(CampaignVendorHook, vendor="mailchimp"):
    """
    Hook for Mailchimp Marketing API campaigns (``mailchimp`` connection type).

    Connection: Base URL in *host* (default ``https://{dc}.api.mailchimp.com/3.0``, the data centre
    taken from the key's ``-us6`` suffix or the ``data_center`` extra), API key in *password* (sent
    with HTTP Basic auth; an OAuth access token, which has no suffix, is sent as Bearer); extras
    ``data_center``, ``timeout``, ``connect_timeout``. Mailchimp allows 10 simultaneous connections
    per account and sends no rate-limit headers: a 429 is retried with exponential backoff.

    :param mailchimp_conn_id: Airflow connection id (default ``mailchimp_default``).
    """

    test_connection_path = "/ping"

    # ----------------------------------------------------------------- connection: data centre and auth
    def resolve_settings(self, settings: ConnectionSettings, *, host_given: bool) -> ConnectionSettings:
        try:
            base_url = resolve_base_url(settings.base_url, settings.api_key, settings.extras.get("data_center"))
        except ValueError as exc:
            raise ConnectionConfigError(f"Connection {self.conn_id!r}: {exc}.") from None
        return dataclasses.replace(settings, base_url=base_url)

    def validate_settings(self, settings: ConnectionSettings) -> None:
        try:
            require_data_center(settings.base_url)
        except ValueError as exc:
            raise ConnectionConfigError(f"Connection {self.conn_id!r}: {exc}.") from None

    def authorization(self, settings: ConnectionSettings) -> str:
        """Basic ``anystring:<key>`` for an API key (it ends in ``-<dc>``), Bearer for an OAuth token."""
        if key_data_center(settings.api_key) is None:
            return f"Bearer {settings.api_key}"
        return "Basic " + base64.b64encode(f"anystring:{settings.api_key}".encode()).decode()

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        # application/problem+json: {"type", "title", "status", "detail", "instance"}
        if isinstance(body, dict) and (body.get("detail") or body.get("title")):
            title = body.get("title")
            return (str(title) if title else None), str(body.get("detail") or title)
        return super().parse_error(body, text)

    # ----------------------------------------------------------------- cancel
    @staticmethod
    def _campaign_path(campaign_id: Any) -> str:
        return f"/campaigns/{path_segment(require_id('campaign_id', campaign_id))}"

    def cancel_campaign(self, campaign_id: str, action: str) -> CancelResult:
        """
        ``cancel_send``: ``POST /campaigns/{id}/actions/cancel-send`` (a campaign that is sending;
        Mailchimp Pro, Regular and Plain-Text campaigns); ``unschedule``:
        ``POST /campaigns/{id}/actions/unschedule`` (a scheduled campaign that has not started).
        Both answer 204. The action is never chosen for the caller.

        A 400 is judged by reading the campaign: ``canceled``/``canceling`` (and, for unschedule,
        ``save``) is ``already_cancelled``; ``sent`` raises :class:`CampaignFinishedError`; any other
        status fails with Mailchimp's message, the status and which action fits it.
        """
        path = self._campaign_path(campaign_id)
        name = parse_action(action)
        target = {"campaign_id": str(campaign_id).strip(), "action": name}
        try:
            # The same action on the same campaign is harmless to repeat: a repeat is refused and read back.
            self.request("POST", f"{path}/actions/{ACTION_PATHS[name]}", idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code != 400:
                raise
            return self._judge_refusal(exc, target, f"{path}/actions/{ACTION_PATHS[name]}")
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, None, {"action": name})

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, Any], path: str) -> CancelResult:
        status = self.get_status(target["campaign_id"])
        raw = (status.raw_status or "").strip().lower()
        done = raw in ("canceled", "cancelled", "canceling", "cancelling") or (
            target["action"] == "unschedule" and status.state is CampaignState.DRAFT
        )
        if done:
            if any(attempt.may_have_acted for attempt in exc.attempts[:-1]):  # our own attempt, answer lost
                detail = {"action": target["action"], "inferred": "an earlier attempt got no answer and took effect"}
                return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, status.raw_status, detail)
            return CancelResult(
                self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status, {"action": target["action"]}
            )
        if status.state is CampaignState.COMPLETED:
            raise CampaignFinishedError(
                f"Mailchimp campaign {target['campaign_id']} had already finished with status {status.raw_status!r}; "
                "there was nothing left to cancel."
            ) from None
        hint = _WRONG_STATE_HINTS.get((target["action"], raw))
        raise VendorAPIError(
            self.vendor,
            400,
            f"{exc.message} (campaign status is {status.raw_status!r}{'; ' + hint if hint else ''})",
            code=exc.code,
            method="POST",
            path=path,
        ) from None

    # ----------------------------------------------------------------- status
    def status_request(self, campaign_id: str) -> tuple[str, dict[str, Any] | None]:
        return self._campaign_path(campaign_id), {"fields": "id,status,send_time,type"}

    def parse_status(self, body: Any, error: VendorAPIError | None, campaign_id: str) -> CampaignStatus:
        if error is not None:
            raise error  # Mailchimp has no status-bearing error: a 404 means a wrong id or data centre
        raw = body.get("status") if isinstance(body, dict) else None
        raw = raw if isinstance(raw, str) else None
        return CampaignStatus(
            vendor=self.vendor,
            target={"campaign_id": str(campaign_id)},
            state=map_raw_status(raw, STATES),
            raw_status=raw,
            detail=f"type {body.get('type')}" if isinstance(body, dict) and body.get("type") else "",
        )
