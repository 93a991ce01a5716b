"""Periskope (WhatsApp broadcasts): registry entry, target model, status table and purge rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelResult
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.utils.templating import BARE_ID, parse_list
from airflow_provider_cancel.vendors import VendorSpec

# The org phone as Periskope wants it in x-phone: country code + number, digits only, or a phone-... id.
PHONE_PATTERN = re.compile(r"^(?:[0-9]{8,15}|phone-[A-Za-z0-9_-]+)$")

# broadcast_status is the `enum_broadcast_status` of @periskope/types (nullable); the API reference
# only says "pending, in-progress, completed, failed, etc.", so those spellings are accepted too.
STATES: dict[str | None, CampaignState] = {
    None: CampaignState.SCHEDULED,  # null: created, not started yet
    "": CampaignState.SCHEDULED,
    "scheduled": CampaignState.SCHEDULED,
    "pending": CampaignState.SCHEDULED,
    "inprogress": CampaignState.ACTIVE,
    "in-progress": CampaignState.ACTIVE,
    "in_progress": CampaignState.ACTIVE,
    "completed": CampaignState.COMPLETED,
    "stopped": CampaignState.CANCELLED,
    # Ended by itself without delivering (not by a cancel): terminal, and not "cancelled".
    "expired": CampaignState.FAILED,
    "failed": CampaignState.FAILED,
}

# The status counters worth showing an on-call engineer; copied into CampaignStatus.extra.
STATUS_COUNTERS = ("total_chats", "sent_chats", "failed_chats", "pending_chats", "scheduled_at")

PURGE_PATH = "/message/queues/purge"
STATUS_PATH = "/queue/broadcast"

VENDOR = VendorSpec(
    name="periskope",
    display_name="Periskope",
    docs_url="https://docs.periskope.app/",
    conn_type="periskope",
    default_base_url="https://api.periskope.app/v1",
    hook="airflow_provider_cancel.hooks.periskope.PeriskopeHook",
    operators=(
        "airflow_provider_cancel.operators.periskope.PeriskopeCancelBroadcastOperator",
        "airflow_provider_cancel.operators.periskope.PeriskopePurgeQueueOperator",
    ),
    sensor="airflow_provider_cancel.sensors.periskope.PeriskopeBroadcastStatusSensor",
    target_kinds={"periskope": "airflow_provider_cancel.vendors.periskope.PeriskopeBroadcast"},
    password_placeholder="Periskope API key (console: Settings > API)",
    extra_fields={
        "phone": {
            "label": "Org phone (x-phone)",
            "description": "The connected WhatsApp number as country code + number, digits only (e.g. "
            "919874532456), or a phone-... id. Sent as the x-phone header.",
            "schema": {"type": ["string", "null"], "pattern": "^([0-9]{8,15}|phone-[A-Za-z0-9_-]+)$"},
        },
    },
    sandbox="airflow_provider_cancel.sandbox.periskope.Periskope",
    sandbox_prefix="/periskope/v1",
    sandbox_key="pk_sandbox_key",
    sandbox_extras={"phone": "919874532456"},
)


def check_phone(phone: Any) -> str | None:
    """The ``x-phone`` value from the connection's ``phone`` extra; ``None`` when not set."""
    if phone in (None, ""):
        return None
    text = str(phone).strip() if isinstance(phone, (str, int)) and not isinstance(phone, bool) else None
    if text is None or not PHONE_PATTERN.match(text):
        digits = re.sub(r"\D", "", str(phone))
        hint = f" (for {phone!r} that is {digits!r})" if 8 <= len(digits) <= 15 else ""
        raise ValueError(
            f"extra 'phone' (Periskope x-phone) is {phone!r}; write it as country code + number, digits only, "
            f"with no '+', spaces or dashes{hint}, or as a 'phone-...' id. Nothing was sent to Periskope."
        )
    return text


def deleted_cancel_status(value: Any) -> str | None:
    """``"deleted"`` when the cancel answered ``deleted`` (a 404 is then our own delete); else ``None``."""
    return "deleted" if isinstance(value, str) and value.strip().lower() == "deleted" else None


@dataclass(frozen=True)
class PeriskopeBroadcast(Target):
    """
    One Periskope broadcast to cancel: deleted if it has not started, stopped if it is sending.

    :param broadcast_id: The Periskope ``broadcast_id``.
    """

    kind = "periskope"
    vendor = "periskope"
    example = {"vendor": "periskope", "broadcast_id": "b25192d5-2370-4a69-b844-aae5e2bfae92"}
    broadcast_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "broadcast_id": errors.check(
                "broadcast_id", lambda: require_plain_id("broadcast_id", raw.get("broadcast_id"))
            )
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        # The trigger must know a 404 follows our own delete: it cannot see the result otherwise.
        target: dict[str, Any] = {"broadcast_id": self.broadcast_id}
        if result is not None and result.vendor_status == "deleted":
            target["cancel_status"] = "deleted"
        return target


# ---------------------------------------------------------------------------- purge
def purge_request(
    broadcast_id: str | None, queue_ids: list[str] | str | None, purge_all: bool
) -> tuple[dict[str, Any], str]:
    """
    Build the purge body and its mode, refusing anything ambiguous before a request is sent.

    ``queue_ids`` may be a list, or a string as a template renders it: a JSON list
    (``["q1", "q2"]``), a Python list (``['q1', 'q2']``, what ``{{ params.queue_ids }}`` renders) or
    comma-separated ids (``q1,q2``). An empty rendering (``""``, ``[]``) means "not given".
    """
    if isinstance(queue_ids, str):
        queue_ids = parse_queue_ids(queue_ids)
    selectors = (("broadcast_id", broadcast_id), ("queue_ids", queue_ids))
    given = [name for name, value in selectors if value not in (None, "")]
    if not isinstance(purge_all, bool):
        raise InvalidTarget(
            f"purge_all must be True or False (got {purge_all!r}); nothing was purged.", field="purge_all"
        )
    if purge_all and given:
        raise InvalidTarget(
            f"purge_all=True purges every queued job; do not combine it with {given[0]}.", field="purge_all"
        )
    if len(given) > 1:
        raise InvalidTarget("Give broadcast_id or queue_ids, not both; nothing was purged.", field="queue_ids")
    if purge_all:
        return {}, "all"
    if not given:
        raise InvalidTarget(
            "Give broadcast_id or queue_ids. An empty purge request empties the whole Periskope queue, so "
            "it is sent only with purge_all=True; nothing was purged.",
            field="broadcast_id",
        )
    if given == ["broadcast_id"]:
        return {"broadcast_id": require_plain_id("broadcast_id", broadcast_id)}, "broadcast"
    if not isinstance(queue_ids, (list, tuple)) or not queue_ids:
        raise InvalidTarget(
            f"queue_ids must be a non-empty list of ids (got {queue_ids!r}); nothing was purged.", field="queue_ids"
        )
    return {"queue_ids": [_queue_id(q) for q in queue_ids]}, "queue_ids"


def parse_queue_ids(text: str) -> list[Any] | None:
    """
    Read ``queue_ids`` given as a string (a rendered template); ``None`` when it is empty.

    A string that starts with ``[`` must be a whole JSON or Python list; anything else is split on
    commas, and each part must be a bare id. So ``['q1', 'q2']`` is two ids, never ``"['q1'"`` and
    ``"'q2']"``, and text that is neither form is refused before any request.
    """
    try:
        return parse_list(text, split_commas=True)
    except ValueError as exc:
        raise InvalidTarget(f"queue_ids {exc}; nothing was purged.", field="queue_ids") from None


def _queue_id(value: Any) -> str:
    """One queue id from a list: a non-empty string (or int) that is a bare id."""
    if isinstance(value, (list, tuple, dict)):
        raise InvalidTarget(
            f"queue_ids must be a flat list of ids (got an item {value!r}); nothing was purged.", field="queue_ids"
        )
    text = require_plain_id("queue_ids[]", value)
    if not BARE_ID.match(text):
        raise InvalidTarget(
            f"queue_ids holds {text!r}, which is not an id (quotes, brackets, commas or spaces); nothing was purged.",
            field="queue_ids",
        )
    return text


def pick_row(body: Any, broadcast_id: str) -> dict[str, Any] | None:
    """The status row for ``broadcast_id``: the documented object, or a list of rows (tolerated)."""
    if isinstance(body, dict) and isinstance(body.get("data"), (dict, list)) and "broadcast_status" not in body:
        body = body["data"]
    rows = body if isinstance(body, list) else [body]
    rows = [r for r in rows if isinstance(r, dict)]
    matching = [r for r in rows if str(r.get("broadcast_id", broadcast_id)) == broadcast_id]
    return matching[0] if matching else None
