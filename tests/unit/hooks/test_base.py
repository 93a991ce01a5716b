"""The base hook's HTTP behaviour, through ArselHook (the base has no vendor of its own)."""

from __future__ import annotations

import logging

import pytest
import requests

from airflow_provider_cancel.exceptions import ConnectionConfigError, VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.hooks.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    ConnectionSettings,
    parse_retry_after,
)
from tests.conftest import API_KEY

BASE = "https://arsel.test/v1"
GET_URL = f"{BASE}/email/campaigns/c1"


@pytest.fixture
def hook(set_conn):
    set_conn("arsel_default", "arsel", BASE)
    return ArselHook()


def test_constructor_does_no_connection_lookup(monkeypatch):
    # The scheduler parses DAG files often: building a hook must not look anything up.
    monkeypatch.setattr(ArselHook, "get_connection", lambda *a, **k: pytest.fail("looked up in ctor"))
    ArselHook("missing_conn")


def test_bearer_auth_user_agent_and_default_timeouts(hook, requests_mock):
    requests_mock.get(GET_URL, json={"id": "c1", "status": "sending"})
    hook.request("GET", "/email/campaigns/c1")
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["User-Agent"].startswith("airflow-provider-cancel/")
    assert sent.timeout == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)


def test_timeouts_from_connection_extras_and_hook_argument(set_conn, requests_mock):
    set_conn("arsel_t", "arsel", BASE, timeout=7, connect_timeout="3")
    requests_mock.get(GET_URL, json={})
    ArselHook("arsel_t").request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.timeout == (3.0, 7.0)
    ArselHook("arsel_t", timeout=(1, 2)).request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.timeout == (1, 2)


def test_legacy_prefixed_extra_is_read(set_conn, requests_mock):
    set_conn("arsel_l", "arsel", BASE, extra__arsel__timeout=9)
    requests_mock.get(GET_URL, json={})
    ArselHook("arsel_l").request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.timeout[1] == 9.0


def test_unknown_extras_are_never_sent_as_headers(set_conn, requests_mock):
    set_conn("arsel_x", "arsel", BASE, proxies={"https": "x"}, X_Custom="nope")
    requests_mock.get(GET_URL, json={})
    ArselHook("arsel_x").request("GET", "/email/campaigns/c1")
    headers = {k.lower() for k in requests_mock.last_request.headers}
    assert "x_custom" not in headers and "proxies" not in headers


def test_bad_timeout_extra_is_a_clear_error(set_conn):
    set_conn("arsel_b", "arsel", BASE, timeout="soon")
    with pytest.raises(Exception, match="timeout.*number of seconds"):
        _ = ArselHook("arsel_b").settings


def test_missing_api_key_is_a_clear_error(set_conn):
    set_conn("arsel_nokey", "arsel", BASE, password="")
    with pytest.raises(Exception, match="no API key"):
        _ = ArselHook("arsel_nokey").settings


def test_host_without_scheme_and_default_host():
    class Conn:
        conn_id, password = "c", "k"
        host = "api.example.com/v1/"

    s = ConnectionSettings.from_connection(
        Conn, {}, conn_type="arsel", default_base_url="https://d", password_label="API key"
    )
    assert s.base_url == "https://api.example.com/v1"
    Conn.host = None
    s = ConnectionSettings.from_connection(
        Conn, {}, conn_type="arsel", default_base_url="https://d/v1", password_label="API key"
    )
    assert s.base_url == "https://d/v1"


def test_one_session_is_reused(hook, requests_mock):
    requests_mock.get(GET_URL, json={})
    hook.request("GET", "/email/campaigns/c1")
    first = hook.get_conn()
    hook.request("GET", "/email/campaigns/c1")
    assert hook.get_conn() is first


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("1.5", 1.5), (None, None), ("", None), ("garbage", None), ("-4", 0.0)],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


def test_429_honours_retry_after_then_succeeds(hook, requests_mock, no_sleep):
    requests_mock.get(
        GET_URL,
        [
            {
                "status_code": 429,
                "headers": {"retry-after": "4"},
                "json": {"status_code": 429, "name": "rate_limit_exceeded", "message": "slow"},
            },
            {"status_code": 200, "json": {"status": "sending"}},
        ],
    )
    assert hook.request("GET", "/email/campaigns/c1") == {"status": "sending"}
    assert no_sleep == [4.0]


def test_retry_after_is_capped(set_conn, requests_mock, no_sleep):
    set_conn("arsel_default", "arsel", BASE)
    requests_mock.get(GET_URL, [{"status_code": 429, "headers": {"Retry-After": "3600"}}, {"json": {}}])
    ArselHook(retry_max_wait=5).request("GET", "/email/campaigns/c1")
    assert no_sleep == [5.0]


def test_5xx_get_retried_with_backoff_until_limit(set_conn, requests_mock, no_sleep):
    set_conn("arsel_default", "arsel", BASE)
    requests_mock.get(
        GET_URL, status_code=503, json={"status_code": 503, "name": "internal_server_error", "message": "down"}
    )
    with pytest.raises(VendorAPIError) as err:
        ArselHook(retry_limit=3).request("GET", "/email/campaigns/c1")
    assert requests_mock.call_count == 3
    assert len(no_sleep) == 2 and no_sleep[1] >= no_sleep[0] > 0
    assert err.value.status_code == 503 and err.value.code == "internal_server_error"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_never_retried(hook, requests_mock, no_sleep, status):
    requests_mock.get(GET_URL, status_code=status, json={"status_code": status, "name": "x_err", "message": "no"})
    with pytest.raises(VendorAPIError) as err:
        hook.request("GET", "/email/campaigns/c1")
    assert requests_mock.call_count == 1 and no_sleep == []
    assert err.value.status_code == status and err.value.code == "x_err" and err.value.message == "no"


def test_post_without_idempotency_key_is_not_retried_on_5xx(hook, requests_mock, no_sleep):
    url = f"{BASE}/email/campaigns/c1/cancel"
    requests_mock.post(url, status_code=502, text="bad gateway")
    with pytest.raises(VendorAPIError):
        hook.request("POST", "/email/campaigns/c1/cancel")
    assert requests_mock.call_count == 1


def test_post_with_idempotency_key_is_retried_on_5xx(hook, requests_mock, no_sleep):
    url = f"{BASE}/email/campaigns/c1/cancel"
    requests_mock.post(
        url,
        [
            {"status_code": 503, "json": {"name": "concurrent_idempotent_requests", "message": "busy"}},
            {"json": {"id": "c1"}},
        ],
    )
    assert hook.request("POST", "/email/campaigns/c1/cancel", headers={"Idempotency-Key": "k"}) == {"id": "c1"}
    assert requests_mock.call_count == 2


def test_post_is_retried_when_the_connection_never_opened(hook, requests_mock, no_sleep):
    url = f"{BASE}/email/campaigns/c1/cancel"
    requests_mock.post(url, [{"exc": requests.ConnectTimeout("connect timed out")}, {"json": {"id": "c1"}}])
    assert hook.request("POST", "/email/campaigns/c1/cancel") == {"id": "c1"}


def test_post_is_not_retried_after_a_read_timeout(hook, requests_mock, no_sleep):
    # The vendor may have cancelled already; without an idempotency key a repeat is unsafe.
    url = f"{BASE}/email/campaigns/c1/cancel"
    requests_mock.post(url, exc=requests.ReadTimeout("read timed out"))
    with pytest.raises(VendorAPIError) as err:
        hook.request("POST", "/email/campaigns/c1/cancel")
    assert requests_mock.call_count == 1 and err.value.status_code is None


def test_monthly_quota_is_not_retried(hook, requests_mock, no_sleep):
    requests_mock.get(
        GET_URL, status_code=429, json={"status_code": 429, "name": "monthly_quota_exceeded", "message": "quota"}
    )
    with pytest.raises(VendorAPIError):
        hook.request("GET", "/email/campaigns/c1")
    assert requests_mock.call_count == 1


def test_error_keeps_fields_truncates_body_and_never_holds_the_key(hook, requests_mock):
    requests_mock.get(GET_URL, status_code=500, text="x" * 5000)
    with pytest.raises(VendorAPIError) as err:
        hook.request("GET", "/email/campaigns/c1", attempts=1)
    text = str(err.value)
    assert "HTTP 500" in text and len(err.value.message) < 600
    assert API_KEY not in text and API_KEY not in repr(err.value.__dict__)


def test_api_key_and_bearer_header_are_registered_with_the_masker(hook, requests_mock, monkeypatch):
    masked: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda v, name=None: masked.append(v))
    requests_mock.get(GET_URL, json={})
    hook.request("GET", "/email/campaigns/c1")
    assert API_KEY in masked and f"Bearer {API_KEY}" in masked


def test_logs_never_contain_the_key(hook, requests_mock, caplog, capsys, no_sleep):
    caplog.set_level(logging.DEBUG)
    requests_mock.get(GET_URL, [{"status_code": 503, "text": "down"}, {"json": {}}])
    hook.request("GET", "/email/campaigns/c1")
    logged = caplog.text + capsys.readouterr().out  # Airflow's structlog writes to stdout
    assert "HTTP 503" in logged
    assert API_KEY not in logged


def test_non_json_success_body_is_a_typed_error(hook, requests_mock):
    requests_mock.get(GET_URL, text="<html>maintenance</html>")
    with pytest.raises(VendorAPIError, match="expected JSON"):
        hook.request("GET", "/email/campaigns/c1")


class TestTestConnection:
    def test_success_uses_a_read_only_get(self, hook, requests_mock):
        requests_mock.get(f"{BASE}/email/campaigns?limit=1", json={"object": "list", "data": []})
        ok, message = hook.test_connection()
        assert ok and "accepted" in message
        assert [r.method for r in requests_mock.request_history] == ["GET"]

    def test_wrong_key(self, hook, requests_mock):
        requests_mock.get(
            f"{BASE}/email/campaigns",
            status_code=401,
            json={"status_code": 401, "name": "unauthorized", "message": "Invalid or missing API key"},
        )
        ok, message = hook.test_connection()
        assert not ok and "rejected the API key" in message

    def test_wrong_host(self, hook, requests_mock):
        requests_mock.get(f"{BASE}/email/campaigns", exc=requests.ConnectionError("Name or service not known"))
        ok, message = hook.test_connection()
        assert not ok and "Could not reach" in message

    def test_wrong_path_404(self, hook, requests_mock):
        requests_mock.get(f"{BASE}/email/campaigns", status_code=404, text="nope")
        ok, message = hook.test_connection()
        assert not ok and "Base URL looks wrong" in message

    def test_vendor_outage(self, hook, requests_mock):
        requests_mock.get(f"{BASE}/email/campaigns", status_code=503, text="down")
        ok, message = hook.test_connection()
        assert not ok and "outage" in message
        assert requests_mock.call_count == 1  # the Test button answers at once, no retries


def test_vendor_api_error_pickles_with_its_attempts():
    import pickle

    from airflow_provider_cancel.exceptions import Attempt

    err = VendorAPIError(
        "periskope",
        404,
        "gone",
        method="DELETE",
        path="/x",
        body={"code": 404},
        attempts=(Attempt(None, True), Attempt(404, True)),
    )
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.attempts, copy.body, str(copy)) == (err.attempts, err.body, str(err))
    assert copy.attempts[0].may_have_acted and not copy.attempts[1].may_have_acted


# ----------------------------------------------------------------- answers found by the fault matrix (tests/e2e)
def test_backoff_never_waits_longer_than_retry_max_wait(set_conn, requests_mock, no_sleep):
    # The exponential backoff's 0.5 s floor used to win over a smaller retry_max_wait.
    set_conn("arsel_default", "arsel", BASE)
    requests_mock.get(
        GET_URL, [{"status_code": 503, "text": "down"}, {"status_code": 503, "text": "down"}, {"json": {}}]
    )
    ArselHook(retry_limit=3, retry_max_wait=0.1).request("GET", "/email/campaigns/c1")
    assert no_sleep == [0.1, 0.1]


def test_empty_success_body_is_a_lost_answer_repeated_only_when_safe(hook, requests_mock, no_sleep):
    # An empty 200 is no answer: read as "nothing matched" or "done" it hid that nothing was confirmed.
    requests_mock.get(GET_URL, [{"status_code": 200, "text": ""}, {"json": {"status": "sending"}}])
    assert hook.request("GET", "/email/campaigns/c1") == {"status": "sending"}
    url = f"{BASE}/email/campaigns/c1/cancel"
    requests_mock.post(url, status_code=200, text="")
    with pytest.raises(VendorAPIError) as err:
        hook.request("POST", "/email/campaigns/c1/cancel")
    assert requests_mock.call_count == 3  # the POST without an idempotency key went out once
    assert err.value.status_code is None and err.value.is_transient and err.value.attempts[-1].may_have_acted
    assert "HTTP 200 with an empty body" in str(err.value)


def test_no_content_status_still_means_no_body(hook, requests_mock):
    requests_mock.delete(GET_URL, status_code=204, text="")
    assert hook.request("DELETE", "/email/campaigns/c1") is None


PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def test_html_error_page_is_named_by_its_title_not_dumped(hook, requests_mock):
    requests_mock.get(GET_URL, status_code=502, text=PROXY_PAGE, headers={"Content-Type": "text/html"})
    with pytest.raises(VendorAPIError) as err:
        hook.request("GET", "/email/campaigns/c1", attempts=1)
    assert err.value.status_code == 502 and err.value.is_transient
    assert "'502 Bad Gateway'" in err.value.message and "HTML page" in err.value.message
    assert "<" not in err.value.message and "\n" not in str(err.value)


def test_html_success_page_is_a_typed_error_named_by_its_title(hook, requests_mock):
    requests_mock.get(GET_URL, text=PROXY_PAGE.replace("502 Bad Gateway", "Welcome"))
    with pytest.raises(VendorAPIError, match="expected JSON") as err:
        hook.request("GET", "/email/campaigns/c1")
    assert err.value.status_code == 200 and not err.value.is_transient
    assert "'Welcome'" in err.value.message and "<" not in err.value.message


def test_retry_after_date_without_a_zone_is_gmt_whatever_the_local_zone(monkeypatch):
    # HTTP dates are GMT; asctime ones carry no zone and were read in the machine's local zone.
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert parse_retry_after("Wed Oct 21 07:28:10 2015", now=1445412480.0) == pytest.approx(10.0)
    finally:
        monkeypatch.undo()
        time.tzset()


# --------------------------------------------------------------------------- ca_bundle (custom CA)
class _FakeAiohttpResponse:
    status = 200
    headers: dict = {}

    async def text(self):
        return '{"id": "c1", "status": "sending"}'


class _FakeAiohttpSession:
    """Records the keyword arguments of ``session.request`` and answers 200 with a campaign."""

    closed = False

    def __init__(self):
        self.calls: list[dict] = []

    def request(self, method, url, **kwargs):
        from contextlib import asynccontextmanager

        self.calls.append({"method": method, "url": url, **kwargs})

        @asynccontextmanager
        async def answer():
            yield _FakeAiohttpResponse()

        return answer()

    async def close(self):
        self.closed = True


@pytest.fixture
def fake_aiohttp_session(monkeypatch):
    import aiohttp

    session = _FakeAiohttpSession()
    monkeypatch.setattr(aiohttp, "ClientSession", lambda *a, **k: session)
    return session


def test_ca_bundle_is_requests_verify(set_conn, requests_mock, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    set_conn("arsel_ca", "arsel", BASE, ca_bundle=str(ca))
    requests_mock.get(GET_URL, json={})
    ArselHook("arsel_ca").request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.verify == str(ca)


def test_without_ca_bundle_requests_verifies_with_the_default_trust_or_the_environment(
    hook, requests_mock, monkeypatch, tmp_path
):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    requests_mock.get(GET_URL, json={})
    hook.request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.verify is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "env-ca.pem"))  # requests' own rule still applies
    hook.request("GET", "/email/campaigns/c1")
    assert requests_mock.last_request.verify == str(tmp_path / "env-ca.pem")


async def test_ca_bundle_is_one_ssl_context_for_aiohttp(set_conn, tmp_path, fake_aiohttp_session, monkeypatch):
    import ssl

    made: list[str] = []

    def fake_context(cafile=None, capath=None):
        made.append(cafile or capath)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    monkeypatch.setattr(ssl, "create_default_context", fake_context)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    set_conn("arsel_ca", "arsel", BASE, ca_bundle=str(ca))
    hook = ArselHook("arsel_ca")
    async with hook.async_session():
        for _ in range(3):
            assert (await hook.aget_status(campaign_id="c1", channel="email")).raw_status == "sending"
    contexts = {id(call["ssl"]) for call in fake_aiohttp_session.calls}
    assert made == [str(ca)] and len(fake_aiohttp_session.calls) == 3 and len(contexts) == 1
    assert isinstance(fake_aiohttp_session.calls[0]["ssl"], ssl.SSLContext)


async def test_without_ca_bundle_aiohttp_uses_its_default_verification(hook, fake_aiohttp_session):
    async with hook.async_session():
        await hook.aget_status(campaign_id="c1", channel="email")
    assert fake_aiohttp_session.calls[0]["ssl"] is True  # aiohttp's default: verify with the system's CAs


@pytest.mark.parametrize("value", ["/nonexistent/ca.pem", 7, ["a"]])
def test_ca_bundle_must_name_an_existing_file(set_conn, requests_mock, value):
    set_conn("arsel_ca", "arsel", BASE, ca_bundle=value)
    with pytest.raises(ConnectionConfigError, match="ca_bundle"):
        ArselHook("arsel_ca").request("GET", "/email/campaigns/c1")
    assert not requests_mock.called


def test_certificate_failure_is_a_typed_error(hook, requests_mock):
    # ssl's errors carry a string ``reason``; the cause-chain walk must not take it for an exception.
    import ssl

    cert_error = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    cert_error.reason = "CERTIFICATE_VERIFY_FAILED"
    requests_mock.get(GET_URL, exc=requests.exceptions.SSLError(cert_error))
    with pytest.raises(VendorAPIError, match="SSLError: could not complete") as err:
        hook.request("GET", "/email/campaigns/c1", attempts=1)
    assert err.value.status_code is None


def test_retries_after_the_first_attempt_wait_log_and_record_as_before(set_conn, requests_mock, no_sleep, caplog):
    # The first attempt runs outside tenacity; a retryable failure continues in tenacity as attempt 1.
    set_conn("arsel_r", "arsel", BASE)
    requests_mock.get(GET_URL, [{"status_code": 503, "json": {"message": "down"}}] * 3)
    caplog.set_level(logging.WARNING)
    with pytest.raises(VendorAPIError) as err:
        ArselHook("arsel_r", retry_limit=3).request("GET", "/email/campaigns/c1")
    assert requests_mock.call_count == 3 and no_sleep == [0.5, 1.0]  # exponential: 0.5 s, then 1 s
    assert [a.status_code for a in err.value.attempts] == [503, 503, 503]
    requests_mock.get(GET_URL, [{"status_code": 503, "json": {"message": "down"}}, {"json": {"status": "sent"}}])
    assert ArselHook("arsel_r", retry_limit=3).request("GET", "/email/campaigns/c1") == {"status": "sent"}
    # Not retryable (a POST without an idempotency key answered 503): one attempt, recorded.
    requests_mock.post(f"{BASE}/email/campaigns/c1/x", status_code=503, json={"message": "down"})
    with pytest.raises(VendorAPIError) as err:
        ArselHook("arsel_r", retry_limit=3).request("POST", "/email/campaigns/c1/x")
    assert len(err.value.attempts) == 1 and err.value.attempts[0].status_code == 503


async def test_async_retries_after_the_first_attempt(set_conn, fake_aiohttp_session, monkeypatch):
    import asyncio

    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    answers = iter([503, 429, 200])

    class Flaky(_FakeAiohttpResponse):
        def __init__(self):
            self.status = next(answers)

        async def text(self):
            return '{"status": "sending"}' if self.status == 200 else '{"message": "busy"}'

    monkeypatch.setattr("tests.unit.hooks.test_base._FakeAiohttpResponse", Flaky)
    set_conn("arsel_r", "arsel", BASE)
    hook = ArselHook("arsel_r", retry_limit=3)
    assert (await hook.aget_status(campaign_id="c1", channel="email")).raw_status == "sending"
    assert len(fake_aiohttp_session.calls) == 3 and slept == [0.5, 1.0]
