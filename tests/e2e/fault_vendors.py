"""How the fault matrix drives each vendor: what to seed in the sandbox, which hook method cancels, what to poll.

The matrix (``test_fault_matrix.py``) iterates the vendor registry; this module adapts it to each
vendor's seed shapes and hook methods. A vendor added to the registry without a driver here fails
``test_every_registered_vendor_has_a_driver`` with the name of the missing driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.sandbox import SandboxServer
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.timeutil import iso, utc_now


@dataclass(frozen=True)
class VendorDriver:
    """
    :param seed_active: Seed one thing that is being sent; returns the keyword arguments of ``cancel``.
    :param cancel: The vendor hook's cancel call, exactly as the vendor's operator makes it.
    :param seed_settled: Seed one thing that is already cancelled (so the first good status poll
        fires ``success``); returns the trigger's ``target``.
    :param effective_cancels: From ``GET /_admin/<vendor>/state``: how many cancel calls changed
        something (a replayed, refused or no-op repeat does not count).
    """

    seed_active: Callable[[SandboxServer], dict[str, Any]]
    cancel: Callable[[Any, dict[str, Any]], CancelResult]
    seed_settled: Callable[[SandboxServer], dict[str, Any]]
    effective_cancels: Callable[[dict[str, Any]], int]


# ----------------------------------------------------------------------------- arsel
def _arsel_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    (campaign,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "fault matrix", "status": status}]}
    )["campaigns"]
    return {"campaign_id": campaign["id"], "channel": "email"}


def _arsel_cancel(hook: Any, target: dict[str, Any]) -> CancelResult:
    # The operator always sends a stable Idempotency-Key, so a repeat replays the first answer.
    return hook.cancel_campaign(**target, idempotency_key=f"fault-matrix-{target['campaign_id']}")


ARSEL = VendorDriver(
    seed_active=lambda sandbox: _arsel_seed(sandbox, "sending"),
    cancel=_arsel_cancel,
    seed_settled=lambda sandbox: _arsel_seed(sandbox, "cancelled"),
    effective_cancels=lambda state: sum(call.get("result") == "cancelled" for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- periskope
def _periskope_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    (broadcast,) = sandbox.admin("POST", "/periskope/seed", {"broadcasts": [{"status": status, "delay": 60}]})[
        "broadcasts"
    ]
    return {"broadcast_id": broadcast["id"]}


PERISKOPE = VendorDriver(
    seed_active=lambda sandbox: _periskope_seed(sandbox, "inprogress"),
    cancel=lambda hook, target: hook.cancel_broadcast(target["broadcast_id"]),
    seed_settled=lambda sandbox: _periskope_seed(sandbox, "stopped"),
    effective_cancels=lambda state: sum(call.get("result") in ("stopped", "deleted") for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- loop comms
def _loop_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    (campaign,) = sandbox.admin("POST", "/loop/seed", {"campaigns": [{"status": status, "advance_every_s": 600}]})[
        "campaigns"
    ]
    return {"campaign_id": campaign["id"]}


def _loop_settled(sandbox: SandboxServer) -> dict[str, Any]:
    target = _loop_seed(sandbox, "cancelled")
    return {**target, "cancel_status": "cancelled", "cancelled_at": iso(utc_now())}


LOOP_COMMS = VendorDriver(
    seed_active=lambda sandbox: _loop_seed(sandbox, "sending"),
    cancel=lambda hook, target: hook.cancel_campaign(target["campaign_id"]),
    seed_settled=_loop_settled,
    effective_cancels=lambda state: sum(
        call.get("result") in ("cancelled", "cancelled_then_500") for call in state["cancel_calls"]
    ),
)


# ----------------------------------------------------------------------------- suprsend
def _suprsend_seed(sandbox: SandboxServer, status: str) -> str:
    run = {"workflow_slug": "fault-matrix", "recipient": "u1", "status": status, "total_messages": 500}
    seeded = sandbox.admin("POST", "/suprsend/seed", {"workflow_runs": [{**run, "message_every_s": 60}]})
    return str(seeded["workflow_runs"][0]["execution_id"])


def _suprsend_settled(sandbox: SandboxServer) -> dict[str, Any]:
    execution_id = _suprsend_seed(sandbox, "cancelled")
    # No message since well before `since`: settled as soon as the window has passed.
    return {"execution_ids": [execution_id], "since": "2020-01-01T00:00:00Z", "settle_seconds": 1}


SUPRSEND = VendorDriver(
    seed_active=lambda sandbox: {"execution_id": _suprsend_seed(sandbox, "in_progress")},
    cancel=lambda hook, target: hook.cancel_workflow_runs(execution_id=target["execution_id"]),
    seed_settled=_suprsend_settled,
    effective_cancels=lambda state: sum(len(call.get("cancelled") or []) for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- customer.io
def _customerio_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    (trigger,) = sandbox.admin("POST", "/customerio/seed", {"triggers": [{"broadcast_id": 3, "status": status}]})[
        "triggers"
    ]
    return {"broadcast_id": str(trigger["broadcast_id"]), "trigger_id": str(trigger["id"])}


def _customerio_settled(sandbox: SandboxServer) -> dict[str, Any]:
    target = _customerio_seed(sandbox, "cancelled")
    return {**target, "cancelled_at": int(utc_now().timestamp()) - 60}


CUSTOMERIO = VendorDriver(
    # A scheduled trigger (a sending one cannot be cancelled unless it has a rate_limit).
    seed_active=lambda sandbox: _customerio_seed(sandbox, "scheduled"),
    cancel=lambda hook, target: hook.cancel_trigger(target["broadcast_id"], target["trigger_id"]),
    seed_settled=_customerio_settled,
    effective_cancels=lambda state: sum(call.get("result") == "cancelled" for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- resend
def _resend_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    seeded = sandbox.admin("POST", "/resend/seed", {"broadcasts": [{"status": status}]})
    return {"broadcast_id": seeded["broadcasts"][0]["id"]}


RESEND = VendorDriver(
    seed_active=lambda sandbox: _resend_seed(sandbox, "queued"),  # queued is sending
    cancel=lambda hook, target: hook.cancel_broadcast(target["broadcast_id"]),
    seed_settled=lambda sandbox: _resend_seed(sandbox, "canceled"),
    effective_cancels=lambda state: sum(
        call.get("result") in ("canceled", "unscheduled") for call in state["cancel_calls"]
    ),
)


# ----------------------------------------------------------------------------- onesignal
def _onesignal_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    seeded = sandbox.admin("POST", "/onesignal/seed", {"notifications": [{"status": status}]})
    return {"notification_id": seeded["notifications"][0]["id"]}


ONESIGNAL = VendorDriver(
    seed_active=lambda sandbox: _onesignal_seed(sandbox, "sending"),
    cancel=lambda hook, target: hook.cancel_notification(target["notification_id"]),
    seed_settled=lambda sandbox: _onesignal_seed(sandbox, "canceled"),
    effective_cancels=lambda state: sum(call.get("result") == "canceled" for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- klaviyo
def _klaviyo_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    seeded = sandbox.admin("POST", "/klaviyo/seed", {"campaigns": [{"status": status, "send_duration_s": None}]})
    return {"campaign_id": seeded["campaigns"][0]["id"]}


KLAVIYO = VendorDriver(
    seed_active=lambda sandbox: _klaviyo_seed(sandbox, "Sending"),
    cancel=lambda hook, target: hook.cancel_campaign(target["campaign_id"]),
    seed_settled=lambda sandbox: _klaviyo_seed(sandbox, "Cancelled"),
    effective_cancels=lambda state: sum(call.get("result") == "cancelled" for call in state["cancel_calls"]),
)


# ----------------------------------------------------------------------------- mailchimp
def _mailchimp_seed(sandbox: SandboxServer, status: str) -> dict[str, Any]:
    seeded = sandbox.admin("POST", "/mailchimp/seed", {"campaigns": [{"status": status, "send_duration_s": None}]})
    return {"campaign_id": seeded["campaigns"][0]["id"]}


MAILCHIMP = VendorDriver(
    seed_active=lambda sandbox: _mailchimp_seed(sandbox, "sending"),
    cancel=lambda hook, target: hook.cancel_campaign(target["campaign_id"], action="cancel_send"),
    seed_settled=lambda sandbox: _mailchimp_seed(sandbox, "canceled"),
    effective_cancels=lambda state: sum(
        call.get("result") in ("canceling", "canceled") for call in state["cancel_calls"]
    ),
)


# ----------------------------------------------------------------------------- sendgrid
def _sendgrid_seed(sandbox: SandboxServer, hold: str | None) -> dict[str, Any]:
    seeded = sandbox.admin("POST", "/sendgrid/seed", {"batches": [{"send_in_s": 3600, "hold": hold}]})
    return {"batch_id": seeded["batches"][0]["batch_id"]}


SENDGRID = VendorDriver(
    seed_active=lambda sandbox: _sendgrid_seed(sandbox, None),
    cancel=lambda hook, target: hook.cancel_scheduled_send(target["batch_id"]),
    seed_settled=lambda sandbox: _sendgrid_seed(sandbox, "cancel"),
    effective_cancels=lambda state: sum(call.get("result") == "cancel_created" for call in state["cancel_calls"]),
)


DRIVERS: dict[str, VendorDriver] = {
    "arsel": ARSEL,
    "customerio": CUSTOMERIO,
    "klaviyo": KLAVIYO,
    "loop_comms": LOOP_COMMS,
    "mailchimp": MAILCHIMP,
    "onesignal": ONESIGNAL,
    "periskope": PERISKOPE,
    "resend": RESEND,
    "sendgrid": SENDGRID,
    "suprsend": SUPRSEND,
}


def driver(vendor: str) -> VendorDriver:
    try:
        return DRIVERS[vendor]
    except KeyError:
        raise KeyError(f"no fault-matrix driver for vendor {vendor!r}: add one to tests/e2e/fault_vendors.py") from None


def hook_for(spec: Any, **kwargs: Any) -> CampaignVendorHook:
    from airflow_provider_cancel.vendors import import_path

    hook: CampaignVendorHook = import_path(spec.hook)(**kwargs)
    return hook
