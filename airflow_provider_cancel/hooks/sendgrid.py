"""SendGrid: cancel or pause a scheduled send by ``batch_id``, unschedule a Single Send, read their status.

No SendGrid API stops a send that is already under way: these calls only work before the send time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook, ConnectionSettings
from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.targets import path_segment, require_choice, require_id
from airflow_provider_cancel.vendors.sendgrid import (
    BATCH_ACTIONS,
    CANCEL_LEAD_S,
    REGION_URLS,
    SINGLE_SEND_STATES,
    batch_state,
    on_behalf_of,
    region,
    region_of_host,
    seconds_until_reset,
    send_at,
)

#: Refusals judged by reading back what SendGrid holds (it documents 400 for an existing hold).
REFUSAL_STATUS_CODES = frozenset({400, 404, 409, 422})
NOT_STOPPABLE = "SendGrid has no API to stop a send that is already under way"
INFERRED = {"inferred": "an earlier attempt of this request got no answer: the hold found is most likely its own"}


class SendGridHook(CampaignVendorHook, vendor="sendgrid"):
    """
    Hook for SendGrid scheduled sends and Single Sends (``sendgrid`` connection type).

    Connection: Base URL in *host* (empty: the ``region`` extra's host, ``https://api.sendgrid.com``
    or ``https://api.eu.sendgrid.com``), API key (``SG....``, sent as ``Authorization: Bearer``) in
    *password*; extras ``region``, ``on_behalf_of`` (a subuser, sent as ``on-behalf-of``), ``timeout``,
    ``connect_timeout``. SendGrid's 429 carries ``X-RateLimit-Reset`` but no ``Retry-After``: the hook
    waits until that reset (at most ``retry_max_wait``), or backs off exponentially without it.

    :param sendgrid_conn_id: Airflow connection id (default ``sendgrid_default``).
    """

    test_connection_path = "/v3/scopes"

    # ----------------------------------------------------------------- connection
    def resolve_settings(self, settings: ConnectionSettings, *, host_given: bool) -> ConnectionSettings:
        try:
            wanted = region(settings.extras.get("region"))
            on_behalf_of(settings.extras.get("on_behalf_of"))
        except ValueError as exc:
            raise ConnectionConfigError(f"Connection {self.conn_id!r}: {exc}.") from None
        if not host_given:
            return dataclasses.replace(settings, base_url=REGION_URLS[wanted])
        host_region = region_of_host(settings.base_url)
        if host_region is not None and settings.extras.get("region") not in (None, "") and host_region != wanted:
            raise ConnectionConfigError(
                f"Connection {self.conn_id!r}: the Base URL {settings.base_url} is SendGrid's {host_region} host "
                f"but the region extra says {wanted!r}. Empty the Base URL (the region picks the host) or make "
                "them agree."
            )
        return settings

    def vendor_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        subuser = on_behalf_of(settings.extras.get("on_behalf_of"))
        return {"on-behalf-of": subuser} if subuser else {}

    def retry_after_from(self, status: int, headers: Mapping[str, str]) -> str | None:
        """A 429's wait: ``Retry-After`` if sent, else until ``X-RateLimit-Reset`` (Unix time; SendGrid
        documents no ``Retry-After``). Without either, the hook backs off exponentially."""
        given = super().retry_after_from(status, headers)
        if given is not None or status != 429:
            return given
        return seconds_until_reset(headers.get("X-RateLimit-Reset"), time.time())

    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        # {"errors": [{"message", "field", "help"}], "id"}
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
            if messages:
                first = errors[0] if isinstance(errors[0], dict) else {}
                return (str(first["field"]) if first.get("field") else None), "; ".join(messages)
        return super().parse_error(body, text)

    # ----------------------------------------------------------------- scheduled sends (batch_id)
    @staticmethod
    def _hold_path(batch_id: Any) -> str:
        return f"/v3/user/scheduled_sends/{path_segment(require_id('batch_id', batch_id))}"

    def cancel_scheduled_send(
        self, batch_id: str, action: str = "cancel", send_at_s: int | None = None
    ) -> CancelResult:
        """
        ``POST /v3/user/scheduled_sends {"batch_id", "status": "cancel"|"pause"}`` (201).

        A send time that has passed (``send_at_s``) raises :class:`CampaignFinishedError` before any
        request. A refusal is judged by reading the batch's hold: the same hold, or a ``cancel`` when a
        pause was asked, is ``already_cancelled``; a ``pause`` when a cancel was asked is turned into a
        cancel (``PATCH``); no hold at all fails with SendGrid's message.
        """
        batch_id = require_id("batch_id", batch_id)
        action = require_choice("action", action, BATCH_ACTIONS)
        try:
            when = send_at(send_at_s)
        except ValueError as exc:
            raise InvalidTarget(f"send_at {exc}; nothing was sent to the vendor.", field="send_at") from None
        target = {"batch_id": batch_id, "action": action, "send_at": when}
        now = time.time()
        if when is not None and now >= when:
            raise CampaignFinishedError(
                f"SendGrid batch {batch_id} was due at {_iso(when)}, which has passed: it was sent. {NOT_STOPPABLE}."
            )
        detail: dict[str, Any] = {"action": action}
        if when is not None and now > when - CANCEL_LEAD_S:
            detail["warning"] = "less than 10 minutes before send_at: SendGrid does not promise to honour it"
        try:
            body = self.request(
                "POST", "/v3/user/scheduled_sends", json={"batch_id": batch_id, "status": action}, idempotent=True
            )
        except VendorAPIError as exc:
            if exc.status_code not in REFUSAL_STATUS_CODES:
                raise
            return self._judge_hold(exc, target, detail)
        status = body.get("status") if isinstance(body, dict) else None
        return CancelResult(
            self.vendor, target, CancelOutcome.CANCELLED, status if isinstance(status, str) else action, detail
        )

    def get_hold(self, batch_id: str) -> str | None:
        """The batch's hold (``cancel``/``pause``), or ``None`` when SendGrid holds none (``[]`` or 404)."""
        try:
            body = self.request("GET", self._hold_path(batch_id))
        except VendorAPIError as exc:
            if exc.status_code != 404:
                raise
            return None
        return _hold_of(body, batch_id)

    def _judge_hold(self, exc: VendorAPIError, target: dict[str, Any], detail: dict[str, Any]) -> CancelResult:
        batch_id, action = target["batch_id"], target["action"]
        hold = self.get_hold(batch_id)
        word = hold.lower() if hold else None
        if word == action or word == "cancel":
            if _earlier_attempt_may_have_acted(exc):  # our own first attempt, whose answer was lost
                return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, hold, {**detail, **INFERRED})
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, hold, detail)
        if word == "pause" and action == "cancel":
            self.request("PATCH", self._hold_path(batch_id), json={"status": "cancel"}, idempotent=True)
            return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, "cancel", {**detail, "was": "pause"})
        raise VendorAPIError(
            self.vendor,
            exc.status_code,
            f"{exc.message} (SendGrid holds {'no cancel or pause' if hold is None else repr(hold)} for this batch; "
            "was its batch_id given when it was sent, and is its send time more than 10 minutes away?)",
            code=exc.code,
            method="POST",
            path="/v3/user/scheduled_sends",
        ) from None

    # ----------------------------------------------------------------- Single Sends
    @staticmethod
    def _single_send_path(single_send_id: Any) -> str:
        return f"/v3/marketing/singlesends/{path_segment(require_id('single_send_id', single_send_id))}"

    def unschedule_single_send(self, single_send_id: str) -> CancelResult:
        """
        ``DELETE /v3/marketing/singlesends/{id}/schedule`` (200 ``{send_at, status}``): the Single Send
        becomes a draft. A refusal is judged by reading it: a draft is ``already_cancelled``; a
        ``triggered`` one raises :class:`CampaignFinishedError` (no API stops it).
        """
        path = self._single_send_path(single_send_id)
        target = {"single_send_id": str(single_send_id).strip()}
        try:
            body = self.request("DELETE", f"{path}/schedule")
        except VendorAPIError as exc:
            if exc.status_code not in REFUSAL_STATUS_CODES:
                raise
            status = self.get_status(single_send_id=target["single_send_id"])
            if status.state is CampaignState.DRAFT:
                return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, status.raw_status)
            if status.state is CampaignState.COMPLETED:
                raise CampaignFinishedError(
                    f"SendGrid Single Send {target['single_send_id']} was already triggered; {NOT_STOPPABLE}."
                ) from None
            raise VendorAPIError(
                self.vendor,
                exc.status_code,
                f"{exc.message} (Single Send status is {status.raw_status!r})",
                code=exc.code,
                method="DELETE",
                path=f"{path}/schedule",
            ) from None
        raw = body.get("status") if isinstance(body, dict) else None
        return CancelResult(self.vendor, target, CancelOutcome.CANCELLED, raw if isinstance(raw, str) else None)

    # ----------------------------------------------------------------- status (either kind)
    def status_request(
        self, batch_id: str | None = None, send_at: int | None = None, single_send_id: str | None = None
    ) -> tuple[str, dict[str, Any] | None]:
        if batch_id is None and single_send_id is None:
            raise InvalidTarget(
                "target is missing batch_id (a scheduled send) or single_send_id (a Single Send): give exactly "
                "one; nothing was sent to the vendor.",
                field="batch_id",
            )
        if batch_id is not None and single_send_id is not None:
            raise InvalidTarget(
                "target has both batch_id and single_send_id: give exactly one; nothing was sent to the vendor.",
                field="single_send_id",
            )
        if single_send_id is not None:
            return self._single_send_path(single_send_id), None
        return self._hold_path(batch_id), None

    def parse_status(
        self,
        body: Any,
        error: VendorAPIError | None,
        batch_id: str | None = None,
        send_at: int | None = None,
        single_send_id: str | None = None,
    ) -> CampaignStatus:
        if single_send_id is not None:
            if error is not None:
                raise error  # a 404 means a wrong id (or another account or subuser)
            raw = body.get("status") if isinstance(body, dict) else None
            raw = raw if isinstance(raw, str) else None
            return CampaignStatus(
                self.vendor, {"single_send_id": single_send_id}, map_raw_status(raw, SINGLE_SEND_STATES), raw
            )
        if error is not None and error.status_code != 404:
            raise error
        hold = None if error is not None else _hold_of(body, str(batch_id))
        when = _send_at_or_none(send_at)
        return CampaignStatus(
            self.vendor,
            {"batch_id": batch_id, "send_at": when},
            batch_state(hold, when, time.time()),
            hold,
            detail="no cancel or pause held" if hold is None else f"held: {hold}",
        )


def _hold_of(body: Any, batch_id: str) -> str | None:
    """The ``status`` of ``batch_id``'s entry in ``[{batch_id, status}]`` (a bare object is accepted too)."""
    rows = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    for row in rows:
        if (
            isinstance(row, dict)
            and str(row.get("batch_id", batch_id)) == batch_id
            and isinstance(row.get("status"), str)
        ):
            status: str = row["status"]
            return status
    return None


def _earlier_attempt_may_have_acted(exc: VendorAPIError) -> bool:
    """Whether an attempt before the refused one went out and got no answer (it may have acted)."""
    return any(attempt.may_have_acted for attempt in exc.attempts[:-1])


def _send_at_or_none(value: Any) -> int | None:
    try:
        return send_at(value)
    except ValueError:
        return None


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
