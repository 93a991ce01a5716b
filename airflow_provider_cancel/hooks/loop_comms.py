"""Loop Health comms admin campaigns: cancel and status. Facts: shared/vendor-apis.md section 3.

The comms service has a cancel (``POST /v1/admin/campaigns/{id}/cancel``) and a send history
(``GET /v1/admin/campaigns/{id}/history``) but no GET for a campaign. A campaign's status is
therefore read from two facts: what the cancel answered (``status``, ``cancelled_at``) and whether
any send is still running (a send without ``completed_at``). Statuses are free strings.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    VendorAPIError,
    excerpt,
)
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.status import (
    CampaignState,
    CampaignStatus,
    CancelOutcome,
    CancelResult,
    map_raw_status,
)
from airflow_provider_cancel.timeutil import parse_time
from airflow_provider_cancel.validation import path_segment, require_id

# Campaign words: the sibling messaging service's enum (comms publishes none), plus likely variants.
LOOP_CAMPAIGN_STATES: dict[str | None, CampaignState] = {
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
LOOP_SEND_STATES: dict[str | None, CampaignState] = {
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
    """The issue's rule: status ``cancelled`` (any case) or a non-null ``cancelled_at``."""
    return map_raw_status(status, LOOP_CAMPAIGN_STATES) is CampaignState.CANCELLED or bool(cancelled_at)


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
        if map_raw_status(refusal_hint, LOOP_CAMPAIGN_STATES) is CampaignState.CANCELLED:
            return status(CampaignState.CANCELLED, None, "no sends in history, and the cancel was refused with "
                          "wording saying it was already cancelled (a hint: nothing was ever sent)")
        return status(CampaignState.UNKNOWN, cancel_status, "no sends in history: draft, scheduled or cancelled "
                      "before sending cannot be told apart without the cancel response")
    ends = [map_raw_status(w, LOOP_SEND_STATES) for w in words]
    for end in (CampaignState.CANCELLED, CampaignState.COMPLETED, CampaignState.FAILED):
        if end in ends:
            return status(end, words[ends.index(end)], f"all {len(sends)} send(s) finished ({progress})")
    return status(CampaignState.UNKNOWN, words[-1], f"all sends finished with unrecognised status ({progress})")


class LoopCommsHook(CampaignVendorHook):
    """
    Hook for Loop Health comms admin campaigns (``loop_comms`` connection type).

    Connection: Base URL in *host* (default ``https://comms.platform.loop.health``), access token
    (``lph_at_...``, sent as ``Authorization: Bearer``) in *password*; extras ``timeout``,
    ``connect_timeout``. A token without the needed scope gets 403 ``insufficient_scope``.
    ``test_connection`` reads the (empty) history of a probe campaign id.

    :param loop_comms_conn_id: Airflow connection id (default ``loop_comms_default``).
    """

    vendor = "loop_comms"
    conn_name_attr = "loop_comms_conn_id"
    default_conn_name = "loop_comms_default"
    conn_type = "loop_comms"
    hook_name = "Loop Health comms"
    default_base_url = "https://comms.platform.loop.health"
    password_label = "Access token"
    test_connection_path = "/v1/admin/campaigns/airflow-connection-test/history"

    def __init__(self, loop_comms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(loop_comms_conn_id, **kwargs)

    @staticmethod
    def _campaign_path(campaign_id: Any) -> str:
        return f"/v1/admin/campaigns/{path_segment(require_id('campaign_id', campaign_id))}"

    def get_history(self, campaign_id: str) -> list[dict[str, Any]]:
        """Return the campaign's sends (``GET /v1/admin/campaigns/{id}/history``)."""
        body = self.request("GET", f"{self._campaign_path(campaign_id)}/history")
        sends = _sends(body)
        if sends is None:
            raise AirflowException(f"Loop comms history of {campaign_id} is not {{sends: [...]}}: {body!r:.200}")
        return sends

    def cancel_campaign(self, campaign_id: str) -> CancelResult:
        """
        Cancel one campaign; safe to repeat, so 5xx answers are retried (``idempotent=True``).

        200: cancelled (``status`` cancelled or ``cancelled_at`` set) is ``cancelled``, or
        ``already_cancelled`` when ``cancelled_at`` predates this call; a ``sent``/``failed``
        campaign raises :class:`CampaignFinishedError`. A 400/409/412/422 (undocumented) is judged
        from evidence, never from its wording: a campaign in the error body, else the send history
        (see :meth:`_judge_refusal`).
        """
        path = f"{self._campaign_path(campaign_id)}/cancel"
        target = {"campaign_id": str(campaign_id).strip()}
        requested_at = dt.datetime.now(dt.timezone.utc)
        try:
            body = self.request("POST", path, idempotent=True)
        except VendorAPIError as exc:
            if exc.status_code in REFUSAL_STATUS_CODES:
                return self._judge_refusal(exc, target)
            if exc.status_code is None or exc.status_code >= 500:
                raise VendorAPIError(
                    self.vendor, exc.status_code, f"{exc.message} (the cancel may or may not have taken effect; "
                    "running the task again is safe)", code=exc.code, method="POST", path=path, body=exc.body,
                    reached_server=exc.reached_server,
                ) from None
            raise
        campaign = _campaign(body)
        if campaign is None:
            raise AirflowException(
                f"Loop comms cancel of {target['campaign_id']} answered 200 without a campaign: {body!r:.200}"
            )
        return self._judge_campaign(campaign, target, requested_at)

    def _judge_campaign(
        self, campaign: dict[str, Any], target: dict[str, Any], requested_at: dt.datetime | None
    ) -> CancelResult:
        raw, cancelled_at = campaign.get("status"), campaign.get("cancelled_at")
        detail = {
            "campaign_status": raw, "cancelled_at": cancelled_at, "sent_at": campaign.get("sent_at"),
            "evidence": "campaign",
        }
        if is_cancelled(raw, cancelled_at):
            when = parse_time(cancelled_at)
            before = requested_at is None or (
                when is not None and when < requested_at - dt.timedelta(seconds=CLOCK_SKEW_TOLERANCE_S)
            )
            outcome = CancelOutcome.ALREADY_CANCELLED if before else CancelOutcome.CANCELLED
            return CancelResult(self.vendor, target, outcome, raw, detail)
        state = map_raw_status(raw, LOOP_CAMPAIGN_STATES)
        if state in (CampaignState.COMPLETED, CampaignState.FAILED):
            raise CampaignFinishedError(
                f"Loop comms campaign {target['campaign_id']} had already finished with status {raw!r} "
                f"(sent_at {campaign.get('sent_at')}) before the cancel; nothing was cancelled."
            )
        raise AirflowException(
            f"Loop comms answered the cancel of {target['campaign_id']} with status {raw!r} and no cancelled_at: "
            "it was not cancelled."
        )

    def _judge_refusal(self, exc: VendorAPIError, target: dict[str, Any]) -> CancelResult:
        """
        Judge a 4xx refusal of the cancel from evidence; its wording is only a hint.

        1. A campaign object in the error body settles it (as a 200 would).
        2. Else the send history: a finished send with a cancelled-like status (none running) is
           ``already_cancelled``; sends that all finished normally or failed raise
           :class:`CampaignFinishedError`.
        3. Only when history has no sends at all may a non-negated "already cancelled" wording
           break the tie (draft, scheduled and cancelled-before-sending look alike there): it is
           ``already_cancelled`` with ``detail["refusal_hint"]``, and the wait keeps checking that
           no send ever shows up.
        4. Anything else raises :class:`VendorAPIError` naming what history showed. In particular
           a send still running is a failure even when the wording says "already cancelled":
           the refusal means this call cancelled nothing, and history cannot tell a cancelled
           campaign's draining send from one that nobody stopped. For a kill switch a loud
           failure beats a success (or a wait that "confirms" once the send ends) that may hide
           messages still going out.
        """
        campaign_id = target["campaign_id"]
        refusal = f"HTTP {exc.status_code}: {exc.message}"
        campaign = exc.body.get("campaign") if isinstance(exc.body, dict) else None
        if isinstance(campaign, dict):  # a refusal that shows the campaign (Courier-style) settles it
            return self._judge_campaign(campaign, target, requested_at=None)
        hint = wording_hint(exc.code, exc.message)
        sends = self.get_history(campaign_id)
        history = classify_history(campaign_id, sends)
        detail: dict[str, Any] = {"refusal": exc.message, "evidence": "history", "history": history.detail}
        if history.state is CampaignState.CANCELLED:
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, None, detail)
        if history.state in (CampaignState.COMPLETED, CampaignState.FAILED):
            if hint == "sent":
                message = (f"Loop comms campaign {campaign_id} had already been sent; nothing was cancelled "
                           f"({refusal}). History: {history.detail}.")
            else:
                message = (f"Loop comms campaign {campaign_id} refused the cancel ({refusal}) and its history "
                           f"shows it finished without being cancelled (send status {history.raw_status!r}): "
                           f"{history.detail}; nothing was cancelled.")
            raise CampaignFinishedError(message) from None
        if not sends and hint == "cancelled":
            detail.update(evidence="refusal_wording", refusal_hint="cancelled")
            return CancelResult(self.vendor, target, CancelOutcome.ALREADY_CANCELLED, None, detail)
        if history.state is CampaignState.ACTIVE:
            why = f"its history shows {history.detail} and nothing shows the campaign cancelled"
            if hint == "cancelled":
                why += (" (the refusal's wording says it was already cancelled, but that is not proof: no campaign "
                        "in the answer, no send stopped as cancelled); messages may still be going out")
        elif not sends:
            why = ("its history shows no sends, so nothing shows the campaign cancelled (a draft, a scheduled and a "
                   "cancelled-before-sending campaign look the same)")
            if hint == "sent":
                why += "; the wording says it was sent, but no send is in its history"
        else:
            why = f"its history shows {history.detail}, which does not show it cancelled"
        raise VendorAPIError(
            self.vendor, exc.status_code,
            f"{excerpt(exc.message, 200)} (cancel refused and not confirmed: {why})",
            code=exc.code, method="POST", path=exc.path, body=exc.body,
        ) from None

    @staticmethod
    def status_target_for(result: CancelResult) -> dict[str, Any]:
        """
        What to wait on after a cancel: the campaign plus the cancel's facts (JSON primitives only).

        ``cancel_status``/``cancelled_at`` are only ever what a campaign object answered
        (``vendor_status`` is set from nothing else); a result judged from history carries none,
        since history alone shows the cancelled send. A refusal whose "already cancelled" wording
        broke the tie of an empty history adds ``refusal_hint``, which only counts while history
        stays empty.
        """
        facts = result.detail.get("evidence", "campaign") == "campaign"
        target: dict[str, Any] = {
            "campaign_id": result.target["campaign_id"],
            "cancel_status": result.vendor_status if facts else None,
            "cancelled_at": result.detail.get("cancelled_at") if facts else None,
        }
        if result.detail.get("refusal_hint"):
            target["refusal_hint"] = result.detail["refusal_hint"]
        return target

    def status_request(
        self,
        campaign_id: str,
        cancel_status: str | None = None,
        cancelled_at: str | None = None,
        refusal_hint: str | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        return f"{self._campaign_path(campaign_id)}/history", None

    def parse_status(
        self,
        body: Any,
        error: VendorAPIError | None,
        campaign_id: str,
        cancel_status: str | None = None,
        cancelled_at: str | None = None,
        refusal_hint: str | None = None,
    ) -> CampaignStatus:
        if error is not None:
            raise error  # no status-bearing error: a 404 means a wrong id or base URL
        sends = _sends(body)
        if sends is None:
            return CampaignStatus(self.vendor, {"campaign_id": campaign_id}, CampaignState.UNKNOWN,
                                  detail=f"unexpected history body: {body!r:.200}")
        return classify_history(campaign_id, sends, cancel_status, cancelled_at, refusal_hint)


def _campaign(body: Any) -> dict[str, Any] | None:
    """The campaign object of a cancel answer: documented ``{campaign: {...}}``, or a bare campaign."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("campaign"), dict):
        return body["campaign"]
    return body if isinstance(body.get("status"), str) or "cancelled_at" in body else None


def _sends(body: Any) -> list[dict[str, Any]] | None:
    """The sends of a history answer: documented ``{sends: [...]}``, or a bare list."""
    sends = body.get("sends") if isinstance(body, dict) else body
    if isinstance(sends, list) and all(isinstance(s, dict) for s in sends):
        return sends
    return None
