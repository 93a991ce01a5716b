"""SendGrid scheduled sends (by batch id) and Single Sends, per SendGrid's API reference and OpenAPI files.

Mounted at ``/sendgrid`` (real: ``https://api.sendgrid.com`` or ``https://api.eu.sendgrid.com``).

Served as documented: ``Authorization: Bearer <key>``; errors ``{"errors": [{"field", "message"}]}``;
``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (Unix time) on every answer and a 429 "too many
requests"; ``POST /v3/mail/batch``, ``GET /v3/mail/batch/{id}``; ``POST /v3/user/scheduled_sends``
(201), ``GET``/``PATCH``/``DELETE /v3/user/scheduled_sends/{batch_id}``; ``GET
/v3/marketing/singlesends/{id}`` and ``DELETE .../{id}/schedule`` (200, back to draft); ``GET
/v3/scopes``. Batches go out at their ``send_at`` unless cancelled (discarded) or paused (held, then
expired 72 h later); Single Sends are triggered at theirs. Nothing stops a batch once it went out.

Undocumented, so configurable (``POST /_admin/config {"sendgrid": {...}}``):

* ``existing_hold_status`` (400): the answer to a second cancel/pause of the same batch (documented as
  400; 409 and 422 are the alternatives).
* ``no_hold_answer`` (``"empty"``): ``GET /v3/user/scheduled_sends/{id}`` of a batch without a hold
  answers ``[]``; ``"404"`` answers 404.
* ``late_cancel`` (``"refuse"``): a cancel within 10 minutes of ``send_at`` (or after it) answers 400;
  ``"accept"`` answers 201 and it only takes effect if the batch has not gone out.
* ``unschedule_draft`` (``"ok"``): unscheduling a draft answers 200 again; ``400`` or ``404`` refuse.
* ``retry_after_on_429`` (false): SendGrid documents no ``Retry-After``; true adds one.
* ``hold_after_send_at`` (``"keep"``): a hold stays listed after the send time; ``"drop"`` removes it
  from the listing once the batch was discarded, sent or expired.
"""

from __future__ import annotations

import collections
import math
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor, bearer_token, org_id

HOLDS = ("cancel", "pause")
SINGLE_SEND_STATUSES = ("draft", "scheduled", "triggered")
LEAD_S = 600  # documented: at least 10 minutes before send_at
PAUSE_EXPIRY_S = 72 * 3600  # documented: a paused batch expires 72 hours after send_at
READ_SCOPES = ["user.scheduled_sends.read", "marketing.read", "mail.batch.read"]
WRITE_SCOPES = ["user.scheduled_sends.create", "user.scheduled_sends.update", "user.scheduled_sends.delete",
                "marketing.send", "mail.batch.create", "mail.send"]  # fmt: skip


def _number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"sendgrid.{what} must be a number >= 0")


class SendGrid(Vendor):
    """Scheduled sends held by batch id, Single Sends unscheduled, rate limited per key."""

    name = "sendgrid"
    base_path = ""
    default_config: dict[str, Any] = {
        "api_key": "SG.sandbox_key",
        "readonly_key": "SG.sandbox_readonly",
        "rate_limit_per_second": 0,  # the shared limiter is off: its 429 sends Retry-After, SendGrid's does not
        "requests_per_second": 10,
        "retry_after_on_429": False,
        "existing_hold_status": 400,
        "no_hold_answer": "empty",
        "late_cancel": "refuse",
        "unschedule_draft": "ok",
        "max_holds": 10,
        "hold_after_send_at": "keep",
    }

    def routes(self) -> None:
        r, g = self.router, self._guarded
        r.add("GET", "/v3/scopes", g(self.get_scopes))
        r.add("POST", "/v3/mail/batch", g(self.create_batch, write=True))
        r.add("GET", "/v3/mail/batch/{batch_id}", g(self.get_batch))
        r.add("GET", "/v3/user/scheduled_sends", g(self.list_holds))
        r.add("POST", "/v3/user/scheduled_sends", g(self.create_hold, write=True))
        r.add("GET", "/v3/user/scheduled_sends/{batch_id}", g(self.get_hold))
        r.add("PATCH", "/v3/user/scheduled_sends/{batch_id}", g(self.update_hold, write=True))
        r.add("DELETE", "/v3/user/scheduled_sends/{batch_id}", g(self.delete_hold, write=True))
        r.add("GET", "/v3/marketing/singlesends/{id}", g(self.get_single_send))
        r.add("DELETE", "/v3/marketing/singlesends/{id}/schedule", g(self.unschedule, write=True))

    def init_state(self) -> dict[str, Any]:
        return {
            "batches": {},
            "single_sends": {},
            "cancel_calls": [],
            "seq": 0,
            "hits": collections.defaultdict(collections.deque),
        }

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "readonly_key"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"sendgrid.{key} must be a non-empty string")
        if cfg["rate_limit_per_second"] != 0:
            raise ValueError("sendgrid.rate_limit_per_second stays 0: use requests_per_second")
        for key in ("requests_per_second", "max_holds"):
            if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 0:
                raise ValueError(f"sendgrid.{key} must be an integer >= 0")
        if not isinstance(cfg["retry_after_on_429"], bool):
            raise ValueError("sendgrid.retry_after_on_429 must be true or false")
        if cfg["existing_hold_status"] not in (400, 409, 422):
            raise ValueError("sendgrid.existing_hold_status must be 400, 409 or 422")
        if cfg["no_hold_answer"] not in ("empty", "404"):
            raise ValueError("sendgrid.no_hold_answer must be 'empty' or '404'")
        if cfg["late_cancel"] not in ("refuse", "accept"):
            raise ValueError("sendgrid.late_cancel must be 'refuse' or 'accept'")
        if cfg["unschedule_draft"] not in ("ok", 400, 404):
            raise ValueError("sendgrid.unschedule_draft must be 'ok', 400 or 404")
        if cfg["hold_after_send_at"] not in ("keep", "drop"):
            raise ValueError("sendgrid.hold_after_send_at must be 'keep' or 'drop'")

    # ------------------------------------------------------------- auth, errors, rate limit

    def authenticate(self, req: Request) -> str | None:
        token = bearer_token(req)
        for key in ("api_key", "readonly_key"):
            if token and secrets.compare_digest(token, str(self.config[key])):
                return org_id(str(self.config["api_key"])) + (":read" if key == "readonly_key" else "")
        return None

    def error(self, status: int, name: str, message: str) -> Response:
        field = name if name in ("batch_id", "status") else None  # the request field at fault, if any
        return Response(status, {"errors": [{"field": field, "message": message}], "id": uuid.uuid4().hex})

    def unauthorized(self) -> Response:
        return self.error(401, "", "authorization required")

    def _guarded(self, handler: Callable[[Request], Response], *, write: bool = False) -> Callable[[Request], Response]:
        def run(req: Request) -> Response:
            headers, limited = self._hit(req.org or "")
            if limited:
                resp = self.error(429, "", "too many requests")
                if self.config["retry_after_on_429"]:
                    resp.headers["Retry-After"] = str(
                        max(1, math.ceil(int(headers["X-RateLimit-Reset"]) - time.time()))
                    )
            elif write and (req.org or "").endswith(":read"):
                resp = self.error(403, "", "access forbidden")
            else:
                resp = handler(req)
            resp.headers.update(headers)
            return resp

        return run

    def _hit(self, org: str) -> tuple[dict[str, str], bool]:
        """Every answer carries X-RateLimit-* (Unix reset time); the limit is per second, per key."""
        limit = self.config["requests_per_second"]
        if not limit:
            return {}, False
        now = time.time()
        hits = self.state["hits"][org]
        while hits and hits[0] <= now - 1.0:
            hits.popleft()
        limited = len(hits) >= limit
        if not limited:
            hits.append(now)
        reset = math.ceil(hits[0] + 1.0) if hits else math.ceil(now)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - len(hits))),
            "X-RateLimit-Reset": str(reset),
        }, limited

    # ------------------------------------------------------------- model

    def _settle_batch(self, b: dict[str, Any]) -> dict[str, Any]:
        """Deliver, discard or expire a batch whose send time has come (lazy: on read)."""
        now = self.clock.now()
        if b["send_at"] is None:  # created, not yet used by a send
            return b
        if b["delivery"] == "scheduled" and now >= b["send_at"]:
            b["delivery"] = {"cancel": "discarded", "pause": "paused"}.get(b["hold"] or "", "sent")
            b["settled_at"] = b["send_at"]
        if b["delivery"] == "paused" and b["hold"] == "cancel":
            b["delivery"] = "discarded"
        if b["delivery"] == "paused" and b["hold"] is None:
            b["delivery"] = "sent"  # the pause was lifted after the send time
            b["settled_at"] = now
        if b["delivery"] == "paused" and now >= b["send_at"] + PAUSE_EXPIRY_S:
            b["delivery"] = "expired"
        return b

    def _batch(self, batch_id: str, *, invalid_status: int = 400) -> dict[str, Any]:
        b = self.state["batches"].get(batch_id)
        if b is None:
            raise HTTPError(invalid_status, "batch_id", "invalid batch id")
        return self._settle_batch(b)

    def _new_batch(self, batch_id: str | None, send_at: float | None, hold: str | None) -> dict[str, Any]:
        self.state["seq"] += 1
        b = {
            "batch_id": batch_id or secrets.token_urlsafe(24)[:32],
            "send_at": send_at,
            "hold": hold,
            "delivery": "scheduled",
            "settled_at": None,
            "seq": self.state["seq"],
        }
        self.state["batches"][b["batch_id"]] = b
        return b

    def _single(self, single_send_id: str) -> dict[str, Any]:
        s = self.state["single_sends"].get(single_send_id)
        if s is None:
            raise HTTPError(404, "", "resource not found")
        if s["status"] == "scheduled" and s["send_at"] is not None and self.clock.now() >= s["send_at"]:
            s["status"] = "triggered"
        return s

    def _call(self, req: Request, kind: str, target: str) -> dict[str, Any]:
        call = {
            "kind": kind,
            "target": target,
            "method": req.method,
            "body": req.body,
            "at": self.clock.iso(self.clock.now()),
        }
        self.state["cancel_calls"].append(call)
        return call

    # ------------------------------------------------------------- API: batches and holds

    def get_scopes(self, req: Request) -> Response:
        read_only = (req.org or "").endswith(":read")
        return Response(200, {"scopes": READ_SCOPES if read_only else READ_SCOPES + WRITE_SCOPES})

    def create_batch(self, req: Request) -> Response:
        return Response(201, {"batch_id": self._new_batch(None, None, None)["batch_id"]})

    def get_batch(self, req: Request) -> Response:
        return Response(200, {"batch_id": self._batch(req.params["batch_id"])["batch_id"]})

    def _listed_hold(self, b: dict[str, Any]) -> str | None:
        """The hold as the API shows it: with ``hold_after_send_at: "drop"`` it is gone once the send time passed."""
        self._settle_batch(b)
        if self.config["hold_after_send_at"] == "drop" and b["settled_at"] is not None:
            return None
        hold: str | None = b["hold"]
        return hold

    def _hold_rows(self) -> list[dict[str, Any]]:
        rows = sorted(self.state["batches"].values(), key=lambda b: b["seq"])
        return [{"batch_id": b["batch_id"], "status": hold} for b in rows if (hold := self._listed_hold(b))]

    def list_holds(self, req: Request) -> Response:
        return Response(200, self._hold_rows())

    def create_hold(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        batch_id, status = body.get("batch_id"), body.get("status")
        call = self._call(req, "scheduled_send", str(batch_id))
        if not isinstance(batch_id, str) or not batch_id:
            call.update(status_code=400, result="invalid")
            raise HTTPError(400, "batch_id", "batch_id is required")
        if status not in HOLDS:
            call.update(status_code=400, result="invalid")
            raise HTTPError(400, "status", "status must be either cancel or pause")
        try:
            b = self._batch(batch_id)
        except HTTPError:
            call.update(status_code=400, result="invalid_batch")
            raise
        if b["hold"] is not None:
            code = self.config["existing_hold_status"]
            call.update(status_code=code, result="hold_exists")
            raise HTTPError(code, "", "a cancel or pause already exists for this batch id")
        if len(self._hold_rows()) >= self.config["max_holds"]:
            call.update(status_code=400, result="max_holds")
            raise HTTPError(400, "", "max limit reached: delete expired cancels or pauses first")
        late = b["send_at"] is not None and self.clock.now() > b["send_at"] - LEAD_S
        if late and self.config["late_cancel"] == "refuse":
            call.update(status_code=400, result="too_late")
            raise HTTPError(400, "", "a batch can only be cancelled or paused more than 10 minutes before its send_at")
        b["hold"] = status
        call.update(status_code=201, result=f"{status}_created", delivery=b["delivery"])
        return Response(201, {"batch_id": batch_id, "status": status})

    def _existing_hold(self, batch_id: str) -> dict[str, Any]:
        b = self.state["batches"].get(batch_id)
        if b is None or b["hold"] is None:
            raise HTTPError(404, "", "resource not found")
        return self._settle_batch(b)

    def get_hold(self, req: Request) -> Response:
        b = self.state["batches"].get(req.params["batch_id"])
        hold = None if b is None else self._listed_hold(b)
        if b is None or hold is None:
            if self.config["no_hold_answer"] == "404":
                raise HTTPError(404, "", "resource not found")
            return Response(200, [])
        return Response(200, [{"batch_id": b["batch_id"], "status": hold}])

    def update_hold(self, req: Request) -> Response:
        status = req.body.get("status") if isinstance(req.body, dict) else None
        call = self._call(req, "scheduled_send", req.params["batch_id"])
        if status not in HOLDS:
            call.update(status_code=400, result="invalid")
            raise HTTPError(400, "status", "status must be either cancel or pause")
        try:
            b = self._existing_hold(req.params["batch_id"])
        except HTTPError:
            call.update(status_code=404, result="no_hold")
            raise
        b["hold"] = status
        self._settle_batch(b)
        call.update(status_code=204, result=f"changed_to_{status}")
        return Response(204)

    def delete_hold(self, req: Request) -> Response:
        call = self._call(req, "scheduled_send", req.params["batch_id"])
        try:
            b = self._existing_hold(req.params["batch_id"])
        except HTTPError:
            call.update(status_code=404, result="no_hold")
            raise
        b["hold"] = None
        self._settle_batch(b)
        call.update(status_code=204, result="hold_deleted")
        return Response(204)

    # ------------------------------------------------------------- API: Single Sends

    def _render_single(self, s: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": s["id"],
            "name": s["name"],
            "status": s["status"],
            "send_at": self.clock.iso(s["send_at"]),
            "categories": [],
            "created_at": self.clock.iso(s["created_at"]),
        }

    def get_single_send(self, req: Request) -> Response:
        return Response(200, self._render_single(self._single(req.params["id"])))

    def unschedule(self, req: Request) -> Response:
        call = self._call(req, "single_send", req.params["id"])
        try:
            s = self._single(req.params["id"])
        except HTTPError:
            call.update(status_code=404, result="not_found")
            raise
        if s["status"] == "triggered":
            call.update(status_code=400, result="already_triggered")
            raise HTTPError(400, "", "a Single Send that has been triggered cannot be unscheduled")
        if s["status"] == "draft" and self.config["unschedule_draft"] != "ok":
            code = int(self.config["unschedule_draft"])
            call.update(status_code=code, result="not_scheduled")
            raise HTTPError(code, "", "the Single Send is not scheduled")
        call.update(status_code=200, result="unscheduled" if s["status"] == "scheduled" else "unchanged")
        s.update(status="draft", send_at=None)
        return Response(200, {"send_at": None, "status": "draft"})

    # ------------------------------------------------------------- admin

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"batches": [{"batch_id"?, "send_in_s"?, "hold"?}], "single_sends": [{"id"?, "status", "send_in_s"?}]}``."""
        if not isinstance(body, dict):
            raise ValueError('body must be {"batches": [...], "single_sends": [...]}')
        batches, singles = body.get("batches") or [], body.get("single_sends") or []
        for i, item in enumerate(batches):
            if not isinstance(item, dict) or item.get("hold") not in (None, *HOLDS):
                raise ValueError(f"batches[{i}].hold must be null, cancel or pause")
            _number(item.get("send_in_s", 3600), f"batches[{i}].send_in_s")
        for i, item in enumerate(singles):
            if not isinstance(item, dict) or item.get("status", "scheduled") not in SINGLE_SEND_STATUSES:
                raise ValueError(f"single_sends[{i}].status must be one of {SINGLE_SEND_STATUSES}")
            _number(item.get("send_in_s", 3600), f"single_sends[{i}].send_in_s")
        now = self.clock.now()
        made_batches = [
            self._new_batch(item.get("batch_id"), now + float(item.get("send_in_s", 3600)), item.get("hold"))
            for item in batches
        ]
        made_singles = []
        for item in singles:
            status = item.get("status", "scheduled")
            s = {
                "id": item.get("id") or str(uuid.uuid4()),
                "name": item.get("name") or "Sandbox Single Send",
                "status": status,
                "send_at": now + float(item.get("send_in_s", 3600)) if status == "scheduled" else None,
                "created_at": now,
            }
            self.state["single_sends"][s["id"]] = s
            made_singles.append(s)
        return {"batches": [self._batch_view(b) for b in made_batches], "single_sends": made_singles}

    def _batch_view(self, b: dict[str, Any]) -> dict[str, Any]:
        self._settle_batch(b)
        view = {k: v for k, v in b.items() if k != "seq"}
        view["send_at"] = self.clock.iso(b["send_at"])
        view["settled_at"] = self.clock.iso(b["settled_at"])
        return view

    def dump_state(self) -> dict[str, Any]:
        batches = sorted(self.state["batches"].values(), key=lambda b: b["seq"])
        singles = [self._single(sid) for sid in list(self.state["single_sends"])]
        return {
            "batches": [self._batch_view(b) for b in batches],
            "single_sends": [{**s, "send_at": self.clock.iso(s["send_at"])} for s in singles],
            "cancel_calls": self.state["cancel_calls"],
        }

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"batch_id"}``: its send time is now; ``{"single_send_id"}``: it is triggered now."""
        if not isinstance(body, dict) or not (body.get("batch_id") or body.get("single_send_id")):
            raise ValueError('body must be {"batch_id": ...} or {"single_send_id": ...}')
        if body.get("batch_id"):
            b = self._batch(str(body["batch_id"]), invalid_status=404)
            b["send_at"] = self.clock.now() if b["send_at"] is None else min(b["send_at"], self.clock.now())
            return {"batch": self._batch_view(b)}
        s = self._single(str(body["single_send_id"]))
        s.update(status="triggered")
        return {"single_send": {**s, "send_at": self.clock.iso(s["send_at"])}}
