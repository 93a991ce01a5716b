"""Tests for the local vendor sandbox (core + Arsel), over real HTTP with ``requests``."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[2]
KEY = "be_sandbox_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
NOT_CANCELLABLE = {
    "status_code": 400,
    "name": "bad_request",
    "message": "Campaign cannot be cancelled in its current status",
}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    """Fresh state per test; rate limiting off so tests can fire freely (one test turns it on)."""
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
    return server


@pytest.fixture()
def api(bearer_session: Any) -> Any:
    return bearer_session(KEY)


def seed(sb: SandboxServer, *campaigns: dict[str, Any]) -> list[dict[str, Any]]:
    return sb.admin("POST", "/arsel/seed", {"campaigns": list(campaigns)})["campaigns"]


def campaign_url(sb: SandboxServer, c: dict[str, Any], suffix: str = "") -> str:
    return f"{sb.vendor_url('arsel')}/{c['channel']}/campaigns/{c['id']}{suffix}"


def state_of(sb: SandboxServer, cid: str) -> dict[str, Any]:
    return next(c for c in sb.admin("GET", "/arsel/state")["campaigns"] if c["id"] == cid)


# --------------------------------------------------------------------------- auth


def test_auth_missing_or_wrong_key_is_401_and_key_never_logged(sb: SandboxServer) -> None:
    (c,) = seed(sb, {"channel": "email", "status": "sending"})
    url = campaign_url(sb, c)
    expected = {"status_code": 401, "name": "unauthorized", "message": "Invalid or missing API key"}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {KEY}"}):
        r = requests.get(url, headers=headers)
        assert r.status_code == 401 and r.json() == expected
    assert requests.get(url, headers=AUTH).status_code == 200
    log = sb.admin("GET", "/requests?vendor=arsel")["requests"]
    assert [e["auth_valid"] for e in log] == [False, False, False, True]
    dumped = json.dumps(log)
    assert KEY not in dumped and "nope" not in dumped


def test_api_key_from_admin_config_and_env(sb: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    sb.admin("POST", "/config", {"arsel": {"api_key": "be_other"}})
    assert requests.get(url, headers=AUTH).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer be_other"}).status_code == 200
    monkeypatch.setenv("SANDBOX_ARSEL_API_KEY", "be_from_env")
    sb.admin("POST", "/reset")  # reset re-reads defaults, including the environment
    assert sb.admin("GET", "/config")["arsel"]["api_key"] == "be_from_env"
    assert requests.get(url, headers={"Authorization": "Bearer be_from_env"}).status_code == 200


# ---------------------------------------------------------------------- get/list


def test_get_campaign_email_and_sms(sb: SandboxServer, api: requests.Session) -> None:
    email, sms = seed(
        sb,
        {"channel": "email", "name": "E", "subject": "Hi", "status": "queued"},
        {"channel": "sms", "name": "S", "content": "x" * 161, "status": "sending"},
    )
    body = api.get(campaign_url(sb, email)).json()
    assert body["id"] == email["id"] and body["subject"] == "Hi" and body["status"] == "queued"
    assert {"name", "scheduled_at", "sent_at", "created_at", "updated_at", "from", "reply_to"} <= set(body)
    assert "cancelled_at" not in body  # sandbox-only fields stay out of the vendor API
    body = api.get(campaign_url(sb, sms)).json()
    assert body["content"] == "x" * 161 and body["num_segments"] == 2 and body["status"] == "sending"
    r = api.get(f"{sb.vendor_url('arsel')}/email/campaigns/{sms['id']}")  # separate id spaces
    assert r.status_code == 404 and r.json() == {
        "status_code": 404,
        "name": "not_found",
        "message": "Campaign not found",
    }


def test_list_pagination_filters_and_validation(sb: SandboxServer, api: requests.Session) -> None:
    seeded = seed(
        sb,
        *(
            {"channel": "email", "name": f"c{i}", "status": s}
            for i, s in enumerate(["draft", "sending", "sent", "sending", "queued"])
        ),
    )
    ids = [c["id"] for c in seeded]
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    page = api.get(url).json()
    assert page["object"] == "list" and page["has_more"] is False
    assert [c["id"] for c in page["data"]] == ids[::-1]  # newest first
    p1 = api.get(url, params={"limit": 2}).json()
    assert [c["id"] for c in p1["data"]] == [ids[4], ids[3]] and p1["has_more"] is True
    p2 = api.get(url, params={"limit": 2, "after": ids[3]}).json()
    assert [c["id"] for c in p2["data"]] == [ids[2], ids[1]] and p2["has_more"] is True
    back = api.get(url, params={"limit": 2, "before": ids[1]}).json()
    assert [c["id"] for c in back["data"]] == [ids[3], ids[2]] and back["has_more"] is True
    sending = api.get(url, params={"status": "sending"}).json()["data"]
    assert [c["id"] for c in sending] == [ids[3], ids[1]]
    assert api.get(url, params={"search": "C4"}).json()["data"][0]["id"] == ids[4]
    assert api.get(f"{sb.vendor_url('arsel')}/sms/campaigns").json()["data"] == []
    for bad in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"status": "archived"},
        {"after": ids[0], "before": ids[1]},
        {"after": "nope"},
    ):
        r = api.get(url, params=bad)
        assert r.status_code == 400 and r.json()["name"] == "validation_error", bad


def test_create_and_send(sb: SandboxServer, api: requests.Session) -> None:
    base = f"{sb.vendor_url('arsel')}/email/campaigns"
    r = api.post(base, json={"name": "Launch", "subject": "Hello"})
    assert r.status_code == 201 and set(r.json()) == {"id"}
    cid = r.json()["id"]
    assert api.get(f"{base}/{cid}").json()["status"] == "draft"
    assert api.post(f"{base}/{cid}/send").json() == {"id": cid}
    assert api.get(f"{base}/{cid}").json()["status"] == "queued"
    r = api.post(f"{base}/{cid}/send")
    assert r.status_code == 400 and r.json()["name"] == "bad_request"
    cid2 = api.post(base, json={"name": "Later"}).json()["id"]
    r = api.post(f"{base}/{cid2}/send", json={"scheduled_at": "2099-01-01T00:00:00Z"})
    assert r.status_code == 200
    got = api.get(f"{base}/{cid2}").json()
    assert got["status"] == "scheduled" and got["scheduled_at"] == "2099-01-01T00:00:00.000Z"
    assert api.post(base, json={"subject": "no name"}).json()["name"] == "validation_error"
    r = api.post(base, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["name"] == "bad_request"


# ------------------------------------------------------------------------ cancel


@pytest.mark.parametrize("status", ["scheduled", "queued", "sending"])
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_cancel_cancellable(sb: SandboxServer, api: requests.Session, status: str, channel: str) -> None:
    (c,) = seed(sb, {"channel": channel, "status": status})
    r = api.post(campaign_url(sb, c, "/cancel"))
    assert r.status_code == 200 and r.json() == {"message": "Campaign cancelled"}
    assert api.get(campaign_url(sb, c)).json()["status"] == "cancelled"
    st = sb.admin("GET", "/arsel/state")
    assert st["campaigns"][0]["status"] == "cancelled" and st["campaigns"][0]["cancelled_at"]
    (call,) = st["cancel_calls"]
    assert call["previous_status"] == status and call["result"] == "cancelled" and call["status_code"] == 200


@pytest.mark.parametrize("status", ["draft", "paused", "sent", "failed", "cancelled", "archived"])
def test_cancel_not_cancellable(sb: SandboxServer, api: requests.Session, status: str) -> None:
    (c,) = seed(sb, {"channel": "email", "status": status})
    r = api.post(campaign_url(sb, c, "/cancel"))
    assert r.status_code == 400 and r.json() == NOT_CANCELLABLE
    assert state_of(sb, c["id"])["status"] == status


def test_cancel_unknown_is_404(sb: SandboxServer, api: requests.Session) -> None:
    r = api.post(f"{sb.vendor_url('arsel')}/sms/campaigns/0192a1b2-c3d4-7e5f-9000-abcdef123456/cancel")
    assert r.status_code == 404
    assert r.json() == {"status_code": 404, "name": "not_found", "message": "Campaign not found"}
    assert sb.admin("GET", "/arsel/state")["cancel_calls"][0]["result"] == "not_found"


def test_cancel_response_shape_id(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"arsel": {"cancel_response_shape": "id"}})
    (c,) = seed(sb, {"channel": "email", "status": "queued"})
    assert api.post(campaign_url(sb, c, "/cancel")).json() == {"id": c["id"]}


def test_title_case_statuses(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"arsel": {"status_case": "title"}})
    (c,) = seed(sb, {"channel": "email", "status": "sending"})
    assert api.get(campaign_url(sb, c)).json()["status"] == "Sending"
    data = api.get(f"{sb.vendor_url('arsel')}/email/campaigns", params={"status": "Sending"}).json()["data"]
    assert [x["status"] for x in data] == ["Sending"]
    api.post(campaign_url(sb, c, "/cancel"))
    assert api.get(campaign_url(sb, c)).json()["status"] == "Cancelled"
    assert state_of(sb, c["id"])["status"] == "cancelled"  # admin view is always lowercase


# ------------------------------------------------------------------- idempotency


def test_idempotency_replay_mismatch_invalid_and_expiry(sb: SandboxServer, api: requests.Session) -> None:
    a, b = seed(sb, {"channel": "email", "status": "sending"}, {"channel": "email", "status": "sending"})
    key = {"Idempotency-Key": "cancel-a-1"}
    first = api.post(campaign_url(sb, a, "/cancel"), headers=key)
    again = api.post(campaign_url(sb, a, "/cancel"), headers=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert len(sb.admin("GET", "/arsel/state")["cancel_calls"]) == 1  # the replay did nothing
    outcomes = [e["outcome"] for e in sb.admin("GET", "/requests?vendor=arsel")["requests"]]
    assert outcomes == ["handled", "replayed"]
    assert sb.admin("GET", "/requests")["requests"][0]["idempotency_key"] == "cancel-a-1"

    r = api.post(campaign_url(sb, b, "/cancel"), headers=key)  # same key, other campaign
    assert r.status_code == 409 and r.json()["name"] == "invalid_idempotent_request"
    assert state_of(sb, b["id"])["status"] == "sending"

    r = api.post(campaign_url(sb, b, "/cancel"), headers={"Idempotency-Key": "k" * 257})
    assert r.status_code == 400 and r.json()["name"] == "invalid_idempotency_key"
    assert api.post(campaign_url(sb, b, "/cancel"), headers={"Idempotency-Key": "k" * 256}).status_code == 200

    # A 400 is remembered too; after 24 h the key is free again and runs for real.
    (d,) = seed(sb, {"channel": "email", "status": "draft"})
    k2 = {"Idempotency-Key": "draft-1"}
    assert api.post(campaign_url(sb, d, "/cancel"), headers=k2).status_code == 400
    sb.admin("POST", "/arsel/advance", {"id": d["id"], "status": "queued"})
    assert api.post(campaign_url(sb, d, "/cancel"), headers=k2).status_code == 400  # replayed
    sb.admin("POST", "/time", {"advance_s": 24 * 3600 + 1})
    assert api.post(campaign_url(sb, d, "/cancel"), headers=k2).status_code == 200


def test_idempotency_concurrent_request_is_503(sb: SandboxServer) -> None:
    (c,) = seed(sb, {"channel": "sms", "status": "queued"})
    sb.admin("POST", "/arsel/faults", {"latency_ms": 2000})  # the first request holds the key this long
    headers = {**AUTH, "Idempotency-Key": "slow"}
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(requests.post, campaign_url(sb, c, "/cancel"), headers=headers)
        deadline = time.monotonic() + 5  # wait until the first request is being handled, not a fixed time
        while not sb.admin("GET", "/arsel/state")["cancel_calls"] and time.monotonic() < deadline:
            time.sleep(0.02)
        r = requests.post(campaign_url(sb, c, "/cancel"), headers=headers)
        assert r.status_code == 503 and r.json()["name"] == "concurrent_idempotent_requests"
        assert slow.result().status_code == 200
    sb.admin("POST", "/arsel/faults", {"latency_ms": 0})
    assert requests.post(campaign_url(sb, c, "/cancel"), headers=headers).json() == {"message": "Campaign cancelled"}


# -------------------------------------------------------------------- rate limit


def test_rate_limit_headers_and_429(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 2}})
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    r1, r2, r3 = (api.get(url) for _ in range(3))
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 429)
    assert r1.headers["ratelimit-limit"] == "2" and r1.headers["ratelimit-remaining"] == "1"
    assert r2.headers["ratelimit-remaining"] == "0"
    assert int(r1.headers["ratelimit-reset"]) >= int(time.time())
    assert r3.json()["name"] == "rate_limit_exceeded" and r3.json()["status_code"] == 429
    assert r3.headers["retry-after"] == "1" and r3.headers["ratelimit-remaining"] == "0"
    time.sleep(1.05)
    assert api.get(url).status_code == 200
    assert sb.admin("GET", "/requests")["requests"][2]["outcome"] == "rate_limited"


# ------------------------------------------------------------------------ faults


def test_fail_next_with_retry_after(sb: SandboxServer, api: requests.Session) -> None:
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    sb.admin("POST", "/arsel/faults", {"fail_next": 2, "status": 503, "retry_after": "1"})
    for _ in range(2):
        r = api.get(url)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json() == {"status_code": 503, "name": "service_unavailable", "message": "Injected fault"}
    assert api.get(url).status_code == 200
    sb.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 429, "name": "monthly_quota_exceeded"})
    assert api.get(url).json()["name"] == "monthly_quota_exceeded"
    assert [e["outcome"] for e in sb.admin("GET", "/requests")["requests"]] == ["fault", "fault", "handled", "fault"]


def test_latency(sb: SandboxServer, api: requests.Session) -> None:
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    assert sb.admin("POST", "/arsel/faults", {"latency_ms": 300})["latency_ms"] == 300
    t0 = time.monotonic()
    assert api.get(url).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(requests.Timeout):
        api.get(url, timeout=0.1)
    # Let the server finish the abandoned request, so it is not logged in the next test.
    deadline = time.monotonic() + 5
    while len(sb.admin("GET", "/requests")["requests"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_drop_connection_and_fault_order(sb: SandboxServer, api: requests.Session) -> None:
    (c,) = seed(sb, {"channel": "email", "status": "sending"})
    sb.admin("POST", "/arsel/faults", {"drop_next": 1})
    sb.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 500})
    assert [f["kind"] for f in sb.admin("GET", "/arsel/faults")["queue"]] == ["drop", "fail"]
    with pytest.raises(requests.ConnectionError):
        api.post(campaign_url(sb, c, "/cancel"), headers={"Idempotency-Key": "drop-1"})
    r = api.post(campaign_url(sb, c, "/cancel"), headers={"Idempotency-Key": "drop-1"})
    assert r.status_code == 500 and r.json()["name"] == "internal_server_error"
    # Faults fire before the handler: nothing was cancelled and the key is still unused.
    assert state_of(sb, c["id"])["status"] == "sending"
    assert api.post(campaign_url(sb, c, "/cancel"), headers={"Idempotency-Key": "drop-1"}).status_code == 200
    log = sb.admin("GET", "/requests")["requests"]
    assert [(e["outcome"], e["status"]) for e in log] == [("dropped", None), ("fault", 500), ("handled", 200)]


def test_drop_connection_aiohttp(sb: SandboxServer) -> None:
    aiohttp = pytest.importorskip("aiohttp")
    (c,) = seed(sb, {"channel": "email", "status": "sending"})

    async def call() -> int:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                async with session.post(campaign_url(sb, c, "/cancel")) as resp:
                    await resp.read()
            # aiohttp silently retries idempotent methods (GET, DELETE) once after a disconnect.
            async with session.get(campaign_url(sb, c)) as resp:
                return resp.status

    sb.admin("POST", "/arsel/faults", {"drop_next": 2})
    assert asyncio.run(call()) == 200
    assert [e["outcome"] for e in sb.admin("GET", "/requests")["requests"]] == ["dropped", "dropped", "handled"]


# ------------------------------------------------------------------ time/advance


def test_time_progression_lazy_and_forced(sb: SandboxServer, api: requests.Session) -> None:
    fast, slow, stuck = seed(
        sb,
        {"channel": "email", "status": "scheduled", "advance_every_s": 1},
        {"channel": "sms", "status": "scheduled", "advance_every_s": 60},
        {"channel": "email", "status": "sending"},
    )
    time.sleep(1.2)  # real time, computed lazily on read (queued until 2 s after the seed)
    assert api.get(campaign_url(sb, fast)).json()["status"] == "queued"
    assert api.get(campaign_url(sb, slow)).json()["status"] == "scheduled"
    sb.admin("POST", "/time", {"advance_s": 120})  # jump two steps at once
    assert api.get(campaign_url(sb, slow)).json()["status"] == "sending"
    sb.admin("POST", "/time", {"advance_s": 60})
    got = api.get(campaign_url(sb, slow)).json()
    assert got["status"] == "sent" and got["sent_at"] is not None
    assert api.post(campaign_url(sb, slow, "/cancel")).json() == NOT_CANCELLABLE
    assert api.get(campaign_url(sb, stuck)).json()["status"] == "sending"  # no advance_every_s: stays

    assert sb.admin("POST", "/arsel/advance", {"id": stuck["id"]})["campaign"]["status"] == "sent"
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/arsel/advance", {"id": stuck["id"]})  # sent has no next step
    assert sb.admin("POST", "/arsel/advance", {"id": stuck["id"], "status": "paused"})["campaign"]["status"] == "paused"
    with pytest.raises(RuntimeError, match="404"):
        sb.admin("POST", "/arsel/advance", {"id": "missing"})


def test_scheduled_send_becomes_queued_at_scheduled_time(sb: SandboxServer, api: requests.Session) -> None:
    base = f"{sb.vendor_url('arsel')}/email/campaigns"
    cid = api.post(base, json={"name": "x"}).json()["id"]
    now = sb.admin("GET", "/time")["now"]
    assert api.post(f"{base}/{cid}/send", json={"scheduled_at": now}).status_code == 200
    # Scheduled for "now": it is already due on the next read.
    assert api.get(f"{base}/{cid}").json()["status"] == "queued"
    cid2 = api.post(base, json={"name": "y"}).json()["id"]
    api.post(f"{base}/{cid2}/send", json={"scheduled_at": "2099-01-01T00:00:00Z"})
    assert state_of(sb, cid2)["next_transition_at"] == "2099-01-01T00:00:00.000Z"


# ----------------------------------------------------------------- admin/server


def test_reset_clears_everything(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"channel": "email", "status": "sending"})
    sb.admin("POST", "/config", {"arsel": {"status_case": "title"}})
    sb.admin("POST", "/arsel/faults", {"fail_next": 3, "latency_ms": 5})
    sb.admin("POST", "/time", {"advance_s": 10})
    api.get(f"{sb.vendor_url('arsel')}/email/campaigns")
    assert sb.admin("POST", "/reset") == {"ok": True}
    assert sb.admin("GET", "/arsel/state") == {"campaigns": [], "cancel_calls": []}
    assert sb.admin("GET", "/requests")["requests"] == []
    assert sb.admin("GET", "/arsel/faults") == {"latency_ms": 0, "queue": []}
    assert sb.admin("GET", "/time")["offset_s"] == 0
    assert sb.admin("GET", "/config")["arsel"] == {
        "api_key": "be_sandbox_key",
        "rate_limit_per_second": 2,
        "cancel_response_shape": "message",
        "status_case": "lower",
        "advance_every_s": None,
        "cancel_settle_s": 0,
    }


def test_cancel_settle_delay_keeps_sending_until_it_passes(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"arsel": {"cancel_settle_s": 60, "rate_limit_per_second": 0}})
    (c,) = sb.admin("POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "x", "status": "sending"}]})[
        "campaigns"
    ]
    url = f"{sb.vendor_url('arsel')}/email/campaigns/{c['id']}"
    assert api.post(f"{url}/cancel").status_code == 200
    assert api.get(url).json()["status"] == "sending"
    assert api.post(f"{url}/cancel").status_code == 200  # still cancellable, does not push the time back
    sb.admin("POST", "/time", {"advance_s": 61})
    assert api.get(url).json()["status"] == "cancelled"


def test_admin_validation(sb: SandboxServer) -> None:
    for body in (
        {"arsel": {"status_case": "upper"}},
        {"arsel": {"nope": 1}},
        {"other": {}},
        {"arsel": {"rate_limit_per_second": -1}},
    ):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/config", body)
    with pytest.raises(RuntimeError, match="404"):
        sb.admin("GET", "/nope/state")
    with pytest.raises(RuntimeError, match="400"):
        seed(sb, {"channel": "fax"})
    with pytest.raises(RuntimeError, match="400"):
        seed(sb, {"channel": "email", "id": "same"}, {"channel": "email", "id": "same"})
    assert seed(sb, {"channel": "email", "id": "fixed-id"})[0]["id"] == "fixed-id"
    assert "arsel" in sb.admin("GET", "/health")["vendors"]  # other vendors register too


def test_concurrency_and_keep_alive(sb: SandboxServer) -> None:
    (c,) = seed(sb, {"channel": "email", "status": "sending"})
    url = campaign_url(sb, c)
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: requests.get(url, headers=AUTH).status_code, range(48)))
    assert codes == [200] * 48
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=5)  # one socket, several requests
    for _ in range(3):
        conn.request("GET", url.split(str(sb.port), 1)[1], headers=AUTH)
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["id"] == c["id"]
    conn.close()


def test_server_url_and_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host="0.0.0.0")
    with SandboxServer() as one, SandboxServer() as two:  # independent instances
        assert one.port != two.port and one.vendor_url("arsel") == f"http://127.0.0.1:{one.port}/arsel/v1"
        one.admin("POST", "/arsel/seed", {"campaigns": [{"channel": "email"}]})
        assert two.admin("GET", "/arsel/state")["campaigns"] == []
    with pytest.raises(requests.ConnectionError):
        requests.get(one.url + "/_admin/health", timeout=1)


def test_cli_port_file_and_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cancel.sandbox", "--port", "0", "--port-file", str(port_file)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        port = int(port_file.read_text())
        assert requests.get(f"http://127.0.0.1:{port}/_admin/health", timeout=5).json()["ok"] is True
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in out and f"http://127.0.0.1:{port}/arsel/v1" in out
    assert not port_file.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cancel.sandbox", "--host", "0.0.0.0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert bad.returncode == 2 and "loopback" in bad.stderr


def test_sandbox_imports_nothing_from_provider_or_airflow() -> None:
    # The parent package's own __init__ is not ours to police: only what the sandbox adds counts.
    code = (
        "import sys, airflow_provider_cancel; before = set(sys.modules); "
        "import airflow_provider_cancel.sandbox.app, airflow_provider_cancel.sandbox.__main__; "
        "bad = [m for m in set(sys.modules) - before if m.split('.')[0] == 'airflow' or "
        "(m.startswith('airflow_provider_cancel.') and not m.startswith('airflow_provider_cancel.sandbox'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
