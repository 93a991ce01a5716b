"""OneSignal notifications (messages), per its public API reference and its official Python SDK.

Mounted at ``/onesignal`` (real: ``https://api.onesignal.com``). Serves create (``POST /notifications``,
``idempotency_key`` in the body), view (``GET /notifications/{id}?app_id=``), list
(``GET /notifications?app_id=&limit=``) and cancel (``DELETE /notifications/{id}?app_id=``, 200
``{"success": true}``). Errors are ``{"errors": ["..."]}``; a 429 carries ``Retry-After``.

Auth: ``Authorization: Key <App API key>`` (``os_v2_app_sandbox_key``); a legacy REST API key
(``os_legacy_sandbox_key``) works with ``Basic``. Keys belong to one app (``app_id``): another
``app_id`` is refused.

A notification moves by itself: scheduled (``send_after`` in the future) -> sending (``remaining``
falls by ``per_s`` a second) -> completed (``completed_at``). A cancel sets ``canceled`` and stops
the rest; with ``cancel_lag_s`` messages already handed to the push services keep arriving that long
("canceling it may not fully prevent all targeted users from receiving it").

Readings of what the docs leave open (``POST /_admin/config {"onesignal": {...}}``):

* ``sent_status``: cancelling a completed notification. 400 ``Notification has already been sent to
  all recipients`` (default; a third-party report) or 200 ``{"success": true}``, unchanged.
* ``recancel``: cancelling a canceled one. ``"200"`` (default: ``{"success": true}``) or ``"400"``.
* ``not_found_status``: an unknown id, 404 (default) or 400.
* ``rate_limit_per_second``: 0 (default; the documented per-app limits, 150/s and more, are far above
  what a kill switch sends).
"""

from __future__ import annotations

import secrets
from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor, org_id, uuid7

STATUSES = ("scheduled", "sending", "completed", "canceled")


class OneSignal(Vendor):
    """Notifications with view, list, create and cancel."""

    name = "onesignal"
    base_path = ""
    default_config: dict[str, Any] = {
        "api_key": "os_v2_app_sandbox_key",
        "legacy_api_key": "os_legacy_sandbox_key",
        "app_id": "5eb5a37e-b458-11e3-ac11-000c2940e62c",
        "rate_limit_per_second": 0,
        "sent_status": 400,
        "recancel": "200",
        "not_found_status": 404,
        "cancel_lag_s": 0.0,
    }
    ratelimit_header_names: tuple[str, ...] = ()  # type: ignore[assignment]  # only Retry-After is documented

    def routes(self) -> None:
        r = self.router
        r.add("GET", "/notifications", self.list_notifications)
        r.add("POST", "/notifications", self.create_notification)
        r.add("GET", "/notifications/{id}", self.view_notification)
        r.add("DELETE", "/notifications/{id}", self.cancel_notification)

    def init_state(self) -> dict[str, Any]:
        return {"notifications": {}, "seq": 0, "cancel_calls": [], "idempotency": {}}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "legacy_api_key", "app_id"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"onesignal.{key} must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("onesignal.rate_limit_per_second must be an integer >= 0")
        if cfg["sent_status"] not in (200, 400):
            raise ValueError("onesignal.sent_status must be 200 or 400")
        if cfg["recancel"] not in ("200", "400"):
            raise ValueError("onesignal.recancel must be '200' or '400'")
        if cfg["not_found_status"] not in (400, 404):
            raise ValueError("onesignal.not_found_status must be 400 or 404")
        lag = cfg["cancel_lag_s"]
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise ValueError("onesignal.cancel_lag_s must be a number >= 0")

    # ------------------------------------------------------------- auth and errors
    def authenticate(self, req: Request) -> str | None:
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        token = token.strip()
        expected = {"key": self.config["api_key"], "basic": self.config["legacy_api_key"]}.get(scheme.lower())
        if token and expected and secrets.compare_digest(token, expected):
            return org_id(self.config["app_id"])
        return None

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(status, {"errors": [message]})

    def unauthorized(self) -> Response:
        return self.error(
            401, "unauthorized", "Access denied. Please include an 'Authorization: Key' header with a valid API key."
        )

    def rate_limited(self) -> Response:
        return self.error(429, "rate_limited", "API rate limit exceeded.")

    def _check_app(self, req: Request) -> None:
        app_id = req.query.get("app_id")
        if not app_id and isinstance(req.body, dict):
            app_id = req.body.get("app_id")
        if not app_id:
            raise HTTPError(
                400, "bad_request", "app_id not found. You may be missing a Content-Type: application/json header."
            )
        if app_id != self.config["app_id"]:
            raise HTTPError(403, "forbidden", "The API key does not belong to this app_id.")

    # ------------------------------------------------------------- model
    def _settle(self, n: dict[str, Any]) -> dict[str, Any]:
        """Deliver what is due (lazily): ``per_s`` a second from ``send_after`` until done or stopped."""
        now = self.clock.now()
        stop = n["stopped_at"] if n["stopped_at"] is not None else now
        elapsed = max(0.0, min(now, stop) - n["send_after"])
        delivered = min(n["total"], int(elapsed * n["per_s"]))
        n["successful"] = delivered
        n["remaining"] = n["total"] - delivered  # after a cancel: what will never be sent
        if not n["canceled"] and delivered >= n["total"] and n["completed_at"] is None:
            n["completed_at"] = n["send_after"] + n["total"] / n["per_s"]
        return n

    def _status(self, n: dict[str, Any]) -> str:
        if n["canceled"]:
            return "canceled"
        if n["completed_at"] is not None:
            return "completed"
        return "scheduled" if self.clock.now() < n["send_after"] else "sending"

    def _find(self, req: Request) -> dict[str, Any]:
        self._check_app(req)
        n = self.state["notifications"].get(req.params["id"])
        if n is None:
            raise HTTPError(int(self.config["not_found_status"]), "not_found", "Notification not found")
        return self._settle(n)

    def _new(self, item: dict[str, Any], status: str = "scheduled") -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        total = int(item.get("total", 1000))
        per_s = float(item.get("per_s", 10))
        if status in ("scheduled", "canceled"):  # a canceled one: cancelled before it started
            send_after = now + float(item.get("send_in_s", 3600))
        elif status == "sending":
            send_after = now - 1
        else:
            send_after = now - total / per_s - 60
        n = {
            "id": item.get("id") or uuid7(),
            "app_id": self.config["app_id"],
            "contents": item.get("contents", {"en": "Sandbox message"}),
            "send_after": send_after,
            "queued_at": now,
            "completed_at": None,
            "canceled": False,
            "stopped_at": None,
            "total": total,
            "per_s": per_s,
            "successful": 0,
            "remaining": total,
            "seq": self.state["seq"],
        }
        self.state["notifications"][n["id"]] = n
        if status == "canceled":
            n.update(canceled=True, stopped_at=now - 60)
        return self._settle(n)

    def _render(self, n: dict[str, Any]) -> dict[str, Any]:
        as_int = lambda v: None if v is None else int(v)  # noqa: E731
        return {
            "id": n["id"],
            "app_id": n["app_id"],
            "contents": n["contents"],
            "canceled": n["canceled"],
            "send_after": as_int(n["send_after"]),
            "queued_at": as_int(n["queued_at"]),
            "completed_at": as_int(n["completed_at"]),
            "successful": n["successful"],
            "failed": 0,
            "errored": 0,
            "converted": 0,
            "remaining": n["remaining"],
        }

    # ------------------------------------------------------------- API
    def list_notifications(self, req: Request) -> Response:
        self._check_app(req)
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 50:
            raise HTTPError(400, "bad_request", "limit must be between 1 and 50")
        rows = sorted(self.state["notifications"].values(), key=lambda n: -n["seq"])
        page = [self._render(self._settle(n)) for n in rows[:limit]]
        return Response(200, {"total_count": len(rows), "offset": 0, "limit": limit, "notifications": page})

    def create_notification(self, req: Request) -> Response:
        self._check_app(req)
        body = req.body if isinstance(req.body, dict) else {}
        key = body.get("idempotency_key")
        if key is not None and key in self.state["idempotency"]:
            return Response(200, {"id": self.state["idempotency"][key], "external_id": None})
        item: dict[str, Any] = {"contents": body.get("contents") or {"en": "Sandbox message"}}
        status = "sending"
        if body.get("send_after"):
            try:
                send_after = self.clock.parse_iso(str(body["send_after"]))
            except ValueError:
                raise HTTPError(400, "bad_request", "send_after must be a date") from None
            item["send_in_s"], status = max(1.0, send_after - self.clock.now()), "scheduled"
        n = self._new(item, status)
        if key is not None:
            self.state["idempotency"][key] = n["id"]
        return Response(200, {"id": n["id"], "external_id": None})

    def view_notification(self, req: Request) -> Response:
        return Response(200, self._render(self._find(req)))

    def cancel_notification(self, req: Request) -> Response:
        call: dict[str, Any] = {"id": req.params["id"], "at": self.clock.iso(self.clock.now()), "previous_status": None}
        self.state["cancel_calls"].append(call)
        try:
            n = self._find(req)
        except HTTPError as e:
            call.update(status_code=e.status, result="rejected")
            raise
        previous = call["previous_status"] = self._status(n)
        if previous == "canceled":
            call.update(status_code=int(self.config["recancel"]), result="already_canceled")
            if self.config["recancel"] == "400":
                raise HTTPError(400, "bad_request", "Notification has already been canceled")
        elif previous == "completed":
            call.update(status_code=self.config["sent_status"], result="already_sent")
            if self.config["sent_status"] == 400:
                raise HTTPError(400, "bad_request", "Notification has already been sent to all recipients")
        else:
            lag = float(self.config["cancel_lag_s"]) if previous == "sending" else 0.0
            n.update(canceled=True, stopped_at=self.clock.now() + lag)
            call.update(status_code=200, result="canceled")
        return Response(200, {"success": True})

    # ------------------------------------------------------------- admin
    def _admin_view(self, n: dict[str, Any]) -> dict[str, Any]:
        return {**self._render(self._settle(n)), "status": self._status(n)}

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"notifications": [{"id"?, "status": "scheduled"|"sending"|"completed"|"canceled", "total"?, "per_s"?, "send_in_s"?}]}``."""
        items = body.get("notifications") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError('body must be {"notifications": [...]}')
        for i, item in enumerate(items):
            if not isinstance(item, dict) or item.get("status", "scheduled") not in STATUSES:
                raise ValueError(f"notifications[{i}].status must be one of {STATUSES}")
            nid = item.get("id")
            if nid is not None and (
                not isinstance(nid, str) or not nid or "/" in nid or nid in self.state["notifications"]
            ):
                raise ValueError(f"notifications[{i}].id must be a new, non-empty string without '/'")
            for key in ("total", "per_s"):
                value = item.get(key, 1)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ValueError(f"notifications[{i}].{key} must be a positive number")
        made = [self._new(item, item.get("status", "scheduled")) for item in items]
        return {"notifications": [self._admin_view(n) for n in made]}

    def dump_state(self) -> dict[str, Any]:
        rows = sorted(self.state["notifications"].values(), key=lambda n: n["seq"])
        return {"notifications": [self._admin_view(n) for n in rows], "cancel_calls": self.state["cancel_calls"]}

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id"}``: a scheduled notification starts sending now; a sending one completes now."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ...}')
        n = self.state["notifications"].get(str(body["id"]))
        if n is None:
            raise HTTPError(404, "not_found", f"no notification {body['id']!r}")
        status = self._status(self._settle(n))
        now = self.clock.now()
        if status == "scheduled":
            n["send_after"] = now
        elif status == "sending":
            n["per_s"] = max(n["per_s"], n["total"] / max(1e-3, now - n["send_after"]))
        else:
            raise ValueError(f"notification is {status!r}: no next status")
        return {"notification": self._admin_view(n)}
