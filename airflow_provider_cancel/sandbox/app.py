"""The sandbox application: vendor registry, request pipeline and admin API.

Transport-free: ``SandboxApp.handle`` takes a parsed HTTP request and returns a
:class:`Response` (or raises :class:`DropConnection`); ``server.py`` does HTTP.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import threading
import time
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import airflow_provider_cancel.sandbox as sandbox_package
from airflow_provider_cancel.sandbox.core import (
    Clock,
    DropConnection,
    Fault,
    Faults,
    HTTPError,
    IdempotencyStore,
    RateLimiter,
    Request,
    RequestLog,
    ResetMidResponse,
    Response,
    Router,
    StateStore,
    Vendor,
)

# Modules of the sandbox package that are plumbing, not vendors.
_PLUMBING = frozenset({"app", "core", "server"})


def discover_vendors() -> list[type[Vendor]]:
    """
    Every :class:`Vendor` subclass defined in a module of this package, in module-name order.

    Adding a vendor to the sandbox is adding its module: there is no list to edit. The sandbox reads
    no provider registry on purpose: it is an independent reading of the vendors' docs.
    """
    found: list[type[Vendor]] = []
    for info in sorted(pkgutil.iter_modules(sandbox_package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _PLUMBING:
            continue
        module = importlib.import_module(f"{sandbox_package.__name__}.{info.name}")
        found.extend(
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Vendor)
            and obj is not Vendor
            and obj.__module__ == module.__name__
        )
    return found


VENDORS: list[type[Vendor]] = discover_vendors()


def _admin_error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


class SandboxApp:
    """All sandbox state plus the request pipeline shared by every vendor."""

    def __init__(self, vendors: list[type[Vendor]] | None = None) -> None:
        self.clock = Clock()
        self.store = StateStore()
        self.log = RequestLog()
        self.faults = Faults()
        self.limiter = RateLimiter()
        self.idempotency = IdempotencyStore(self.clock)
        self._classes = list(VENDORS if vendors is None else vendors)
        self.config: dict[str, dict[str, Any]] = {c.name: c.initial_config() for c in self._classes}
        self._config_lock = threading.Lock()
        self.vendors: dict[str, Vendor] = {
            c.name: c(self.store, self.clock, partial(self.config.__getitem__, c.name)) for c in self._classes
        }
        self.admin = Router("/_admin")
        self._admin_routes()

    # ------------------------------------------------------------------ entry

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Response:
        """Serve one request. Raises DropConnection or ResetMidResponse when such a fault fires."""
        split = urlsplit(target)
        path = unquote(split.path) or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body, json_error = None, False
        if raw_body.strip():
            try:
                body = json.loads(raw_body)
            except ValueError:
                json_error = True
        req = Request(
            method.upper(), path, query, {k.lower(): v for k, v in headers.items()}, body, raw_body, json_error
        )
        if path == "/_admin" or path.startswith("/_admin/"):
            return self._handle_admin(req)
        prefix, _, rest = path.lstrip("/").partition("/")
        vendor = self.vendors.get(prefix)
        if vendor is None:
            return _admin_error(404, f"No vendor at /{prefix}; known: {sorted(self.vendors)}")
        req.path = "/" + rest
        return self._handle_vendor(vendor, req, path)

    # --------------------------------------------------------------- pipeline

    def _handle_vendor(self, vendor: Vendor, req: Request, full_path: str) -> Response:
        entry: dict[str, Any] = {
            "at": self.clock.iso(self.clock.now()),
            "vendor": vendor.name,
            "method": req.method,
            "path": full_path,
            "query": req.query,
            "body": req.body if not req.json_error else req.raw_body.decode("utf-8", "replace"),
            "idempotency_key": req.header(vendor.idempotency_header) if vendor.idempotency_header else None,
            "auth_valid": None,
            "status": None,
            "outcome": None,
        }
        idem: tuple[tuple[str, str], str] | None = None  # (scope, key) held while in flight
        started = time.monotonic()
        fault = self.faults.pop(vendor.name)
        try:
            # A reset fault lets the vendor serve the request; only the answer is cut (below).
            resp, outcome, idem = self._process(vendor, req, entry, None if fault and fault.kind == "reset" else fault)
            latency = self.faults.latency_s(vendor.name)
            if latency:
                time.sleep(latency)  # after the work, before the reply: like a slow network/backend
        except DropConnection:
            entry.update(outcome="dropped", duration_ms=round((time.monotonic() - started) * 1000))
            self.log.add(entry)
            raise
        if idem is not None:
            # Released only now, so a client that timed out during latency sees "in flight".
            self.idempotency.finish(idem[0], idem[1], resp)
        entry.update(status=resp.status, outcome=outcome, duration_ms=round((time.monotonic() - started) * 1000))
        if fault is not None and fault.kind == "reset":
            assert fault.reset_at is not None
            entry.update(outcome="reset", served_as=outcome, reset_at=fault.reset_at)
            self.log.add(entry)
            raise ResetMidResponse(resp, fault.reset_at)
        self.log.add(entry)
        return resp

    def _process(
        self, vendor: Vendor, req: Request, entry: dict[str, Any], fault: Fault | None
    ) -> tuple[Response, str, tuple[tuple[str, str], str] | None]:
        """Faults -> auth -> rate limit -> routing -> idempotency -> handler."""
        if fault is not None and fault.kind == "drop":
            raise DropConnection()
        if fault is not None:
            resp = fault.response(vendor)
            if fault.retry_after is not None:
                resp.headers["retry-after"] = fault.retry_after
            return resp, "fault", None

        req.org = vendor.authenticate(req)
        entry["auth_valid"] = req.org is not None
        if req.org is None:
            return vendor.unauthorized(), "unauthorized", None

        decision = self.limiter.hit(f"{vendor.name}:{req.org}", int(vendor.config.get("rate_limit_per_second") or 0))
        rl_headers = {}
        if decision is not None:
            names = vendor.ratelimit_header_names
            rl_headers = dict(zip(names, map(str, (decision.limit, decision.remaining, decision.reset)), strict=False))
            if not decision.allowed:
                resp = vendor.rate_limited()
                resp.headers.update(rl_headers, **{"retry-after": str(decision.retry_after)})
                return resp, "rate_limited", None

        resp, outcome, idem = self._route(vendor, req)
        resp.headers.update(rl_headers)
        return resp, outcome, idem

    def _route(self, vendor: Vendor, req: Request) -> tuple[Response, str, tuple[tuple[str, str], str] | None]:
        route, params, path_exists = vendor.router.match(req.method, req.path)
        if route is None:
            if path_exists:
                return vendor.error(405, "method_not_allowed", "Method not allowed"), "rejected", None
            return vendor.error(404, "not_found", "Route not found"), "rejected", None
        if req.json_error:
            return vendor.error(400, "bad_request", "Request body must be valid JSON"), "rejected", None
        req.params = params

        idem = None
        key = req.header(vendor.idempotency_header) if route.idempotent and vendor.idempotency_header else None
        if key is not None:
            if not key.strip() or len(key) > vendor.idempotency_max_len:
                return vendor.idempotency_error("invalid_key"), "rejected", None
            scope = (vendor.name, req.org or "")
            verdict, first = self.idempotency.begin(
                scope, key, self.idempotency.fingerprint(req), vendor.idempotency_ttl_s
            )
            if verdict == "replay":
                assert first is not None
                return first, "replayed", None
            if verdict in ("mismatch", "in_flight"):
                return vendor.idempotency_error(verdict), "rejected", None
            idem = (scope, key)

        try:
            with self.store.lock:
                resp = route.handler(req)
        except HTTPError as e:
            resp = vendor.error(e.status, e.name, e.message)
        except Exception as e:
            resp = vendor.error(500, "internal_server_error", f"Sandbox error: {e!r}")
        return resp, "handled", idem

    # ------------------------------------------------------------------ admin

    def reset(self) -> None:
        """Clear all state, faults, logs, time offset; restore default config."""
        with self.store.lock:
            self.store.clear()
            self.log.clear()
            self.faults.clear()
            self.limiter.clear()
            self.idempotency.clear()
            self.clock.offset_s = 0.0
            with self._config_lock:
                self.config.update({c.name: c.initial_config() for c in self._classes})

    def update_config(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``{vendor: {key: value}}`` into the config after validating it all."""
        if not isinstance(patch, dict):
            raise ValueError("body must be an object {vendor: {key: value}}")
        with self._config_lock:
            merged = {}
            for name, values in patch.items():
                vendor = self.vendors.get(name)
                if vendor is None or not isinstance(values, dict):
                    raise ValueError(f"unknown vendor {name!r} or value is not an object")
                cfg = dict(self.config[name])
                for key, value in values.items():
                    if key not in type(vendor).default_config:
                        raise ValueError(f"unknown config key {name}.{key}")
                    cfg[key] = value
                vendor.validate_config(cfg)
                merged[name] = cfg
            self.config.update(merged)  # all-or-nothing
            return copy.deepcopy(self.config)

    def _vendor_param(self, req: Request) -> Vendor:
        vendor = self.vendors.get(req.params["vendor"])
        if vendor is None:
            raise HTTPError(404, "not_found", f"unknown vendor {req.params['vendor']!r}")
        return vendor

    def _admin_routes(self) -> None:
        a = self.admin

        def health(req: Request) -> Response:
            return Response(200, {"ok": True, "vendors": sorted(self.vendors), "now": self.clock.iso(self.clock.now())})

        def reset(req: Request) -> Response:
            self.reset()
            return Response(200, {"ok": True})

        def get_config(req: Request) -> Response:
            return Response(200, copy.deepcopy(self.config))

        def post_config(req: Request) -> Response:
            return Response(200, self.update_config(req.body or {}))

        def get_time(req: Request) -> Response:
            return Response(200, {"now": self.clock.iso(self.clock.now()), "offset_s": self.clock.offset_s})

        def post_time(req: Request) -> Response:
            self.clock.advance(float((req.body or {}).get("advance_s", 0)))
            return get_time(req)

        def get_requests(req: Request) -> Response:
            vendor = req.query.get("vendor") or None
            return Response(200, {"requests": self.log.entries(vendor)})

        def clear_requests(req: Request) -> Response:
            self.log.clear()
            return Response(200, {"ok": True})

        def get_faults(req: Request) -> Response:
            return Response(200, self.faults.describe(self._vendor_param(req).name))

        def post_faults(req: Request) -> Response:
            return Response(200, self.faults.configure(self._vendor_param(req).name, req.body or {}))

        def clear_faults(req: Request) -> Response:
            return Response(200, self.faults.configure(self._vendor_param(req).name, {"clear": True}))

        def seed(req: Request) -> Response:
            vendor = self._vendor_param(req)
            with self.store.lock:
                return Response(200, vendor.seed(req.body or {}))

        def state(req: Request) -> Response:
            vendor = self._vendor_param(req)
            with self.store.lock:
                return Response(200, copy.deepcopy(vendor.dump_state()))

        def advance(req: Request) -> Response:
            vendor = self._vendor_param(req)
            with self.store.lock:
                return Response(200, vendor.advance(req.body or {}))

        a.add("GET", "/health", health)
        a.add("POST", "/reset", reset)
        a.add("GET", "/config", get_config)
        a.add("POST", "/config", post_config)
        a.add("GET", "/time", get_time)
        a.add("POST", "/time", post_time)
        a.add("GET", "/requests", get_requests)
        a.add("DELETE", "/requests", clear_requests)
        a.add("GET", "/{vendor}/faults", get_faults)
        a.add("POST", "/{vendor}/faults", post_faults)
        a.add("DELETE", "/{vendor}/faults", clear_faults)
        a.add("POST", "/{vendor}/seed", seed)
        a.add("GET", "/{vendor}/state", state)
        a.add("POST", "/{vendor}/advance", advance)

    def _handle_admin(self, req: Request) -> Response:
        route, params, path_exists = self.admin.match(req.method, req.path)
        if route is None:
            return _admin_error(405 if path_exists else 404, f"no admin route {req.method} {req.path}")
        if req.json_error:
            return _admin_error(400, "body must be valid JSON")
        req.params = params
        try:
            return route.handler(req)
        except HTTPError as e:
            return Response(e.status, {"error": e.message, "name": e.name})
        except (ValueError, TypeError, KeyError) as e:
            return _admin_error(400, str(e))


def build_app(vendors: list[type[Vendor]] | None = None) -> SandboxApp:
    """Build a fresh sandbox with every registered vendor (or the given ones)."""
    return SandboxApp(vendors)
