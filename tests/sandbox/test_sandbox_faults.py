"""The sandbox's fault kinds that go beyond an error status: a reset mid-response, a non-JSON page, an empty 200."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "be_sandbox_key"


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
    return server


@pytest.fixture()
def api(bearer_session: Any) -> requests.Session:
    return bearer_session(KEY)


def sending_campaign(sb: SandboxServer) -> dict[str, Any]:
    return sb.admin("POST", "/arsel/seed", {"campaigns": [{"channel": "email", "status": "sending"}]})["campaigns"][0]


def status_of(sb: SandboxServer, campaign_id: str) -> str:
    return next(c["status"] for c in sb.admin("GET", "/arsel/state")["campaigns"] if c["id"] == campaign_id)


def raw_cancel(sb: SandboxServer, campaign_id: str) -> tuple[bytes, bytes, bool]:
    """POST a cancel on a raw socket; return (head, body received, whether the peer reset the connection)."""
    request = (
        f"POST /arsel/v1/email/campaigns/{campaign_id}/cancel HTTP/1.1\r\nHost: sandbox\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    received, reset = b"", False
    with socket.create_connection((sb.host, sb.port), timeout=5) as conn:
        conn.sendall(request)
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except ConnectionResetError:
            reset = True
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body, reset


def content_length(head: bytes) -> int:
    line = next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))
    return int(line.split(b":", 1)[1])


@pytest.mark.parametrize("reset_at", ["headers", "body"])
def test_reset_cuts_the_answer_after_the_vendor_acted(sb: SandboxServer, reset_at: str) -> None:
    campaign = sending_campaign(sb)
    queued = sb.admin("POST", "/arsel/faults", {"reset_next": 1, "reset_at": reset_at})["queue"]
    assert queued == [{"kind": "reset", "reset_at": reset_at}]
    head, body, reset = raw_cancel(sb, campaign["id"])
    assert head.startswith(b"HTTP/1.1 200") and reset
    full = content_length(head)
    assert len(body) == (0 if reset_at == "headers" else full // 2) and full > 0
    # The vendor served the request; only its answer was lost.
    assert status_of(sb, campaign["id"]) == "cancelled"
    (entry,) = sb.admin("GET", "/requests")["requests"]
    assert (entry["outcome"], entry["served_as"], entry["status"], entry["reset_at"]) == (
        "reset",
        "handled",
        200,
        reset_at,
    )


def test_reset_is_seen_by_requests_as_a_broken_answer(sb: SandboxServer, api: requests.Session) -> None:
    campaign = sending_campaign(sb)
    sb.admin("POST", "/arsel/faults", {"reset_next": 1})  # default: halfway through the body
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(f"{sb.vendor_url('arsel')}/email/campaigns/{campaign['id']}")


def test_html_error_page_with_its_own_content_type(sb: SandboxServer, api: requests.Session) -> None:
    url = f"{sb.vendor_url('arsel')}/email/campaigns"
    sb.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 502, "content_type": "text/html"})
    r = api.get(url)
    assert r.status_code == 502 and r.headers["Content-Type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in r.text
    page = "<!doctype html><title>Maintenance</title>"
    sb.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 503, "content_type": "text/html", "body": page})
    r = api.get(url)
    assert (r.status_code, r.headers["Content-Type"], r.text) == (503, "text/html", page)
    assert api.get(url).status_code == 200  # one-shot
    with pytest.raises(RuntimeError, match="content_type"):
        sb.admin("POST", "/arsel/faults", {"fail_next": 1, "content_type": "text/html", "body": {"not": "text"}})


def test_empty_body_answers_the_status_with_nothing(sb: SandboxServer, api: requests.Session) -> None:
    campaign = sending_campaign(sb)
    sb.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 200, "empty_body": True})
    r = api.post(f"{sb.vendor_url('arsel')}/email/campaigns/{campaign['id']}/cancel")
    assert (r.status_code, r.content, r.headers["Content-Length"]) == (200, b"", "0")
    assert "Content-Type" not in r.headers
    # Like every fail fault, it answers instead of the vendor: nothing was cancelled.
    assert status_of(sb, campaign["id"]) == "sending"
