"""Customer.io (App API): registry entry, the broadcast-trigger target model and the trigger status rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.timeutil import unix_seconds as timestamp  # Customer.io sends Unix seconds
from airflow_provider_cancel.vendors import VendorSpec

#: The App API's documented hosts per data-centre region.
REGION_URLS = {"us": "https://api.customer.io", "eu": "https://api-eu.customer.io"}
#: Seconds of clock difference within which a ``cancelled_at`` counts as "this call's cancel".
CANCELLED_AT_ALLOWANCE_S = 10.0

# Customer.io triggers carry no status word: the hook reads Unix timestamps and names the state
# with one of these words (compared case-insensitively, like every vendor's table).
STATES: dict[str | None, CampaignState] = {
    "scheduled": CampaignState.SCHEDULED,
    "pending": CampaignState.ACTIVE,  # due (or resolving its audience) but not processed yet
    "processed": CampaignState.COMPLETED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
}

VENDOR = VendorSpec(
    name="customerio",
    display_name="Customer.io",
    docs_url="https://docs.customer.io/integrations/api/app/",
    conn_type="customerio",
    default_base_url=REGION_URLS["us"],
    hook="airflow_provider_cancel.hooks.customerio.CustomerIoHook",
    operators=("airflow_provider_cancel.operators.customerio.CustomerIoCancelBroadcastTriggerOperator",),
    sensor=None,
    target_kinds={"customerio": "airflow_provider_cancel.vendors.customerio.CustomerIoBroadcastTrigger"},
    password_placeholder="Customer.io App API key (not the Track API site id/key)",
    extra_fields={
        "region": {
            "label": "Region",
            "description": "The workspace's data centre: us (api.customer.io) or eu (api-eu.customer.io). "
            "Used when the Base URL is empty.",
            "schema": {"type": "string", "enum": ["us", "eu"], "default": "us"},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.customerio.CustomerIo",
    sandbox_prefix="/customerio",
    sandbox_key="cio_sandbox_app_key",
)


def require_numeric_id(name: str, value: Any) -> str:
    """One Customer.io id: :func:`require_plain_id`, and digits only (the App API's ids are integers)."""
    text = require_plain_id(name, value)
    if not text.isdigit():
        raise ValueError(f"must be a whole number, as Customer.io's ids are (got {text[:100]!r})")
    return text


def trigger_of(body: Any) -> dict[str, Any] | None:
    """The trigger object of an answer: documented as ``{"trigger": {...}}`` on cancel; a bare object is read too."""
    if isinstance(body, Mapping):
        inner = body.get("trigger")
        if isinstance(inner, Mapping):
            return dict(inner)
        if any(k in body for k in ("id", "processed_at", "cancelled_at", "scheduled_at")):
            return dict(body)
    return None


def trigger_word(trigger: Mapping[str, Any] | None, now: float, cancelled_at: Any = None) -> str | None:
    """
    Name a trigger's state from its timestamps (see docs/decisions.md, Customer.io).

    ``cancelled_at`` set -> ``cancelled``; else ``processed_at`` set -> ``processed`` (it fired: too late);
    else, when ``cancelled_at`` is given by our own cancel's answer (the documented trigger read has no
    ``cancelled_at`` field) and the read shows ``processed_at`` unset -> ``cancelled``; else ``scheduled_at`` in the future -> ``scheduled``, in
    the past -> ``pending``. ``None`` when the body is no trigger.
    """
    if trigger is None:
        return None
    if timestamp(trigger.get("cancelled_at")) is not None:
        return "cancelled"
    if timestamp(trigger.get("processed_at")) is not None:
        return "processed"
    if timestamp(cancelled_at) is not None and "processed_at" in trigger:  # the read shows it did not fire
        return "cancelled"
    if not any(k in trigger for k in ("processed_at", "scheduled_at", "created_at")):
        return None  # nothing to read a state from
    scheduled_at = timestamp(trigger.get("scheduled_at"))
    return "scheduled" if scheduled_at is not None and scheduled_at > now else "pending"


@dataclass(frozen=True)
class CustomerIoBroadcastTrigger(Target):
    """
    One scheduled trigger of an API-triggered Customer.io broadcast to cancel.

    :param broadcast_id: The broadcast's id (a whole number).
    :param trigger_id: The trigger's id, returned when the send was scheduled with ``scheduled_at``.
    """

    kind = "customerio"
    vendor = "customerio"
    example = {"vendor": "customerio", "broadcast_id": "3", "trigger_id": "12"}
    broadcast_id: str
    trigger_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "broadcast_id": errors.check(
                "broadcast_id", lambda: require_numeric_id("broadcast_id", raw.get("broadcast_id"))
            ),
            "trigger_id": errors.check("trigger_id", lambda: require_numeric_id("trigger_id", raw.get("trigger_id"))),
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        target: dict[str, Any] = {"broadcast_id": self.broadcast_id, "trigger_id": self.trigger_id}
        cancelled_at = timestamp((result.detail or {}).get("cancelled_at")) if result is not None else None
        if cancelled_at is not None:  # the read shows no cancelled_at: carry the cancel's own answer
            target["cancelled_at"] = int(cancelled_at)
        return target
