"""OneSignal: registry entry, the notification target model and the notification status rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.timeutil import unix_seconds as seconds  # OneSignal sends Unix seconds
from airflow_provider_cancel.vendors import VendorSpec

#: OneSignal app ids are UUIDs.
APP_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: ``Authorization`` schemes: ``Key`` for current App API keys, ``Basic`` for legacy REST API keys.
AUTH_SCHEMES = {"key": "Key", "basic": "Basic"}
SANDBOX_APP_ID = "5eb5a37e-b458-11e3-ac11-000c2940e62c"

# A notification carries no status word: the hook names its state from ``canceled`` and the
# timestamps, with one of these words (compared case-insensitively, like every vendor's table).
STATES: dict[str | None, CampaignState] = {
    "scheduled": CampaignState.SCHEDULED,
    "sending": CampaignState.ACTIVE,
    "completed": CampaignState.COMPLETED,
    "canceled": CampaignState.CANCELLED,
    "cancelled": CampaignState.CANCELLED,
}

VENDOR = VendorSpec(
    name="onesignal",
    display_name="OneSignal",
    docs_url="https://documentation.onesignal.com/reference/cancel-message",
    conn_type="onesignal",
    default_base_url="https://api.onesignal.com",
    hook="airflow_provider_cancel.hooks.onesignal.OneSignalHook",
    operators=("airflow_provider_cancel.operators.onesignal.OneSignalCancelNotificationOperator",),
    sensor=None,
    target_kinds={"onesignal": "airflow_provider_cancel.vendors.onesignal.OneSignalNotification"},
    password_placeholder="os_v2_app_... (the app's App API key)",
    extra_fields={
        "app_id": {
            "label": "App ID",
            "description": "The OneSignal app the key belongs to (a UUID; Settings > Keys & IDs). Required.",
            "schema": {"type": ["string", "null"]},
        },
        "scheme": {
            "label": "Authorization scheme",
            "description": "key: Authorization: Key <key> (current App API keys); basic: legacy REST API keys.",
            "schema": {"type": "string", "enum": ["key", "basic"], "default": "key"},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.onesignal.OneSignal",
    sandbox_prefix="/onesignal",
    sandbox_key="os_v2_app_sandbox_key",
    sandbox_extras={"app_id": SANDBOX_APP_ID},
)


def is_true(value: Any) -> bool:
    """OneSignal's ``canceled``: ``true`` (also written as text)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def notification_word(body: Any, now: float) -> str | None:
    """
    Name a notification's state (see docs/decisions.md, OneSignal): ``canceled`` true -> ``canceled``;
    else ``completed_at`` set -> ``completed``; else ``send_after`` in the future -> ``scheduled``;
    else ``sending``. ``None`` when the body shows none of these fields.
    """
    if not isinstance(body, Mapping):
        return None
    if is_true(body.get("canceled")):
        return "canceled"
    if seconds(body.get("completed_at")) is not None:
        return "completed"
    if not any(k in body for k in ("canceled", "completed_at", "send_after", "queued_at", "remaining")):
        return None
    send_after = seconds(body.get("send_after"))
    return "scheduled" if send_after is not None and send_after > now else "sending"


@dataclass(frozen=True)
class OneSignalNotification(Target):
    """
    One OneSignal notification (message) to cancel, of the connection's app.

    :param notification_id: The notification's id, returned when it was created.
    """

    kind = "onesignal"
    vendor = "onesignal"
    example = {"vendor": "onesignal", "notification_id": "b98881cc-1e94-4366-bbd9-db8f3429292b"}
    notification_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "notification_id": errors.check(
                "notification_id", lambda: require_plain_id("notification_id", raw.get("notification_id"))
            )
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        return {"notification_id": self.notification_id}
