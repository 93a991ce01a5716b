"""Periskope (WhatsApp broadcasts), per the vendor's public docs (see docs/vendors and docs/decisions.md) and its delete-broadcast docs page.

Mounted at ``/periskope``; API root ``/periskope/v1`` (real: ``https://api.periskope.app/v1``).

Model: a broadcast is a list of queue jobs, one per chat. It starts at ``start_at`` and sends job
``i`` at ``start_at + i * delay`` (``delay`` is the documented seconds between messages), so its
``broadcast_status`` moves by itself: null (not started) -> ``inprogress`` -> ``completed``.
Cancelling follows the docs page: not started -> deleted (the record is gone: 404 afterwards);
sending -> ``stopped`` (unsent jobs cancelled); terminal -> 409. ``stop_settle_s`` makes the
read-back keep showing ``inprogress`` for a while after a stop, as a real queue drains.
Choices the docs leave open are marked [sandbox].
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from airflow_provider_cancel.sandbox.core import (
    HTTPError,
    Request,
    Response,
    Vendor,
    org_id,
    uuid7,
)

TERMINAL = ("completed", "stopped", "expired")  # enum_broadcast_status is these, inprogress and null
SEED_STATUSES = ("scheduled", "inprogress", "completed", "stopped", "expired")  # "scheduled" = null
PHONE_RE = re.compile(r"^(?:[0-9]{8,15}|phone-[A-Za-z0-9_-]+)$")
DEFAULT_SCHEDULE_AHEAD_S = 3600.0
DEFAULT_SEED_DELAY_S = 30.0  # seeded broadcasts move slowly unless a test asks otherwise
JOB_DESCRIPTIONS = {
    "queued": "Waiting to be sent",
    "sent": "Sent",
    "cancelled": "Cancelled with the broadcast",
    "purged": "Purged from the queue",
}
CONFLICT_MESSAGE = "Broadcast is already stopped"  # verbatim from the docs page, for every terminal state


def _error_name(name: str) -> str:
    name = name.upper()
    return name if name.endswith("_ERROR") else f"{name}_ERROR"


def _positive_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{what} must be a positive number")
    return float(value)


class Periskope(Vendor):
    """Broadcasts with create/status/delete, per-job queue listing, queue purge and queue health."""

    name = "periskope"
    base_path = "/v1"
    default_config: dict[str, Any] = {
        "api_key": "pk_sandbox_key",
        "rate_limit_per_second": 10,  # [sandbox] headers are documented, the numbers are not
        "phone": "919874532456",  # the org's connected phone (x-phone, digits form)
        "phone_id": "phone-sandbox",  # the same phone's phone-... id form
        "require_phone": False,  # documented optional on queue/broadcast endpoints, required on sends
        "stop_settle_s": 0.0,  # seconds a stopped broadcast still reads as inprogress
        "status_case": "lower",  # lower | upper | title: the client must not care
    }
    ratelimit_header_names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

    def routes(self) -> None:
        r = self.router
        r.add("POST", "/message/broadcast", self.create_broadcast)
        r.add("DELETE", "/message/broadcast/{id}", self.delete_broadcast)
        r.add("GET", "/queue/broadcast", self.broadcast_status)
        r.add("POST", "/message/queues", self.list_queue_jobs)
        r.add("POST", "/message/queues/purge", self.purge_queue)
        r.add("GET", "/queue", self.queue_health)

    def init_state(self) -> dict[str, Any]:
        return {
            "broadcasts": {},
            "deleted": [],
            "seq": 0,
            "cancel_calls": [],
            "purge_calls": [],
            "status_reads": [],
            "lose_next_delete_answers": 0,
            "fail_next_status_reads": 0,
        }

    def validate_config(self, cfg: dict[str, Any]) -> None:
        for key in ("api_key", "phone", "phone_id"):
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ValueError(f"periskope.{key} must be a non-empty string")
        if not PHONE_RE.match(cfg["phone"]) or not cfg["phone_id"].startswith("phone-"):
            raise ValueError("periskope.phone must be digits only and periskope.phone_id start with 'phone-'")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("periskope.rate_limit_per_second must be an integer >= 0")
        settle = cfg["stop_settle_s"]
        if isinstance(settle, bool) or not isinstance(settle, (int, float)) or settle < 0:
            raise ValueError("periskope.stop_settle_s must be a number >= 0")
        if not isinstance(cfg["require_phone"], bool):
            raise ValueError("periskope.require_phone must be true or false")
        if cfg["status_case"] not in ("lower", "upper", "title"):
            raise ValueError("periskope.status_case must be 'lower', 'upper' or 'title'")

    # ------------------------------------------------------------- shapes

    def error(self, status: int, name: str, message: str) -> Response:
        """409 shape from the docs page; 422 ``{code: VALIDATION_ERROR, fields}`` from the SDK types."""
        if status == 422:
            body: dict[str, Any] = {"code": "VALIDATION_ERROR", "message": message, "fields": {}}
        else:  # [sandbox] other statuses reuse the documented 409 layout
            body = {"status": _error_name(name), "message": message, "code": status}
        return Response(status, body, self._trace())

    def unauthorized(self) -> Response:
        return self.error(401, "unauthorized", "Invalid or missing API key")

    @staticmethod
    def _trace() -> dict[str, str]:
        return {"x-periskope-trace-id": uuid.uuid4().hex}

    def _ok(self, body: Any, status: int = 200) -> Response:
        return Response(status, body, self._trace())

    def _invalid(self, fields: dict[str, str], message: str = "Validation failed") -> Response:
        return Response(422, {"code": "VALIDATION_ERROR", "message": message, "fields": fields}, self._trace())

    def _check_phone(self, req: Request, required: bool = False) -> Response | None:
        """None when x-phone is fine; otherwise the error answer."""
        phone = req.header("x-phone")
        if phone is None:
            if required or self.config["require_phone"]:
                return self._invalid({"x-phone": "required"}, "x-phone header is required")
            return None
        if not PHONE_RE.match(phone):
            return self._invalid(
                {"x-phone": "must be country code + number, digits only (e.g. 919874532456), or a phone-... id"},
                "Invalid x-phone header",
            )
        if phone not in (self.config["phone"], self.config["phone_id"]):
            # [sandbox] the docs do not say what an unknown phone gets
            return self.error(403, "forbidden", f"Phone {phone} is not connected to your organisation")
        return None

    # ------------------------------------------------------------- model

    def _new(
        self,
        org: str,
        chat_ids: list[str],
        message: Any,
        delay: float,
        start_at: float | None,
        scheduled_at: float | None,
        broadcast_id: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        self.state["seq"] += 1
        b: dict[str, Any] = {
            "id": broadcast_id or str(uuid.uuid4()),
            "org": org,
            "message": message,
            "delay": delay,
            "start_at": start_at,
            "scheduled_at": scheduled_at,
            "created_at": now,
            "final": None,
            "final_at": None,
            "visible_final_at": None,
            "seq": self.state["seq"],
            "jobs": [{"queue_id": uuid7(), "chat_id": c, "state": "queued", "at": None} for c in chat_ids],
        }
        self.state["broadcasts"][b["id"]] = b
        return b

    def _finish(self, b: dict[str, Any], final: str, at: float, settle_s: float = 0.0) -> None:
        b.update(final=final, final_at=at, visible_final_at=at + settle_s)

    def _settle(self, b: dict[str, Any]) -> dict[str, Any]:
        """Apply every send that is due (lazy: state is computed on read)."""
        if b["final"] is not None:
            return b
        now = self.clock.now()
        if b["start_at"] is not None and b["start_at"] <= now:
            for i, job in enumerate(b["jobs"]):
                due = b["start_at"] + i * b["delay"]
                if job["state"] == "queued" and due <= now:
                    job.update(state="sent", at=due)
        if not any(j["state"] == "queued" for j in b["jobs"]):
            purged = any(j["state"] == "purged" for j in b["jobs"])
            last = max((j["at"] for j in b["jobs"] if j["at"] is not None), default=now)
            # [sandbox] a broadcast whose queued jobs were all purged reads as stopped
            self._finish(b, "stopped" if purged else "completed", last)
        return b

    def _status(self, b: dict[str, Any]) -> str | None:
        """The stored status: None (not started), inprogress, or the terminal one."""
        if b["final"] is not None:
            return b["final"]
        return "inprogress" if b["start_at"] is not None and b["start_at"] <= self.clock.now() else None

    def _visible_status(self, b: dict[str, Any]) -> str | None:
        """What the status endpoint shows: a stop reads as inprogress until it has settled."""
        status = self._status(b)
        if status == "stopped" and self.clock.now() < (b["visible_final_at"] or 0):
            return "inprogress"
        return status

    def _cased(self, status: str | None) -> str | None:
        if status is None:
            return None
        return {"lower": status, "upper": status.upper(), "title": status.title()}[self.config["status_case"]]

    def _find(self, req: Request, broadcast_id: str) -> dict[str, Any]:
        b = self.state["broadcasts"].get(broadcast_id)
        if b is None or b["org"] != req.org:  # another org's broadcast is as invisible as a missing one
            raise HTTPError(404, "not_found", "Broadcast not found or does not belong to your organisation")
        return self._settle(b)

    def _render(self, b: dict[str, Any]) -> dict[str, Any]:
        """The documented GET /queue/broadcast object."""
        iso = self.clock.iso
        count = {s: sum(1 for j in b["jobs"] if j["state"] == s) for s in ("queued", "sent")}
        total = len(b["jobs"])
        delivered, read = count["sent"], count["sent"] // 2  # [sandbox] half of the delivered are read
        return {
            "broadcast_id": b["id"],
            "org_id": b["org"],
            "message_payload": {"message": b["message"]},
            "created_at": iso(b["created_at"]),
            "total_chats": total,
            "sent_chats": count["sent"],
            "failed_chats": 0,
            "pending_chats": count["queued"],
            "total_delivered_count": delivered,
            "total_read_count": read,
            "performed_by": "api@sandbox.periskope.app",
            "performed_at": iso(b["created_at"]),
            "scheduled_at": iso(b["scheduled_at"]),
            "broadcast_status": self._cased(self._visible_status(b)),
            "total_member_count": total,
            "delivered_percentage": round(100 * delivered / total, 2) if total else 0,
            "read_percentage": round(100 * read / total, 2) if total else 0,
            "logs": [
                {"chat_id": j["chat_id"], "queue_id": j["queue_id"], "status": j["state"], "timestamp": iso(j["at"])}
                for j in b["jobs"]
                if j["state"] != "queued"
            ],
        }

    def _render_job(self, b: dict[str, Any], j: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        return {
            "queue_id": j["queue_id"],
            "unique_id": f"{b['id']}:{j['chat_id']}",
            "message_id": f"true_{j['chat_id']}_{j['queue_id'][-12:]}" if j["state"] == "sent" else None,
            "chat_id": j["chat_id"],
            "performed_by": "api@sandbox.periskope.app",
            "status": j["state"],
            "status_description": JOB_DESCRIPTIONS[j["state"]],
            "message": {"message": b["message"]},
            "timeline": {"queued_at": iso(b["created_at"]), "sent_at": iso(j["at"]) if j["state"] == "sent" else None},
            "attempts": 1 if j["state"] == "sent" else 0,
        }

    # ------------------------------------------------------------- API

    def create_broadcast(self, req: Request) -> Response:
        if (bad := self._check_phone(req, required=True)) is not None:  # required on send endpoints
            return bad
        body = req.body if isinstance(req.body, dict) else {}
        chat_ids = body.get("chat_ids")
        if isinstance(chat_ids, str):  # the older docs use a comma-separated string
            chat_ids = [c.strip() for c in chat_ids.split(",") if c.strip()]
        if chat_ids is None and isinstance(body.get("label"), str) and body["label"].strip():
            chat_ids = [f"{body['label'].strip()}-member-{i}@c.us" for i in range(1, 6)]  # [sandbox] 5 members
        fields: dict[str, str] = {}
        if not isinstance(chat_ids, list) or not chat_ids or not all(isinstance(c, str) and c for c in chat_ids):
            fields["chat_ids"] = "give chat_ids (non-empty) or label"
        if not isinstance(body.get("message"), str) or not body["message"].strip():
            fields["message"] = "required"
        delay = body.get("delay", 1)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            fields["delay"] = "must be a number of seconds >= 0"
        scheduled_at = None
        if body.get("scheduled_at") is not None:
            try:
                scheduled_at = self.clock.parse_iso(body["scheduled_at"])
            except (TypeError, ValueError, AttributeError):
                fields["scheduled_at"] = "must be an ISO 8601 UTC date-time"
        if fields:
            return self._invalid(fields)
        start = scheduled_at if scheduled_at is not None else self.clock.now()
        b = self._new(req.org or "", list(chat_ids or []), body["message"], float(delay), start, scheduled_at)
        return self._ok({"broadcast_id": b["id"]})

    def delete_broadcast(self, req: Request) -> Response:
        if (bad := self._check_phone(req)) is not None:
            return bad
        broadcast_id = req.params["id"]
        call: dict[str, Any] = {
            "broadcast_id": broadcast_id,
            "at": self.clock.iso(self.clock.now()),
            "x_phone": req.header("x-phone"),
            "previous_status": None,
        }
        self.state["cancel_calls"].append(call)
        try:
            b = self._find(req, broadcast_id)
        except HTTPError as e:
            call.update(status_code=e.status, result="not_found")
            raise
        status = self._status(b)
        call["previous_status"] = status
        now = self.clock.now()
        if status is None:
            del self.state["broadcasts"][b["id"]]
            self.state["deleted"].append(
                {"id": b["id"], "org": b["org"], "deleted_at": self.clock.iso(now), "total_chats": len(b["jobs"])}
            )
            result = "deleted"
        elif status == "inprogress":
            for job in b["jobs"]:
                if job["state"] == "queued":
                    job.update(state="cancelled", at=now)
            self._finish(b, "stopped", now, float(self.config["stop_settle_s"]))
            result = "stopped"
        else:
            call.update(status_code=409, result="conflict")
            return self.error(409, "conflict", CONFLICT_MESSAGE)
        call.update(status_code=200, result=result)
        if self.state["lose_next_delete_answers"] > 0:  # done, but the answer is lost on the way back
            self.state["lose_next_delete_answers"] -= 1
            call.update(status_code=504, answer_lost=True)
            return self.error(504, "gateway_timeout", "Upstream timed out")
        return self._ok({"broadcast_id": b["id"], "status": result})

    def broadcast_status(self, req: Request) -> Response:
        if (bad := self._check_phone(req)) is not None:
            return bad
        broadcast_id = (req.query.get("broadcast_id") or "").strip()
        if not broadcast_id:
            return self._invalid({"broadcast_id": "required"})
        self.state["status_reads"].append(
            {
                "broadcast_id": broadcast_id,
                "at": self.clock.iso(self.clock.now()),
                "x_phone": req.header("x-phone"),
                "user_agent": req.header("user-agent"),
            }
        )
        if self.state["fail_next_status_reads"] > 0:  # [sandbox] the status service is briefly down
            self.state["fail_next_status_reads"] -= 1
            self.state["status_reads"][-1]["status_code"] = 503
            return self.error(503, "service_unavailable", "Status service unavailable")
        b = self._find(req, broadcast_id)
        self.state["status_reads"][-1]["broadcast_status"] = self._visible_status(b)
        return self._ok(self._render(b))

    def list_queue_jobs(self, req: Request) -> Response:
        if (bad := self._check_phone(req)) is not None:
            return bad
        body = req.body if isinstance(req.body, dict) else {}
        queue_id, broadcast_id = body.get("queue_id"), body.get("broadcast_id")
        if broadcast_id is not None:
            rows = [self._find(req, str(broadcast_id))]
        else:
            rows = [self._settle(b) for b in self._org_broadcasts(req)]
        jobs = [self._render_job(b, j) for b in rows for j in b["jobs"] if queue_id in (None, j["queue_id"])]
        return self._ok(jobs)

    def purge_queue(self, req: Request) -> Response:
        if (bad := self._check_phone(req)) is not None:
            return bad
        body = req.body if req.body is not None else {}
        if not isinstance(body, dict):
            return self._invalid({"body": "must be an object"})
        broadcast_id, queue_ids = body.get("broadcast_id"), body.get("queue_ids")
        if broadcast_id is not None and queue_ids is not None:
            return self._invalid({"broadcast_id": "give broadcast_id or queue_ids, not both"})
        if queue_ids is not None and not (isinstance(queue_ids, list) and all(isinstance(q, str) for q in queue_ids)):
            return self._invalid({"queue_ids": "must be an array of strings"})
        if broadcast_id is not None:
            mode, broadcasts = "broadcast", [self._find(req, str(broadcast_id))]
        else:
            mode = "queue_ids" if queue_ids is not None else "all"  # documented: an empty body purges ALL
            broadcasts = [self._settle(b) for b in self._org_broadcasts(req)]
        wanted = set(queue_ids or ())
        now, purged = self.clock.now(), []
        for b in broadcasts:
            for job in b["jobs"]:
                if job["state"] == "queued" and (mode != "queue_ids" or job["queue_id"] in wanted):
                    job.update(state="purged", at=now)
                    purged.append(job["queue_id"])
            self._settle(b)
        touched = sorted({b["id"] for b in broadcasts if any(j["queue_id"] in purged for j in b["jobs"])})
        self.state["purge_calls"].append(
            {
                "at": self.clock.iso(now),
                "mode": mode,
                "body": body,
                "x_phone": req.header("x-phone"),
                "purged": len(purged),
                "broadcast_ids": touched,
            }
        )
        return self._ok({"purged": len(purged), "mode": mode, "queue_ids": purged})

    def queue_health(self, req: Request) -> Response:
        if (bad := self._check_phone(req)) is not None:
            return bad
        rows = [self._settle(b) for b in self._org_broadcasts(req)]
        jobs = [j for b in rows for j in b["jobs"]]
        return self._ok(
            {
                "active": sum(1 for b in rows if self._status(b) == "inprogress"),
                "completed": sum(1 for j in jobs if j["state"] == "sent"),
                "failed": 0,
                "is_running": True,
                "pending": sum(1 for j in jobs if j["state"] == "queued"),
            }
        )

    def _org_broadcasts(self, req: Request) -> list[dict[str, Any]]:
        return sorted((b for b in self.state["broadcasts"].values() if b["org"] == req.org), key=lambda b: b["seq"])

    # ------------------------------------------------------------- admin

    def _own_org(self) -> str:
        return org_id(str(self.config["api_key"]))

    def _admin_view(self, b: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        states = [j["state"] for j in b["jobs"]]
        queued = [i for i, s in enumerate(states) if s == "queued"]
        moving = queued and b["start_at"] is not None and b["final"] is None
        next_send = b["start_at"] + queued[0] * b["delay"] if moving else None
        return {
            "id": b["id"],
            "org": "own" if b["org"] == self._own_org() else b["org"],
            "status": self._status(b),
            "visible_status": self._visible_status(b),
            "total_chats": len(states),
            **{f"{s}_chats": states.count(s) for s in ("sent", "queued", "cancelled", "purged")},
            "queue_ids": [j["queue_id"] for j in b["jobs"]],
            "delay": b["delay"],
            "start_at": iso(b["start_at"]),
            "scheduled_at": iso(b["scheduled_at"]),
            "final_at": iso(b["final_at"]),
            "visible_final_at": iso(b["visible_final_at"]),
            "next_send_at": iso(next_send),
        }

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"broadcasts": [{"status", "total_chats", "sent_chats", "delay", "id", "org", "scheduled_at", "message"}],
        "lose_next_delete_answers": n, "fail_next_status_reads": n}``. ``status`` "scheduled" (or null)
        means not started. ``lose_next_delete_answers``: the next n DELETEs act, then answer 504.
        ``fail_next_status_reads``: the next n ``GET /queue/broadcast`` answer 503."""
        if not isinstance(body, dict) or not isinstance(body.get("broadcasts", []), list):
            raise ValueError(
                'body must be {"broadcasts": [...], "lose_next_delete_answers"?: n, "fail_next_status_reads"?: n}'
            )
        counters = {}
        for name in ("lose_next_delete_answers", "fail_next_status_reads"):
            value = body.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0")
            counters[name] = value
        now, prepared, ids = self.clock.now(), [], set()
        for i, item in enumerate(body.get("broadcasts", [])):  # validate everything before creating anything
            if not isinstance(item, dict):
                raise ValueError(f"broadcasts[{i}] must be an object")
            status = item.get("status") or "scheduled"
            if status not in SEED_STATUSES:
                raise ValueError(f"broadcasts[{i}].status must be null or one of {SEED_STATUSES}")
            total = item.get("total_chats", 10)
            if isinstance(total, bool) or not isinstance(total, int) or total < 1:
                raise ValueError(f"broadcasts[{i}].total_chats must be an integer >= 1")
            default_sent = {"scheduled": 0, "inprogress": 1, "completed": total, "stopped": 1, "expired": 0}[status]
            sent = item.get("sent_chats", default_sent)
            bounds = {"scheduled": (0, 0), "inprogress": (1, total - 1), "completed": (total, total)}
            low, high = bounds.get(status, (0, total))
            if isinstance(sent, bool) or not isinstance(sent, int) or not low <= sent <= high:
                raise ValueError(f"broadcasts[{i}].sent_chats must be an integer in [{low}, {high}] for {status}")
            delay = _positive_number(item.get("delay", DEFAULT_SEED_DELAY_S), f"broadcasts[{i}].delay")
            bid = item.get("id")
            if bid is not None and (
                not isinstance(bid, str) or not bid or "/" in bid or bid in self.state["broadcasts"] or bid in ids
            ):
                raise ValueError(f"broadcasts[{i}].id must be a new, non-empty string without '/'")
            ids.add(bid)
            sched = item.get("scheduled_at")
            sched_ts = self.clock.parse_iso(sched) if isinstance(sched, str) else None
            if sched is not None and sched_ts is None:
                raise ValueError(f"broadcasts[{i}].scheduled_at must be an ISO 8601 string")
            org = self._own_org() if item.get("org") in (None, "own") else f"org_{item['org']}"
            message = item.get("message", f"Sandbox broadcast {i + 1}")
            prepared.append((status, total, sent, delay, bid, org, sched_ts, message))
        created = []
        for status, total, sent, delay, bid, org, sched_ts, message in prepared:
            chats = [f"9100000{n:05d}@c.us" for n in range(1, total + 1)]
            if status == "scheduled":
                start = sched_ts if sched_ts is not None else now + DEFAULT_SCHEDULE_AHEAD_S
                b = self._new(org, chats, message, delay, start, start, bid)
            else:
                # Started far enough back that exactly `sent` jobs are due now.
                start = now - max(sent - 1, 0) * delay - 0.001
                b = self._new(org, chats, message, delay, start, sched_ts, bid)
                for k, job in enumerate(b["jobs"]):
                    if k < sent:
                        job.update(state="sent", at=start + k * delay)
                    elif status != "inprogress":
                        job.update(state="cancelled", at=now)
                if status != "inprogress":
                    last_send = start + (sent - 1) * delay if sent else now
                    self._finish(b, status, last_send if status == "completed" else now)
            created.append(b)
        for name, value in counters.items():
            self.state[name] += value
        return {"broadcasts": [self._admin_view(b) for b in created]}

    def dump_state(self) -> dict[str, Any]:
        rows = sorted((self._settle(b) for b in self.state["broadcasts"].values()), key=lambda b: b["seq"])
        return {
            "broadcasts": [self._admin_view(b) for b in rows],
            "deleted": list(self.state["deleted"]),
            "cancel_calls": self.state["cancel_calls"],
            "purge_calls": self.state["purge_calls"],
            "status_reads": self.state["status_reads"],
            "lose_next_delete_answers": self.state["lose_next_delete_answers"],
            "fail_next_status_reads": self.state["fail_next_status_reads"],
        }

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"id", "status"?}``: the next step now (start, or send everything), or jump to ``status``."""
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError('body must be {"id": ..., "status"?: ...}')
        b = self.state["broadcasts"].get(body["id"])
        if b is None:
            raise HTTPError(404, "not_found", f"no broadcast {body['id']!r}")
        b = self._settle(b)
        current = self._status(b)
        target = body.get("status") or {None: "inprogress", "inprogress": "completed"}.get(current)
        if current in TERMINAL or target not in ("inprogress", *TERMINAL):
            raise ValueError(
                f"broadcast is {current!r}: it can move to inprogress/completed/stopped/expired only while not finished"
            )
        now = self.clock.now()
        if target == "inprogress":
            if current is None:
                b["start_at"] = now
                self._settle(b)
        else:
            for job in b["jobs"]:
                if job["state"] == "queued":
                    job.update(state="sent" if target == "completed" else "cancelled", at=now)
            self._finish(b, target, now)
        return {"broadcast": self._admin_view(b)}
