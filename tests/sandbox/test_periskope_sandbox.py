"""The Periskope part of the sandbox, over real HTTP with ``requests`` (no provider code involved)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "pk_sandbox_key"
PHONE = "919874532456"
AUTH = {"Authorization": f"Bearer {KEY}"}
CONFLICT = {"status": "CONFLICT_ERROR", "message": "Broadcast is already stopped", "code": 409}
STATUS_FIELDS = {
    "broadcast_id",
    "org_id",
    "message_payload",
    "created_at",
    "total_chats",
    "sent_chats",
    "failed_chats",
    "pending_chats",
    "total_delivered_count",
    "total_read_count",
    "performed_by",
    "performed_at",
    "scheduled_at",
    "broadcast_status",
    "total_member_count",
    "delivered_percentage",
    "read_percentage",
    "logs",
}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"periskope": {"rate_limit_per_second": 0}})
    return server


@pytest.fixture()
def api(bearer_session: Any) -> Any:
    return bearer_session(KEY)


def seed(sb: SandboxServer, *broadcasts: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return sb.admin("POST", "/periskope/seed", {"broadcasts": list(broadcasts), **extra})["broadcasts"]


def state(sb: SandboxServer) -> dict[str, Any]:
    return sb.admin("GET", "/periskope/state")


def by_id(sb: SandboxServer) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in state(sb)["broadcasts"]}


def url(sb: SandboxServer, path: str) -> str:
    return f"{sb.vendor_url('periskope')}{path}"


def read_status(sb: SandboxServer, api: requests.Session, bid: str, **headers: str) -> requests.Response:
    return api.get(url(sb, "/queue/broadcast"), params={"broadcast_id": bid}, headers=headers)


def advance_clock(sb: SandboxServer, seconds: float) -> None:
    sb.admin("POST", "/time", {"advance_s": seconds})


# --------------------------------------------------------------------------- auth and x-phone


def test_wrong_or_missing_key_is_401_and_never_logged(sb: SandboxServer) -> None:
    (b,) = seed(sb, {"status": "inprogress"})
    target = url(sb, f"/message/broadcast/{b['id']}")
    for headers in ({}, {"Authorization": "Bearer pk_wrong"}, {"Authorization": f"Basic {KEY}"}):
        r = requests.delete(target, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"status": "UNAUTHORIZED_ERROR", "message": "Invalid or missing API key", "code": 401}
    assert by_id(sb)[b["id"]]["status"] == "inprogress" and state(sb)["cancel_calls"] == []
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=periskope"))


def test_x_phone_is_optional_checked_when_given_and_recorded(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress"})
    assert read_status(sb, api, b["id"]).status_code == 200  # optional on queue/broadcast endpoints
    assert read_status(sb, api, b["id"], **{"x-phone": "phone-sandbox"}).status_code == 200
    bad = read_status(sb, api, b["id"], **{"x-phone": "+91 98745 32456"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "VALIDATION_ERROR" and "digits only" in bad.json()["fields"]["x-phone"]
    assert read_status(sb, api, b["id"], **{"x-phone": "14155550100"}).status_code == 403  # not this org's phone
    r = api.delete(url(sb, f"/message/broadcast/{b['id']}"), headers={"x-phone": PHONE})
    assert r.status_code == 200 and state(sb)["cancel_calls"][0]["x_phone"] == PHONE


def test_require_phone_config_makes_x_phone_mandatory(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress"})
    sb.admin("POST", "/config", {"periskope": {"require_phone": True}})
    r = read_status(sb, api, b["id"])
    assert r.status_code == 422 and r.json()["fields"] == {"x-phone": "required"}
    assert read_status(sb, api, b["id"], **{"x-phone": PHONE}).status_code == 200


def test_config_rejects_bad_values(sb: SandboxServer) -> None:
    for patch in ({"stop_settle_s": -1}, {"status_case": "shouty"}, {"phone": "+91 9874"}, {"require_phone": "yes"}):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/config", {"periskope": patch})


# --------------------------------------------------------------------------- cancel rules


def test_delete_before_start_removes_the_record(sb: SandboxServer, api: requests.Session) -> None:
    target, other = seed(sb, {"status": "scheduled"}, {"status": "scheduled"})
    r = api.delete(url(sb, f"/message/broadcast/{target['id']}"))
    assert r.status_code == 200 and r.json() == {"broadcast_id": target["id"], "status": "deleted"}
    assert read_status(sb, api, target["id"]).status_code == 404  # gone: nothing left to read
    assert api.delete(url(sb, f"/message/broadcast/{target['id']}")).status_code == 404
    assert [d["id"] for d in state(sb)["deleted"]] == [target["id"]]
    assert other["id"] in by_id(sb) and target["id"] not in by_id(sb)


def test_delete_while_sending_stops_and_cancels_unsent_jobs(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress", "total_chats": 8, "sent_chats": 3, "delay": 60})
    r = api.delete(url(sb, f"/message/broadcast/{b['id']}"))
    assert r.status_code == 200 and r.json() == {"broadcast_id": b["id"], "status": "stopped"}
    body = read_status(sb, api, b["id"]).json()
    assert body["broadcast_status"] == "stopped" and body["sent_chats"] == 3 and body["pending_chats"] == 0
    view = by_id(sb)[b["id"]]
    assert view["cancelled_chats"] == 5 and view["queued_chats"] == 0


@pytest.mark.parametrize("status", ["completed", "stopped", "expired"])
def test_delete_in_a_terminal_state_is_the_documented_409(
    sb: SandboxServer, api: requests.Session, status: str
) -> None:
    (b,) = seed(sb, {"status": status})
    r = api.delete(url(sb, f"/message/broadcast/{b['id']}"))
    assert r.status_code == 409 and r.json() == CONFLICT
    assert state(sb)["cancel_calls"][-1]["result"] == "conflict"


def test_unknown_and_other_org_broadcasts_are_404(sb: SandboxServer, api: requests.Session) -> None:
    (foreign,) = seed(sb, {"status": "inprogress", "org": "someone_else"})
    for bid in ("no-such-broadcast", foreign["id"]):
        r = api.delete(url(sb, f"/message/broadcast/{bid}"))
        assert r.status_code == 404 and r.json()["status"] == "NOT_FOUND_ERROR"
        assert read_status(sb, api, bid).status_code == 404
    assert by_id(sb)[foreign["id"]]["status"] == "inprogress"


def test_stop_settles_after_stop_settle_s(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"periskope": {"stop_settle_s": 5}})
    (b,) = seed(sb, {"status": "inprogress", "delay": 60})
    assert api.delete(url(sb, f"/message/broadcast/{b['id']}")).json()["status"] == "stopped"
    assert read_status(sb, api, b["id"]).json()["broadcast_status"] == "inprogress"  # still draining
    assert api.delete(url(sb, f"/message/broadcast/{b['id']}")).status_code == 409  # already stopped inside
    advance_clock(sb, 5)
    assert read_status(sb, api, b["id"]).json()["broadcast_status"] == "stopped"
    assert [r["broadcast_status"] for r in state(sb)["status_reads"]] == ["inprogress", "stopped"]


def test_lost_delete_answer_acts_then_answers_504(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "scheduled"}, lose_next_delete_answers=1)
    first = api.delete(url(sb, f"/message/broadcast/{b['id']}"))
    assert first.status_code == 504 and first.json()["status"] == "GATEWAY_TIMEOUT_ERROR"
    assert api.delete(url(sb, f"/message/broadcast/{b['id']}")).status_code == 404  # it was deleted all the same
    assert [c.get("answer_lost", False) for c in state(sb)["cancel_calls"]] == [True, False]


def test_failing_status_reads_answer_503_then_recover(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress"}, fail_next_status_reads=2)
    answers = [read_status(sb, api, b["id"]) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].json() == {
        "status": "SERVICE_UNAVAILABLE_ERROR",
        "message": "Status service unavailable",
        "code": 503,
    }
    assert [r.get("status_code") for r in state(sb)["status_reads"]] == [503, 503, None]
    assert state(sb)["fail_next_status_reads"] == 0
    assert api.delete(url(sb, f"/message/broadcast/{b['id']}")).status_code == 200  # other endpoints unaffected
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/periskope/seed", {"broadcasts": [], "fail_next_status_reads": -1})


# --------------------------------------------------------------------------- state over time and status read-back


def test_created_broadcast_moves_null_inprogress_completed(sb: SandboxServer, api: requests.Session) -> None:
    r = api.post(
        url(sb, "/message/broadcast"),
        headers={"x-phone": PHONE},
        json={
            "chat_ids": "91111@c.us,92222@c.us,93333@c.us",
            "message": "hi",
            "delay": 10,
            "scheduled_at": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 200 and set(r.json()) == {"broadcast_id"}
    bid = r.json()["broadcast_id"]
    assert read_status(sb, api, bid).json()["broadcast_status"] is None  # scheduled: null, per the enum
    sb.admin("POST", "/periskope/advance", {"id": bid})
    body = read_status(sb, api, bid).json()
    assert body["broadcast_status"] == "inprogress" and body["sent_chats"] == 1
    advance_clock(sb, 10)
    assert read_status(sb, api, bid).json()["sent_chats"] == 2
    advance_clock(sb, 10)
    body = read_status(sb, api, bid).json()
    assert body["broadcast_status"] == "completed" and body["sent_chats"] == 3 and body["pending_chats"] == 0


def test_status_read_has_the_documented_fields_and_any_case(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress", "total_chats": 4, "sent_chats": 2, "delay": 60})
    body = read_status(sb, api, b["id"]).json()
    assert set(body) == STATUS_FIELDS
    assert (body["total_chats"], body["sent_chats"], body["pending_chats"]) == (4, 2, 2)
    sb.admin("POST", "/config", {"periskope": {"status_case": "upper"}})
    assert read_status(sb, api, b["id"]).json()["broadcast_status"] == "INPROGRESS"
    missing = api.get(url(sb, "/queue/broadcast"))
    assert missing.status_code == 422 and missing.json()["fields"] == {"broadcast_id": "required"}


def test_send_endpoint_requires_x_phone_and_validates_the_body(sb: SandboxServer, api: requests.Session) -> None:
    assert api.post(url(sb, "/message/broadcast"), json={"chat_ids": ["1@c.us"], "message": "x"}).status_code == 422
    r = api.post(url(sb, "/message/broadcast"), headers={"x-phone": PHONE}, json={"chat_ids": []})
    assert r.status_code == 422 and set(r.json()["fields"]) == {"chat_ids", "message"}


def test_rate_limit_headers_and_429(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"periskope": {"rate_limit_per_second": 1}})
    first, second = api.get(url(sb, "/queue")), api.get(url(sb, "/queue"))
    assert first.status_code == 200 and first.headers["X-RateLimit-Limit"] == "1"
    assert {"X-RateLimit-Remaining", "X-RateLimit-Reset", "x-periskope-trace-id"} <= set(first.headers)
    assert second.status_code == 429 and second.json()["code"] == 429


def test_injected_fault_uses_the_periskope_error_shape(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/periskope/faults", {"fail_next": 1, "status": 503})
    r = api.get(url(sb, "/queue"))
    assert r.status_code == 503
    assert r.json() == {"status": "SERVICE_UNAVAILABLE_ERROR", "message": "Injected fault", "code": 503}
    assert api.get(url(sb, "/queue")).status_code == 200


# --------------------------------------------------------------------------- queue jobs and purge


def test_purge_by_broadcast_touches_only_that_broadcast(sb: SandboxServer, api: requests.Session) -> None:
    target, other = seed(
        sb,
        {"status": "inprogress", "total_chats": 5, "delay": 60},
        {"status": "inprogress", "total_chats": 5, "delay": 60},
    )
    r = api.post(url(sb, "/message/queues/purge"), json={"broadcast_id": target["id"]})
    assert r.status_code == 200
    assert r.json() == {"purged": 4, "mode": "broadcast", "queue_ids": target["queue_ids"][1:]}
    views = by_id(sb)
    assert views[target["id"]]["purged_chats"] == 4 and views[target["id"]]["status"] == "stopped"
    assert views[other["id"]]["queued_chats"] == 4 and views[other["id"]]["status"] == "inprogress"


def test_purge_by_queue_ids_and_the_per_job_listing(sb: SandboxServer, api: requests.Session) -> None:
    (b,) = seed(sb, {"status": "inprogress", "total_chats": 4, "delay": 60})
    r = api.post(url(sb, "/message/queues/purge"), json={"queue_ids": [b["queue_ids"][2], "unknown"]})
    assert r.json() == {"purged": 1, "mode": "queue_ids", "queue_ids": [b["queue_ids"][2]]}
    jobs = api.post(url(sb, "/message/queues"), json={"broadcast_id": b["id"]}).json()
    assert [j["status"] for j in jobs] == ["sent", "queued", "purged", "queued"]
    assert {
        "queue_id",
        "unique_id",
        "message_id",
        "chat_id",
        "performed_by",
        "status",
        "status_description",
        "message",
        "timeline",
        "attempts",
    } == set(jobs[0])


def test_empty_purge_body_purges_everything_queued(sb: SandboxServer, api: requests.Session) -> None:
    seed(
        sb,
        {"status": "inprogress", "total_chats": 3, "delay": 60},
        {"status": "scheduled", "total_chats": 2},
        {"status": "completed", "total_chats": 2},
    )
    r = api.post(url(sb, "/message/queues/purge"), json={})
    assert r.json()["purged"] == 4 and r.json()["mode"] == "all"
    assert api.get(url(sb, "/queue")).json()["pending"] == 0
    assert state(sb)["purge_calls"][0]["mode"] == "all"


def test_purge_with_both_selectors_is_422(sb: SandboxServer, api: requests.Session) -> None:
    r = api.post(url(sb, "/message/queues/purge"), json={"broadcast_id": "b", "queue_ids": ["q"]})
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"


# --------------------------------------------------------------------------- admin


def test_seed_validates_everything_before_creating_anything(sb: SandboxServer) -> None:
    for bad in (
        {"status": "sending"},
        {"status": "inprogress", "sent_chats": 0},
        {"total_chats": 0},
        {"delay": -1},
        {"status": "scheduled", "sent_chats": 2},
    ):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "inprogress"}, bad]})
    assert state(sb)["broadcasts"] == []


def test_advance_moves_forward_only(sb: SandboxServer) -> None:
    (b,) = seed(sb, {"status": "inprogress", "delay": 60})
    assert sb.admin("POST", "/periskope/advance", {"id": b["id"]})["broadcast"]["status"] == "completed"
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/periskope/advance", {"id": b["id"], "status": "inprogress"})
    (e,) = seed(sb, {"status": "scheduled"})
    moved = sb.admin("POST", "/periskope/advance", {"id": e["id"], "status": "expired"})
    assert moved["broadcast"]["status"] == "expired"
