"""Loop Health comms (admin campaigns): registry entry, target model, status tables and history rules.

The comms service has a cancel (``POST /v1/admin/campaigns/{id}/cancel``) and a send history
(``GET /v1/admin/campaigns/{id}/history``) but no GET for a campaign. A campaign's status is
therefore read from two facts: what the cancel answered (``status``, ``cancelled_at``) and whether
any send is still running (a send without ``completed_at``). Statuses are free strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_cancel.status import CampaignState, CampaignStatus, CancelResult, map_raw_status
from airflow_provider_cancel.targets import FieldErrors, Target, require_plain_id
from airflow_provider_cancel.utils.templating import BLANKS
from airflow_provider_cancel.vendors import VendorSpec

VENDOR = VendorSpec(
    name="loop_comms",
    display_name="Loop Health comms",
    docs_url="https://docs.ross.platform.loop.health/",
    conn_type="loop_comms",
    default_base_url="https://comms.platform.loop.health",
    hook="airflow_provider_cancel.hooks.loop_comms.LoopCommsHook",
    operators=("airflow_provider_cancel.operators.loop_comms.LoopCommsCancelCampaignOperator",),
    sensor="airflow_provider_cancel.sensors.loop_comms.LoopCommsCampaignStatusSensor",
    target_kinds={"loop_comms": "airflow_provider_cancel.vendors.loop_comms.LoopCommsCampaign"},
    password_label="Access token",
    password_placeholder="lph_at_... (Loop Health access token)",
    sandbox="airflow_provider_cancel.sandbox.loop_comms.LoopComms",
    sandbox_prefix="/loop",
    sandbox_key="lph_at_sandbox_token",
)

# Campaign words: the sibling messaging service's enum (comms publishes none), plus likely variants.
CAMPAIGN_STATES: dict[str | None, CampaignState] = {
    "draft": CampaignState.DRAFT,
    "scheduled": CampaignState.SCHEDULED,
    "sending": CampaignState.ACTIVE,
    "sent": CampaignState.COMPLETED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
    "failed": CampaignState.FAILED,
}
# Send words are undocumented; ``completed_at`` decides whether a send is still running, the word
# only says how a finished send ended.
SEND_STATES: dict[str | None, CampaignState] = {
    "queued": CampaignState.ACTIVE,
    "pending": CampaignState.ACTIVE,
    "sending": CampaignState.ACTIVE,
    "processing": CampaignState.ACTIVE,
    "in_progress": CampaignState.ACTIVE,
    "sent": CampaignState.COMPLETED,
    "completed": CampaignState.COMPLETED,
    "complete": CampaignState.COMPLETED,
    "done": CampaignState.COMPLETED,
    "delivered": CampaignState.COMPLETED,
    "cancelled": CampaignState.CANCELLED,
    "canceled": CampaignState.CANCELLED,
    "stopped": CampaignState.CANCELLED,
    "aborted": CampaignState.CANCELLED,
    "failed": CampaignState.FAILED,
    "error": CampaignState.FAILED,
}
# The wording of a 4xx on cancel (none is documented) is a hint, never proof: it only picks the
# message and breaks the tie of an empty history. A negated phrase ("has not been cancelled",
# "hasn't been sent yet", "was never delivered") never counts.
_SAYS_CANCELLED = re.compile(r"\b(?:already|is|was|been)[ _-]?cancel+ed\b", re.IGNORECASE)
_SAYS_SENT = re.compile(r"\b(?:already|is|was|been)[ _-]?(?:sent|completed|finished|delivered)\b", re.IGNORECASE)
_NEGATIONS = frozenset({"not", "never", "cannot", "cant", "no", "nor", "neither"})
_NEGATION_WINDOW = 3  # words before the phrase, within its clause
_CLAUSE_BREAK = re.compile(r"[.;:!?,()\[\]{}\"]")
_WORD = re.compile(r"[a-z]+(?:['\u2019][a-z]+)?")
REFUSAL_STATUS_CODES = frozenset({400, 409, 412, 422})
# A cancelled_at this much older than our request means someone (an earlier try) cancelled it before.
CLOCK_SKEW_TOLERANCE_S = 10.0


@dataclass(frozen=True)
class LoopCommsCampaign(Target):
    """
    One Loop Health comms campaign to cancel.

    :param campaign_id: The comms campaign id.
    """

    kind = "loop_comms"
    vendor = "loop_comms"
    example = {"vendor": "loop_comms", "campaign_id": "camp_91"}
    campaign_id: str

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        return {
            "campaign_id": errors.check("campaign_id", lambda: require_plain_id("campaign_id", raw.get("campaign_id")))
        }

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any]:
        """
        What to wait on after a cancel: the campaign plus the cancel's facts (JSON primitives only).

        ``cancel_status``/``cancelled_at`` are only ever what a campaign object answered
        (``vendor_status`` is set from nothing else); a result judged from history carries none,
        since history alone shows the cancelled send. A refusal whose "already cancelled" wording
        broke the tie of an empty history adds ``refusal_hint``, which only counts while history
        stays empty.
        """
        if result is None:
            return {"campaign_id": self.campaign_id, "cancel_status": None, "cancelled_at": None}
        facts = result.detail.get("evidence", "campaign") == "campaign"
        target: dict[str, Any] = {
            "campaign_id": result.target["campaign_id"],
            "cancel_status": result.vendor_status if facts else None,
            "cancelled_at": result.detail.get("cancelled_at") if facts else None,
        }
        if result.detail.get("refusal_hint"):
            target["refusal_hint"] = result.detail["refusal_hint"]
        return target


def status_target(
    campaign_id: Any, cancel_status: Any = None, cancelled_at: Any = None, refusal_hint: Any = None
) -> dict[str, Any]:
    """A sensor's status target from (rendered) arguments; blank, ``None`` and ``null`` mean absent."""
    target: dict[str, Any] = {
        "campaign_id": require_plain_id("campaign_id", campaign_id),
        "cancel_status": _fact(cancel_status),
        "cancelled_at": _fact(cancelled_at),
    }
    hint = _fact(refusal_hint)
    if hint is not None:
        target["refusal_hint"] = hint
    return target


def _fact(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return None if text is None or text.lower() in BLANKS else text


def _states(pattern: re.Pattern[str], text: str | None) -> bool:
    """Whether ``text`` states ``pattern``'s phrase without negating it in the few words before it."""
    text = text or ""
    for match in pattern.finditer(text):
        clause = _CLAUSE_BREAK.split(text[: match.start()])[-1]
        words = _WORD.findall(clause.lower().replace("_", " "))[-_NEGATION_WINDOW:]
        if not any(w in _NEGATIONS or w.endswith(("n't", "n\u2019t")) for w in words):
            return True
    return False


def wording_hint(code: str | None, message: str | None) -> str | None:
    """
    What a refusal's wording claims: ``"cancelled"``, ``"sent"`` or ``None`` (nothing, negated, or both).

    Only a hint: it chooses the message to show and breaks the tie of an empty history; it never
    outweighs a campaign in the body or the send history.
    """
    cancelled = _states(_SAYS_CANCELLED, code) or _states(_SAYS_CANCELLED, message)
    sent = _states(_SAYS_SENT, code) or _states(_SAYS_SENT, message)
    if cancelled == sent:
        return None
    return "cancelled" if cancelled else "sent"


def is_cancelled(status: Any, cancelled_at: Any) -> bool:
    """A campaign is cancelled when its status is ``cancelled`` (any case) or ``cancelled_at`` is set."""
    return map_raw_status(status, CAMPAIGN_STATES) is CampaignState.CANCELLED or bool(cancelled_at)


def classify_history(
    campaign_id: str,
    sends: list[dict[str, Any]],
    cancel_status: str | None = None,
    cancelled_at: str | None = None,
    refusal_hint: str | None = None,
) -> CampaignStatus:
    """
    Combine the cancel response's facts (if known) with one history read.

    With facts saying cancelled (``cancel_status``/``cancelled_at``, which must come from a campaign
    object the vendor answered, never from an error's wording): ``CANCELLED`` once every send has
    ``completed_at``, ``ACTIVE`` while one is still running. Without them, history alone tells
    running (``ACTIVE``), stopped by a cancel (a finished send whose status is cancelled-like), sent
    (``COMPLETED``) or failed; a campaign with no sends at all is ``UNKNOWN``: draft, scheduled and
    cancelled-before-sending look the same in history. Only that tie is broken by
    ``refusal_hint="cancelled"`` (a refusal worded "already cancelled"): with no sends at all it is
    ``CANCELLED``; once any send shows up the hint is ignored and history alone decides.
    """
    running = [s for s in sends if not s.get("completed_at")]
    words = [s.get("status") for s in sends]
    extra = {
        "sends": len(sends),
        "running_send_ids": [s.get("id") for s in running],
        "recipients": sum(int(s.get("total_recipients") or 0) for s in sends),
        "delivered": sum(int(s.get("sent") or 0) for s in sends),
        "cancelled_at": cancelled_at,
    }
    target = {"campaign_id": campaign_id}

    def status(state: CampaignState, raw: Any, detail: str) -> CampaignStatus:
        return CampaignStatus("loop_comms", target, state, raw, detail, extra)

    progress = f"{extra['delivered']}/{extra['recipients']} recipients delivered"
    if is_cancelled(cancel_status, cancelled_at):
        if running:
            detail = f"cancelled, but {len(running)} send(s) still running ({progress})"
            return status(CampaignState.ACTIVE, cancel_status, detail)
        detail = f"cancelled at {cancelled_at}; no send running ({progress})"
        return status(CampaignState.CANCELLED, cancel_status, detail)
    if running:
        return status(CampaignState.ACTIVE, running[-1].get("status"), f"{len(running)} send(s) running ({progress})")
    if not sends:
        if map_raw_status(refusal_hint, CAMPAIGN_STATES) is CampaignState.CANCELLED:
            return status(
                CampaignState.CANCELLED,
                None,
                "no sends in history, and the cancel was refused with "
                "wording saying it was already cancelled (a hint: nothing was ever sent)",
            )
        return status(
            CampaignState.UNKNOWN,
            cancel_status,
            "no sends in history: draft, scheduled or cancelled "
            "before sending cannot be told apart without the cancel response",
        )
    ends = [map_raw_status(w, SEND_STATES) for w in words]
    for end in (CampaignState.CANCELLED, CampaignState.COMPLETED, CampaignState.FAILED):
        if end in ends:
            return status(end, words[ends.index(end)], f"all {len(sends)} send(s) finished ({progress})")
    return status(CampaignState.UNKNOWN, words[-1], f"all sends finished with unrecognised status ({progress})")


def campaign_of(body: Any) -> dict[str, Any] | None:
    """The campaign object of a cancel answer: documented ``{campaign: {...}}``, or a bare campaign."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("campaign"), dict):
        return body["campaign"]
    return body if isinstance(body.get("status"), str) or "cancelled_at" in body else None


def sends_of(body: Any) -> list[dict[str, Any]] | None:
    """The sends of a history answer: documented ``{sends: [...]}``, or a bare list."""
    sends = body.get("sends") if isinstance(body, dict) else body
    if isinstance(sends, list) and all(isinstance(s, dict) for s in sends):
        return sends
    return None
