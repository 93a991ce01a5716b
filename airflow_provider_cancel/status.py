"""Campaign status normalised across vendors.

Each vendor names its states differently (and Arsel even in two casings). Hooks map the raw vendor
value onto :class:`CampaignState`; sensors and triggers only ever look at the normalised state.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class CampaignState(enum.StrEnum):
    """Normalised lifecycle state of a campaign, broadcast or workflow run."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"  # queued, sending or paused: may still deliver messages
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # finished delivering (sent)
    FAILED = "failed"
    UNKNOWN = "unknown"  # a value we do not recognise: keep polling, never call it done

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({CampaignState.CANCELLED, CampaignState.COMPLETED, CampaignState.FAILED})


def map_raw_status(raw: str | None, table: dict[str | None, CampaignState]) -> CampaignState:
    """Map a vendor status onto a :class:`CampaignState`, ignoring case and surrounding blanks."""
    key = raw.strip().lower() if isinstance(raw, str) else raw
    return table.get(key, CampaignState.UNKNOWN)


@dataclass(frozen=True)
class CampaignStatus:
    """
    One observation of a campaign's state at a vendor.

    :param vendor: Short vendor name, for example ``arsel``.
    :param target: What was observed, for example ``{"campaign_id": "...", "channel": "email"}``.
    :param state: The normalised state.
    :param raw_status: The vendor's own status value, as received.
    :param detail: A short human-readable explanation for logs.
    """

    vendor: str
    target: dict[str, Any]
    state: CampaignState
    raw_status: str | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def is_cancelled(self) -> bool:
        return self.state is CampaignState.CANCELLED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignStatus:
        return cls(
            vendor=data["vendor"],
            target=dict(data.get("target") or {}),
            state=CampaignState(data["state"]),
            raw_status=data.get("raw_status"),
            detail=data.get("detail", ""),
            extra=dict(data.get("extra") or {}),
        )

    def describe(self) -> str:
        raw = f" (vendor status {self.raw_status!r})" if self.raw_status is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.vendor} {self.target} is {self.state.value}{raw}{detail}"


class CancelOutcome(enum.StrEnum):
    """What a cancel call achieved. Every value except failures is a success for the task."""

    CANCELLED = "cancelled"  # the vendor stopped it now
    ALREADY_CANCELLED = "already_cancelled"  # it was cancelled before (e.g. by an earlier try)
    ALREADY_STOPPED = "already_stopped"  # it had already reached a terminal state (vendor says 409)
    NOTHING_TO_CANCEL = "nothing_to_cancel"  # the filters matched no running work


@dataclass(frozen=True)
class CancelResult:
    """
    The JSON-able result of a cancel call; cancel operators push ``to_dict()`` to XCom.

    :param vendor: Short vendor name.
    :param target: The id(s) or filters the cancel was aimed at.
    :param outcome: See :class:`CancelOutcome`.
    :param vendor_status: The vendor's status word after the call, when it gives one.
    :param detail: Vendor-specific facts, for example the cancelled ``execution_ids``.
    """

    vendor: str
    target: dict[str, Any]
    outcome: CancelOutcome
    vendor_status: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data


TARGET_STATES = ("cancelled", "terminal")


class Reach(enum.StrEnum):
    """How an observed status stands against what a sensor or trigger waits for."""

    REACHED = "reached"
    WAITING = "waiting"
    UNREACHABLE = "unreachable"  # terminal in another way: waiting longer cannot help


def reach(status: CampaignStatus, target_state: str) -> Reach:
    """
    Whether ``status`` is what a wait for ``target_state`` waits for.

    ``"terminal"`` is reached by any terminal state. ``"cancelled"`` is reached only by
    ``CANCELLED``; any other terminal state (sent, failed) can never become cancelled: it is
    :attr:`Reach.UNREACHABLE`, and the caller decides what that means (a sensor fails at once).
    """
    if target_state not in TARGET_STATES:
        raise ValueError(f"target_state must be one of {TARGET_STATES}, got {target_state!r}")
    if status.is_cancelled or (target_state == "terminal" and status.is_terminal):
        return Reach.REACHED
    return Reach.UNREACHABLE if status.is_terminal else Reach.WAITING


def unreachable_message(status: CampaignStatus) -> str:
    """What to tell on-call when a campaign ended without being cancelled."""
    return f"{status.describe()}; it ended without being cancelled, so waiting for 'cancelled' cannot succeed."
