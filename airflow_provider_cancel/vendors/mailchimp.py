"""Mailchimp (Marketing API campaigns): registry entry, target model, status table and the data-centre rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_choice, require_plain_id
from airflow_provider_cancel.utils.templating import is_blank
from airflow_provider_cancel.vendors import VendorSpec

#: ``cancel_send``: stop a Regular or Plain-Text campaign that is sending (Mailchimp Pro);
#: ``unschedule``: take back a scheduled campaign that has not started sending (it becomes a draft).
ACTIONS = ("cancel_send", "unschedule")
ACTION_PATHS = {"cancel_send": "cancel-send", "unschedule": "unschedule"}
#: The data-centre placeholder of the default Base URL, filled from the key's suffix (``...-us6``).
DC_PLACEHOLDER = "{dc}"
DATA_CENTER_PATTERN = r"^[a-z]{2,4}[0-9]{1,3}$"
_DATA_CENTER = re.compile(DATA_CENTER_PATTERN)
_MAILCHIMP_HOST = re.compile(r"^https://([a-z]{2,4}[0-9]{1,3})\.api\.mailchimp\.com(/|$)", re.IGNORECASE)

# Mailchimp's campaign ``status`` (lower case in the SDKs; compared in any case).
STATES: dict[str | None, CampaignState] = {
    "save": CampaignState.DRAFT,
    "schedule": CampaignState.SCHEDULED,
    "paused": CampaignState.ACTIVE,
    "sending": CampaignState.ACTIVE,
    "canceling": CampaignState.ACTIVE,  # on its way to canceled: may still deliver, keep waiting
    "cancelling": CampaignState.ACTIVE,
    "canceled": CampaignState.CANCELLED,
    "cancelled": CampaignState.CANCELLED,
    "sent": CampaignState.COMPLETED,
    "archived": CampaignState.COMPLETED,
}

VENDOR = VendorSpec(
    name="mailchimp",
    display_name="Mailchimp",
    docs_url="https://mailchimp.com/developer/marketing/api/",
    conn_type="mailchimp",
    default_base_url=f"https://{DC_PLACEHOLDER}.api.mailchimp.com/3.0",
    hook="airflow_provider_cancel.hooks.mailchimp.MailchimpHook",
    operators=("airflow_provider_cancel.operators.mailchimp.MailchimpCancelCampaignOperator",),
    sensor=None,
    target_kinds={"mailchimp": "airflow_provider_cancel.vendors.mailchimp.MailchimpCampaign"},
    password_placeholder="...-us6 (Mailchimp API key; its suffix is the data centre)",
    extra_fields={
        "data_center": {
            "label": "Data centre",
            "description": "Mailchimp data centre such as us6. Empty: the API key's suffix (...-us6). "
            "Needed for an OAuth access token, which has no suffix.",
            "schema": {"type": ["string", "null"], "pattern": DATA_CENTER_PATTERN},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.mailchimp.Mailchimp",
    sandbox_prefix="/mailchimp/3.0",
    sandbox_key="mc_sandbox_key-us1",
)


def key_data_center(key: str) -> str | None:
    """The data centre an API key names by its suffix (``0123abcd-us6`` -> ``us6``); ``None`` for an OAuth token."""
    head, sep, tail = key.strip().rpartition("-")
    return tail.lower() if sep and head and _DATA_CENTER.match(tail.lower()) else None


def check_data_center(value: Any) -> str | None:
    """The ``data_center`` extra, lower-cased, or ``None`` when empty; :class:`ValueError` when malformed."""
    if is_blank(value):
        return None
    if not isinstance(value, str) or not _DATA_CENTER.match(value.strip().lower()):
        raise ValueError(f"extra 'data_center' must look like us6 (got {value!r:.100})")
    return value.strip().lower()


def resolve_base_url(base_url: str, key: str, data_center_extra: Any) -> str:
    """
    The Base URL with its data centre: ``{dc}`` in it (the default) is the ``data_center`` extra,
    else the key's suffix; with neither it stays, and :func:`require_data_center` refuses it before a
    request is sent. A Mailchimp host, the extra and the key's suffix must all agree, because a key is
    refused by every other data centre. :class:`ValueError` says what disagrees.
    """
    extra = check_data_center(data_center_extra)
    suffix = key_data_center(key)
    if extra and suffix and extra != suffix:
        raise ValueError(f"the data_center extra says {extra!r} but the API key's suffix says {suffix!r}")
    dc = extra or suffix
    if DC_PLACEHOLDER in base_url:
        return base_url if dc is None else base_url.replace(DC_PLACEHOLDER, dc)
    host = _MAILCHIMP_HOST.match(base_url)
    if host and dc and host.group(1).lower() != dc:
        raise ValueError(f"the Base URL is Mailchimp's {host.group(1)!r} data centre but the key belongs to {dc!r}")
    return base_url


def require_data_center(base_url: str) -> str:
    """``base_url`` once its data centre is known; :class:`ValueError` while it still holds ``{dc}``."""
    if DC_PLACEHOLDER in base_url:
        raise ValueError(
            "no data centre: the key has no -<dc> suffix (an OAuth token?); set the data_center extra "
            "or the Base URL (https://<dc>.api.mailchimp.com/3.0)"
        )
    return base_url


def action(value: Any) -> str:
    """``cancel_send`` or ``unschedule``: required, never guessed (``cancel-send`` is accepted too)."""
    if is_blank(value):
        raise InvalidTarget(
            "action is required: 'cancel_send' stops a campaign that is sending, 'unschedule' takes back a "
            "scheduled one that has not started; it is never guessed. Nothing was sent to the vendor.",
            field="action",
        )
    text = value.strip().lower().replace("-", "_") if isinstance(value, str) else value
    return require_choice("action", text, ACTIONS)


@dataclass(frozen=True)
class MailchimpCampaign(Target):
    """
    One Mailchimp campaign to stop, and how.

    :param campaign_id: The Mailchimp campaign id.
    :param action: ``cancel_send`` (it is sending) or ``unschedule`` (it is scheduled); required.
    """

    kind = "mailchimp"
    vendor = "mailchimp"
    example = {"vendor": "mailchimp", "campaign_id": "42694e9e57", "action": "cancel_send"}
    campaign_id: str
    action: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "campaign_id": errors.check("campaign_id", lambda: require_plain_id("campaign_id", raw.get("campaign_id"))),
            "action": errors.check("action", lambda: action(raw.get("action"))),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        # An unschedule answers 204 once the campaign is a draft again: there is no "canceled" to wait for.
        if result is not None and self.action == "unschedule":
            return None
        return {"campaign_id": self.campaign_id}
