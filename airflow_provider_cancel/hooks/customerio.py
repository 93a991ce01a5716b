"""Customer.io (App API): cancel a scheduled trigger of an API-triggered broadcast, and read its status."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings, summarise_body
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment
from airflow_provider_cancel.utils.templating import is_blank
from airflow_provider_cancel.vendors.customerio import (
    CANCELLED_AT_ALLOWANCE_S,
    REGION_URLS,
    STATES,
    require_numeric_id,
    timestamp,
    trigger_of,
    trigger_word,
)


class CustomerIoHook(CampaignVendorHook, vendor="customerio"):
    """
    Hook for Customer.io's App API (``customerio`` connection type).

    Connection: App API key in *password* (sent as ``Authorization: Bearer <key>``); *host* empty
    means the ``region`` extra's host (``us``: ``https://api.customer.io``, ``eu``:
    ``https://api-eu.customer.io``); extras ``region``, ``timeout``, ``connect_timeout``. The App API
    allows 10 requests/s; a 429 is retried (``Retry-After`` when sent, else exponential backoff).

    :param customerio_conn_id: Airflow connection id (default ``customerio_default``).
    """

    test_connection_path = "/v1/workspaces"

    # ----------------------------------------------------------------- connection: the region's host
    def resolve_settings(self, settings: ConnectionSettings, *, host_given: bool) -> ConnectionSettings:
        region_extra = settings.extras.get("region")
        region = region_extra.strip().lower() if isinstance(region_extra, str) and region_extra.strip() else "us"
        if not host_given:
            return dataclasses.replace(settings, base_url=REGION_URLS[region])
        host_region = {url: name for name, url in REGION_URLS.items()}.get(settings.base_url)
        if host_region is not None and region_extra not in (None, "") and host_region != region:
            raise ConnectionConfigError(
                f"Connection {self.conn_id!r}: the Base URL {settings.base_url} is Customer.io's {host_region} "
                f"host but the region extra says {region!r}; a key of one region is refused by the other. "
                "Empty the Base URL (the region picks the host) or make them agree."
            )
        return settings

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        """Customer.io errors: ``{"errors": [{"detail", "status"}]}`` (or plain strings in ``errors``)."""
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            details = []
            for item in body["errors"]:
                if isinstance(item, dict):
                    details.append(str(item.get("detail") or item.get("message") or item))
                else:
                    details.append(str(item))
            return None, "; ".join(details)
        if isinstance(body, dict) and isinstance(body.get("meta"), dict) and body["meta"].get("error"):
            return None, str(body["meta"]["error"])
        code, message = super().parse_error(body, text)
        return code, message if message else summarise_body(text)

    # ----------------------------------------------------------------- cancel
    @staticmethod
    def _ids(broadcast_id: Any, trigger_id: Any) -> tuple[str, str]:
        ids = []
        for name, value in (("broadcast_id", broadcast_id), ("trigger_id", trigger_id)):
            try:
                ids.append(require_numeric_id(name, value))
            except ValueError as exc:
                if isinstance(exc, InvalidTarget):
                    raise
                raise InvalidTarget(f"{name} {exc}; nothing was sent to the vendor.", field=name) from None
        return ids[0], ids[1]

    def _trigger_path(self, broadcast_id: str, trigger_id: str) -> str:
        return f"/v1/campaigns/{path_segment(broadcast_id)}/triggers/{path_segment(trigger_id)}"

    def cancel_trigger(self, broadcast_id: str, trigger_id: str) -> CancelResult:
        """
        Cancel a trigger scheduled with ``scheduled_at`` (``POST .../triggers/{trigger_id}/cancel``).

        The 200 answer's ``cancelled_at`` says whether this call cancelled it (``cancelled``) or an
        earlier one had (``already_cancelled``: more than 10 s before this call). A 409 (resolving its
        audience, sending or sent) is followed by a read of the trigger: cancelled is
        ``already_cancelled``; processed raises :class:`CampaignFinishedError`; anything else fails with
        the 409. Cancelling one trigger is harmless to repeat, so a 5xx or a lost answer is retried.
        """
        broadcast_id, trigger_id = self._ids(broadcast_id, trigger_id)
        target = {"broadcast_id": broadcast_id, "trigger_id": trigger_id}
        path = f"{self._trigger_path(broadcast_id, trigger_id)}/cancel"
        started = time.time()
        try:
            body = self.request("POST", path, idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code != 409:
                raise
            return self._judge_conflict(exc, target)
        trigger = trigger_of(body)
        cancelled_at = timestamp(trigger.get("cancelled_at")) if trigger is not None else None
        if trigger is None or cancelled_at is None:
            raise UnexpectedAnswerError(
                f"Customer.io answered the cancel of broadcast {broadcast_id} trigger {trigger_id} with HTTP 200 "
                f"but no trigger with a cancelled_at ({summarise_body(str(body))}); not counted as cancelled."
            )
        outcome = (
            CancelOutcome.ALREADY_CANCELLED
            if cancelled_at < started - CANCELLED_AT_ALLOWANCE_S
            else CancelOutcome.CANCELLED
        )
        detail: dict[str, Any] = {"cancelled_at": int(cancelled_at)}
        for key in ("scheduled_at", "processed_at"):
            if timestamp(trigger.get(key)) is not None:
                detail[key] = int(timestamp(trigger.get(key)) or 0)
        if "processed_at" in detail:  # a trigger with a rate_limit, stopped while it sent
            detail["note"] = "cancelled while sending: people who had already entered the broadcast continue"
        return CancelResult(self.vendor, target, outcome, "cancelled", detail)

    def _judge_conflict(self, exc: VendorAPIError, target: dict[str, str]) -> CancelResult:
        """A 409 on cancel: the trigger's state says whether it was already cancelled or had already fired."""
        status = self.get_status(**target)
        where = f"Customer.io broadcast {target['broadcast_id']} trigger {target['trigger_id']}"
        if status.is_cancelled:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status)
        if status.state is CampaignState.COMPLETED:
            raise CampaignFinishedError(
                f"{where} had already been processed (sent); there was nothing left to cancel. {status.detail}"
            ) from None
        raise VendorAPIError(
            self.vendor,
            409,
            f"{exc.message} ({where} is {status.raw_status!r}: Customer.io refuses a cancel while the broadcast "
            "resolves its audience or sends, so it can no longer be cancelled)",
            code=exc.code,
            method="POST",
            path=exc.path,
        ) from None

    # ----------------------------------------------------------------- status
    def status_request(
        self, broadcast_id: str, trigger_id: str, cancelled_at: Any = None
    ) -> tuple[str, dict[str, Any] | None]:
        broadcast_id, trigger_id = self._ids(broadcast_id, trigger_id)
        if not is_blank(cancelled_at) and (isinstance(cancelled_at, bool) or timestamp(cancelled_at) is None):
            raise InvalidTarget(
                f"cancelled_at must be a Unix timestamp in seconds (got {cancelled_at!r:.100})", field="cancelled_at"
            )
        return self._trigger_path(broadcast_id, trigger_id), None

    def parse_status(
        self, body: Any, error: VendorAPIError | None, broadcast_id: str, trigger_id: str, cancelled_at: Any = None
    ) -> CampaignStatus:
        if error is not None:
            raise error  # a 404 means a wrong id (or a key of another workspace or region)
        trigger = trigger_of(body)
        word = trigger_word(trigger, time.time(), cancelled_at)
        detail = ""
        if trigger is not None:
            times = {k: timestamp(trigger.get(k)) for k in ("scheduled_at", "processed_at", "cancelled_at")}
            detail = ", ".join(f"{k}={int(v)}" for k, v in times.items() if v is not None)
            if word == "cancelled" and times["cancelled_at"] is None:
                detail = f"cancelled at {cancelled_at} per the cancel's answer; the trigger read shows no processed_at"
        return CampaignStatus(
            vendor=self.vendor,
            target={"broadcast_id": str(broadcast_id), "trigger_id": str(trigger_id)},
            state=map_raw_status(word, STATES),
            raw_status=word,
            detail=detail,
        )
