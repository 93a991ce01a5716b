"""Customer.io's App API (API-triggered broadcasts), per its public API reference.

Mounted at ``/customerio``; API root ``/customerio/v1`` (real: ``https://api.customer.io/v1``, EU
``https://api-eu.customer.io/v1``). Serves what a kill switch needs: trigger a broadcast (optionally
``scheduled_at``), read a trigger, cancel a trigger, list workspaces (the Test button).

A trigger moves by itself: scheduled -> (at ``scheduled_at``) resolving its audience for ``resolve_s``
-> processed (``processed_at`` set) -> sending for ``send_s`` -> sent. Cancel works only before it
fires, or while it sends when the trigger has a ``rate_limit`` (the newer reference page); otherwise
409. Timestamps are Unix seconds, ``0`` when unset (the reference's example).

Readings of what the reference leaves open (``POST /_admin/config {"customerio": {...}}``):

* ``recancel``: cancelling a cancelled trigger. ``"200"`` (default) answers the unchanged trigger;
  ``"409"`` and ``"404"`` refuse it.
* ``trigger_fields``: the trigger read. ``"documented"`` (default) returns the reference's fields
  ``id, broadcast_id, created_at, processed_at``; ``"full"`` adds ``scheduled_at``, ``cancelled_at``
  and ``expires_after`` like the cancel answer.
* ``rate_limit_per_second``: 10 (documented for the App API); triggering a broadcast is also limited
  to once per 10 s per broadcast (documented).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor

PHASES = ("scheduled", "resolving", "sending", "sent", "cancelled")
RECANCEL = ("200", "409", "404")
TRIGGER_FIELDS = ("documented", "full")
TRIGGER_EVERY_S = 10.0  # documented: one trigger per broadcast every 10 seconds
CONFLICT = "the broadcast is resolving its audience, already sending, or already sent"


def _number(value: Any, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{what} must be a number >= {minimum:g}")
    return float(value)


class CustomerIo(Vendor):
    """API-triggered broadcasts and their triggers."""

    name = "customerio"
    base_path = "/v1"
    default_config: dict[str, Any] = {
        "api_key": "cio_sandbox_app_key",
        "rate_limit_per_second": 10,
        "recancel": "200",
        "trigger_fields": "documented",
        "resolve_s": 2.0,  # how long a fired trigger resolves its audience (not documented)
        "send_s": 5.0,  # how long a processed trigger keeps sending (not documented)
    }
    ratelimit_header_names: tuple[str, ...] = ()  # type: ignore[assignment]  # Customer.io documents none

    def routes(self) -> None:
        r = self.router
        r.add("GET", "/workspaces", self.workspaces)
        r.add("POST", "/campaigns/{broadcast_id}/triggers", self.trigger_broadcast)
        r.add("GET", "/campaigns/{broadcast_id}/triggers/{trigger_id}", self.get_trigger)
        r.add("POST", "/campaigns/{broadcast_id}/triggers/{trigger_id}/cancel", self.cancel_trigger)

    def init_state(self) -> dict[str, Any]:
        return {"triggers": {}, "next_id": 100, "cancel_calls": [], "last_trigger_at": {}}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        if not isinstance(cfg["api_key"], str) or not cfg["api_key"]:
            raise ValueError("customerio.api_key must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("customerio.rate_limit_per_second must be an integer >= 0")
        if str(cfg["recancel"]) not in RECANCEL:
            raise ValueError(f"customerio.recancel must be one of {RECANCEL}")
        cfg["recancel"] = str(cfg["recancel"])
        if cfg["trigger_fields"] not in TRIGGER_FIELDS:
            raise ValueError(f"customerio.trigger_fields must be one of {TRIGGER_FIELDS}")
        _number(cfg["resolve_s"], "customerio.resolve_s")
        _number(cfg["send_s"], "customerio.send_s")

    # ------------------------------------------------------------- errors: {"errors": [{"detail", "status"}]}
    def error(self, status: int, name: str, message: str) -> Response:
        return Response(status, {"errors": [{"detail": message, "status": str(status)}]})

    def unauthorized(self) -> Response:
        return self.error(401, "unauthorized", "unauthorized")

    def rate_limited(self) -> Response:
        return self.error(429, "rate_limited", "over the 10-per-second limit")

    # ------------------------------------------------------------- model
    def _new(self, broadcast_id: int, scheduled_at: float, **fields: Any) -> dict[str, Any]:
        state = self.state
        trigger_id = fields.pop("id", None)
        if trigger_id is None:
            state["next_id"] += 1
            trigger_id = state["next_id"]
        now = self.clock.now()
        t = {
            "id": int(trigger_id),
            "broadcast_id": int(broadcast_id),
            "created_at": now,
            "scheduled_at": scheduled_at,
            "cancelled_at": None,
            "rate_limit": fields.get("rate_limit"),
            "resolve_s": fields.get("resolve_s", self.config["resolve_s"]),
            "send_s": fields.get("send_s", self.config["send_s"]),
            "audience_count": fields.get("audience_count", 0),
        }
        state["triggers"][(int(broadcast_id), int(trigger_id))] = t
        return t

    def _phase(self, t: dict[str, Any]) -> str:
        if t["cancelled_at"] is not None:
            return "cancelled"
        now = self.clock.now()
        if now < t["scheduled_at"]:
            return "scheduled"
        processed_at = t["scheduled_at"] + t["resolve_s"]
        if now < processed_at:
            return "resolving"
        return "sending" if now < processed_at + t["send_s"] else "sent"

    def _processed_at(self, t: dict[str, Any]) -> float | None:
        processed_at = t["scheduled_at"] + t["resolve_s"]
        if t["cancelled_at"] is not None and t["cancelled_at"] < processed_at:
            return None
        return processed_at if self.clock.now() >= processed_at else None

    @staticmethod
    def _ts(value: float | None) -> int:
        return int(value) if value is not None else 0

    def _render(self, t: dict[str, Any], fields: str = "full") -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": t["id"],
            "broadcast_id": t["broadcast_id"],
            "created_at": self._ts(t["created_at"]),
            "processed_at": self._ts(self._processed_at(t)),
        }
        if fields == "full":
            out.update(
                audience_count=t["audience_count"],
                cancelled_at=self._ts(t["cancelled_at"]),
                expires_after=0,
                scheduled_at=self._ts(t["scheduled_at"]),
            )
        return out

    def _find(self, req: Request) -> dict[str, Any]:
        try:
            key = (int(req.params["broadcast_id"]), int(req.params["trigger_id"]))
        except ValueError:
            raise HTTPError(400, "bad_request", "bad request: the broadcastID or triggerID is invalid") from None
        t = self.state["triggers"].get(key)
        if t is None:
            raise HTTPError(404, "not_found", "not found")
        return t

    # ------------------------------------------------------------- API
    def workspaces(self, req: Request) -> Response:
        return Response(200, {"workspaces": [{"id": 1, "name": "Sandbox workspace", "messages_sent": 0}]})

    def trigger_broadcast(self, req: Request) -> Response:
        try:
            broadcast_id = int(req.params["broadcast_id"])
        except ValueError:
            raise HTTPError(400, "bad_request", "bad request: the broadcastID is invalid") from None
        now = self.clock.now()
        last = self.state["last_trigger_at"].get(broadcast_id)
        if last is not None and now - last < TRIGGER_EVERY_S:
            raise HTTPError(429, "rate_limited", "a broadcast can be triggered once every 10 seconds")
        body = req.body if isinstance(req.body, dict) else {}
        scheduled_at = body.get("scheduled_at", now)
        if isinstance(scheduled_at, bool) or not isinstance(scheduled_at, (int, float)):
            raise HTTPError(400, "bad_request", "bad request: scheduled_at must be a Unix timestamp")
        self.state["last_trigger_at"][broadcast_id] = now
        t = self._new(broadcast_id, float(scheduled_at), rate_limit=body.get("rate_limit"))
        return Response(200, {"id": t["id"]})

    def get_trigger(self, req: Request) -> Response:
        t = self._find(req)
        return Response(200, {"trigger": self._render(t, self.config["trigger_fields"])})

    def cancel_trigger(self, req: Request) -> Response:
        call: dict[str, Any] = {
            "broadcast_id": req.params["broadcast_id"],
            "trigger_id": req.params["trigger_id"],
            "at": self.clock.iso(self.clock.now()),
            "previous_phase": None,
        }
        self.state["cancel_calls"].append(call)
        try:
            t = self._find(req)
        except HTTPError as e:
            call.update(status_code=e.status, result="not_found" if e.status == 404 else "rejected")
            raise
        phase = call["previous_phase"] = self._phase(t)
        if phase == "cancelled":
            recancel = self.config["recancel"]
            call.update(status_code=int(recancel), result="already_cancelled")
            if recancel == "409":
                raise HTTPError(409, "conflict", CONFLICT)
            if recancel == "404":
                raise HTTPError(404, "not_found", "not found")
            return Response(200, {"trigger": self._render(t)})
        if phase == "scheduled" or (phase == "sending" and t["rate_limit"]):
            t["cancelled_at"] = self.clock.now()
            call.update(status_code=200, result="cancelled")
            return Response(200, {"trigger": self._render(t)})
        call.update(status_code=409, result="conflict")
        raise HTTPError(409, "conflict", CONFLICT)

    # ------------------------------------------------------------- admin
    def _admin_view(self, t: dict[str, Any]) -> dict[str, Any]:
        return {**self._render(t), "rate_limit": t["rate_limit"], "phase": self._phase(t)}

    def seed(self, body: Any) -> dict[str, Any]:
        """
        ``{"triggers": [{"broadcast_id", "id"?, "status": "scheduled"|"resolving"|"sending"|"sent"|"cancelled",
        "rate_limit"?, "scheduled_in_s"?, "resolve_s"?, "send_s"?, "audience_count"?}]}``.
        """
        items = body.get("triggers") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError('body must be {"triggers": [...]}')
        plans = []
        keys: set[tuple[int, int]] = set()
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"triggers[{i}] must be an object")
            status = item.get("status", "scheduled")
            if status not in PHASES:
                raise ValueError(f"triggers[{i}].status must be one of {PHASES}")
            broadcast_id = item.get("broadcast_id", 1)
            if isinstance(broadcast_id, bool) or not isinstance(broadcast_id, int) or broadcast_id <= 0:
                raise ValueError(f"triggers[{i}].broadcast_id must be a positive integer")
            tid = item.get("id")
            if tid is not None:
                if isinstance(tid, bool) or not isinstance(tid, int) or tid <= 0:
                    raise ValueError(f"triggers[{i}].id must be a positive integer")
                if (broadcast_id, tid) in self.state["triggers"] or (broadcast_id, tid) in keys:
                    raise ValueError(f"triggers[{i}].id {tid} exists already")
                keys.add((broadcast_id, tid))
            resolve_s = _number(item.get("resolve_s", self.config["resolve_s"]), f"triggers[{i}].resolve_s")
            send_s = _number(item.get("send_s", self.config["send_s"]), f"triggers[{i}].send_s")
            ahead = _number(item.get("scheduled_in_s", 3600), f"triggers[{i}].scheduled_in_s", minimum=1)
            plans.append((i, item, status, broadcast_id, tid, resolve_s, send_s, ahead))
        created = []
        now = self.clock.now()
        for _, item, status, broadcast_id, tid, resolve_s, send_s, ahead in plans:
            if status == "resolving":
                resolve_s = max(resolve_s, 3600.0)
                scheduled_at = now - 1
            elif status == "sending":
                send_s = max(send_s, 3600.0)
                scheduled_at = now - resolve_s - 1
            elif status == "sent":
                scheduled_at = now - resolve_s - send_s - 60
            else:  # scheduled, cancelled
                scheduled_at = now + ahead
            fields = {"rate_limit": item.get("rate_limit"), "resolve_s": resolve_s, "send_s": send_s}
            if "audience_count" in item:
                fields["audience_count"] = item["audience_count"]
            if tid is not None:
                fields["id"] = tid
            t = self._new(broadcast_id, scheduled_at, **fields)
            if status == "cancelled":
                t["cancelled_at"] = now - 60  # cancelled a minute ago, by someone else
            created.append(self._admin_view(t))
        return {"triggers": created}

    def dump_state(self) -> dict[str, Any]:
        triggers = sorted(self.state["triggers"].values(), key=lambda t: (t["broadcast_id"], t["id"]))
        return {"triggers": [self._admin_view(t) for t in triggers], "cancel_calls": self.state["cancel_calls"]}

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"broadcast_id", "trigger_id"}``: the trigger fires now (its ``scheduled_at`` becomes now)."""
        if not isinstance(body, dict):
            raise ValueError('body must be {"broadcast_id": ..., "trigger_id": ...}')
        key = (int(body.get("broadcast_id", 0)), int(body.get("trigger_id", 0)))
        t = self.state["triggers"].get(key)
        if t is None:
            raise HTTPError(404, "not_found", f"no trigger {key}")
        if self._phase(t) == "scheduled":
            t["scheduled_at"] = self.clock.now()
        return {"trigger": self._admin_view(t)}
