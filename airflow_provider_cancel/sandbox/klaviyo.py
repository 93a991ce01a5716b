"""Klaviyo campaigns and campaign send jobs, per Klaviyo's API reference and its OpenAPI files.

Mounted at ``/klaviyo``; API root ``/klaviyo/api`` (real: ``https://a.klaviyo.com/api``).

What the docs say and this module serves: ``Authorization: Klaviyo-API-Key <private key>`` and a
required ``revision`` header; JSON:API bodies and errors (``{"errors": [{id, status, code, title,
detail, source}]}``); ``PATCH /campaign-send-jobs/{id}`` with ``action`` ``cancel`` or ``revert``
answering 204; ``GET /campaign-send-jobs/{id}`` (queued, processing, complete, cancelled) and
``GET /campaigns/{id}`` (Title Case statuses); 10 requests/s burst and 150/min steady per account,
with ``RateLimit-*`` headers on answers that are not 429. Where the docs are silent the choice is
configurable (``POST /_admin/config {"klaviyo": {...}}``):

* ``refusal_status`` (400): the status of a refused cancel (already cancelled, sent, no longer
  revertible); 409 and 422 are the alternatives.
* ``recancel`` (``"refuse"``): a second cancel of a cancelled job is refused; ``"accept"`` answers 204.
* ``retry_after_on_429`` (true): third-party guides say a 429 carries ``Retry-After``; false omits it.
* ``cancel_settle_s`` (0): a job cancelled mid-send keeps ``processing`` that long (messages already
  handed over drain), while the campaign reads ``settle_campaign_status`` (``"Cancelled"`` or
  ``"Sending"``).
* ``revert_while_sending`` (false): whether ``revert`` is allowed once the job is processing.
"""

from __future__ import annotations

import collections
import math
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor, check_number, org_id

# Campaign statuses as Klaviyo spells them; each known one maps to a send job status (None: no job).
CAMPAIGN_STATUSES = {
    "Draft": None,
    "Scheduled": "queued",
    "Sending": "processing",
    "Sent": "complete",
    "Cancelled": "cancelled",
    "Cancelled: No Recipients": "cancelled",
    "Variations Sent": "complete",
}
NEXT = {"Scheduled": "Sending", "Sending": "Sent"}
TITLES = {
    400: "Invalid input.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    422: "Unprocessable entity.",
    429: "Request was throttled.",
}


def _number(value: Any, what: str, *, allow_none: bool = False) -> None:
    check_number(value, f"klaviyo.{what}", allow_none=allow_none)


class Klaviyo(Vendor):
    """Campaigns with their send jobs: cancel or revert, read, rate limited per account."""

    name = "klaviyo"
    base_path = "/api"
    default_config: dict[str, Any] = {
        "api_key": "pk_klaviyo_sandbox_key",
        "rate_limit_per_second": 0,  # the shared limiter is off: Klaviyo has its own two windows (below)
        "burst_per_second": 10,
        "steady_per_minute": 150,
        "retry_after_on_429": True,
        "require_revision": True,
        "refusal_status": 400,
        "recancel": "refuse",
        "cancel_settle_s": 0,
        "settle_campaign_status": "Cancelled",
        "revert_while_sending": False,
        "send_duration_s": 30,  # a campaign that starts sending by itself is Sent after this (null: never)
    }
    ratelimit_header_names = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")

    def routes(self) -> None:
        r = self.router
        r.add("GET", "/accounts", self._guarded(self.get_accounts))
        r.add("GET", "/campaigns/{id}", self._guarded(self.get_campaign))
        r.add("GET", "/campaign-send-jobs/{id}", self._guarded(self.get_send_job))
        r.add("PATCH", "/campaign-send-jobs/{id}", self._guarded(self.patch_send_job))

    def init_state(self) -> dict[str, Any]:
        return {"campaigns": {}, "seq": 0, "cancel_calls": [], "hits": collections.defaultdict(collections.deque)}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        if not isinstance(cfg["api_key"], str) or not cfg["api_key"]:
            raise ValueError("klaviyo.api_key must be a non-empty string")
        for key in ("burst_per_second", "steady_per_minute"):
            if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 0:
                raise ValueError(f"klaviyo.{key} must be an integer >= 0 (0 = off)")
        if cfg["rate_limit_per_second"] != 0:
            raise ValueError("klaviyo.rate_limit_per_second stays 0: use burst_per_second/steady_per_minute")
        for key in ("retry_after_on_429", "require_revision", "revert_while_sending"):
            if not isinstance(cfg[key], bool):
                raise ValueError(f"klaviyo.{key} must be true or false")
        if cfg["refusal_status"] not in (400, 409, 422):
            raise ValueError("klaviyo.refusal_status must be 400, 409 or 422")
        if cfg["recancel"] not in ("refuse", "accept"):
            raise ValueError("klaviyo.recancel must be 'refuse' or 'accept'")
        if cfg["settle_campaign_status"] not in ("Cancelled", "Sending"):
            raise ValueError("klaviyo.settle_campaign_status must be 'Cancelled' or 'Sending'")
        _number(cfg["cancel_settle_s"], "cancel_settle_s")
        _number(cfg["send_duration_s"], "send_duration_s", allow_none=True)

    # ------------------------------------------------------------- auth, errors, rate limits

    def authenticate(self, req: Request) -> str | None:
        scheme, _, key = (req.header("authorization") or "").partition(" ")
        expected = str(self.config.get("api_key") or "")
        if scheme == "Klaviyo-API-Key" and key.strip() and secrets.compare_digest(key.strip(), expected):
            return org_id(key.strip())
        return None

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(
            status,
            {
                "errors": [
                    {
                        "id": str(uuid.uuid4()),
                        "status": status,
                        "code": name,
                        "title": TITLES.get(status, "A server error occurred." if status >= 500 else "Error."),
                        "detail": message,
                        "source": {"pointer": "/data/"},
                    }
                ]
            },
        )

    def unauthorized(self) -> Response:
        return self.error(401, "not_authenticated", "Missing or invalid private key.")

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """The ``revision`` check and Klaviyo's two rate-limit windows around a handler."""

        def run(req: Request) -> Response:
            if self.config["require_revision"] and not (req.header("revision") or "").strip():
                raise HTTPError(400, "invalid", "The 'revision' header is required.")
            limited, headers = self._hit(req.org or "")
            if limited is not None:
                return limited
            resp = handler(req)
            resp.headers.update(headers)
            return resp

        return run

    def _hit(self, org: str) -> tuple[Response | None, dict[str, str]]:
        burst, steady = self.config["burst_per_second"], self.config["steady_per_minute"]
        if not burst and not steady:
            return None, {}
        now = time.time()  # real time, like the shared limiter: the headers are about real seconds
        hits = self.state["hits"][org]
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        last_second = [t for t in hits if t > now - 1.0]
        waits = []
        if burst and len(last_second) >= burst:
            waits.append(last_second[0] + 1.0 - now)
        if steady and len(hits) >= steady:
            waits.append(hits[0] + 60.0 - now)
        if waits:  # a 429 carries no RateLimit-* headers (documented)
            resp = self.error(
                429, "throttled", f"Request was throttled. Expected available in {math.ceil(max(waits))} second."
            )
            if self.config["retry_after_on_429"]:
                resp.headers["Retry-After"] = str(max(1, math.ceil(max(waits))))
            return resp, {}
        hits.append(now)
        burst_left, steady_left = burst - len(last_second) - 1, steady - len(hits)
        if burst and (not steady or burst_left <= steady_left):  # the window that binds first
            limit, remaining, reset = burst, burst_left, 1
        else:
            limit, remaining, reset = steady, steady_left, 60
        return None, {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
        }

    # ------------------------------------------------------------- model

    def _new(self, item: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        status = item["status"]
        c: dict[str, Any] = {
            "id": item.get("id") or "01" + secrets.token_hex(12).upper(),
            "name": item.get("name") or f"Sandbox campaign {self.state['seq']}",
            "status": status,
            "job_status": CAMPAIGN_STATUSES[status],
            "send_time": item.get("send_time"),
            "send_duration_s": item.get("send_duration_s", self.config["send_duration_s"]),
            "entered_at": now,
            "cancel_at": None,
            "created_at": now,
            "updated_at": now,
            "seq": self.state["seq"],
        }
        self.state["campaigns"][c["id"]] = c
        return c

    def _next_due(self, c: dict[str, Any]) -> float | None:
        if c["cancel_at"] is not None:
            return float(c["cancel_at"])
        if c["status"] == "Scheduled" and c["send_time"] is not None:
            return float(c["send_time"])
        if c["status"] == "Sending" and c["send_duration_s"] is not None:
            return float(c["entered_at"] + c["send_duration_s"])
        return None

    def _move(self, c: dict[str, Any], status: str, at: float, job_status: str | None = "") -> None:
        c.update(status=status, entered_at=at, updated_at=at)
        c["job_status"] = CAMPAIGN_STATUSES.get(status) if job_status == "" else job_status

    def _settle(self, c: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        while (due := self._next_due(c)) is not None and due <= now:
            if c["cancel_at"] is not None:
                c["cancel_at"] = None
                self._move(c, "Cancelled", due)
            else:
                self._move(c, NEXT[c["status"]], due)
        return c

    def _find(self, campaign_id: str) -> dict[str, Any]:
        c = self.state["campaigns"].get(campaign_id)
        if c is None:
            raise HTTPError(404, "not_found", f"A campaign with id {campaign_id} does not exist.")
        return self._settle(c)

    def _render_campaign(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        return {
            "data": {
                "type": "campaign",
                "id": c["id"],
                "attributes": {
                    "name": c["name"],
                    "status": c["status"],
                    "archived": False,
                    "send_time": iso(c["send_time"]),
                    "created_at": iso(c["created_at"]),
                    "updated_at": iso(c["updated_at"]),
                },
                "links": {"self": f"https://a.klaviyo.com/api/campaigns/{c['id']}/"},
            }
        }

    # ------------------------------------------------------------- API

    def get_accounts(self, req: Request) -> Response:
        account = {
            "type": "account",
            "id": "SBX123",
            "attributes": {"contact_information": {"organization_name": "Sandbox"}},
        }
        return Response(200, {"data": [account]})

    def get_campaign(self, req: Request) -> Response:
        return Response(200, self._render_campaign(self._find(req.params["id"])))

    def get_send_job(self, req: Request) -> Response:
        c = self._find(req.params["id"])
        if c["job_status"] is None:
            raise HTTPError(404, "not_found", f"A campaign send job with id {c['id']} does not exist.")
        return Response(
            200, {"data": {"type": "campaign-send-job", "id": c["id"], "attributes": {"status": c["job_status"]}}}
        )

    def patch_send_job(self, req: Request) -> Response:
        job_id = req.params["id"]
        data = req.body.get("data") if isinstance(req.body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        action = attributes.get("action") if isinstance(attributes, dict) else None
        call: dict[str, Any] = {
            "campaign_id": job_id,
            "action": action,
            "at": self.clock.iso(self.clock.now()),
            "content_type": req.header("content-type"),
            "previous_status": None,
        }
        self.state["cancel_calls"].append(call)
        if not isinstance(data, dict) or data.get("type") != "campaign-send-job":
            call.update(status_code=400, result="invalid")
            raise HTTPError(400, "invalid", "data.type must be 'campaign-send-job'.")
        if data.get("id") != job_id:
            call.update(status_code=409, result="invalid")
            raise HTTPError(409, "conflict", "The id in the body does not match the id in the URL.")
        if action not in ("cancel", "revert"):
            call.update(status_code=400, result="invalid")
            raise HTTPError(400, "invalid", "'action' must be one of: cancel, revert.")
        try:
            c = self._find(job_id)
        except HTTPError:
            call.update(status_code=404, result="not_found")
            raise
        call["previous_status"] = c["status"]
        job, refusal = c["job_status"], self.config["refusal_status"]
        if job is None:
            call.update(status_code=404, result="no_send_job")
            raise HTTPError(404, "not_found", f"A campaign send job with id {job_id} does not exist.")
        if job == "cancelled" or c["cancel_at"] is not None:
            if self.config["recancel"] == "accept":
                call.update(status_code=204, result="unchanged")
                return Response(204)
            call.update(status_code=refusal, result="already_cancelled")
            raise HTTPError(refusal, "invalid", "The campaign send job has already been cancelled.")
        if job == "complete":
            call.update(status_code=refusal, result="already_sent")
            raise HTTPError(refusal, "invalid", "The campaign send job is complete and cannot be cancelled.")
        now = self.clock.now()
        if action == "revert":
            if job == "processing" and not self.config["revert_while_sending"]:
                call.update(status_code=refusal, result="not_revertible")
                raise HTTPError(refusal, "invalid", "A campaign that is sending cannot be reverted to draft.")
            self._move(c, "Draft", now, job_status="cancelled")
            call.update(status_code=204, result="reverted")
            return Response(204)
        settle = self.config["cancel_settle_s"]
        if job == "processing" and settle:
            c["cancel_at"] = now + settle  # the job keeps processing while handed-over messages drain
            c["status"] = self.config["settle_campaign_status"]
        else:
            self._move(c, "Cancelled", now)
        call.update(status_code=204, result="cancelled")
        return Response(204)

    # ------------------------------------------------------------- admin

    def _admin_view(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        view = {k: v for k, v in c.items() if k not in ("entered_at", "seq", "cancel_at")}
        for k in ("send_time", "created_at", "updated_at"):
            view[k] = iso(c[k])
        view["next_transition_at"] = iso(self._next_due(c))
        return view

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"campaigns": [{"id"?, "name"?, "status", "send_in_s"?, "send_duration_s"?}]}``."""
        items = body.get("campaigns") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError('body must be {"campaigns": [...]}')
        prepared = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or item.get("status", "Draft") not in CAMPAIGN_STATUSES:
                raise ValueError(f"campaigns[{i}].status must be one of {sorted(CAMPAIGN_STATUSES)}")
            cid = item.get("id")
            if cid is not None and (
                not isinstance(cid, str) or not cid or "/" in cid or cid in self.state["campaigns"]
            ):
                raise ValueError(f"campaigns[{i}].id must be a new, non-empty string without '/'")
            _number(item.get("send_duration_s"), f"campaigns[{i}].send_duration_s", allow_none=True)
            send_in = item.get("send_in_s", 3600 if item.get("status") == "Scheduled" else None)
            _number(send_in, f"campaigns[{i}].send_in_s", allow_none=True)
            send_time = None if send_in is None else self.clock.now() + send_in
            prepared.append({**item, "status": item.get("status", "Draft"), "send_time": send_time})
        return {"campaigns": [self._admin_view(self._new(p)) for p in prepared]}

    def dump_state(self) -> dict[str, Any]:
        rows = sorted((self._settle(c) for c in self.state["campaigns"].values()), key=lambda c: c["seq"])
        return {"campaigns": [self._admin_view(c) for c in rows], "cancel_calls": self.state["cancel_calls"]}

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id", "status"?}``: the next step now (Scheduled -> Sending -> Sent), or jump to ``status``."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ..., "status"?: ...}')
        c = self._find(str(body["id"]))
        target = body.get("status") or NEXT.get(c["status"])
        if c["cancel_at"] is not None and not body.get("status"):
            target = "Cancelled"
        if target not in CAMPAIGN_STATUSES:
            raise ValueError(f"campaign is {c['status']!r}: no next status; pass one of {sorted(CAMPAIGN_STATUSES)}")
        c["cancel_at"] = None
        self._move(c, target, self.clock.now())
        return {"campaign": self._admin_view(c)}
