"""Resend: registry entry, the broadcast and scheduled-email target models, and their status tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.vendors import VendorSpec

#: A broadcast's ``status`` (the docs list these; the OpenAPI file has no enum), any casing.
BROADCAST_STATES: dict[str | None, CampaignState] = {
    "draft": CampaignState.DRAFT,
    "scheduled": CampaignState.SCHEDULED,
    "queued": CampaignState.ACTIVE,  # sending
    "sending": CampaignState.ACTIVE,
    "sent": CampaignState.COMPLETED,
    "canceled": CampaignState.CANCELLED,
    "cancelled": CampaignState.CANCELLED,
    "failed": CampaignState.FAILED,
}

#: An email's ``last_event``, any casing. Once it left Resend (sent and after) it cannot be cancelled.
EMAIL_STATES: dict[str | None, CampaignState] = {
    "scheduled": CampaignState.SCHEDULED,
    "queued": CampaignState.ACTIVE,
    "canceled": CampaignState.CANCELLED,
    "cancelled": CampaignState.CANCELLED,
    "sent": CampaignState.COMPLETED,
    "delivered": CampaignState.COMPLETED,
    "delivery_delayed": CampaignState.COMPLETED,
    "opened": CampaignState.COMPLETED,
    "clicked": CampaignState.COMPLETED,
    "bounced": CampaignState.COMPLETED,
    "complained": CampaignState.COMPLETED,
    "failed": CampaignState.FAILED,
    "suppressed": CampaignState.FAILED,  # never sent, not by a cancel
}

#: Error names after which the hook reads the broadcast or email back (Resend's refusal of a cancel).
REFUSAL_NAMES = frozenset({"validation_error"})
REFUSAL_STATUSES = frozenset({400, 403, 409, 422})
#: Used-up quotas: waiting minutes does not help a kill switch.
QUOTA_CODES = frozenset({"daily_quota_exceeded", "monthly_quota_exceeded"})

VENDOR = VendorSpec(
    name="resend",
    display_name="Resend",
    docs_url="https://resend.com/docs/api-reference/introduction",
    conn_type="resend",
    default_base_url="https://api.resend.com",
    hook="airflow_provider_cancel.hooks.resend.ResendHook",
    operators=(
        "airflow_provider_cancel.operators.resend.ResendCancelBroadcastOperator",
        "airflow_provider_cancel.operators.resend.ResendCancelEmailOperator",
    ),
    sensor=None,
    target_kinds={
        "resend_broadcast": "airflow_provider_cancel.vendors.resend.ResendBroadcast",
        "resend_email": "airflow_provider_cancel.vendors.resend.ResendEmail",
    },
    password_placeholder="re_... (a full-access Resend API key)",
    sandbox="airflow_provider_cancel.sandbox.resend.Resend",
    sandbox_prefix="/resend",
    sandbox_key="re_sandbox_key",
)


@dataclass(frozen=True)
class ResendBroadcast(Target):
    """
    One Resend broadcast to cancel: a scheduled one goes back to draft, a queued (sending) one is canceled.

    :param broadcast_id: The broadcast's id.
    """

    kind = "resend_broadcast"
    vendor = "resend"
    example = {"vendor": "resend_broadcast", "broadcast_id": "559ac32e-9ef5-46fb-82a1-b76b840c0f7b"}
    broadcast_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "broadcast_id": errors.check(
                "broadcast_id", lambda: require_plain_id("broadcast_id", raw.get("broadcast_id"))
            )
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        if result is None:
            return {"broadcast_id": self.broadcast_id}
        # After our cancel a scheduled broadcast is back to draft: that is what "cancelled" looks like.
        return {"broadcast_id": self.broadcast_id, "draft_means_cancelled": True}


@dataclass(frozen=True)
class ResendEmail(Target):
    """
    One Resend email sent with ``scheduled_at``, to cancel before it goes out.

    :param email_id: The email's id.
    """

    kind = "resend_email"
    vendor = "resend"
    example = {"vendor": "resend_email", "email_id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}
    email_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {"email_id": errors.check("email_id", lambda: require_plain_id("email_id", raw.get("email_id")))}

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        return {"email_id": self.email_id}
