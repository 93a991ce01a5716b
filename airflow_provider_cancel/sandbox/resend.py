"""Resend (broadcasts and scheduled emails), per its public API reference, changelog and errors page.

Mounted at ``/resend`` (real: ``https://api.resend.com``, no version prefix). Serves list/get/cancel of
broadcasts, get/cancel of emails, sending an email (``Idempotency-Key``, 1 to 256 characters) and the
documented error shape ``{"statusCode", "name", "message"}``. 2 requests/s per team with
``ratelimit-limit``/``-remaining``/``-reset`` and ``retry-after`` (documented).

Keys: ``re_sandbox_key`` has full access; ``re_sandbox_sending_key`` may only send (anything else:
401 ``restricted_api_key``). No key: 401 ``missing_api_key``; a wrong one: 403 ``invalid_api_key``.

States move by themselves. A broadcast: scheduled -> (at ``scheduled_at``) queued -> (after
``send_duration_s``) sent. Cancel (the changelog): scheduled -> draft, queued -> canceled; draft, sent
and failed are refused with ``validation_error``. An email: scheduled -> (at ``scheduled_at``) sent ->
delivered one second later; cancel works while it is scheduled.

Readings of what the docs leave open (``POST /_admin/config {"resend": {...}}``):

* ``refusal_status``: the status of that ``validation_error``: 403 (default, the SDK's tests), 422 or 400.
* ``recancel``: cancelling what is already canceled. ``"200"`` (default: canceled is not in the
  documented list of refused states, so it is accepted again, unchanged) or ``"refuse"``.
* ``email_cancel_body``: ``"docs"`` (default, ``{"object": "email", "id"}``) or ``"openapi"`` (the
  whole email object).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor, bearer_token, org_id, uuid7

BROADCAST_STATUSES = ("draft", "scheduled", "queued", "sent", "canceled", "failed")
EMAIL_EVENTS = ("scheduled", "sent", "delivered", "canceled", "failed", "bounced")
NEXT = {"scheduled": "queued", "queued": "sent"}


class Resend(Vendor):
    """Broadcasts and emails with cancel."""

    name = "resend"
    base_path = ""
    default_config: dict[str, Any] = {
        "api_key": "re_sandbox_key",
        "sending_key": "re_sandbox_sending_key",
        "rate_limit_per_second": 2,
        "refusal_status": 403,
        "invalid_key_status": 401,
        "recancel": "200",
        "email_cancel_body": "docs",
        "send_duration_s": 5.0,  # how long a queued broadcast keeps sending (not documented)
    }
    idempotency_header = "Idempotency-Key"
    idempotency_max_len = 256

    def routes(self) -> None:
        r, full = self.router, self._full_access
        r.add("GET", "/broadcasts", full(self.list_broadcasts))
        r.add("GET", "/broadcasts/{id}", full(self.get_broadcast))
        r.add("POST", "/broadcasts/{id}/cancel", full(self.cancel_broadcast))
        r.add("POST", "/emails", self.send_email, idempotent=True)
        r.add("GET", "/emails/{id}", full(self.get_email))
        r.add("POST", "/emails/{id}/cancel", full(self.cancel_email))

    def init_state(self) -> dict[str, Any]:
        return {"broadcasts": {}, "emails": {}, "seq": 0, "cancel_calls": []}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "sending_key"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"resend.{key} must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("resend.rate_limit_per_second must be an integer >= 0")
        if cfg["refusal_status"] not in (400, 403, 422):
            raise ValueError("resend.refusal_status must be 400, 403 or 422")
        if cfg["invalid_key_status"] not in (401, 403):
            raise ValueError("resend.invalid_key_status must be 401 or 403")
        if cfg["recancel"] not in ("200", "refuse"):
            raise ValueError("resend.recancel must be '200' or 'refuse'")
        if cfg["email_cancel_body"] not in ("docs", "openapi"):
            raise ValueError("resend.email_cancel_body must be 'docs' or 'openapi'")
        duration = cfg["send_duration_s"]
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
            raise ValueError("resend.send_duration_s must be a number >= 0")

    # ------------------------------------------------------------- auth and errors
    # Why the last authentication on this thread failed (the app asks for the 401 body without the request).
    _auth_failure = threading.local()

    def authenticate(self, req: Request) -> str | None:
        """The team of a full-access or sending-only key; the route refuses a sending-only key (401)."""
        kind = self._key_kind(req)
        self._auth_failure.reason = kind
        return org_id(self.config["api_key"]) if kind in ("full", "sending") else None

    def _key_kind(self, req: Request) -> str:
        token = bearer_token(req)
        if not token:
            return "missing"
        if secrets.compare_digest(token, self.config["api_key"]):
            return "full"
        if secrets.compare_digest(token, self.config["sending_key"]):
            return "sending"
        return "invalid"

    def _full_access(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if self._key_kind(req) == "sending":
                raise HTTPError(401, "restricted_api_key", "This API key is restricted to only send emails")
            return handler(req)

        return guarded

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(status, {"statusCode": status, "name": name, "message": message})

    def unauthorized(self) -> Response:
        if getattr(self._auth_failure, "reason", None) == "invalid":
            return self.error(int(self.config["invalid_key_status"]), "invalid_api_key", "API key is invalid")
        return self.error(401, "missing_api_key", "Missing API key in the authorization header")

    def rate_limited(self) -> Response:
        return self.error(429, "rate_limit_exceeded", "Too many requests. You can only make 2 requests per second.")

    def _refuse(self, message: str) -> HTTPError:
        return HTTPError(int(self.config["refusal_status"]), "validation_error", message)

    # ------------------------------------------------------------- model
    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return int(self.state["seq"])

    def _settle_broadcast(self, b: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        if b["status"] == "scheduled" and b["scheduled_at"] is not None and b["scheduled_at"] <= now:
            b.update(status="queued", queued_at=b["scheduled_at"])
        if b["status"] == "queued" and b["queued_at"] + b["send_duration_s"] <= now:
            b.update(status="sent", sent_at=b["queued_at"] + b["send_duration_s"])
        return b

    def _settle_email(self, e: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        if e["last_event"] == "scheduled" and e["scheduled_at"] is not None and e["scheduled_at"] <= now:
            e["last_event"] = "sent"
        if e["last_event"] == "sent" and (e["scheduled_at"] or e["created_at"]) + 1 <= now:
            e["last_event"] = "delivered"
        return e

    def _broadcast(self, broadcast_id: str) -> dict[str, Any]:
        b = self.state["broadcasts"].get(broadcast_id)
        if b is None:
            raise HTTPError(404, "not_found", "Broadcast not found")
        return self._settle_broadcast(b)

    def _email(self, email_id: str) -> dict[str, Any]:
        e = self.state["emails"].get(email_id)
        if e is None:
            raise HTTPError(404, "not_found", "Email not found")
        return self._settle_email(e)

    def _render_broadcast(self, b: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        return {
            "object": "broadcast",
            "id": b["id"],
            "name": b["name"],
            "segment_id": b["segment_id"],
            "status": b["status"],
            "created_at": iso(b["created_at"]),
            "scheduled_at": iso(b["scheduled_at"]),
            "sent_at": iso(b["sent_at"]),
        }

    def _render_email(self, e: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        return {
            "object": "email",
            "id": e["id"],
            "to": e["to"],
            "from": e["from"],
            "subject": e["subject"],
            "created_at": iso(e["created_at"]),
            "scheduled_at": iso(e["scheduled_at"]),
            "last_event": e["last_event"],
        }

    def _call(self, kind: str, object_id: str) -> dict[str, Any]:
        call = {"kind": kind, "id": object_id, "at": self.clock.iso(self.clock.now()), "previous_status": None}
        self.state["cancel_calls"].append(call)
        return call

    def _cancel_call(
        self, kind: str, req: Request, find: Callable[[str], dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A cancel's record and the object it names; an unknown id is recorded as ``not_found``, then raised."""
        call = self._call(kind, req.params["id"])
        try:
            return call, find(req.params["id"])
        except HTTPError as err:
            call.update(status_code=err.status, result="not_found")
            raise

    # ------------------------------------------------------------- API
    def list_broadcasts(self, req: Request) -> Response:
        rows = sorted(self.state["broadcasts"].values(), key=lambda b: -b["seq"])
        data = [self._render_broadcast(self._settle_broadcast(b)) for b in rows]
        return Response(200, {"object": "list", "has_more": False, "data": data})

    def get_broadcast(self, req: Request) -> Response:
        return Response(200, self._render_broadcast(self._broadcast(req.params["id"])))

    def cancel_broadcast(self, req: Request) -> Response:
        call, b = self._cancel_call("broadcast", req, self._broadcast)
        previous = call["previous_status"] = b["status"]
        if previous == "scheduled":
            b.update(status="draft", scheduled_at=None)
            result = "unscheduled"
        elif previous == "queued":
            b.update(status="canceled", canceled_at=self.clock.now())
            result = "canceled"
        elif previous == "canceled" and self.config["recancel"] == "200":
            result = "already_canceled"
        else:
            call.update(status_code=int(self.config["refusal_status"]), result="refused")
            raise self._refuse(f"Broadcast with status `{previous}` cannot be canceled")
        call.update(status_code=200, result=result)
        return Response(200, {"id": b["id"], "object": "broadcast"})

    def send_email(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        missing = [k for k in ("from", "to", "subject") if not body.get(k)]
        if missing:
            raise HTTPError(422, "missing_required_field", f"Missing `{missing[0]}` field.")
        scheduled_at = None
        if body.get("scheduled_at") is not None:
            try:
                scheduled_at = self.clock.parse_iso(str(body["scheduled_at"]))
            except ValueError:
                raise HTTPError(422, "validation_error", "`scheduled_at` must be an ISO 8601 date") from None
        e = self._new_email(body["to"], body["from"], body["subject"], scheduled_at)
        return Response(200, {"id": e["id"]})

    def get_email(self, req: Request) -> Response:
        return Response(200, self._render_email(self._email(req.params["id"])))

    def cancel_email(self, req: Request) -> Response:
        call, e = self._cancel_call("email", req, self._email)
        previous = call["previous_status"] = e["last_event"]
        if previous == "scheduled":
            e["last_event"] = "canceled"
            result = "canceled"
        elif previous == "canceled" and self.config["recancel"] == "200":
            result = "already_canceled"
        else:
            call.update(status_code=int(self.config["refusal_status"]), result="refused")
            raise self._refuse(f"Email with last event `{previous}` cannot be canceled: only scheduled emails can")
        call.update(status_code=200, result=result)
        if self.config["email_cancel_body"] == "openapi":
            return Response(200, self._render_email(e))
        return Response(200, {"object": "email", "id": e["id"]})

    # ------------------------------------------------------------- admin
    def _new_broadcast(self, item: dict[str, Any], status: str) -> dict[str, Any]:
        now = self.clock.now()
        ahead = float(item.get("scheduled_in_s", 3600))
        b = {
            "id": item.get("id") or uuid7(),
            "name": item.get("name", "Sandbox broadcast"),
            "segment_id": item.get("segment_id", "78261eea-8f8b-4381-83c6-79fa7120f1cf"),
            "status": status,
            "created_at": now,
            "scheduled_at": now + ahead if status == "scheduled" else None,
            "queued_at": now if status == "queued" else None,
            "sent_at": now if status == "sent" else None,
            "send_duration_s": float(item.get("send_duration_s", self.config["send_duration_s"])),
            "seq": self._next_seq(),
        }
        if status == "queued" and "send_duration_s" not in item:
            b["send_duration_s"] = max(b["send_duration_s"], 3600.0)  # seeded "sending" stays sending
        self.state["broadcasts"][b["id"]] = b
        return b

    def _new_email(
        self, to: Any, sender: Any, subject: Any, scheduled_at: float | None, **fields: Any
    ) -> dict[str, Any]:
        e = {
            "id": fields.get("id") or uuid7(),
            "to": to if isinstance(to, list) else [to],
            "from": sender,
            "subject": subject,
            "created_at": self.clock.now(),
            "scheduled_at": scheduled_at,
            "last_event": fields.get("last_event") or ("scheduled" if scheduled_at else "sent"),
            "seq": self._next_seq(),
        }
        self.state["emails"][e["id"]] = e
        return e

    def _check_id(self, value: Any, where: str, taken: dict[str, Any]) -> None:
        if value is not None and (not isinstance(value, str) or not value or "/" in value or value in taken):
            raise ValueError(f"{where}.id must be a new, non-empty string without '/'")

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"broadcasts": [{"id"?, "status", "scheduled_in_s"?, "send_duration_s"?}], "emails": [{"id"?, "last_event", "scheduled_in_s"?}]}``."""
        if not isinstance(body, dict) or not set(body) <= {"broadcasts", "emails"}:
            raise ValueError('body must be {"broadcasts": [...], "emails": [...]}')
        broadcasts, emails = body.get("broadcasts") or [], body.get("emails") or []
        if not isinstance(broadcasts, list) or not isinstance(emails, list):
            raise ValueError("broadcasts and emails must be lists")
        for i, item in enumerate(broadcasts):
            if not isinstance(item, dict) or item.get("status", "scheduled") not in BROADCAST_STATUSES:
                raise ValueError(f"broadcasts[{i}].status must be one of {BROADCAST_STATUSES}")
            self._check_id(item.get("id"), f"broadcasts[{i}]", self.state["broadcasts"])
        for i, item in enumerate(emails):
            if not isinstance(item, dict) or item.get("last_event", "scheduled") not in EMAIL_EVENTS:
                raise ValueError(f"emails[{i}].last_event must be one of {EMAIL_EVENTS}")
            self._check_id(item.get("id"), f"emails[{i}]", self.state["emails"])
        now = self.clock.now()
        made_b = [self._new_broadcast(item, item.get("status", "scheduled")) for item in broadcasts]
        made_e = []
        for item in emails:
            event = item.get("last_event", "scheduled")
            scheduled_at = now + float(item.get("scheduled_in_s", 3600)) if event in ("scheduled", "canceled") else None
            made_e.append(
                self._new_email(
                    "user@example.com",
                    "Sandbox <hi@example.com>",
                    "Hello",
                    scheduled_at,
                    id=item.get("id"),
                    last_event=event,
                )
            )
        return {
            "broadcasts": [self._admin_broadcast(b) for b in made_b],
            "emails": [self._admin_email(e) for e in made_e],
        }

    def _admin_broadcast(self, b: dict[str, Any]) -> dict[str, Any]:
        return self._render_broadcast(self._settle_broadcast(b))

    def _admin_email(self, e: dict[str, Any]) -> dict[str, Any]:
        return self._render_email(self._settle_email(e))

    def dump_state(self) -> dict[str, Any]:
        broadcasts = sorted(self.state["broadcasts"].values(), key=lambda b: b["seq"])
        emails = sorted(self.state["emails"].values(), key=lambda e: e["seq"])
        return {
            "broadcasts": [self._admin_broadcast(b) for b in broadcasts],
            "emails": [self._admin_email(e) for e in emails],
            "cancel_calls": self.state["cancel_calls"],
        }

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id"}``: a broadcast moves to its next status now (scheduled -> queued -> sent)."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ...}')
        b = self._broadcast(str(body["id"]))
        nxt = NEXT.get(b["status"])
        if nxt is None:
            raise ValueError(f"broadcast is {b['status']!r}: no next status")
        now = self.clock.now()
        if nxt == "queued":
            b.update(status="queued", queued_at=now)
        else:
            b.update(status="sent", sent_at=now)
        return {"broadcast": self._admin_broadcast(b)}
