"""Klaviyo (email and SMS campaigns): registry entry, target model, status tables and the status rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult, map_raw_status
from airflow_provider_cancel.targets import FieldErrors, Target, require_choice, require_plain_id
from airflow_provider_cancel.utils.templating import is_blank
from airflow_provider_cancel.vendors import VendorSpec

#: ``cancel``: the campaign is cancelled for good; ``revert``: it goes back to draft (Klaviyo's two actions).
ACTIONS = ("cancel", "revert")
#: The ``revision`` header sent when the connection names none: the stable revision of Klaviyo's OpenAPI.
DEFAULT_REVISION = "2026-07-15"
REVISION_PATTERN = r"^\d{4}-\d{2}-\d{2}(\.pre)?$"
_REVISION = re.compile(REVISION_PATTERN)
#: Klaviyo's media type for requests and answers (JSON:API).
JSON_API = "application/vnd.api+json"

# The send job's ``status`` (lower case in the OpenAPI file).
SEND_JOB_STATES: dict[str | None, CampaignState] = {
    "queued": CampaignState.SCHEDULED,
    "processing": CampaignState.ACTIVE,
    "complete": CampaignState.COMPLETED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
}

# The campaign's ``status`` (Title Case in the OpenAPI file; compared in any case). Every value
# that starts with "Cancelled" (``Cancelled: No Recipients``...) is cancelled too: see campaign_state.
CAMPAIGN_STATES: dict[str | None, CampaignState] = {
    "draft": CampaignState.DRAFT,
    "preparing to schedule": CampaignState.SCHEDULED,
    "scheduled": CampaignState.SCHEDULED,
    "preparing to send": CampaignState.ACTIVE,
    "adding recipients": CampaignState.ACTIVE,
    "queued without recipients": CampaignState.ACTIVE,
    "sending": CampaignState.ACTIVE,
    "sending segments": CampaignState.ACTIVE,
    "sent": CampaignState.COMPLETED,
    "variations sent": CampaignState.COMPLETED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
}

VENDOR = VendorSpec(
    name="klaviyo",
    display_name="Klaviyo",
    docs_url="https://developers.klaviyo.com/en/reference/api_overview",
    conn_type="klaviyo",
    default_base_url="https://a.klaviyo.com/api",
    hook="airflow_provider_cancel.hooks.klaviyo.KlaviyoHook",
    operators=("airflow_provider_cancel.operators.klaviyo.KlaviyoCancelCampaignOperator",),
    sensor=None,
    target_kinds={"klaviyo": "airflow_provider_cancel.vendors.klaviyo.KlaviyoCampaign"},
    password_placeholder="pk_... (Klaviyo private API key, scope campaigns:write)",
    extra_fields={
        "revision": {
            "label": "API revision",
            "description": f"Klaviyo's revision header (YYYY-MM-DD); empty means {DEFAULT_REVISION}.",
            "schema": {"type": ["string", "null"], "pattern": REVISION_PATTERN, "default": DEFAULT_REVISION},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.klaviyo.Klaviyo",
    sandbox_prefix="/klaviyo/api",
    sandbox_key="pk_klaviyo_sandbox_key",
)


def revision(value: Any) -> str:
    """The ``revision`` header to send: the connection's (``YYYY-MM-DD`` or ``YYYY-MM-DD.pre``), else the default."""
    if is_blank(value):
        return DEFAULT_REVISION
    if not isinstance(value, str) or not _REVISION.match(value.strip()):
        raise ValueError(f"must be a date such as {DEFAULT_REVISION} (got {value!r:.100})")
    return value.strip()


def campaign_state(raw: str | None) -> CampaignState:
    """A campaign ``status`` as a state: the table, and every ``Cancelled...`` variant is cancelled."""
    state = map_raw_status(raw, CAMPAIGN_STATES)
    if state is CampaignState.UNKNOWN and isinstance(raw, str):
        word = raw.strip().lower()
        if word.startswith(("cancelled", "canceled")):
            return CampaignState.CANCELLED
    return state


def combined_state(campaign_status: str | None, send_job_status: str | None) -> CampaignState:
    """
    The campaign's state from both readings: the campaign's ``status`` decides, except that a
    cancelled campaign whose send job is still ``queued`` or ``processing`` is still active (messages
    already handed over may still be going out), so a wait for "cancelled" goes on.
    """
    state = campaign_state(campaign_status)
    job = map_raw_status(send_job_status, SEND_JOB_STATES)
    if state is CampaignState.CANCELLED and job in (CampaignState.SCHEDULED, CampaignState.ACTIVE):
        return CampaignState.ACTIVE
    return state


def action(value: Any) -> str:
    """``cancel`` (default when blank) or ``revert``."""
    return "cancel" if is_blank(value) else require_choice("action", value, ACTIONS)


@dataclass(frozen=True)
class KlaviyoCampaign(Target):
    """
    One Klaviyo campaign whose send job to cancel (the send job's id is the campaign id).

    :param campaign_id: The Klaviyo campaign id.
    :param action: ``cancel`` (default: cancelled for good) or ``revert`` (back to draft, to edit and
        send again later).
    """

    kind = "klaviyo"
    vendor = "klaviyo"
    example = {"vendor": "klaviyo", "campaign_id": "01J8ZK4Q3V6N2P7R5T9W1X3Y5A", "action": "cancel"}
    campaign_id: str
    action: str = "cancel"

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "campaign_id": errors.check("campaign_id", lambda: require_plain_id("campaign_id", raw.get("campaign_id"))),
            "action": errors.check("action", lambda: action(raw.get("action")), "cancel"),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        # A revert answers 204 once the campaign is a draft again: there is no "cancelled" to wait for.
        if result is not None and self.action == "revert":
            return None
        return {"campaign_id": self.campaign_id}
