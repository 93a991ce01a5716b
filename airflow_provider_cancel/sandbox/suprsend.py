"""SuprSend workflow and broadcast runs, per the vendor's public docs (see docs/vendors and docs/decisions.md) and its cancel docs pages.

Mounted at ``/suprsend`` (real: ``https://hub.suprsend.com``). Serves:

- ``POST /v1/workflow_run/cancel/`` and ``POST /v1/broadcast_run/cancel/``: filters ANDed, at
  least one required, else the documented 400 ``{code, message}``; 200 ``{"execution_ids": [...]}``
  with the runs it cancelled, ``[]`` when no running run matched.
- ``GET /v1/message/``: the message log, newest first, with cursor pagination and the filters a
  settle check needs (``execution_id`` matches a workflow or broadcast execution id).

Decisions where the docs are silent or disagree (see docs/vendors/suprsend.md):

- ``workflow_slug`` alone qualifies as a workflow cancel filter by default: the request schema
  says "at least one parameter must be provided" and lists it, the page describes it as a filter
  and its example combines it with recipients; only the 400 message text omits it. Config
  ``workflow_slug_alone_qualifies: false`` switches to the message's reading (documented 400).
- ``tenant_id`` (shown only on the rendered HTML pages) narrows but never qualifies on its own.
- Only ``in_progress`` runs are cancelled and returned; completed, failed or already cancelled
  runs match but are "nothing to cancel", so a repeated cancel answers ``[]``.
- Runs move by themselves: an in-progress run emits one message every ``message_every_s`` until
  ``total_messages``, then completes. ``cancel_lag_s`` lets messages already in the pipeline still
  appear that long after a cancel. Message ``created_at`` has second precision, as documented.
- Errors use the documented ``{code, message}`` shape for every status (401 included, which the
  cancel pages do not document).
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

RUN_TYPES = ("workflow", "broadcast")
STATUSES = ("in_progress", "completed", "partial_failure", "failed", "cancelled")
FINAL_STATUSES = ("completed", "partial_failure", "failed")
QUALIFYING = {
    "workflow": ("execution_id", "recipients", "idempotency_key"),  # as the documented 400 lists them
    "broadcast": ("execution_id", "list_id", "idempotency_key"),
}
SCALAR_FILTERS = {
    "workflow": ("execution_id", "idempotency_key", "workflow_slug", "tenant_id"),
    "broadcast": ("execution_id", "list_id", "idempotency_key", "tenant_id"),
}
ID_PREFIX = {"workflow": "dsl_", "broadcast": "broadcast_"}
CHANNELS = ("sms", "email", "androidpush", "iospush", "webpush", "inbox", "whatsapp", "slack", "ms_teams")
DEFAULT_MESSAGE_EVERY_S = 10.0
DELIVERED_AFTER_S = 2.0  # a message shows "triggered", then "delivered" this long after creation
MAX_LIMIT = 1000


def _bad_request(message: str) -> HTTPError:
    return HTTPError(400, "bad_request", message)


def _no_filter_message(run_type: str) -> str:
    return f"at least one filter is required: {', '.join(QUALIFYING[run_type])}"


class SuprSend(Vendor):
    """Workflow and broadcast runs that emit messages over time; cancel by filters; message log."""

    name = "suprsend"
    base_path = ""
    default_config: dict[str, Any] = {
        "api_key": "ss_sandbox_key",
        "rate_limit_per_second": 0,  # SuprSend publishes no limit; 0 = off
        "workflow_slug_alone_qualifies": True,
        "cancel_lag_s": 0.0,
    }

    def routes(self) -> None:
        r = self.router
        r.add("POST", "/v1/workflow_run/cancel/", lambda req: self.cancel(req, "workflow"))
        r.add("POST", "/v1/broadcast_run/cancel/", lambda req: self.cancel(req, "broadcast"))
        r.add("GET", "/v1/message/", self.list_messages)

    def init_state(self) -> dict[str, Any]:
        return {"runs": {}, "messages": [], "seq": 0, "cancel_calls": []}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        if not isinstance(cfg["api_key"], str) or not cfg["api_key"]:
            raise ValueError("suprsend.api_key must be a non-empty string")
        rate = cfg["rate_limit_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
            raise ValueError("suprsend.rate_limit_per_second must be an integer >= 0")
        if not isinstance(cfg["workflow_slug_alone_qualifies"], bool):
            raise ValueError("suprsend.workflow_slug_alone_qualifies must be true or false")
        lag = cfg["cancel_lag_s"]
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise ValueError("suprsend.cancel_lag_s must be a number >= 0")

    def error(self, status: int, name: str, message: str) -> Response:
        return Response(status, {"code": status, "message": message})

    # ------------------------------------------------------------- model

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return self.state["seq"]

    def _emit(self, run: dict[str, Any], at: float) -> dict[str, Any]:
        """Record one message of ``run`` created at ``at`` (whole seconds, like SuprSend's column)."""
        created = math.floor(at)
        if run["run_type"] == "workflow":
            recipient = run["recipient"]
        else:
            recipient = run["recipients"][run["emitted"] % len(run["recipients"])]
        message = {
            "message_id": uuid7().replace("-", ""),
            "created_at": created,
            "channel": run["channel"],
            "idempotency_key": run["idempotency_key"],
            "recipient": recipient,
            "execution_id": run["execution_id"],
            "is_campaign": run["run_type"] == "broadcast",
            "tenant_id": run["tenant_id"],
            "workflow_slug": run.get("workflow_slug"),
            "category": run["category"],
            "seq": self._next_seq(),
        }
        run["emitted"] += 1
        run["last_message_at"] = created
        self.state["messages"].append(message)
        return message

    def _progress(self, run: dict[str, Any]) -> dict[str, Any]:
        """Apply every time-based step that is due (lazy: computed whenever state is read)."""
        now, every = self.clock.now(), run["message_every_s"]
        if run["status"] == "in_progress":
            horizon = now
        elif run["status"] == "cancelled" and run["emit_until"] is not None:
            horizon = min(now, run["emit_until"])
        else:
            return run
        if every is not None:
            while run["emitted"] < run["total_messages"]:
                due = run["started_at"] + run["emitted"] * every
                if due > horizon:
                    break
                self._emit(run, due)
        if run["status"] == "in_progress" and run["emitted"] >= run["total_messages"]:
            run.update(status=run["final_status"], completed_at=run["last_message_at"] or run["started_at"])
        return run

    def _runs(self, run_type: str | None = None) -> list[dict[str, Any]]:
        runs = sorted(self.state["runs"].values(), key=lambda r: r["seq"])
        return [self._progress(r) for r in runs if run_type in (None, r["run_type"])]

    # ------------------------------------------------------------- API: cancel

    def _filters(self, body: Any, run_type: str) -> dict[str, Any]:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _bad_request("request body must be a JSON object")
        filters: dict[str, Any] = {}
        for key in SCALAR_FILTERS[run_type]:
            value = body.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise _bad_request(f"{key} must be a string")
            filters[key] = value
        if run_type == "workflow" and body.get("recipients") not in (None, []):
            recipients = body["recipients"]
            if not isinstance(recipients, list) or not all(isinstance(x, str) and x for x in recipients):
                raise _bad_request("recipients must be an array of strings")
            filters["recipients"] = recipients
        qualifying = QUALIFYING[run_type] + (
            ("workflow_slug",) if run_type == "workflow" and self.config["workflow_slug_alone_qualifies"] else ()
        )
        if not any(k in filters for k in qualifying):
            raise _bad_request(_no_filter_message(run_type))
        return filters

    @staticmethod
    def _matches(run: dict[str, Any], filters: dict[str, Any]) -> bool:
        for key, wanted in filters.items():
            if key == "recipients":
                identities = {run["recipient"], *run["contact_info"]}
                if not identities & set(wanted):
                    return False
            elif run.get(key) != wanted:
                return False
        return True

    def cancel(self, req: Request, run_type: str) -> Response:
        now = self.clock.now()
        call: dict[str, Any] = {
            "run_type": run_type,
            "at": self.clock.iso(now),
            "body": req.body,
            "matched": [],
            "cancelled": [],
            "status_code": None,
        }
        self.state["cancel_calls"].append(call)
        try:
            filters = self._filters(req.body, run_type)
        except HTTPError as e:
            call["status_code"] = e.status
            raise
        matched = [r for r in self._runs(run_type) if self._matches(r, filters)]
        cancelled = [r for r in matched if r["status"] == "in_progress"]
        for run in cancelled:  # messages already in the pipeline still go out for cancel_lag_s
            run.update(status="cancelled", cancelled_at=now, emit_until=now + float(self.config["cancel_lag_s"]))
        ids = [r["execution_id"] for r in cancelled]
        call.update(matched=[r["execution_id"] for r in matched], cancelled=ids, status_code=200)
        return Response(200, {"execution_ids": ids})

    # ------------------------------------------------------------- API: messages

    def _render_message(self, m: dict[str, Any]) -> dict[str, Any]:
        iso, now = self.clock.iso, self.clock.now()
        delivered = now - m["created_at"] >= DELIVERED_AFTER_S
        slug = m["workflow_slug"]
        return {
            "message_id": m["message_id"],
            "created_at": iso(m["created_at"]),
            "updated_at": iso(m["created_at"] + DELIVERED_AFTER_S if delivered else m["created_at"]),
            "triggered_at": iso(m["created_at"]),
            "delivered_at": iso(m["created_at"] + DELIVERED_AFTER_S) if delivered else None,
            "seen_at": None,
            "clicked_at": None,
            "dismissed_at": None,
            "read_at": None,
            "unread_at": None,
            "archived_at": None,
            "unarchived_at": None,
            "is_read": False,
            "is_archived": False,
            "status": "delivered" if delivered else "triggered",
            "channel": m["channel"],
            "idempotency_key": m["idempotency_key"],
            "failure_reason": None,
            "recipient": {"$type": "user", "distinct_id": m["recipient"], "object_type": None, "id": None},
            "parent_entity_id": None,
            "parent_entity_type": None,
            "vendor": {"name": "sandbox", "nickname": "Sandbox"},
            "execution_id": m["execution_id"],
            "parent_execution_id": None,
            "is_campaign": m["is_campaign"],
            "tenant_id": m["tenant_id"],
            "workflow": {"slug": slug, "version_id": None, "name": slug, "node_ref": None} if slug else None,
            "template": None,
            "channel_identity": {m["channel"]: m["recipient"]},
            "category": m["category"],
        }

    def _time_filter(self, q: dict[str, str], key: str) -> float | None:
        raw = q.get(key)
        if not raw:
            return None
        try:
            return float(math.floor(self.clock.parse_iso(raw)))  # second precision, as documented
        except (TypeError, ValueError):
            raise _bad_request(f"{key} must be an RFC3339 date-time") from None

    def list_messages(self, req: Request) -> Response:
        q = req.query
        try:
            limit = int(q.get("limit", "10"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad_request(f"limit must be an integer between 1 and {MAX_LIMIT}")
        gte, lte = self._time_filter(q, "created_at_gte"), self._time_filter(q, "created_at_lte")
        if gte is not None and lte is not None and lte < gte:
            raise _bad_request("created_at_lte must be >= created_at_gte")
        is_campaign = q.get("is_campaign")
        if is_campaign not in (None, "", "true", "false"):
            raise _bad_request("is_campaign must be true or false")
        if q.get("channel") and q["channel"] not in CHANNELS:
            raise _bad_request(f"channel must be one of {', '.join(CHANNELS)}")
        self._runs()  # emit whatever is due before reading the log
        rows = sorted(self.state["messages"], key=lambda m: (m["created_at"], m["seq"]), reverse=True)
        exact = {
            "execution_id": "execution_id",
            "idempotency_key": "idempotency_key",
            "tenant_id": "tenant_id",
            "workflow_slug": "workflow_slug",
            "message_id": "message_id",
            "channel": "channel",
        }
        for param, field_name in exact.items():
            if q.get(param):
                rows = [m for m in rows if m[field_name] == q[param]]
        if is_campaign:
            rows = [m for m in rows if m["is_campaign"] == (is_campaign == "true")]
        if gte is not None:
            rows = [m for m in rows if m["created_at"] >= gte]
        if lte is not None:
            rows = [m for m in rows if m["created_at"] <= lte]
        total = len(rows)
        after, before = q.get("after") or None, q.get("before") or None
        cursor = after or before  # documented: after wins when both are set
        if cursor is not None:
            index = next((i for i, m in enumerate(rows) if m["message_id"] == cursor), None)
            if index is None:
                raise _bad_request("invalid cursor")
            if after:
                page, has_prev = rows[index + 1 : index + 1 + limit], True
                has_next = len(rows) > index + 1 + limit
            else:
                start = max(0, index - limit)
                page, has_prev, has_next = rows[start:index], start > 0, True
        else:
            page, has_prev, has_next = rows[:limit], False, len(rows) > limit
        meta = {
            "count": total,
            "limit": limit,
            "has_prev": has_prev,
            "has_next": has_next,
            "before": page[0]["message_id"] if has_prev and page else None,
            "after": page[-1]["message_id"] if has_next and page else None,
        }
        return Response(200, {"meta": meta, "results": [self._render_message(m) for m in page]})

    # ------------------------------------------------------------- admin

    def _admin_run(self, run: dict[str, Any]) -> dict[str, Any]:
        iso = self.clock.iso
        view = {k: v for k, v in run.items() if k != "seq"}
        for key in ("started_at", "cancelled_at", "completed_at", "last_message_at", "emit_until"):
            view[key] = iso(run[key])
        if run["run_type"] == "workflow":
            view.pop("recipients", None)
            view.pop("list_id", None)
        else:
            view.pop("recipient", None)
            view.pop("contact_info", None)
            view.pop("workflow_slug", None)
        return view

    def _admin_message(self, m: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in m.items() if k != "seq"}, "created_at": self.clock.iso(m["created_at"])}

    def _prepare(self, run_type: str, i: int, item: Any, taken: set[str]) -> dict[str, Any]:
        where = f"{run_type}_runs[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        status = item.get("status", "in_progress")
        final_status = item.get("final_status", "completed")
        if status not in STATUSES or final_status not in FINAL_STATUSES:
            raise ValueError(f"{where}: status must be one of {STATUSES}, final_status one of {FINAL_STATUSES}")
        execution_id = item.get("execution_id") or ID_PREFIX[run_type] + uuid7()
        if not isinstance(execution_id, str) or execution_id in taken or execution_id in self.state["runs"]:
            raise ValueError(f"{where}: execution_id must be a new string")
        taken.add(execution_id)
        every = item.get("message_every_s", DEFAULT_MESSAGE_EVERY_S)
        if every is not None and (isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0):
            raise ValueError(f"{where}.message_every_s must be a positive number or null")
        ago = item.get("started_ago_s", 0)
        if isinstance(ago, bool) or not isinstance(ago, (int, float)) or ago < 0:
            raise ValueError(f"{where}.started_ago_s must be a number >= 0")
        for key in ("idempotency_key", "tenant_id", "workflow_slug", "list_id", "recipient"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ValueError(f"{where}.{key} must be a string")
        channel = item.get("channel", "email")
        if channel not in CHANNELS:
            raise ValueError(f"{where}.channel must be one of {CHANNELS}")
        now = self.clock.now()
        run: dict[str, Any] = {
            "execution_id": execution_id,
            "run_type": run_type,
            "status": status,
            "final_status": final_status,
            "idempotency_key": item.get("idempotency_key"),
            "tenant_id": item.get("tenant_id"),
            "channel": channel,
            "category": item.get("category", "transactional"),
            "started_at": now - ago,
            "message_every_s": None if every is None else float(every),
            "emitted": 0,
            "last_message_at": None,
            "emit_until": None,
            "cancelled_at": now if status == "cancelled" else None,
            "completed_at": now if status in FINAL_STATUSES else None,
        }
        if run_type == "workflow":
            contact_info = item.get("contact_info", [])
            if not isinstance(contact_info, list) or not all(isinstance(c, str) for c in contact_info):
                raise ValueError(f"{where}.contact_info must be a list of strings")
            run.update(
                workflow_slug=item.get("workflow_slug", "sandbox-workflow"),
                recipient=item.get("recipient") or f"user_{i + 1}",
                contact_info=contact_info,
            )
            default_total = 3
        else:
            recipients = item.get("recipients", ["user_1", "user_2", "user_3"])
            if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) for r in recipients):
                raise ValueError(f"{where}.recipients must be a non-empty list of strings")
            run.update(list_id=item.get("list_id", "sandbox-list"), recipients=recipients)
            default_total = len(recipients)
        total = item.get("total_messages", default_total)
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"{where}.total_messages must be an integer >= 0")
        run["total_messages"] = total
        return run

    def seed(self, body: Any) -> dict[str, Any]:
        """``{"workflow_runs": [...], "broadcast_runs": [...]}``; all validated before any is created."""
        if not isinstance(body, dict) or not set(body) <= {"workflow_runs", "broadcast_runs"}:
            raise ValueError('body must be {"workflow_runs": [...], "broadcast_runs": [...]}')
        taken: set[str] = set()
        prepared = []
        for run_type in RUN_TYPES:
            items = body.get(f"{run_type}_runs", [])
            if not isinstance(items, list):
                raise ValueError(f"{run_type}_runs must be a list")
            prepared += [self._prepare(run_type, i, item, taken) for i, item in enumerate(items)]
        for run in prepared:
            run["seq"] = self._next_seq()
            self.state["runs"][run["execution_id"]] = run
            self._progress(run)
        return {f"{t}_runs": [self._admin_run(r) for r in prepared if r["run_type"] == t] for t in RUN_TYPES}

    def dump_state(self) -> dict[str, Any]:
        runs = self._runs()
        return {
            **{f"{t}_runs": [self._admin_run(r) for r in runs if r["run_type"] == t] for t in RUN_TYPES},
            "messages": [self._admin_message(m) for m in sorted(self.state["messages"], key=lambda m: m["seq"])],
            "cancel_calls": self.state["cancel_calls"],
        }

    def advance(self, body: Any) -> dict[str, Any]:
        """``{"execution_id", "emit"?: n, "status"?: s}``: emit n messages now and/or set the status.

        Emitting on a cancelled run simulates a cancel that did not take.
        """
        if not isinstance(body, dict) or not body.get("execution_id"):
            raise ValueError('body must be {"execution_id": ..., "emit"?: n, "status"?: ...}')
        run = self.state["runs"].get(body["execution_id"])
        if run is None:
            raise HTTPError(404, "not_found", f"no run {body['execution_id']!r}")
        emit, status = body.get("emit", 0), body.get("status")
        if isinstance(emit, bool) or not isinstance(emit, int) or emit < 0:
            raise ValueError("emit must be an integer >= 0")
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        self._progress(run)
        now = self.clock.now()
        emitted = [self._admin_message(self._emit(run, now)) for _ in range(emit)]
        if status is not None:
            run["status"] = status
            run["cancelled_at"] = now if status == "cancelled" else run["cancelled_at"]
            run["completed_at"] = now if status in FINAL_STATUSES else run["completed_at"]
        return {"run": self._admin_run(run), "messages": emitted}
