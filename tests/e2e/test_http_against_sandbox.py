"""The base hook's sync and async HTTP paths and the trigger, over real HTTP to the sandbox (no mocks)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.hooks.base import ASYNC_SESSIONS
from airflow_provider_cancel.status import CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

KEY = "be_sandbox_key"


@pytest.fixture
def arsel(sandbox, set_conn):
    sandbox.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
    set_conn("arsel_default", "arsel", sandbox.vendor_url("arsel"), password=KEY)
    return sandbox


def seed(sandbox, **campaign):
    return sandbox.admin("POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "x", **campaign}]})[
        "campaigns"
    ][0]


def cancel_calls(sandbox):
    return sandbox.admin("GET", "/arsel/state")["cancel_calls"]


def test_lost_response_is_replayed_not_cancelled_twice(arsel):
    # The first cancel is slow: the client gives up (read timeout) while the vendor still cancels.
    # The retry carries the same Idempotency-Key, so the vendor answers 503 while the first is in
    # flight, then replays the first answer: exactly one cancel happens.
    c = seed(arsel, status="sending")
    arsel.admin("POST", "/arsel/faults", {"latency_ms": 3000})
    # Only the first request is slow: the latency is lifted while it is still in flight.
    threading.Timer(0.7, lambda: arsel.admin("DELETE", "/arsel/faults")).start()
    hook = ArselHook(timeout=(2, 1.0), retry_limit=10, retry_max_wait=1)
    result = hook.cancel_campaign(c["id"], idempotency_key="task-key-1")
    assert result.outcome is CancelOutcome.CANCELLED
    assert [call["result"] for call in cancel_calls(arsel)] == ["cancelled"]
    outcomes = [r["outcome"] for r in arsel.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "POST"]
    # (logged in order of completion: the in-flight 503s finish before the slow first request)
    assert outcomes.count("handled") == 1 and "rejected" in outcomes and outcomes[-1] == "replayed"


def test_retry_after_is_honoured_in_real_time(arsel):
    c = seed(arsel, status="sending")
    arsel.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 429, "retry_after": "1"})
    started = time.monotonic()
    assert ArselHook().get_campaign(c["id"])["status"] == "sending"
    assert time.monotonic() - started >= 1.0


def test_test_connection_tells_key_host_and_outage_apart(arsel, set_conn):
    assert ArselHook().test_connection()[0] is True
    set_conn("arsel_wrong_key", "arsel", arsel.vendor_url("arsel"), password="be_wrong")
    ok, message = ArselHook("arsel_wrong_key").test_connection()
    assert not ok and "rejected the API key" in message
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    set_conn("arsel_wrong_host", "arsel", f"http://127.0.0.1:{port}/v1", password=KEY)
    ok, message = ArselHook("arsel_wrong_host").test_connection()
    assert not ok and "Could not reach" in message
    arsel.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 503})
    ok, message = ArselHook().test_connection()
    assert not ok and "outage" in message
    methods = {r["method"] for r in arsel.admin("GET", "/requests?vendor=arsel")["requests"]}
    assert methods == {"GET"}  # the Test button never cancels


async def test_async_path_shares_one_session_and_retries_drops(arsel):
    c1, c2 = seed(arsel, status="sending"), seed(arsel, status="cancelled")
    hook = ArselHook()
    async with hook.async_session() as held:
        assert ASYNC_SESSIONS.open_sessions() == 1
        s1, s2 = await asyncio.gather(
            hook.aget_status(campaign_id=c1["id"], channel="email"),
            ArselHook().aget_status(campaign_id=c2["id"], channel="email"),
        )
        assert ASYNC_SESSIONS.open_sessions() == 1  # two hooks, one connection id: one session
        # aiohttp re-sends a dropped GET once itself; three drops reach our retry logic too.
        arsel.admin("POST", "/arsel/faults", {"drop_next": 3})
        s3 = await hook.aget_status(campaign_id=c1["id"], channel="email")
    assert held.closed and ASYNC_SESSIONS.open_sessions() == 0  # closed with its last user
    assert (s1.raw_status, s2.raw_status, s3.raw_status) == ("sending", "cancelled", "sending")
    assert s2.is_cancelled


async def test_async_errors_are_typed(arsel, set_conn):
    set_conn("arsel_wrong_key", "arsel", arsel.vendor_url("arsel"), password="be_wrong")
    with pytest.raises(VendorAPIError) as err:
        await ArselHook("arsel_wrong_key").aget_status(campaign_id="nope", channel="email")
    assert err.value.status_code == 401 and err.value.code == "unauthorized"
    assert "be_wrong" not in str(err.value)


async def test_trigger_polls_real_http_until_cancelled(arsel):
    arsel.admin("POST", "/config", {"arsel": {"cancel_settle_s": 1.5}})
    c = seed(arsel, status="sending")
    ArselHook().cancel_campaign(c["id"])
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.arsel.ArselHook",
        conn_id="arsel_default",
        target={"campaign_id": c["id"], "channel": "email"},
        poll_interval=0.5,
    )
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=30)
    assert event.payload["status"] == "success"
    assert event.payload["campaign_status"]["raw_status"] == "cancelled"
    gets = [r for r in arsel.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "GET"]
    assert len(gets) >= 2 and all(r["auth_valid"] for r in gets)


# --------------------------------------------------------------------------- HTTPS (TLS sandbox, ca_bundle)
@pytest.fixture(scope="module")
def tls_sandbox():
    from airflow_provider_cancel.sandbox import SandboxServer

    with SandboxServer(tls=True) as server:
        server.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
        yield server


@pytest.fixture
def tls_arsel(tls_sandbox, set_conn):
    tls_sandbox.reset()
    tls_sandbox.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
    set_conn("arsel_tls", "arsel", tls_sandbox.vendor_url("arsel"), password=KEY, ca_bundle=tls_sandbox.ca_file)
    return tls_sandbox


def test_sync_path_over_https_trusts_the_connections_ca_bundle(tls_arsel, set_conn):
    c = seed(tls_arsel, status="sending")
    hook = ArselHook("arsel_tls")
    assert hook.settings.base_url.startswith("https://")
    assert hook.get_status(campaign_id=c["id"], channel="email").raw_status == "sending"
    assert hook.cancel_campaign(c["id"]).outcome is CancelOutcome.CANCELLED
    # Without the CA the same sandbox is refused: the certificate is really checked.
    set_conn("arsel_tls_untrusted", "arsel", tls_arsel.vendor_url("arsel"), password=KEY)
    with pytest.raises(VendorAPIError, match="SSLError"):
        ArselHook("arsel_tls_untrusted", retry_limit=1).get_status(campaign_id=c["id"], channel="email")


async def test_async_path_and_trigger_over_https_trust_the_connections_ca_bundle(tls_arsel, set_conn):
    c = seed(tls_arsel, status="sending")
    hook = ArselHook("arsel_tls")
    async with hook.async_session():
        assert (await hook.aget_status(campaign_id=c["id"], channel="email")).raw_status == "sending"
    set_conn("arsel_tls_untrusted", "arsel", tls_arsel.vendor_url("arsel"), password=KEY)
    untrusted = ArselHook("arsel_tls_untrusted", retry_limit=1)
    with pytest.raises(VendorAPIError, match="could not complete"):
        await untrusted.aget_status(campaign_id=c["id"], channel="email")
    ArselHook("arsel_tls").cancel_campaign(c["id"])
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.arsel.ArselHook",
        conn_id="arsel_tls",
        target={"campaign_id": c["id"], "channel": "email"},
        poll_interval=0.2,
        first_poll_delay=0,
    )
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=30)
    assert event.payload["status"] == "success"
    gets = [r for r in tls_arsel.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "GET"]
    assert len(gets) >= 2 and all(r["auth_valid"] for r in gets)
