"""Arsel (Saudi email and SMS campaigns): registry entry, target model and status table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_choice, require_plain_id
from airflow_provider_cancel.utils.templating import is_blank
from airflow_provider_cancel.vendors import VendorSpec

CHANNELS = ("email", "sms")
#: Arsel's documented limit for the ``Idempotency-Key`` header.
IDEMPOTENCY_KEY_MAX_LEN = 256

# OpenAPI values are lowercase, the docs pages show Title Case: map_raw_status ignores case.
STATES: dict[str | None, CampaignState] = {
    "draft": CampaignState.DRAFT,
    "scheduled": CampaignState.SCHEDULED,
    "queued": CampaignState.ACTIVE,
    "sending": CampaignState.ACTIVE,
    "paused": CampaignState.ACTIVE,
    "sent": CampaignState.COMPLETED,
    "failed": CampaignState.FAILED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
    "archived": CampaignState.COMPLETED,
}

VENDOR = VendorSpec(
    name="arsel",
    display_name="Arsel",
    docs_url="https://docs.arsel.sa/",
    conn_type="arsel",
    default_base_url="https://api.arsel.sa/v1",
    hook="airflow_provider_cancel.hooks.arsel.ArselHook",
    operators=("airflow_provider_cancel.operators.arsel.ArselCancelCampaignOperator",),
    sensor="airflow_provider_cancel.sensors.arsel.ArselCampaignStatusSensor",
    target_kinds={"arsel": "airflow_provider_cancel.vendors.arsel.ArselCampaign"},
    password_placeholder="be_... (Arsel API key)",
    extra_fields={
        "default_channel": {
            "label": "Default channel",
            "description": "Channel (email or sms) of the campaigns a task cancels when it does not name one.",
            "schema": {"type": "string", "enum": ["email", "sms"], "default": "email"},
        },
    },
    rate_limit_per_second=2,  # documented: 2 requests/s per organisation, no burst
    sandbox="airflow_provider_cancel.sandbox.arsel.Arsel",
    sandbox_prefix="/arsel/v1",
    sandbox_key="be_sandbox_key",
)


def optional_channel(value: Any) -> str | None:
    """``email``/``sms`` (any case), or ``None`` for "the connection's default channel"."""
    return None if is_blank(value) else require_choice("channel", value, CHANNELS)


def idempotency_key(value: Any) -> str | None:
    """An explicit ``Idempotency-Key`` (1 to 256 characters), or ``None`` to derive one per task instance."""
    if is_blank(value):
        return None
    if not isinstance(value, str) or len(value.strip()) > IDEMPOTENCY_KEY_MAX_LEN:
        raise ValueError(f"must be a string of 1 to {IDEMPOTENCY_KEY_MAX_LEN} characters (Arsel's limit)")
    return value.strip()


@dataclass(frozen=True)
class ArselCampaign(Target):
    """
    One Arsel campaign to cancel.

    :param campaign_id: The Arsel campaign id.
    :param channel: ``email`` or ``sms``; ``None`` means the connection's ``default_channel``.
    :param idempotency_key: Override the ``Idempotency-Key`` derived from the task instance.
    """

    kind = "arsel"
    vendor = "arsel"
    example = {"vendor": "arsel", "campaign_id": "cmp_7d1f", "channel": "email"}
    campaign_id: str
    channel: str | None = None
    idempotency_key: str | None = None

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "campaign_id": errors.check("campaign_id", lambda: require_plain_id("campaign_id", raw.get("campaign_id"))),
            "channel": errors.check("channel", lambda: optional_channel(raw.get("channel"))),
            "idempotency_key": errors.check("idempotency_key", lambda: idempotency_key(raw.get("idempotency_key"))),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        if result is not None:  # the cancel resolved the default channel
            return {"campaign_id": result.target["campaign_id"], "channel": result.target["channel"]}
        return {"campaign_id": self.campaign_id, "channel": self.channel}
