"""The sandbox's HTTPS mode: a self-signed certificate made at start, trusted through a CA file."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer be_sandbox_key"}


@pytest.fixture(scope="module")
def tls_server() -> Iterator[SandboxServer]:
    with SandboxServer(tls=True) as sb:
        yield sb


def test_serves_https_with_a_certificate_for_loopback(tls_server: SandboxServer) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    assert tls_server.ca_file and Path(tls_server.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
    r = requests.get(f"{tls_server.vendor_url('arsel')}/email/campaigns", headers=AUTH, verify=tls_server.ca_file)
    assert r.status_code == 200 and r.json()["object"] == "list"
    # The name "localhost" is in the certificate too.
    local = tls_server.url.replace("127.0.0.1", "localhost")
    assert requests.get(f"{local}/_admin/health", verify=tls_server.ca_file).json()["ok"] is True
    assert tls_server.admin("GET", "/health")["ok"] is True  # the admin helper trusts its own certificate


def test_untrusted_certificate_and_plain_http_are_refused(tls_server: SandboxServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_server.url}/_admin/health", timeout=5)  # self-signed: not in the default trust
    plain = tls_server.url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{plain}/_admin/health", timeout=5)
    # ...and the server keeps serving TLS clients afterwards.
    assert requests.get(f"{tls_server.url}/_admin/health", verify=tls_server.ca_file, timeout=5).ok


def test_trusted_through_ssl_cert_file(tls_server: SandboxServer) -> None:
    # What a client that reads SSL_CERT_FILE (ssl's default context, aiohttp) sees.
    code = (
        "import ssl, sys, urllib.request; "
        "print(urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context()).status)"
    )
    env = {**os.environ, "SSL_CERT_FILE": str(tls_server.ca_file)}
    out = subprocess.run(
        [sys.executable, "-c", code, f"{tls_server.url}/_admin/health"], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "200", out.stderr


def test_certificate_file_is_removed_on_stop() -> None:
    sb = SandboxServer(tls=True).start()
    ca_file = sb.ca_file
    assert ca_file and os.path.exists(ca_file)
    sb.stop()
    assert not os.path.exists(ca_file) and sb.ca_file is None


def test_command_line_tls_writes_the_ca_file(tmp_path: Path) -> None:
    port_file, ca_file = tmp_path / "port", tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cancel.sandbox", "--port", "0", "--port-file", str(port_file)]
        + ["--tls", "--ca-file", str(ca_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        assert ca_file.exists()  # written before the port file
        url = f"https://127.0.0.1:{port_file.read_text().strip()}/_admin/health"
        with urllib.request.urlopen(url, context=ssl.create_default_context(cafile=str(ca_file))) as r:
            assert json.loads(r.read())["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "https://127.0.0.1:" in out and "CA file" in out
    assert not ca_file.exists() and not port_file.exists()


def test_ca_file_needs_tls() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cancel.sandbox", "--ca-file", "/tmp/x.pem"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "--ca-file needs --tls" in out.stderr
