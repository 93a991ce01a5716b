"""Arsel (email/SMS campaigns), per the vendor's public docs (see docs/vendors and docs/decisions.md) and its cancel docs page.

Mounted at ``/arsel``; API root ``/arsel/v1`` (real: ``https://api.arsel.sa/v1``).
"""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_cancel.sandbox.core import (
    HTTPError,
    Request,
    Response,
    Vendor,
    uuid7,
)

CHANNELS = ("email", "sms")
STATUSES = ("draft", "scheduled", "queued", "sending", "paused", "sent", "failed", "cancelled", "archived")
CANCELLABLE = frozenset({"scheduled", "queued", "sending"})  # paused: not listed in the docs
NEXT_STATUS = {"scheduled": "queued", "queued": "sending", "sending": "sent"}
LIST_FILTER_STATUSES = frozenset(STATUSES) - {"archived"}  # the OpenAPI filter enum omits archived
EMAIL_FIELDS = ("subject", "preheader", "from_name", "from", "reply_to", "template_id")
SMS_FIELDS = ("content", "from", "country")
DEFAULT_SCHEDULE_AHEAD_S = 3600.0  # seeded "scheduled" campaigns without scheduled_at


def _validation(message: str) -> HTTPError:
    return HTTPError(400, "validation_error", message)


def _positive_or_none(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{what} must be a positive number or null")
    return float(value)


class Arsel(Vendor):
    """Email and SMS campaigns with get/list/create/send/cancel."""

    name = "arsel"
    base_path = "/v1"
    default_config: dict[str, Any] = {
        "api_key": "be_sandbox_key",
        "rate_limit_per_second": 2,  # documented: 2 req/s per org, no burst; 0 = off
        "cancel_response_shape": "message",  # docs page; the OpenAPI says {"id": ...}
        "status_case": "lower",  # OpenAPI; the docs pages render Title Case
        "advance_every_s": None,  # progression speed for campaigns created through the API
        # Not documented: seconds a cancelled *sending* campaign keeps reporting "sending" while
        # in-flight hand-offs drain. 0 = instant; > 0 lets tests see a client wait for "cancelled".
        "cancel_settle_s": 0,
    }
    idempotency_header = "Idempotency-Key"
    idempotency_max_len = 256

    def routes(self) -> None:
        r = self.router
        r.add("GET", "/{channel}/campaigns", self.list_campaigns)
        r.add("POST", "/{channel}/campaigns", self.create_campaign)
        r.add("GET", "/{channel}/campaigns/{id}", self.get_campaign)
        r.add("POST", "/{channel}/campaigns/{id}/send", self.send_campaign, idempotent=True)
        r.add("POST", "/{channel}/campaigns/{id}/cancel", self.cancel_campaign, idempotent=True)

    def init_state(self) -> dict[str, Any]:
        return {"campaigns": {ch: {} for ch in CHANNELS}, "seq": 0, "cancel_calls": []}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        if not isinstance(cfg["api_key"], str) or not cfg["api_key"]:
            raise ValueError("arsel.api_key must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("arsel.rate_limit_per_second must be an integer >= 0")
        if cfg["cancel_response_shape"] not in ("message", "id"):
            raise ValueError("arsel.cancel_response_shape must be 'message' or 'id'")
        if cfg["status_case"] not in ("lower", "title"):
            raise ValueError("arsel.status_case must be 'lower' or 'title'")
        _positive_or_none(cfg["advance_every_s"], "arsel.advance_every_s")
        if (
            isinstance(cfg["cancel_settle_s"], bool)
            or not isinstance(cfg["cancel_settle_s"], (int, float))
            or cfg["cancel_settle_s"] < 0
        ):
            raise ValueError("arsel.cancel_settle_s must be a number >= 0")

    # ------------------------------------------------------------- model

    def _new(
        self,
        channel: str,
        fields: dict[str, Any],
        status: str,
        advance_every_s: float | None,
        campaign_id: str | None = None,
        scheduled_at: float | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        c: dict[str, Any] = {
            "id": campaign_id or uuid7(),
            "channel": channel,
            "name": fields.get("name"),
            **{k: fields.get(k) for k in (EMAIL_FIELDS if channel == "email" else SMS_FIELDS)},
            "status": status,
            "scheduled_at": scheduled_at,
            "sent_at": now if status == "sent" else None,
            "cancelled_at": now if status == "cancelled" else None,
            "created_at": now,
            "updated_at": now,
            "advance_every_s": advance_every_s,
            "entered_at": now,
            "seq": self.state["seq"],
            "cancel_at": None,
        }
        self.state["campaigns"][channel][c["id"]] = c
        return c

    @staticmethod
    def _next_due(c: dict[str, Any]) -> float | None:
        """When the campaign moves on by itself: a pending cancel, its step timer, or its schedule time."""
        if c["cancel_at"] is not None:
            return c["cancel_at"]
        if c["status"] not in NEXT_STATUS:
            return None
        due = [c["entered_at"] + c["advance_every_s"]] if c["advance_every_s"] else []
        if c["status"] == "scheduled" and c["scheduled_at"] is not None:
            due.append(c["scheduled_at"])
        return min(due) if due else None

    def _move(self, c: dict[str, Any], status: str, at: float) -> None:
        c.update(status=status, entered_at=at, updated_at=at)
        if status == "sent":
            c["sent_at"] = at
        elif status == "cancelled":
            c["cancelled_at"] = at
            c["cancel_at"] = None

    def _settle(self, c: dict[str, Any]) -> dict[str, Any]:
        """Apply every time-based transition that is due (lazy: state is computed on read)."""
        now = self.clock.now()
        while (due := self._next_due(c)) is not None and due <= now:
            self._move(c, "cancelled" if c["cancel_at"] is not None else NEXT_STATUS[c["status"]], due)
        return c

    def _find(self, channel: str, campaign_id: str) -> dict[str, Any]:
        if channel not in CHANNELS:
            raise HTTPError(404, "not_found", "Route not found")
        c = self.state["campaigns"][channel].get(campaign_id)
        if c is None:
            raise HTTPError(404, "not_found", "Campaign not found")
        return self._settle(c)

    def _render(self, c: dict[str, Any]) -> dict[str, Any]:
        """The public campaign object (no sandbox-only fields)."""
        iso = self.clock.iso
        status = c["status"].title() if self.config["status_case"] == "title" else c["status"]
        out: dict[str, Any] = {"id": c["id"], "name": c["name"]}
        if c["channel"] == "email":
            out.update({k: c[k] for k in EMAIL_FIELDS})
        else:
            content = c["content"] or ""
            out.update({k: c[k] for k in SMS_FIELDS}, num_segments=max(1, math.ceil(len(content) / 160)))
        out.update(
            status=status,
            scheduled_at=iso(c["scheduled_at"]),
            sent_at=iso(c["sent_at"]),
            created_at=iso(c["created_at"]),
            updated_at=iso(c["updated_at"]),
        )
        return out

    # ------------------------------------------------------------- API

    def get_campaign(self, req: Request) -> Response:
        return Response(200, self._render(self._find(req.params["channel"], req.params["id"])))

    def list_campaigns(self, req: Request) -> Response:
        channel, q = req.params["channel"], req.query
        if channel not in CHANNELS:
            raise HTTPError(404, "not_found", "Route not found")
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise _validation("limit must be an integer between 1 and 100")
        after, before = q.get("after"), q.get("before")
        if after and before:
            raise _validation("Only one of after and before may be given")
        status = (q.get("status") or "").lower() or None
        if status is not None and status not in LIST_FILTER_STATUSES:
            raise _validation(f"status must be one of {sorted(LIST_FILTER_STATUSES)}")
        campaigns = self.state["campaigns"][channel]
        rows = sorted((self._settle(c) for c in campaigns.values()), key=lambda c: -c["seq"])  # newest first
        if status:
            rows = [c for c in rows if c["status"] == status]
        if search := (q.get("search") or "").lower():
            rows = [c for c in rows if search in (c["name"] or "").lower()]
        cursor = after or before
        if cursor:
            if cursor not in campaigns:
                raise _validation("Cursor does not match a campaign")
            seq = campaigns[cursor]["seq"]
            rows = [c for c in rows if (c["seq"] < seq if after else c["seq"] > seq)]
        has_more = len(rows) > limit
        page = rows[-limit:] if before else rows[:limit]  # "before" pages towards newer: keep the nearest
        return Response(200, {"object": "list", "has_more": has_more, "data": [self._render(c) for c in page]})

    def create_campaign(self, req: Request) -> Response:
        channel, body = req.params["channel"], req.body
        if channel not in CHANNELS:
            raise HTTPError(404, "not_found", "Route not found")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            raise _validation("name is required")
        c = self._new(channel, body, "draft", self.config["advance_every_s"])
        return Response(201, {"id": c["id"]})

    def send_campaign(self, req: Request) -> Response:
        c = self._find(req.params["channel"], req.params["id"])
        body = req.body if isinstance(req.body, dict) else {}
        scheduled_at = body.get("scheduled_at")
        ts = None
        if scheduled_at is not None:
            try:
                ts = self.clock.parse_iso(scheduled_at)
            except (TypeError, ValueError, AttributeError):
                raise _validation("scheduled_at must be an ISO 8601 date-time") from None
        if c["status"] != "draft":
            raise HTTPError(400, "bad_request", "Campaign cannot be sent in its current status")
        c["scheduled_at"] = ts
        self._move(c, "scheduled" if ts is not None else "queued", self.clock.now())
        return Response(200, {"id": c["id"]})

    def cancel_campaign(self, req: Request) -> Response:
        channel, campaign_id = req.params["channel"], req.params["id"]
        call: dict[str, Any] = {
            "channel": channel,
            "campaign_id": campaign_id,
            "at": self.clock.iso(self.clock.now()),
            "idempotency_key": req.header(self.idempotency_header),
            "previous_status": None,
        }
        self.state["cancel_calls"].append(call)
        try:
            c = self._find(channel, campaign_id)
        except HTTPError as e:
            call.update(status_code=e.status, result="not_found")
            raise
        call["previous_status"] = c["status"]
        if c["status"] not in CANCELLABLE:
            call.update(status_code=400, result="not_cancellable")
            raise HTTPError(400, "bad_request", "Campaign cannot be cancelled in its current status")
        settle = self.config["cancel_settle_s"]
        if c["cancel_at"] is None:
            if c["status"] == "sending" and settle:
                c["cancel_at"] = self.clock.now() + settle  # keeps reporting "sending" until then
            else:
                self._move(c, "cancelled", self.clock.now())
        call.update(status_code=200, result="cancelled")
        if self.config["cancel_response_shape"] == "id":
            return Response(200, {"id": c["id"]})
        return Response(200, {"message": "Campaign cancelled"})

    # ------------------------------------------------------------- admin

    def _admin_view(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        view = {k: v for k, v in c.items() if k not in ("entered_at", "seq", "cancel_at")}
        for k in ("scheduled_at", "sent_at", "cancelled_at", "created_at", "updated_at"):
            view[k] = iso(c[k])
        view["next_transition_at"] = iso(self._next_due(c))
        return view

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"campaigns": [{"channel", "name", "status", "advance_every_s", "id", ...}]}``."""
        items = body.get("campaigns") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError('body must be {"campaigns": [...]}')
        prepared = []
        ids: set[tuple[str, str]] = set()
        for i, item in enumerate(items):  # validate everything before creating anything
            if not isinstance(item, dict):
                raise ValueError(f"campaigns[{i}] must be an object")
            channel = item.get("channel", "email")
            status = str(item.get("status", "draft")).lower()
            if channel not in CHANNELS or status not in STATUSES:
                raise ValueError(f"campaigns[{i}]: channel must be one of {CHANNELS}, status one of {STATUSES}")
            cid = item.get("id")
            if cid is not None and (
                not isinstance(cid, str)
                or not cid
                or "/" in cid
                or cid in self.state["campaigns"][channel]
                or (channel, cid) in ids
            ):
                raise ValueError(f"campaigns[{i}]: id must be a new, non-empty string without '/'")
            if cid:
                ids.add((channel, cid))
            every = _positive_or_none(item.get("advance_every_s"), f"campaigns[{i}].advance_every_s")
            sched = item.get("scheduled_at")
            if sched is None:
                sched_ts = self.clock.now() + DEFAULT_SCHEDULE_AHEAD_S if status == "scheduled" else None
            elif isinstance(sched, str):
                sched_ts = self.clock.parse_iso(sched)
            else:
                raise ValueError(f"campaigns[{i}].scheduled_at must be an ISO 8601 string")
            fields = {"name": f"Sandbox {channel} campaign {i + 1}", **item}
            prepared.append((channel, fields, status, every, cid, sched_ts))
        created = [self._new(*args) for args in prepared]
        return {"campaigns": [self._admin_view(c) for c in created]}

    def dump_state(self) -> dict[str, Any]:
        rows = [self._settle(c) for ch in CHANNELS for c in self.state["campaigns"][ch].values()]
        rows.sort(key=lambda c: c["seq"])
        return {"campaigns": [self._admin_view(c) for c in rows], "cancel_calls": self.state["cancel_calls"]}

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id", "channel"?, "status"?}``: next step now, or jump straight to ``status``."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ..., "channel"?: ..., "status"?: ...}')
        channels = [body["channel"]] if body.get("channel") else list(CHANNELS)
        matches = [
            self.state["campaigns"][ch][body["id"]]
            for ch in channels
            if body["id"] in self.state["campaigns"].get(ch, {})
        ]
        if not matches:
            raise HTTPError(404, "not_found", f"no campaign {body['id']!r}")
        if len(matches) > 1:
            raise ValueError("id exists in both channels; pass channel")
        c = self._settle(matches[0])
        target = str(body["status"]).lower() if body.get("status") else NEXT_STATUS.get(c["status"])
        if target not in STATUSES:
            raise ValueError(f"campaign is {c['status']!r}: no next status; pass one of {STATUSES}")
        self._move(c, target, self.clock.now())
        return {"campaign": self._admin_view(c)}
