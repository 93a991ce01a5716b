"""Mailchimp Marketing API campaigns, per Mailchimp's SDKs (the official reference pages are not public text).

Mounted at ``/mailchimp``; API root ``/mailchimp/3.0`` (real: ``https://<dc>.api.mailchimp.com/3.0``).

Served: HTTP Basic auth with any user name and the API key as password (or ``Bearer`` with an OAuth
token), ``application/problem+json`` errors (``{type, title, status, detail, instance}``),
``GET /ping``, ``GET /campaigns/{id}`` (with ``fields``), ``POST /campaigns/{id}/actions/cancel-send``
(a Regular or Plain-Text campaign that is sending: ``canceling``, then ``canceled``) and
``POST /campaigns/{id}/actions/unschedule`` (a scheduled campaign becomes ``save``), both 204.
Campaigns move over time: ``schedule`` -> ``sending`` at the send time -> ``sent``.

Not documented in a public page, so configurable (``POST /_admin/config {"mailchimp": {...}}``):

* ``refusal_detail`` (``"state"``): the 400 ``detail`` of an action on a campaign in the wrong state
  names the state; ``"generic"`` says only "Bad Request".
* ``canceling_s`` (2): how long a campaign reads ``canceling`` after cancel-send (0: ``canceled`` at once).
* ``max_connections`` (10) and ``connections_in_use`` (0): Mailchimp allows 10 simultaneous
  connections per account and answers 429 past that, with no rate-limit headers; the sandbox answers
  429 when ``connections_in_use`` other clients already hold every connection.
* ``pro_plan`` (true): cancel-send is a Mailchimp Pro feature; false answers 403 to it.
* ``action_status`` (204): both actions answer 204 with no body (third-party copies of the reference);
  200 answers the campaign.
* ``over_limit_status`` (429): the answer past ``max_connections``; 403 gives the bare "Forbidden"
  third-party reports describe at high volume.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from airflow_provider_cancel.sandbox.core import HTTPError, Request, Response, Vendor, check_number, org_id

STATUSES = ("save", "paused", "schedule", "sending", "canceling", "canceled", "sent", "archived")
TYPES = ("regular", "plaintext", "absplit", "rss", "variate")
CANCEL_SEND_TYPES = frozenset({"regular", "plaintext"})
TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
}


def _number(value: Any, what: str, *, allow_none: bool = False) -> None:
    check_number(value, f"mailchimp.{what}", allow_none=allow_none)


class Mailchimp(Vendor):
    """Campaigns with cancel-send and unschedule, Basic auth, a concurrent-connection cap."""

    name = "mailchimp"
    base_path = "/3.0"
    default_config: dict[str, Any] = {
        "api_key": "mc_sandbox_key-us1",
        "oauth_token": "mc_sandbox_oauth_token",
        "rate_limit_per_second": 0,  # Mailchimp limits connections, not requests per second
        "max_connections": 10,
        "connections_in_use": 0,
        "canceling_s": 2,
        "send_duration_s": 60,
        "refusal_detail": "state",
        "pro_plan": True,
        "action_status": 204,
        "over_limit_status": 429,
    }

    def routes(self) -> None:
        r = self.router
        r.add("GET", "/ping", self._capped(self.ping))
        r.add("GET", "/campaigns/{id}", self._capped(self.get_campaign))
        r.add("POST", "/campaigns/{id}/actions/cancel-send", self._capped(self.cancel_send))
        r.add("POST", "/campaigns/{id}/actions/unschedule", self._capped(self.unschedule))

    def init_state(self) -> dict[str, Any]:
        return {"campaigns": {}, "seq": 0, "cancel_calls": []}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "oauth_token"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"mailchimp.{key} must be a non-empty string")
        for key in ("max_connections", "connections_in_use", "rate_limit_per_second"):
            if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 0:
                raise ValueError(f"mailchimp.{key} must be an integer >= 0")
        _number(cfg["canceling_s"], "canceling_s")
        _number(cfg["send_duration_s"], "send_duration_s", allow_none=True)
        if cfg["refusal_detail"] not in ("state", "generic"):
            raise ValueError("mailchimp.refusal_detail must be 'state' or 'generic'")
        if not isinstance(cfg["pro_plan"], bool):
            raise ValueError("mailchimp.pro_plan must be true or false")
        if cfg["action_status"] not in (200, 204):
            raise ValueError("mailchimp.action_status must be 204 or 200")
        if cfg["over_limit_status"] not in (429, 403):
            raise ValueError("mailchimp.over_limit_status must be 429 or 403")

    # ------------------------------------------------------------- auth, errors, connections

    def authenticate(self, req: Request) -> str | None:
        scheme, _, credential = (req.header("authorization") or "").partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            try:
                _, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
            except ValueError:
                return None
            if password and secrets.compare_digest(password, str(self.config["api_key"])):
                return org_id(password)
        oauth_token = str(self.config["oauth_token"])
        if scheme.lower() == "bearer" and credential and secrets.compare_digest(credential, oauth_token):
            return org_id(str(self.config["api_key"]))  # the token's account is the key's
        return None

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(
            status,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": TITLES.get(
                    status, "Internal Server Error" if status >= 500 else name.replace("_", " ").title()
                ),
                "status": status,
                "detail": message,
                "instance": str(uuid.uuid4()),
            },
            content_type="application/problem+json",
        )

    def unauthorized(self) -> Response:
        return self.error(
            401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter."
        )

    def rate_limited(self) -> Response:
        limit, status = self.config["max_connections"], self.config["over_limit_status"]
        if status == 403:  # third-party reports: a bare 403 at high volume
            return Response(403, text="Forbidden", content_type="text/plain")
        return self.error(429, "Too Many Requests", f"You have exceeded the limit of {limit} simultaneous connections.")

    def _done(self, c: dict[str, Any]) -> Response:
        """An action's answer: 204 (the SDKs' reading), or 200 with the campaign (``action_status: 200``)."""
        return Response(200, self._render(c)) if self.config["action_status"] == 200 else Response(204)

    def _capped(self, handler: Any) -> Any:
        """429 when every connection of the account is taken (no rate-limit headers: Mailchimp sends none)."""

        def run(req: Request) -> Response:
            if self.config["connections_in_use"] >= self.config["max_connections"]:
                return self.rate_limited()
            resp: Response = handler(req)
            return resp

        return run

    # ------------------------------------------------------------- model

    def _new(self, item: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        c: dict[str, Any] = {
            "id": item.get("id") or secrets.token_hex(5),
            "type": item.get("type", "regular"),
            "status": item["status"],
            "title": item.get("title") or f"Sandbox campaign {self.state['seq']}",
            "send_time": item.get("send_time"),
            "send_duration_s": item.get("send_duration_s", self.config["send_duration_s"]),
            "entered_at": now,
            "canceled_at": None,
            "create_time": now,
            "seq": self.state["seq"],
        }
        self.state["campaigns"][c["id"]] = c
        return c

    def _next_due(self, c: dict[str, Any]) -> tuple[float, str] | None:
        if c["status"] == "schedule" and c["send_time"] is not None:
            return float(c["send_time"]), "sending"
        if c["status"] == "sending" and c["send_duration_s"] is not None:
            return float(c["entered_at"] + c["send_duration_s"]), "sent"
        if c["status"] == "canceling":
            return float(c["entered_at"] + self.config["canceling_s"]), "canceled"
        return None

    def _move(self, c: dict[str, Any], status: str, at: float) -> None:
        c.update(status=status, entered_at=at)
        if status == "canceled":
            c["canceled_at"] = at
        if status == "save":
            c["send_time"] = None

    def _settle(self, c: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        while (due := self._next_due(c)) is not None and due[0] <= now:
            self._move(c, due[1], due[0])
        return c

    def _find(self, campaign_id: str) -> dict[str, Any]:
        c = self.state["campaigns"].get(campaign_id)
        if c is None:
            raise HTTPError(404, "Resource Not Found", "The requested resource could not be found.")
        return self._settle(c)

    def _render(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        return {
            "id": c["id"],
            "web_id": c["seq"],
            "type": c["type"],
            "create_time": iso(c["create_time"]),
            "status": c["status"],
            "send_time": iso(c["send_time"]) if c["status"] in ("schedule", "sending", "sent") else "",
            "settings": {"title": c["title"], "subject_line": c["title"]},
        }

    def _refuse(self, call: dict[str, Any], result: str, detail: str) -> HTTPError:
        call.update(status_code=400, result=result)
        generic = self.config["refusal_detail"] == "generic"
        return HTTPError(400, "Bad Request", "Bad Request" if generic else detail)

    def _call(self, req: Request, action: str) -> dict[str, Any]:
        call: dict[str, Any] = {
            "campaign_id": req.params["id"],
            "action": action,
            "at": self.clock.iso(self.clock.now()),
            "previous_status": None,
        }
        self.state["cancel_calls"].append(call)
        return call

    # ------------------------------------------------------------- API

    def ping(self, req: Request) -> Response:
        return Response(200, {"health_status": "Everything's Chimpy!"})

    def get_campaign(self, req: Request) -> Response:
        body = self._render(self._find(req.params["id"]))
        fields = [f.strip() for f in (req.query.get("fields") or "").split(",") if f.strip()]
        if fields:
            body = {k: v for k, v in body.items() if k in fields}
        return Response(200, body)

    def cancel_send(self, req: Request) -> Response:
        call = self._call(req, "cancel-send")
        try:
            c = self._find(req.params["id"])
        except HTTPError:
            call.update(status_code=404, result="not_found")
            raise
        call["previous_status"] = c["status"]
        if not self.config["pro_plan"]:
            call.update(status_code=403, result="not_pro")
            raise HTTPError(403, "Forbidden", "Canceling a campaign mid-send is a Mailchimp Pro feature.")
        if c["type"] not in CANCEL_SEND_TYPES:
            raise self._refuse(call, "wrong_type", "Only Regular and Plain-Text campaigns can be canceled.")
        if c["status"] != "sending":
            raise self._refuse(call, "not_sending", f"This campaign cannot be canceled: its status is {c['status']}.")
        self._move(c, "canceling" if self.config["canceling_s"] else "canceled", self.clock.now())
        call.update(status_code=204, result="canceling" if self.config["canceling_s"] else "canceled")
        return self._done(c)

    def unschedule(self, req: Request) -> Response:
        call = self._call(req, "unschedule")
        try:
            c = self._find(req.params["id"])
        except HTTPError:
            call.update(status_code=404, result="not_found")
            raise
        call["previous_status"] = c["status"]
        if c["status"] != "schedule":
            raise self._refuse(
                call, "not_scheduled", f"This campaign cannot be unscheduled: its status is {c['status']}."
            )
        self._move(c, "save", self.clock.now())
        call.update(status_code=204, result="unscheduled")
        return self._done(c)

    # ------------------------------------------------------------- admin

    def _admin_view(self, c: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        view = {k: v for k, v in c.items() if k not in ("entered_at", "seq")}
        for k in ("send_time", "canceled_at", "create_time"):
            view[k] = iso(c[k])
        due = self._next_due(c)
        view["next_transition_at"] = iso(due[0]) if due else None
        return view

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"campaigns": [{"id"?, "status", "type"?, "send_in_s"?, "send_duration_s"?, "title"?}]}``."""
        items = body.get("campaigns") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError('body must be {"campaigns": [...]}')
        prepared = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or item.get("status", "save") not in STATUSES:
                raise ValueError(f"campaigns[{i}].status must be one of {STATUSES}")
            if item.get("type", "regular") not in TYPES:
                raise ValueError(f"campaigns[{i}].type must be one of {TYPES}")
            cid = item.get("id")
            if cid is not None and (
                not isinstance(cid, str) or not cid or "/" in cid or cid in self.state["campaigns"]
            ):
                raise ValueError(f"campaigns[{i}].id must be a new, non-empty string without '/'")
            _number(item.get("send_duration_s"), f"campaigns[{i}].send_duration_s", allow_none=True)
            status = item.get("status", "save")
            send_in = item.get("send_in_s", 3600 if status == "schedule" else None)
            _number(send_in, f"campaigns[{i}].send_in_s", allow_none=True)
            send_time = self.clock.now() + send_in if send_in is not None else None
            prepared.append({**item, "status": status, "send_time": send_time})
        return {"campaigns": [self._admin_view(self._new(p)) for p in prepared]}

    def dump_state(self) -> dict[str, Any]:
        rows = sorted((self._settle(c) for c in self.state["campaigns"].values()), key=lambda c: c["seq"])
        return {"campaigns": [self._admin_view(c) for c in rows], "cancel_calls": self.state["cancel_calls"]}

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id", "status"?}``: the next step now (schedule -> sending -> sent, canceling -> canceled)."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ..., "status"?: ...}')
        c = self._find(str(body["id"]))
        due = self._next_due(c)
        target = body.get("status") or (due[1] if due else None)
        if target not in STATUSES:
            raise ValueError(f"campaign is {c['status']!r}: no next status; pass one of {STATUSES}")
        self._move(c, target, self.clock.now())
        return {"campaign": self._admin_view(c)}
