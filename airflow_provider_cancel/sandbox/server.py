"""HTTP transport: a threaded stdlib server around :class:`SandboxApp`, plain HTTP or HTTPS.

Stdlib rather than uvicorn because the "dropped connection" fault needs to close
the raw socket without writing a response, which ASGI servers do not allow. With ``tls=True`` it
serves HTTPS with a self-signed certificate made at start (:mod:`.tls`); ``ca_file`` is its path.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airflow_provider_cancel.sandbox.app import SandboxApp, build_app
from airflow_provider_cancel.sandbox.core import DropConnection, ResetMidResponse, Response
from airflow_provider_cancel.sandbox.tls import SelfSignedCert, make_self_signed_cert

#: Pause between the partial answer of a reset fault and the reset itself.
RESET_DELAY_S = 0.02


def require_loopback(host: str) -> None:
    """Refuse to bind anything but a loopback address: the sandbox has no real security."""
    try:
        addrs = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        raise ValueError(f"cannot resolve host {host!r}: {e}") from None
    if not addrs or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
        raise ValueError(f"sandbox only binds loopback addresses, not {host!r} ({sorted(addrs)})")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the client's delayed
    # ACK adds ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "CancelSandbox/1.0"
    timeout = 300  # idle keep-alive connections are closed after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # Handshake here, in the connection's own thread, never in the accept loop.
            self.connection.do_handshake()

    def _serve(self) -> None:
        try:
            raw = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return
        try:
            resp = self.server.app.handle(self.command, self.path, dict(self.headers.items()), raw)
        except DropConnection:
            # Close with no bytes written: the client sees a disconnect, not an HTTP error.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except ResetMidResponse as reset:
            self._send(reset.response, cut_at=reset.at)
            return
        self._send(resp)

    def _send(self, resp: Response, cut_at: str | None = None) -> None:
        """Write the response; with ``cut_at``, stop after the headers or half the body and reset the connection."""
        data = resp.payload()
        self.send_response(resp.status)
        if data:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if cut_at is None:
            self.wfile.write(data)
            return
        if cut_at == "body":
            self.wfile.write(data[: len(data) // 2])
        # Let the partial answer reach the client before the reset (an RST can overtake unread data).
        time.sleep(RESET_DELAY_S)
        self.close_connection = True
        self.server.abort_on_close(self.connection)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"sandbox {self.address_string()} {format % args}\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog (5) drops connection bursts, e.g. thousands of triggers starting at once.
    request_queue_size = 128
    block_on_close = False  # idle keep-alive threads must not block stop()
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], app: SandboxApp, quiet: bool, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app, self.quiet, self.ssl_context = app, quiet, ssl_context
        self._conns: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()  # to close with a reset (see abort_on_close)
        self._conns_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's getfqdn(), which can stall for seconds on odd DNS setups.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        request, client_address = super().get_request()
        if self.ssl_context is not None:
            request = self.ssl_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        return request, client_address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def abort_on_close(self, request: socket.socket) -> None:
        """Close ``request`` with a TCP reset (RST) instead of an orderly shutdown (FIN) when its handler ends."""
        with contextlib.suppress(OSError):
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._conns_lock:
            self._aborted.add(request)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
            aborted = request in self._aborted
            self._aborted.discard(request)
        if aborted:
            self.close_request(request)  # no shutdown(SHUT_WR): with SO_LINGER 0, close() sends the RST
            return
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (e.g. timed out during injected latency) is normal here, and so is
        # a failed TLS handshake (a plain-HTTP client, or the readiness probe of start()).
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Hang up on open keep-alive connections so their threads end."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """The sandbox on a background thread.

    >>> with SandboxServer() as sb:
    ...     requests.get(sb.vendor_url("arsel") + "/email/campaigns", headers=...)

    With ``tls=True`` it serves HTTPS (TLS 1.2+) with a self-signed certificate for 127.0.0.1, ::1
    and localhost, made at :meth:`start`; :attr:`ca_file` is the PEM file a client must trust
    (``requests.get(..., verify=sb.ca_file)``, the ``ca_bundle`` connection extra, ``SSL_CERT_FILE``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        app: SandboxApp | None = None,
        quiet: bool = True,
        tls: bool = False,
    ) -> None:
        require_loopback(host)
        self.host, self.port, self.quiet, self.tls = host, port, quiet, tls
        self.app = app or build_app()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._cert: SelfSignedCert | None = None

    @property
    def ca_file(self) -> str | None:
        """Path of the self-signed certificate (PEM) to trust while a TLS sandbox runs; ``None`` without TLS."""
        return self._cert.cert_file if self._cert is not None else None

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, serve in a daemon thread, and return once connections are accepted."""
        if self._httpd is not None:
            return self
        context = None
        if self.tls:
            self._cert = make_self_signed_cert()
            context = self._cert.server_context()
        try:
            self._httpd = _HTTPServer((self.host, self.port), self.app, self.quiet, context)
        except OSError:
            if self._cert is not None:
                self._cert.remove()
                self._cert = None
            raise
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving, hang up on clients, release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._cert is not None:
            self._cert.remove()
            self._cert = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def vendor_url(self, vendor: str) -> str:
        """Base URL of a vendor API, e.g. ``http://127.0.0.1:54321/arsel/v1``."""
        return f"{self.url}/{vendor}{self.app.vendors[vendor].base_path}"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the admin API over HTTP (``path`` after ``/_admin``); returns parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_admin/{path.lstrip('/')}",
            data=data,
            method=method.upper(),
            headers={"Content-Type": "application/json"},
        )
        try:
            context = self._cert.client_context() if self._cert is not None else None
            with urllib.request.urlopen(req, timeout=10, context=context) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"admin {method} {path} -> {e.code}: {e.read().decode()}") from None

    def reset(self) -> None:
        """Same as ``POST /_admin/reset``, in-process."""
        self.app.reset()
