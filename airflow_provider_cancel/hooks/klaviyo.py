"""Klaviyo: cancel (or revert to draft) a campaign's send job, and read its status, over Klaviyo's JSON:API."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.exceptions import CampaignFinishedError, ConnectionConfigError, VendorAPIError
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult
from airflow_provider_cancel.targets import path_segment, require_choice, require_id
from airflow_provider_cancel.vendors.klaviyo import ACTIONS, JSON_API, campaign_state, combined_state, revision

#: Refusals of the cancel PATCH that are judged by reading the campaign (Klaviyo documents only "4XX").
REFUSAL_STATUS_CODES = frozenset({400, 409, 422})


class KlaviyoHook(CampaignVendorHook, vendor="klaviyo"):
    """
    Hook for Klaviyo campaigns (``klaviyo`` connection type).

    Connection: Base URL in *host* (default ``https://a.klaviyo.com/api``), private API key
    (``pk_...``, scope ``campaigns:write``) in *password*, sent as ``Authorization: Klaviyo-API-Key``;
    extras ``revision`` (the ``revision`` header, default ``2026-07-15``), ``timeout``,
    ``connect_timeout``. Klaviyo allows 10 requests/s (burst) and 150/min (steady) per account on the
    cancel and read endpoints; a 429's ``Retry-After`` is honoured, else the hook backs off.

    :param klaviyo_conn_id: Airflow connection id (default ``klaviyo_default``).
    """

    test_connection_path = "/accounts"

    def validate_settings(self, settings: ConnectionSettings) -> None:
        try:
            revision(settings.extras.get("revision"))
        except ValueError as exc:
            raise ConnectionConfigError(f"Connection {self.conn_id!r}: extra 'revision' {exc}") from None

    def authorization(self, settings: ConnectionSettings) -> str:
        return f"Klaviyo-API-Key {settings.api_key}"

    def vendor_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        return {
            "revision": revision(settings.extras.get("revision")),
            "Accept": JSON_API,
        }

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        # JSON:API: {"errors": [{"id", "status", "code", "title", "detail", "source"}]}
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            message = first.get("detail") or first.get("title")
            if message:
                code = first.get("code")
                return (str(code) if code else None), str(message)
        return super().parse_error(body, text)

    @staticmethod
    def _job_path(campaign_id: Any) -> str:
        return f"/campaign-send-jobs/{path_segment(require_id('campaign_id', campaign_id))}"

    @staticmethod
    def _campaign_path(campaign_id: Any) -> str:
        return f"/campaigns/{path_segment(require_id('campaign_id', campaign_id))}"

    def cancel_campaign(self, campaign_id: str, action: str = "cancel") -> CancelResult:
        """
        ``PATCH /campaign-send-jobs/{id}`` with ``action`` ``cancel`` (cancelled for good) or
        ``revert`` (back to draft); Klaviyo answers 204.

        The same PATCH of the same campaign is harmless to repeat, so 5xx answers and lost answers
        are retried. A 400/409/422 is judged by reading the campaign: already cancelled (or, for a
        revert, already a draft) is ``already_cancelled``; sent raises :class:`CampaignFinishedError`.
        """
        path = self._job_path(campaign_id)
        action = require_choice("action", action, ACTIONS)
        target = {"campaign_id": str(campaign_id).strip(), "action": action}
        body = {"data": {"type": "campaign-send-job", "id": target["campaign_id"], "attributes": {"action": action}}}
        try:
            self.request("PATCH", path, json=body, headers={"Content-Type": JSON_API}, idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code not in REFUSAL_STATUS_CODES:
                raise
            return self._judge_refusal(exc, target, path)
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, None, {"action": action})

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, Any], path: str) -> CancelResult:
        """A refused PATCH: the campaign's own status says whether there is anything left to do."""
        status = self.get_status(target["campaign_id"])
        state = campaign_state(status.raw_status)  # the campaign's word alone: who cancelled it does not matter
        done = {CampaignState.CANCELLED} | ({CampaignState.DRAFT} if target["action"] == "revert" else set())
        if state in done:
            if any(attempt.may_have_acted for attempt in exc.attempts[:-1]):  # our own attempt, answer lost
                detail = {"action": target["action"], "inferred": "an earlier attempt got no answer and took effect"}
                return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, status.raw_status, detail)
            return CancelResult(
                self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status, {"action": target["action"]}
            )
        if state in (CampaignState.COMPLETED, CampaignState.FAILED):
            raise CampaignFinishedError(
                f"Klaviyo campaign {target['campaign_id']} had already been sent (status {status.raw_status!r}); "
                "there was nothing left to cancel."
            ) from None
        hint = " (revert only works before sending: use action 'cancel')" if target["action"] == "revert" else ""
        raise VendorAPIError(
            self.vendor,
            exc.status_code,
            f"{exc.message} (campaign status is {status.raw_status!r}){hint}",
            code=exc.code,
            method="PATCH",
            path=path,
        ) from None

    # ----------------------------------------------------------------- status: the send job and the campaign
    def status_request(self, campaign_id: str) -> tuple[str, dict[str, Any] | None]:
        return self._campaign_path(campaign_id), None

    def parse_status(
        self, body: Any, error: VendorAPIError | None, campaign_id: str, send_job_status: str | None = None
    ) -> CampaignStatus:
        if error is not None:
            raise error  # a 404 on the campaign means a wrong id (or a key of another account)
        attributes = _attributes(body)
        raw = attributes.get("status")
        raw = raw if isinstance(raw, str) else None
        return CampaignStatus(
            vendor=self.vendor,
            target={"campaign_id": str(campaign_id)},
            state=combined_state(raw, send_job_status),
            raw_status=raw,
            detail=f"send job {send_job_status or 'not found'}",
            extra={"send_job_status": send_job_status},
        )

    @staticmethod
    def _job_status(body: Any) -> str | None:
        raw = _attributes(body).get("status")
        return raw if isinstance(raw, str) else None

    def get_status(self, campaign_id: str) -> CampaignStatus:
        """Read the send job (a 404 means there is none), then the campaign."""
        try:
            job_status = self._job_status(self.request("GET", self._job_path(campaign_id)))
        except VendorAPIError as exc:
            if exc.status_code != 404:
                raise
            job_status = None
        path, _ = self.status_request(campaign_id)
        return self.parse_status(self.request("GET", path), None, campaign_id, job_status)

    async def aget_status(self, campaign_id: str) -> CampaignStatus:
        """Async twin of :meth:`get_status`, for the trigger."""
        try:
            job_status = self._job_status(await self.arequest("GET", self._job_path(campaign_id)))
        except VendorAPIError as exc:
            if exc.status_code != 404:
                raise
            job_status = None
        path, _ = self.status_request(campaign_id)
        return self.parse_status(await self.arequest("GET", path), None, campaign_id, job_status)


def _attributes(body: Any) -> dict[str, Any]:
    """``data.attributes`` of a JSON:API answer (empty when the shape is not that)."""
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    return attributes if isinstance(attributes, dict) else {}
