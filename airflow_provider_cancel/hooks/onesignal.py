"""OneSignal: cancel a scheduled or sending notification, and read its status."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings, summarise_body
from airflow_provider_cancel.status import CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_plain_id
from airflow_provider_cancel.vendors.onesignal import APP_ID, AUTH_SCHEMES, STATES, notification_word, seconds


class OneSignalHook(CampaignVendorHook, vendor="onesignal"):
    """
    Hook for OneSignal notifications (``onesignal`` connection type).

    Connection: Base URL in *host* (default ``https://api.onesignal.com``), the app's App API key in
    *password*, sent as ``Authorization: Key <key>`` (``Basic`` with the ``scheme`` extra, for
    legacy keys); extras ``app_id`` (required, a UUID), ``scheme``, ``timeout``,
    ``connect_timeout``. A 429 is retried after ``Retry-After``.

    :param onesignal_conn_id: Airflow connection id (default ``onesignal_default``).
    """

    test_connection_path = "/notifications"  # with ?app_id=...&limit=1: read-only

    # ----------------------------------------------------------------- connection
    def validate_settings(self, settings: ConnectionSettings) -> None:
        app_id = settings.extras.get("app_id")
        if app_id in (None, ""):
            return  # the form may be saved without it; every call needs it (_app_id refuses it then)
        if not isinstance(app_id, str) or not APP_ID.match(app_id.strip()):
            raise self._app_id_error(app_id)

    def _app_id_error(self, app_id: Any) -> ConnectionConfigError:
        return ConnectionConfigError(
            f"Connection {self.conn_id!r}: extra 'app_id' must be the OneSignal app's id, a UUID such as "
            f"5eb5a37e-b458-11e3-ac11-000c2940e62c (got {app_id!r:.100}); nothing was sent."
        )

    def authorization(self, settings: ConnectionSettings) -> str:
        scheme = str(settings.extras.get("scheme") or "key").strip().lower()
        return f"{AUTH_SCHEMES.get(scheme, 'Key')} {settings.api_key}"

    def _app_id(self) -> str:
        # After aget_settings() (the trigger's path) the async settings are there: no sync lookup in the loop.
        settings = self._async_settings or self.settings
        app_id = settings.extras.get("app_id")
        if app_id in (None, ""):
            raise self._app_id_error(app_id)
        return str(app_id).strip()

    @property
    def test_connection_params(self) -> dict[str, Any]:  # type: ignore[override]
        return {"app_id": self._app_id(), "limit": 1}

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        """OneSignal errors: ``{"errors": ["..."]}`` (sometimes an object of lists)."""
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            return None, "; ".join(str(e) for e in errors)
        if isinstance(errors, dict) and errors:
            return None, "; ".join(f"{k}: {v}" for k, v in errors.items())
        return super().parse_error(body, text)

    # ----------------------------------------------------------------- cancel
    def cancel_notification(self, notification_id: str) -> CancelResult:
        """
        Cancel a scheduled or sending notification (``DELETE /notifications/{id}?app_id=``).

        200 ``{"success": true}`` is ``cancelled`` (a message in the middle of sending may still reach
        some recipients). A 400 is followed by a read of the notification: canceled is
        ``already_cancelled``; completed raises :class:`CampaignFinishedError`. A DELETE is retried
        after a 5xx or a lost answer.
        """
        notification_id = require_plain_id("notification_id", notification_id)
        target = {"notification_id": notification_id}
        path = f"/notifications/{path_segment(notification_id)}"
        try:
            body = self.request("DELETE", path, params={"app_id": self._app_id()})
        except VendorAPIError as exc:
            if exc.status_code != 400:
                raise
            return self._judge_refusal(exc, target)
        if not (isinstance(body, dict) and body.get("success") is True):
            raise UnexpectedAnswerError(
                f"OneSignal answered the cancel of notification {notification_id} with "
                f"{summarise_body(str(body))} instead of success: true; not counted as cancelled."
            )
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "canceled", {"success": True})

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, str]) -> CancelResult:
        """A 400 on cancel: the notification says whether it was cancelled before or had been sent."""
        try:
            status = self.get_status(**target)
        except VendorAPIError as read_error:
            if read_error.is_permanent_client_error:
                raise exc from None  # unknown id or app: the cancel's own answer says more
            raise
        if status.is_cancelled:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status)
        if status.is_terminal:
            raise CampaignFinishedError(
                f"OneSignal notification {target['notification_id']} had already been sent to all recipients "
                f"({status.detail}); there was nothing left to cancel."
            ) from None
        raise VendorAPIError(
            self.vendor,
            400,
            f"{exc.message} (the notification is {status.raw_status!r})",
            method="DELETE",
            path=exc.path,
        ) from None

    # ----------------------------------------------------------------- status
    def status_request(self, notification_id: str) -> tuple[str, dict[str, Any] | None]:
        notification_id = require_plain_id("notification_id", notification_id)
        return f"/notifications/{path_segment(notification_id)}", {"app_id": self._app_id()}

    async def aget_status(self, *args: Any, **target: Any) -> CampaignStatus:
        await self.aget_settings()  # so that status_request reads the app id without a sync lookup
        return await super().aget_status(*args, **target)

    def parse_status(self, body: Any, error: VendorAPIError | None, notification_id: str) -> CampaignStatus:
        if error is not None:
            raise error  # a 400/404 means a wrong id, or a notification of another app
        word = notification_word(body, time.time())
        detail = ""
        if isinstance(body, dict):
            counts = {k: body.get(k) for k in ("successful", "failed", "errored", "remaining") if k in body}
            completed = seconds(body.get("completed_at"))
            detail = ", ".join(f"{k}={v}" for k, v in counts.items())
            if completed is not None:
                detail = f"completed_at={int(completed)}" + (f", {detail}" if detail else "")
        return CampaignStatus(
            vendor=self.vendor,
            target={"notification_id": str(notification_id)},
            state=map_raw_status(word, STATES),
            raw_status=word,
            detail=detail,
        )
