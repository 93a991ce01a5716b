"""Generic, vendor-agnostic building blocks of the sandbox.

Nothing here knows about a particular vendor. A vendor is a :class:`Vendor`
subclass (one module per vendor) that declares its routes, config defaults,
error shape and admin seed/state/advance handlers; ``app.py`` mounts it.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------
# Request / response


@dataclass
class Request:
    """One parsed HTTP request, as seen by a vendor handler."""

    method: str
    path: str  # path inside the vendor prefix, e.g. "/email/campaigns/x"
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any = None  # parsed JSON, or None when the body is empty
    raw_body: bytes = b""
    json_error: bool = False  # body was present but not valid JSON
    params: dict[str, str] = field(default_factory=dict)  # path params from the router
    org: str | None = None  # set after authentication

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    """
    A JSON response. ``body=None`` sends an empty body.

    ``text`` (with ``content_type``) replaces the JSON body with verbatim text, for answers that are
    not the vendor's, such as a proxy's HTML error page.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    content_type: str = "application/json"

    def copy(self) -> Response:
        return Response(self.status, copy.deepcopy(self.body), dict(self.headers), self.text, self.content_type)

    def payload(self) -> bytes:
        """The bytes of the body as sent on the wire."""
        if self.text is not None:
            return self.text.encode()
        return b"" if self.body is None else json.dumps(self.body).encode()


class DropConnection(Exception):
    """Raised by the pipeline to make the HTTP layer close the socket with no response."""


#: Where a ``reset`` fault cuts the answer: right after the headers, or halfway through the body.
RESET_POINTS = ("headers", "body")


class ResetMidResponse(Exception):
    """
    Raised by the pipeline after the vendor has served the request: the HTTP layer sends the status
    line and headers (and half the body when ``at`` is ``"body"``), then resets the connection.
    """

    def __init__(self, response: Response, at: str) -> None:
        super().__init__(f"reset after the {at}")
        self.response, self.at = response, at


class HTTPError(Exception):
    """Raised by a vendor handler to answer with the vendor's error shape."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


# Default snake_case names for bare HTTP statuses (used by injected faults).
STATUS_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

# Reason phrases for the bodies of injected non-JSON error pages.
STATUS_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


# ---------------------------------------------------------------------------
# Router


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler
    idempotent: bool = False  # honour the vendor's idempotency-key header on this route


class Router:
    """Tiny path router: patterns like ``/{channel}/campaigns/{id}/cancel``."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, idempotent: bool = False) -> None:
        full = (self.prefix + pattern).rstrip("/") or "/"
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", full)
        self.routes.append(Route(method.upper(), re.compile(f"^{regex}/?$"), handler, idempotent))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_exists); path_exists tells 404 from 405."""
        path_exists = False
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                path_exists = True
                if route.method == method:
                    return route, m.groupdict(), True
        return None, {}, path_exists


# ---------------------------------------------------------------------------
# Time


class Clock:
    """Wall clock with an adjustable offset so tests can jump forward in time.

    Vendor state (scheduling, idempotency expiry) reads ``now()``; the rate
    limiter deliberately uses real time because its headers are real Unix times.
    """

    def __init__(self) -> None:
        self.offset_s = 0.0

    def now(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds

    @staticmethod
    def iso(ts: float | None) -> str | None:
        """RFC 3339 UTC with milliseconds, e.g. ``2026-01-01T12:00:00.000Z``."""
        if ts is None:
            return None
        d = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"

    @staticmethod
    def parse_iso(value: str) -> float:
        """Parse an ISO 8601 timestamp (``Z`` or offset; naive means UTC). Raises ValueError."""
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.UTC)
        return d.timestamp()


_uuid7_lock = threading.Lock()
_uuid7_last = 0


def uuid7() -> str:
    """Time-ordered UUIDv7 string, like the ids in vendor docs (stdlib has it only from 3.14)."""
    global _uuid7_last
    with _uuid7_lock:
        # Strictly increasing ms counter keeps ids sortable even within one millisecond.
        ms = max(int(time.time() * 1000), _uuid7_last + 1)
        _uuid7_last = ms
    value = (ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62)
    return str(uuid.UUID(int=value))


# ---------------------------------------------------------------------------
# Shared stores


class StateStore:
    """Per-vendor state dicts behind one re-entrant lock (handlers are short)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._data: dict[str, dict[str, Any]] = {}

    def ns(self, vendor: str) -> dict[str, Any]:
        with self.lock:
            return self._data.setdefault(vendor, {})

    def clear(self) -> None:
        with self.lock:
            self._data.clear()


class RequestLog:
    """Append-only log of vendor requests. Never holds credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry["seq"] = len(self._entries) + 1
            self._entries.append(entry)

    def entries(self, vendor: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._entries if vendor in (None, e["vendor"])]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Fault:
    kind: str  # "fail", "drop" or "reset"
    status: int | None = None
    retry_after: str | None = None
    name: str | None = None
    message: str | None = None
    body: Any = None  # verbatim body overriding the vendor error shape (a string when content_type is set)
    content_type: str | None = None  # send ``body`` as text of this type instead of JSON
    empty_body: bool | None = None  # answer ``status`` with no body at all
    reset_at: str | None = None  # "headers" or "body", for kind "reset"

    def response(self, vendor: Vendor) -> Response:
        """The answer of a "fail" fault: the vendor's error shape unless a body or an empty body is given."""
        status = self.status or 503
        if self.empty_body:
            return Response(status)
        if self.content_type is not None:
            text = self.body if isinstance(self.body, str) else proxy_error_page(status)
            return Response(status, text=text, content_type=self.content_type)
        if self.body is not None:
            return Response(status, copy.deepcopy(self.body))
        return vendor.error(status, self.name or STATUS_NAMES.get(status, "error"), self.message or "Injected fault")


def proxy_error_page(status: int) -> str:
    """The HTML error page a reverse proxy (nginx style) puts in front of an API that is down."""
    title = f"{status} {STATUS_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


class Faults:
    """Per-vendor FIFO of one-shot faults plus a persistent added latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
        self._latency_ms: dict[str, int] = {}

    def configure(self, vendor: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply an admin fault spec: queue drops, then resets, then failures; set latency if given."""
        drop_n, fail_n = int(spec.get("drop_next", 0) or 0), int(spec.get("fail_next", 0) or 0)
        reset_n = int(spec.get("reset_next", 0) or 0)
        status = int(spec.get("status", 503))
        if drop_n < 0 or fail_n < 0 or reset_n < 0 or not 100 <= status <= 599:
            raise ValueError("drop_next/reset_next/fail_next must be >= 0 and status a valid HTTP status")
        reset_at = spec.get("reset_at", "body")
        if reset_at not in RESET_POINTS:
            raise ValueError(f"reset_at must be one of {', '.join(RESET_POINTS)}")
        content_type = spec.get("content_type")
        if content_type is not None and not (
            isinstance(content_type, str) and content_type and isinstance(spec.get("body"), (str, type(None)))
        ):
            raise ValueError("content_type must be a non-empty string, and body (if given) the text to send with it")
        retry_after = spec.get("retry_after")
        with self._lock:
            if spec.get("clear"):
                self._queue[vendor].clear()
                self._latency_ms[vendor] = 0
            if "latency_ms" in spec:
                self._latency_ms[vendor] = max(0, int(spec["latency_ms"] or 0))
            q = self._queue[vendor]
            q.extend(Fault("drop") for _ in range(drop_n))
            q.extend(Fault("reset", reset_at=reset_at) for _ in range(reset_n))
            q.extend(
                Fault(
                    "fail",
                    status,
                    None if retry_after is None else str(retry_after),
                    spec.get("name"),
                    spec.get("message"),
                    spec.get("body"),
                    content_type,
                    bool(spec.get("empty_body")) or None,
                )
                for _ in range(fail_n)
            )
        return self.describe(vendor)

    def pop(self, vendor: str) -> Fault | None:
        with self._lock:
            q = self._queue[vendor]
            return q.popleft() if q else None

    def latency_s(self, vendor: str) -> float:
        with self._lock:
            return self._latency_ms.get(vendor, 0) / 1000.0

    def describe(self, vendor: str) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": self._latency_ms.get(vendor, 0),
                "queue": [{k: v for k, v in vars(f).items() if v is not None} for f in self._queue[vendor]],
            }

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._latency_ms.clear()


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # Unix timestamp when a slot frees up
    retry_after: int  # whole seconds; 0 when allowed


class RateLimiter:
    """Sliding one-second window per key, no burst: at most N requests in any 1 s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def hit(self, key: str, per_second: int) -> RateDecision | None:
        """Count one request; None when limiting is off (per_second <= 0)."""
        if per_second <= 0:
            return None
        now = time.time()
        with self._lock:
            q = self._hits[key]
            while q and q[0] <= now - 1.0:
                q.popleft()
            if len(q) >= per_second:  # rejected requests do not consume a slot
                free_at = q[0] + 1.0
                return RateDecision(False, per_second, 0, math.ceil(free_at), max(1, math.ceil(free_at - now)))
            q.append(now)
            return RateDecision(True, per_second, per_second - len(q), math.ceil(q[0] + 1.0), 0)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


class IdempotencyStore:
    """Idempotency keys scoped per (vendor, org), remembering the first response.

    ``begin`` returns one of: ("new", None), ("replay", Response), ("mismatch", None),
    ("in_flight", None). A "new" begin must be followed by ``finish`` or ``abort``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # scope -> key -> {"fingerprint", "response" (None while in flight), "at"}
        self._records: dict[tuple[str, str], dict[str, dict[str, Any]]] = collections.defaultdict(dict)

    @staticmethod
    def fingerprint(req: Request) -> str:
        body = json.dumps(req.body, sort_keys=True) if req.body is not None else ""
        return hashlib.sha256(f"{req.method} {req.path}\n{body}".encode()).hexdigest()

    def begin(self, scope: tuple[str, str], key: str, fp: str, ttl_s: float) -> tuple[str, Response | None]:
        now = self._clock.now()
        with self._lock:
            rec = self._records[scope].get(key)
            if rec and now - rec["at"] > ttl_s:
                rec = None  # expired: the key may be used afresh
            if rec is None:
                self._records[scope][key] = {"fingerprint": fp, "response": None, "at": now}
                return "new", None
            if rec["fingerprint"] != fp:
                return "mismatch", None
            if rec["response"] is None:
                return "in_flight", None
            return "replay", rec["response"].copy()

    def finish(self, scope: tuple[str, str], key: str, response: Response) -> None:
        with self._lock:
            rec = self._records[scope].get(key)
            if rec is not None:
                if response.status >= 500:  # server errors are not remembered: the retry may succeed
                    del self._records[scope][key]
                else:
                    rec["response"] = response.copy()

    def abort(self, scope: tuple[str, str], key: str) -> None:
        with self._lock:
            self._records[scope].pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def bearer_token(req: Request) -> str | None:
    """The token from ``Authorization: Bearer <token>``, or None."""
    auth = req.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def org_id(secret: str) -> str:
    """Stable, non-reversible org id derived from an API key (the key itself is never kept)."""
    return "org_" + hashlib.sha256(secret.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------
# Vendor plug-in base


class Vendor:
    """Base class for one vendor API. Subclasses live in ``sandbox/<vendor>.py``.

    A subclass sets ``name`` (path prefix and config key) and ``default_config``,
    registers routes in ``routes()``, and implements ``error``, ``seed``, ``state``
    and ``advance``. The app supplies auth, rate limiting, faults, idempotency and
    logging around every route.
    """

    name: str = ""
    base_path: str = ""  # API root inside the vendor prefix, e.g. "/v1" (part of vendor_url)
    # Every vendor has at least these; env var SANDBOX_<NAME>_<KEY> overrides a default.
    default_config: dict[str, Any] = {"api_key": "sandbox_key", "rate_limit_per_second": 0}
    idempotency_header: str | None = None  # e.g. "Idempotency-Key"
    idempotency_max_len: int = 256
    idempotency_ttl_s: float = 24 * 3600
    # Response header names for rate limiting; a vendor may rename them.
    ratelimit_header_names = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")

    def __init__(self, store: StateStore, clock: Clock, config: Callable[[], dict[str, Any]]) -> None:
        self.store, self.clock, self._config = store, clock, config
        self.router = Router(self.base_path)
        self.routes()

    # -- helpers for subclasses
    @property
    def config(self) -> dict[str, Any]:
        """This vendor's current config (a live dict; do not mutate)."""
        return self._config()

    @property
    def state(self) -> dict[str, Any]:
        """This vendor's state namespace; call ``init_state`` lazily on first use."""
        ns = self.store.ns(self.name)
        if not ns:
            ns.update(self.init_state())
        return ns

    @classmethod
    def initial_config(cls) -> dict[str, Any]:
        """Defaults overlaid with ``SANDBOX_<VENDOR>_<KEY>`` environment variables."""
        cfg = copy.deepcopy(cls.default_config)
        for key, default in cls.default_config.items():
            raw = os.environ.get(f"SANDBOX_{cls.name.upper()}_{key.upper()}")
            if raw is None:
                continue
            if isinstance(default, str):
                cfg[key] = raw
            else:
                try:
                    cfg[key] = json.loads(raw)
                except ValueError:
                    cfg[key] = raw
        return cfg

    # -- overridable hooks
    def routes(self) -> None:
        """Register vendor routes on ``self.router``."""

    def init_state(self) -> dict[str, Any]:
        """Fresh state for this vendor (called after reset, lazily)."""
        return {}

    def validate_config(self, cfg: dict[str, Any]) -> None:
        """Raise ValueError if a merged config is invalid."""

    def authenticate(self, req: Request) -> str | None:
        """Return the org id for a valid credential, else None. Default: one bearer key."""
        token = bearer_token(req)
        expected = str(self.config.get("api_key") or "")
        if token and expected and secrets.compare_digest(token, expected):
            return org_id(token)
        return None

    def error(self, status: int, name: str, message: str) -> Response:
        """The vendor's documented error shape."""
        return Response(status, {"status_code": status, "name": name, "message": message})

    def unauthorized(self) -> Response:
        return self.error(401, "unauthorized", "Invalid or missing API key")

    def rate_limited(self) -> Response:
        return self.error(429, "rate_limit_exceeded", "Too many requests")

    def idempotency_error(self, kind: str) -> Response:
        """kind: "invalid_key", "mismatch" or "in_flight"."""
        return {
            "invalid_key": self.error(400, "invalid_idempotency_key", "Invalid idempotency key"),
            "mismatch": self.error(
                409, "invalid_idempotent_request", "Idempotency key reused with a different request"
            ),
            "in_flight": self.error(
                503, "concurrent_idempotent_requests", "A request with this idempotency key is in progress"
            ),
        }[kind]

    def seed(self, body: Any) -> Any:
        raise HTTPError(400, "not_supported", f"{self.name} has no seed")

    def dump_state(self) -> Any:
        return self.state

    def advance(self, body: Any) -> Any:
        raise HTTPError(400, "not_supported", f"{self.name} has no advance")


def check_number(value: Any, name: str, *, allow_none: bool = False) -> None:
    """Refuse a config value that is not a number >= 0 (``null`` too, when ``allow_none``), naming it."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0{' or null' if allow_none else ''}")
