"""Loop Health comms (admin campaigns), per the vendor's public docs (see docs/vendors and docs/decisions.md) and its cancel docs page.

Mounted at ``/loop`` (real: ``https://comms.platform.loop.health``); routes keep the documented
``/v1/admin/...`` paths. An independent reading of the docs: nothing here is shared with the hook.

Documented: create (201 ``{campaign}``), send (200 ``{send}``, 404, 409 "Campaign already sent"),
cancel (200 ``{campaign}`` with ``status`` and ``cancelled_at``, 404, 500), history (200
``{sends: [...]}``, 500), errors ``{error, message}``, ``Authorization: Bearer <access token>``,
403 ``insufficient_scope`` for a token without the needed scope. There is no GET for a campaign.

Not documented, so each is a config switch (``POST /_admin/config {"loop": {...}}``), the default
being the reading the provider is built against:

* ``recancel_status`` (200): cancelling a cancelled campaign. 200 answers the unchanged campaign
  (``cancelled_at`` keeps the first cancel's time); 400/409/412/422 refuse with ``{error, message}``.
* ``cancel_sent_status`` (409): cancelling a sent campaign. 409 ``"Campaign already sent"`` (the
  send endpoint's documented wording); 400/412/422 the same with another code; 200 answers the
  unchanged campaign (status ``sent``, ``cancelled_at`` null): the cancel silently did nothing.
* ``refusal_body`` ("message"): a refusal is ``{error, message}``; "campaign" adds the campaign.
* ``history_unknown_campaign`` ("empty"): history of an unknown id is 200 ``{sends: []}`` (no 404 is
  documented for history); "404" answers 404 ``Campaign not found``.
* ``cancel_drain_s`` (0): after a cancel, a running send still delivers for this long (messages
  already handed to the email provider) before it gets ``completed_at``; per campaign ``drain_s``.
* ``send_duration_s`` (2): how long a send made through ``POST /send`` runs; null = until advanced.
* ``status_case`` ("lower"): statuses are free strings; "upper"/"title" test case tolerance.

Campaign statuses (the sibling messaging service's enum): draft, scheduled, sending, sent, cancelled.
Send statuses: sending, completed, cancelled.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from airflow_provider_cancel.sandbox.core import (
    HTTPError,
    Request,
    Response,
    Vendor,
    bearer_token,
    org_id,
    uuid7,
)

STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
CANCELLABLE = frozenset({"draft", "scheduled", "sending"})
REFUSAL_STATUSES = (400, 409, 412, 422)
REFUSAL_NAMES = {400: "bad_request", 409: "conflict", 412: "bad_state", 422: "invalid_state"}
DEFAULT_SCHEDULE_AHEAD_S = 3600.0
DEFAULT_RECIPIENTS = 100
CAMPAIGN_FIELDS = (
    "id",
    "brand_id",
    "name",
    "subject",
    "channel",
    "template_key",
    "segment_criteria",
    "variables",
    "status",
    "scheduled_at",
    "sent_at",
    "cancelled_at",
    "created_by",
    "created_at",
    "updated_at",
)
SEND_FIELDS = (
    "id",
    "campaign_id",
    "brand_id",
    "status",
    "total_recipients",
    "sent",
    "failed",
    "started_at",
    "completed_at",
    "created_by",
    "created_at",
)
TIME_FIELDS = ("scheduled_at", "sent_at", "cancelled_at", "created_at", "updated_at", "started_at", "completed_at")


def _non_negative_or_none(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{what} must be a number >= 0 or null")
    return float(value)


class LoopComms(Vendor):
    """Admin campaigns with create/send/cancel/history; campaigns and sends move on with time."""

    name = "loop"
    base_path = ""
    default_config: dict[str, Any] = {
        "api_key": "lph_at_sandbox_token",
        "unscoped_token": "lph_at_sandbox_unscoped",  # valid token without the admin scope: 403
        "rate_limit_per_second": 0,  # nothing documented for comms
        "recancel_status": 200,
        "cancel_sent_status": 409,
        "refusal_body": "message",
        "history_unknown_campaign": "empty",
        "cancel_drain_s": 0,
        "send_duration_s": 2,
        "status_case": "lower",
    }

    def routes(self) -> None:
        r = self.router
        r.add("POST", "/v1/admin/campaigns", self._scoped(self.create_campaign))
        r.add("POST", "/v1/admin/campaigns/{id}/send", self._scoped(self.send_campaign))
        r.add("POST", "/v1/admin/campaigns/{id}/cancel", self._scoped(self.cancel_campaign))
        r.add("GET", "/v1/admin/campaigns/{id}/history", self._scoped(self.history))

    def init_state(self) -> dict[str, Any]:
        return {"campaigns": {}, "seq": 0, "cancel_calls": [], "fail_cancels_after_applying": 0}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "unscoped_token"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"loop.{key} must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("loop.rate_limit_per_second must be an integer >= 0")
        if cfg["recancel_status"] not in (200, *REFUSAL_STATUSES):
            raise ValueError(f"loop.recancel_status must be one of {(200, *REFUSAL_STATUSES)}")
        if cfg["cancel_sent_status"] not in (200, *REFUSAL_STATUSES):
            raise ValueError(f"loop.cancel_sent_status must be one of {(200, *REFUSAL_STATUSES)}")
        if cfg["refusal_body"] not in ("message", "campaign"):
            raise ValueError("loop.refusal_body must be 'message' or 'campaign'")
        if cfg["history_unknown_campaign"] not in ("empty", "404"):
            raise ValueError("loop.history_unknown_campaign must be 'empty' or '404'")
        if cfg["status_case"] not in ("lower", "upper", "title"):
            raise ValueError("loop.status_case must be 'lower', 'upper' or 'title'")
        if _non_negative_or_none(cfg["cancel_drain_s"], "loop.cancel_drain_s") is None:
            raise ValueError("loop.cancel_drain_s must be a number >= 0")
        duration = cfg["send_duration_s"]
        if duration is not None and not _non_negative_or_none(duration, "loop.send_duration_s"):
            raise ValueError("loop.send_duration_s must be a positive number or null")

    # ------------------------------------------------------------- auth and errors

    def authenticate(self, req: Request) -> str | None:
        token = bearer_token(req)
        for key in ("api_key", "unscoped_token"):
            expected = str(self.config.get(key) or "")
            if token and expected and secrets.compare_digest(token, expected):
                return org_id(self.config["api_key"])  # one org; the scope is checked per route
        return None

    def _scoped(self, handler: Any) -> Any:
        def check_scope(req: Request) -> Response:
            token = bearer_token(req) or ""
            if secrets.compare_digest(token, str(self.config["unscoped_token"])):
                raise HTTPError(403, "insufficient_scope", "The access token lacks the scope this endpoint requires")
            return handler(req)

        return check_scope

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(status, {"error": name, "message": message})

    def unauthorized(self) -> Response:
        return self.error(401, "unauthorized", "Missing or invalid access token")

    # ------------------------------------------------------------- model

    def _case(self, status: str) -> str:
        return {"upper": status.upper(), "title": status.title()}.get(self.config["status_case"], status)

    def _new(
        self,
        fields: dict[str, Any],
        status: str,
        *,
        campaign_id: str | None = None,
        scheduled_at: float | None = None,
        cancelled_at: float | None = None,
        advance_every_s: float | None = None,
        drain_s: float | None = None,
        total_recipients: int = DEFAULT_RECIPIENTS,
        created_by: str = "sandbox-admin",
    ) -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        c: dict[str, Any] = {
            "id": campaign_id or uuid7(),
            "brand_id": fields.get("brand_id") or "brand_sandbox",
            "name": fields.get("name") or "Sandbox campaign",
            "subject": fields.get("subject") or "",
            "channel": fields.get("channel") or "email",
            "template_key": fields.get("template_key") or "sandbox-template",
            "segment_criteria": fields.get("segment_criteria") or {},
            "variables": fields.get("variables") or {},
            "status": status,
            "scheduled_at": scheduled_at,
            "sent_at": None,
            "cancelled_at": (cancelled_at if cancelled_at is not None else now) if status == "cancelled" else None,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
            # sandbox-only
            "advance_every_s": advance_every_s,
            "drain_s": drain_s,
            "total_recipients": total_recipients,
            "entered_at": now,
            "seq": self.state["seq"],
            "sends": [],
        }
        self.state["campaigns"][c["id"]] = c
        if status == "sending":
            self._start_send(c, now, advance_every_s, created_by)
        elif status == "sent":
            send = self._start_send(c, now, None, created_by)
            self._finish_send(send, now, stopped=False)
            c.update(status="sent", sent_at=now)
        return c

    def _start_send(
        self, c: dict[str, Any], at: float, duration_s: float | None, created_by: str, total: int | None = None
    ) -> dict[str, Any]:
        send = {
            "id": uuid7(),
            "campaign_id": c["id"],
            "brand_id": c["brand_id"],
            "status": "sending",
            "total_recipients": c["total_recipients"] if total is None else total,
            "sent": 0,
            "failed": 0,
            "started_at": at,
            "completed_at": None,
            "created_by": created_by,
            "created_at": at,
            "due_at": at + duration_s if duration_s else None,
            "stop_at": None,
        }
        c["sends"].append(send)
        c.update(status="sending", entered_at=at, updated_at=at)
        return send

    @staticmethod
    def _progress(send: dict[str, Any], at: float) -> int:
        """Recipients delivered by ``at``: linear over the send's planned duration."""
        if send["due_at"] is None or send["due_at"] <= send["started_at"]:
            return 0 if send["completed_at"] is None else send["total_recipients"]
        share = min(1.0, max(0.0, (at - send["started_at"]) / (send["due_at"] - send["started_at"])))
        return math.floor(send["total_recipients"] * share)

    def _finish_send(self, send: dict[str, Any], at: float, *, stopped: bool) -> None:
        send["sent"] = self._progress(send, at) if stopped else send["total_recipients"]
        send.update(status="cancelled" if stopped else "completed", completed_at=at)

    @staticmethod
    def _send_end(send: dict[str, Any]) -> tuple[float | None, bool]:
        """When a running send finishes and whether a cancel stopped it."""
        due, stop = send["due_at"], send["stop_at"]
        if stop is not None and (due is None or stop < due):
            return stop, True
        return due, False

    def _schedule_due(self, c: dict[str, Any]) -> float | None:
        due = [c["entered_at"] + c["advance_every_s"]] if c["advance_every_s"] else []
        if c["scheduled_at"] is not None:
            due.append(c["scheduled_at"])
        return min(due) if due else None

    def _settle(self, c: dict[str, Any]) -> dict[str, Any]:
        """Apply every time-based transition that is due (lazy: computed on read)."""
        now = self.clock.now()
        while True:
            if c["status"] == "scheduled" and (due := self._schedule_due(c)) is not None and due <= now:
                self._start_send(c, due, c["advance_every_s"], "scheduler")
                continue
            finished = False
            for send in c["sends"]:
                end, stopped = self._send_end(send)
                if send["completed_at"] is None and end is not None and end <= now:
                    self._finish_send(send, end, stopped=stopped)
                    finished = True
            if c["status"] == "sending" and c["sends"] and all(s["completed_at"] for s in c["sends"]):
                done_at = max(s["completed_at"] for s in c["sends"])
                c.update(status="sent", sent_at=done_at, updated_at=done_at, entered_at=done_at)
                continue
            if not finished:
                return c

    def _find(self, campaign_id: str) -> dict[str, Any]:
        c = self.state["campaigns"].get(campaign_id)
        if c is None:
            raise HTTPError(404, "not_found", "Campaign not found")
        return self._settle(c)

    def _cancel(self, c: dict[str, Any], at: float) -> None:
        drain = c["drain_s"] if c["drain_s"] is not None else float(self.config["cancel_drain_s"])
        for send in c["sends"]:
            if send["completed_at"] is None:
                send["stop_at"] = at + drain
        c.update(status="cancelled", cancelled_at=at, updated_at=at, entered_at=at)
        self._settle(c)  # a drain of 0 stops running sends at once

    def _render(self, c: dict[str, Any]) -> dict[str, Any]:
        out = {k: c[k] for k in CAMPAIGN_FIELDS}
        for k in ("scheduled_at", "sent_at", "cancelled_at", "created_at", "updated_at"):
            out[k] = self.clock.iso(c[k])
        out["status"] = self._case(c["status"])
        return out

    def _render_send(self, send: dict[str, Any]) -> dict[str, Any]:
        out = {k: send[k] for k in SEND_FIELDS}
        for k in ("started_at", "completed_at", "created_at"):
            out[k] = self.clock.iso(send[k])
        if send["completed_at"] is None:
            out["sent"] = self._progress(send, self.clock.now())
        out["status"] = self._case(send["status"])
        return out

    # ------------------------------------------------------------- API

    def create_campaign(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        missing = [
            k
            for k in ("brand_id", "name", "subject", "template_key")
            if not isinstance(body.get(k), str) or not body[k].strip()
        ]
        if missing:
            raise HTTPError(400, "validation_error", f"Missing required fields: {', '.join(missing)}")
        c = self._new({**body, "channel": body.get("channel") or "email"}, "draft", created_by="api")
        return Response(201, {"campaign": self._render(c)})

    def send_campaign(self, req: Request) -> Response:
        c = self._find(req.params["id"])
        recipients = req.body.get("recipients") if isinstance(req.body, dict) else None
        if (
            not isinstance(recipients, list)
            or not recipients
            or not all(isinstance(r, dict) and r.get("person_id") and r.get("recipient") for r in recipients)
        ):
            raise HTTPError(400, "validation_error", "recipients must be a non-empty list of {person_id, recipient}")
        if c["status"] in ("sending", "sent"):
            raise HTTPError(409, "conflict", "Campaign already sent")
        if c["status"] == "cancelled":
            raise HTTPError(409, "conflict", "Campaign is cancelled")
        send = self._start_send(c, self.clock.now(), self.config["send_duration_s"], "api", total=len(recipients))
        return Response(200, {"send": self._render_send(send)})

    def cancel_campaign(self, req: Request) -> Response:
        campaign_id, now = req.params["id"], self.clock.now()
        call: dict[str, Any] = {"campaign_id": campaign_id, "at": self.clock.iso(now), "previous_status": None}
        self.state["cancel_calls"].append(call)
        try:
            c = self._find(campaign_id)
        except HTTPError as e:
            call.update(status_code=e.status, result="not_found")
            raise
        previous = call["previous_status"] = c["status"]
        if previous in CANCELLABLE:
            self._cancel(c, now)
            if self.state["fail_cancels_after_applying"] > 0:  # the documented 500 "Cancel failed", after the fact
                self.state["fail_cancels_after_applying"] -= 1
                call.update(status_code=500, result="cancelled_then_500")
                raise HTTPError(500, "internal_error", "Cancel failed")
            call.update(status_code=200, result="cancelled")
            return Response(200, {"campaign": self._render(c)})
        answer = self.config["recancel_status" if previous == "cancelled" else "cancel_sent_status"]
        if answer == 200:
            call.update(status_code=200, result=f"unchanged_{previous}")
            return Response(200, {"campaign": self._render(c)})
        call.update(status_code=answer, result=f"refused_{previous}")
        message = "Campaign already cancelled" if previous == "cancelled" else "Campaign already sent"
        body: dict[str, Any] = {"error": REFUSAL_NAMES[answer], "message": message}
        if self.config["refusal_body"] == "campaign":
            body["campaign"] = self._render(c)
        return Response(answer, body)

    def history(self, req: Request) -> Response:
        c = self.state["campaigns"].get(req.params["id"])
        if c is None:
            if self.config["history_unknown_campaign"] == "404":
                raise HTTPError(404, "not_found", "Campaign not found")
            return Response(200, {"sends": []})
        self._settle(c)
        return Response(200, {"sends": [self._render_send(s) for s in c["sends"]]})

    # ------------------------------------------------------------- admin

    def _admin_view(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        view = {k: v for k, v in c.items() if k not in ("entered_at", "seq", "sends")}
        for k in TIME_FIELDS:
            if k in view:
                view[k] = iso(view[k])
        view["sends"] = [
            {**self._render_send(s), "status": s["status"], "due_at": iso(s["due_at"]), "stop_at": iso(s["stop_at"])}
            for s in c["sends"]
        ]
        view["next_transition_at"] = iso(self._schedule_due(c)) if c["status"] == "scheduled" else None
        return view

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"campaigns": [{"id", "status", "advance_every_s", "drain_s", "total_recipients",
        "scheduled_at", "cancelled_at", "name", "brand_id", ...}], "fail_cancels_after_applying": n}``."""
        if not isinstance(body, dict) or not isinstance(body.get("campaigns", []), list):
            raise ValueError('body must be {"campaigns": [...], "fail_cancels_after_applying"?: n}')
        fail_after = body.get("fail_cancels_after_applying", 0)
        if isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0:
            raise ValueError("fail_cancels_after_applying must be an integer >= 0")
        prepared, ids = [], set()
        for i, item in enumerate(body.get("campaigns", [])):  # validate everything before creating anything
            if not isinstance(item, dict):
                raise ValueError(f"campaigns[{i}] must be an object")
            status = str(item.get("status", "draft")).lower()
            if status not in STATUSES:
                raise ValueError(f"campaigns[{i}].status must be one of {STATUSES}")
            cid = item.get("id")
            if cid is not None and (
                not isinstance(cid, str) or not cid or "/" in cid or cid in self.state["campaigns"] or cid in ids
            ):
                raise ValueError(f"campaigns[{i}].id must be a new, non-empty string without '/'")
            ids.add(cid)
            total = item.get("total_recipients", DEFAULT_RECIPIENTS)
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise ValueError(f"campaigns[{i}].total_recipients must be an integer >= 0")
            times = {}
            for key in ("scheduled_at", "cancelled_at"):
                value = item.get(key)
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"campaigns[{i}].{key} must be an ISO 8601 string")
                times[key] = self.clock.parse_iso(value) if value else None
            every = _non_negative_or_none(item.get("advance_every_s"), f"campaigns[{i}].advance_every_s")
            if status == "scheduled" and times["scheduled_at"] is None:
                times["scheduled_at"] = self.clock.now() + (every or DEFAULT_SCHEDULE_AHEAD_S)
            prepared.append(
                dict[str, Any](
                    fields={"name": f"Sandbox campaign {i + 1}", **item},
                    status=status,
                    campaign_id=cid,
                    advance_every_s=every,
                    drain_s=_non_negative_or_none(item.get("drain_s"), f"campaigns[{i}].drain_s"),
                    total_recipients=total,
                    **times,
                )
            )
        created = [self._new(p.pop("fields"), p.pop("status"), **p) for p in prepared]
        self.state["fail_cancels_after_applying"] += fail_after
        return {"campaigns": [self._admin_view(c) for c in created]}

    def dump_state(self) -> dict[str, Any]:
        rows = sorted((self._settle(c) for c in self.state["campaigns"].values()), key=lambda c: c["seq"])
        return {
            "campaigns": [self._admin_view(c) for c in rows],
            "cancel_calls": self.state["cancel_calls"],
            "fail_cancels_after_applying": self.state["fail_cancels_after_applying"],
        }

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id", "status"?}``: the next step now (scheduled -> sending -> sent; a cancelled
        campaign's running sends finish), or jump to ``status``."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ..., "status"?: ...}')
        c = self.state["campaigns"].get(body["id"])
        if c is None:
            raise HTTPError(404, "not_found", f"no campaign {body['id']!r}")
        self._settle(c)
        now = self.clock.now()
        running = [s for s in c["sends"] if s["completed_at"] is None]
        target = (
            str(body["status"]).lower()
            if body.get("status")
            else {
                "draft": "scheduled",
                "scheduled": "sending",
                "sending": "sent",
            }.get(c["status"], "drained" if running else None)
        )
        if target == "drained" or (target == "sent" and c["status"] == "sending"):
            for send in running:
                self._finish_send(send, now, stopped=send["stop_at"] is not None)
            self._settle(c)
        elif target == "sending":
            self._start_send(c, now, c["advance_every_s"], "scheduler")
        elif target == "scheduled":
            c.update(status="scheduled", entered_at=now, updated_at=now)
        elif target == "cancelled":
            self._cancel(c, now)
        elif target == "sent":
            send = self._start_send(c, now, None, "scheduler")
            self._finish_send(send, now, stopped=False)
            self._settle(c)
        else:
            raise ValueError(f"campaign is {c['status']!r}: no next step; pass status, one of {STATUSES}")
        return {"campaign": self._admin_view(c)}
