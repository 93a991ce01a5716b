"""SendGrid (Twilio SendGrid): registry entry, target models, status rules and the region's host.

Two things can be stopped, both only before they are sent: a scheduled send whose ``batch_id`` was
set when it was sent (cancel or pause it), and a Marketing Campaigns Single Send (unschedule it). No
SendGrid API stops a send that is already under way.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult, map_raw_status
from airflow_provider_cancel.targets import FieldErrors, Target, require_choice, require_plain_id
from airflow_provider_cancel.utils.templating import is_blank
from airflow_provider_cancel.vendors import VendorSpec

#: ``cancel``: the batch is discarded at its send time; ``pause``: it is held (until 72 h after it).
BATCH_ACTIONS = ("cancel", "pause")
#: SendGrid's documented hosts: global (and subusers), and EU regional subusers.
REGION_URLS = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}
#: A cancel or pause must reach SendGrid at least this long before the send time (documented).
CANCEL_LEAD_S = 600
_ON_BEHALF_OF = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")

# A Single Send's ``status``.
SINGLE_SEND_STATES: dict[str | None, CampaignState] = {
    "draft": CampaignState.DRAFT,
    "scheduled": CampaignState.SCHEDULED,
    "triggered": CampaignState.COMPLETED,  # handed to delivery: no API can stop it any more
}

VENDOR = VendorSpec(
    name="sendgrid",
    display_name="SendGrid",
    docs_url="https://www.twilio.com/docs/sendgrid/api-reference",
    conn_type="sendgrid",
    default_base_url=REGION_URLS["global"],
    hook="airflow_provider_cancel.hooks.sendgrid.SendGridHook",
    operators=(
        "airflow_provider_cancel.operators.sendgrid.SendGridCancelScheduledSendOperator",
        "airflow_provider_cancel.operators.sendgrid.SendGridUnscheduleSingleSendOperator",
    ),
    sensor=None,
    target_kinds={
        "sendgrid_batch": "airflow_provider_cancel.vendors.sendgrid.SendGridScheduledSend",
        "sendgrid_single_send": "airflow_provider_cancel.vendors.sendgrid.SendGridSingleSend",
    },
    password_placeholder="SG.... (SendGrid API key, scopes user.scheduled_sends.*)",
    extra_fields={
        "region": {
            "label": "Region",
            "description": "global (api.sendgrid.com) or eu (api.eu.sendgrid.com, EU regional subusers); "
            "picks the host when the Base URL is empty.",
            "schema": {"type": "string", "enum": ["global", "eu"], "default": "global"},
        },
        "on_behalf_of": {
            "label": "On behalf of (subuser)",
            "description": "Optional: act for this subuser (sent as the on-behalf-of header).",
            "schema": {"type": ["string", "null"]},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.sendgrid.SendGrid",
    sandbox_prefix="/sendgrid",
    sandbox_key="SG.sandbox_key",
)


def region(value: Any) -> str:
    """The ``region`` extra: ``global`` (default when empty) or ``eu``; :class:`ValueError` otherwise."""
    if is_blank(value):
        return "global"
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in REGION_URLS:
        raise ValueError(f"extra 'region' must be global or eu (got {value!r:.100})")
    return text


def region_of_host(base_url: str) -> str | None:
    """``global``/``eu`` when ``base_url`` is one of SendGrid's hosts, else ``None`` (a proxy, the sandbox)."""
    return {url: name for name, url in REGION_URLS.items()}.get(base_url.rstrip("/"))


def on_behalf_of(value: Any) -> str | None:
    """The ``on_behalf_of`` extra (a subuser name or ``account-id <id>``), or ``None``."""
    if is_blank(value):
        return None
    if not isinstance(value, str) or not _ON_BEHALF_OF.match(value.strip()):
        raise ValueError(f"extra 'on_behalf_of' must be a subuser name on one line (got {value!r:.100})")
    return value.strip()


def send_at(value: Any) -> int | None:
    """
    The send time that was given to SendGrid, as Unix seconds: a whole number, its text, or an ISO 8601
    date-time (naive means UTC); ``None`` when not given.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("must be Unix seconds or an ISO 8601 date-time (got a boolean)")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, float) and math.isfinite(value):
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"must be Unix seconds or an ISO 8601 date-time (got {value!r:.100})") from None
        seconds = int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())
    else:
        raise ValueError(f"must be Unix seconds or an ISO 8601 date-time (got {value!r:.100})")
    if seconds <= 0:
        raise ValueError(f"must be a time after 1970 (got {value!r})")
    return seconds


def seconds_until_reset(reset: str | None, now: float) -> str | None:
    """
    A 429's ``X-RateLimit-Reset`` (Unix seconds) as ``Retry-After`` text: the seconds left until the
    limit resets, ``"0"`` when that time has passed; ``None`` when the header is missing or not a number.
    """
    try:
        at = float(reset) if reset is not None else math.nan
    except ValueError:
        return None
    return None if not math.isfinite(at) else f"{max(0.0, at - now):g}"


def batch_state(hold: str | None, send_at_s: int | None, now: float) -> CampaignState:
    """
    A scheduled batch's state from its hold (``cancel``, ``pause`` or none) and, when known, its send time.

    ``cancel`` is cancelled. ``pause`` is scheduled (held; it is sent if the pause is lifted). Without a
    hold only the send time can tell: before it, scheduled; after it, completed (it went out). Without
    either it is unknown, so a wait never calls it done.
    """
    state = map_raw_status(hold, {"cancel": CampaignState.CANCELLED, "pause": CampaignState.SCHEDULED})
    if state is not CampaignState.UNKNOWN or hold not in (None, ""):
        return state
    if send_at_s is None:
        return CampaignState.UNKNOWN
    return CampaignState.SCHEDULED if now < send_at_s else CampaignState.COMPLETED


@dataclass(frozen=True)
class SendGridScheduledSend(Target):
    """
    One scheduled send to stop, by the ``batch_id`` it was sent with.

    :param batch_id: The batch id given to ``/v3/mail/send`` (created with ``POST /v3/mail/batch``).
    :param action: ``cancel`` (default: discarded at its send time) or ``pause`` (held).
    :param send_at: The send time given to SendGrid (Unix seconds or ISO 8601), if known: a send time
        that has passed fails at once (it was sent), and the status can tell "sent" from "unknown".
    """

    kind = "sendgrid_batch"
    vendor = "sendgrid"
    example = {"vendor": "sendgrid_batch", "batch_id": "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi", "action": "cancel"}
    batch_id: str
    action: str = "cancel"
    send_at: int | None = None

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "batch_id": errors.check("batch_id", lambda: require_plain_id("batch_id", raw.get("batch_id"))),
            "action": errors.check("action", lambda: batch_action(raw.get("action")), "cancel"),
            "send_at": errors.check("send_at", lambda: send_at(raw.get("send_at"))),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        # A pause holds the batch: there is no "cancelled" to wait for.
        if result is not None and self.action == "pause":
            return None
        return {"batch_id": self.batch_id, "send_at": self.send_at}


def batch_action(value: Any) -> str:
    """``cancel`` (default when blank) or ``pause``."""
    return "cancel" if is_blank(value) else require_choice("action", value, BATCH_ACTIONS)


@dataclass(frozen=True)
class SendGridSingleSend(Target):
    """
    One Marketing Campaigns Single Send to unschedule (it becomes a draft again).

    :param single_send_id: The Single Send's id.
    """

    kind = "sendgrid_single_send"
    vendor = "sendgrid"
    example = {"vendor": "sendgrid_single_send", "single_send_id": "27c21bbf-a12c-440b-b8bf-c526975328ca"}
    single_send_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "single_send_id": errors.check(
                "single_send_id", lambda: require_plain_id("single_send_id", raw.get("single_send_id"))
            ),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        # Unscheduling answers with the Single Send as a draft: nothing to wait for.
        return None if result is not None else {"single_send_id": self.single_send_id}
