"""The one place that speaks HTTP to messaging vendors.

Vendor hooks subclass :class:`CampaignVendorHook` and add thin methods that call :meth:`request`
(sync, ``requests``) or :meth:`arequest` (async, ``aiohttp``, used by triggers). Everything that
must be the same for every vendor lives here: connection parsing, auth, timeouts, retries that honour
``Retry-After``, typed errors, secret masking and a read-only ``test_connection``.

Import-light on purpose: every DAG file that uses an operator imports this module in the
dag-processor, so ``aiohttp`` (only triggers need it) and ``requests`` (only a running task needs it)
are imported on first use, not here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import html
import json as jsonlib
import math
import os
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import tenacity
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_cancel import __version__
from airflow_provider_cancel.exceptions import Attempt, ConnectionConfigError, VendorAPIError, excerpt
from airflow_provider_cancel.status import CampaignStatus

if TYPE_CHECKING:
    import ssl

    import aiohttp
    import requests

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_MAX_WAIT = 60.0
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


#: One logger per (class, logger name): loggers are named after the class, never the instance, and a
#: triggerer holds thousands of waiting hooks and triggers (see :func:`shared_log`).
_SHARED_LOGS: dict[tuple[type, Any, Any], Any] = {}


def shared_log(obj: Any, make: Any) -> Any:
    """
    The logger ``obj.log`` would make (``make()``, the inherited property), shared by every instance
    of its class with the same logger name, so each one does not keep its own logger objects.
    """
    key = (type(obj), getattr(obj, "_log_config_logger_name", None), getattr(obj, "_logger_name", None))
    log = _SHARED_LOGS.get(key)
    if log is None:
        log = _SHARED_LOGS[key] = make()
    return log


def _mask(value: str) -> None:
    # Imported lazily: the masker lives in the task SDK and is only meaningful inside Airflow.
    from airflow.sdk.log import mask_secret

    mask_secret(value)


async def _amask(value: str) -> None:
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # Airflow < 3.3: the sync masker is safe off the event loop only
        from asgiref.sync import sync_to_async

        await sync_to_async(_mask)(value)
        return
    await amask_secret(value)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header given in seconds or as an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" dates carry no zone; HTTP dates are always GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


#: 2xx statuses that mean "no body" by definition; any other 2xx must carry the vendor's JSON.
NO_CONTENT_STATUSES = frozenset({204, 205})
_HTML_HEADING = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")


def summarise_body(text: str) -> str:
    """
    A short, one-line stand-in for a body that is not the vendor's JSON, for errors and logs.

    An HTML page (a proxy's or load balancer's error page, or a web site at a wrong Base URL) is
    named by its title, so the error says ``'502 Bad Gateway'`` instead of dumping markup.
    """
    stripped = text.strip()
    if not stripped:
        return "(empty body)"
    if stripped.startswith("<"):
        heading = _HTML_HEADING.search(stripped)
        words = html.unescape(_HTML_TAG.sub(" ", heading.group(2) if heading else stripped)).split()
        return f"an HTML page ({excerpt(' '.join(words), 200)!r}), not JSON: a proxy, gateway or web site answered"
    return " ".join(excerpt(stripped).split())


@dataclass(frozen=True)
class ConnectionSettings:
    """
    What a hook needs from an Airflow connection, parsed the same way for the sync and async paths.

    Extras are read as plain keys (``{"timeout": 20}``), falling back to the legacy
    ``extra__<conn_type>__<key>`` form. Unknown extras are ignored: they are never sent as headers.
    """

    base_url: str
    api_key: str = field(repr=False)
    connect_timeout: float
    read_timeout: float
    extras: Mapping[str, Any] = field(default_factory=dict)
    #: A CA file (PEM) or directory to verify the vendor's TLS certificate against instead of the
    #: system's (``ca_bundle`` extra), e.g. a corporate proxy's CA or the TLS sandbox's certificate.
    ca_bundle: str | None = None

    @property
    def verify(self) -> str | bool:
        """``requests``' ``verify=``: the ``ca_bundle``, else ``True`` (the default trust, ``REQUESTS_CA_BUNDLE``)."""
        return self.ca_bundle or True

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | bool:
        """
        ``aiohttp``'s ``ssl=``: a context trusting the ``ca_bundle`` (else ``True``, aiohttp's default).

        Looked up once per settings, and shared by every hook whose ``ca_bundle`` is the same
        unchanged file: ``aiohttp`` pools connections per context, so triggers on one connection
        share their TLS connections instead of each holding its own.
        """
        if not self.ca_bundle:
            return True
        stat = os.stat(self.ca_bundle)
        return _client_ssl_context(self.ca_bundle, stat.st_mtime_ns, stat.st_size)

    @cached_property
    def client_timeout(self) -> aiohttp.ClientTimeout:
        """The ``aiohttp`` timeouts of every request on these settings (built once)."""
        import aiohttp

        return aiohttp.ClientTimeout(sock_connect=self.connect_timeout, sock_read=self.read_timeout)

    @classmethod
    def from_connection(
        cls,
        conn: Any,
        extras: Mapping[str, Any],
        *,
        conn_type: str,
        default_base_url: str,
        password_label: str,
        timeout_override: float | tuple[float, float] | None = None,
    ) -> ConnectionSettings:
        def extra(key: str) -> Any:
            value = extras.get(key)
            return value if value not in (None, "") else extras.get(f"extra__{conn_type}__{key}")

        host = cls.base_url_from(conn.host, default_base_url, conn.conn_id)
        api_key = (conn.password or "").strip()
        if not api_key:
            raise ConnectionConfigError(
                f"Connection {conn.conn_id!r} has no {password_label}: put it in the connection's "
                f"password field (shown as {password_label!r} in the UI)."
            )
        connect_timeout = _positive_float(
            extra("connect_timeout"), DEFAULT_CONNECT_TIMEOUT, "connect_timeout", conn_id=conn.conn_id
        )
        read_timeout = _positive_float(extra("timeout"), DEFAULT_READ_TIMEOUT, "timeout", conn_id=conn.conn_id)
        if isinstance(timeout_override, tuple):
            connect_timeout, read_timeout = timeout_override
        elif timeout_override is not None:
            read_timeout = float(timeout_override)
        settings = cls(
            base_url=host.rstrip("/"),
            api_key=api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            extras={k: extra(k) for k in extras if not k.startswith("extra__")}
            | {k.rsplit("__", 1)[-1]: v for k, v in extras.items() if k.startswith(f"extra__{conn_type}__")},
            ca_bundle=_ca_bundle(extra("ca_bundle"), conn_id=conn.conn_id),
        )
        settings.check_choice_extras(conn_type, conn.conn_id)
        return settings

    def check_choice_extras(self, conn_type: str, conn_id: Any = None) -> None:
        """
        Refuse an extra outside the choices its vendor's form declares (``"enum"`` in the registry's
        ``extra_fields``, e.g. Arsel's ``default_channel``), compared case-insensitively; empty is unset.
        """
        from airflow_provider_cancel.vendors import vendors

        for spec in vendors().values():
            if spec.conn_type != conn_type:
                continue
            for name, form_field in spec.extra_fields.items():
                choices = form_field.get("schema", {}).get("enum")
                value = self.extras.get(name)
                if not choices or value in (None, ""):
                    continue
                allowed = {str(c).lower() for c in choices}
                if not isinstance(value, str) or value.strip().lower() not in allowed:
                    raise ConnectionConfigError(
                        f"Connection {conn_id!r}: extra {name!r} must be one of {', '.join(map(str, choices))} "
                        f"(got {value!r:.100})."
                    )

    @staticmethod
    def base_url_from(host: Any, default_base_url: str, conn_id: Any = None) -> str:
        """
        The connection's host as the base URL (no trailing ``/``), or :class:`ConnectionConfigError`.

        Empty means the vendor's ``default_base_url``; a host written without a scheme
        (``api.arsel.sa/v1``, ``localhost:8080``) means ``https://``. Anything else must be an
        ``http://`` or ``https://`` URL that names a host, with no credentials (the key belongs in the
        password field), query string, fragment or blanks (see docs/decisions.md).
        """
        text = host.strip() if isinstance(host, str) else ""
        text = text or default_base_url
        if _HALF_SCHEME.match(text) and not _SCHEME.match(text):  # "https:/host", "http:host"
            raise ConnectionConfigError(
                f"Connection {conn_id!r}: host (Base URL) {text[:200]!r} has a malformed scheme; "
                f"write it as https://host/path, e.g. {default_base_url}."
            )
        if not _SCHEME.match(text):
            text = f"https://{text}"
        problem = None
        try:
            parts = urlsplit(text)
            _ = parts.port  # a port that is not a number (or out of range) raises here
        except ValueError as exc:
            problem = str(exc)
        else:
            if parts.scheme.lower() not in ("http", "https"):
                problem = f"the scheme must be http:// or https://, not {parts.scheme}://"
            elif "@" in parts.netloc:
                where = f"Connection {conn_id!r}: host (Base URL)"
                raise ConnectionConfigError(
                    f"{where} holds credentials (user:password@); remove them and put the key in the password field."
                )
            elif not parts.hostname:
                problem = "it names no host"
            elif parts.query or parts.fragment or text.endswith(("?", "#")):
                problem = "it must not carry a query string or a fragment"
            elif any(c.isspace() or ord(c) < 32 for c in text):
                problem = "it contains blanks or control characters"
        if problem:
            raise ConnectionConfigError(
                f"Connection {conn_id!r}: host (Base URL) {text[:200]!r} is not a usable http(s) URL: {problem}. "
                f"Write it as https://host/path, e.g. {default_base_url}."
            )
        return text.rstrip("/")


#: An explicit scheme at the start of a host (``https://``, ``ftp://``); without one, https:// is assumed.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HALF_SCHEME = re.compile(r"^(?:https?|ftp|file):", re.IGNORECASE)


@lru_cache(maxsize=16)
def _client_ssl_context(ca_bundle: str, mtime_ns: int, size: int) -> ssl.SSLContext:
    """One client context per CA file or directory version (``mtime_ns`` and ``size`` key a changed file anew)."""
    import ssl

    if os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


def _ca_bundle(value: Any, *, conn_id: Any = None) -> str | None:
    """The ``ca_bundle`` extra: empty means the default trust store; else an existing CA file or directory."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConnectionConfigError(
            f"Connection {conn_id!r}: extra 'ca_bundle' must be the path of a CA file (PEM), got {value!r:.100}"
        )
    path = os.path.expanduser(value.strip())
    if not os.path.exists(path):
        raise ConnectionConfigError(
            f"Connection {conn_id!r}: extra 'ca_bundle' names {path!r:.300}, which does not exist on this machine "
            "(the worker or triggerer that runs the request)."
        )
    return path


def _positive_float(value: Any, default: float, name: str, *, conn_id: Any = None) -> float:
    """A timeout extra in seconds (a number, or its text as the UI may store it); ``default`` when empty."""
    if value in (None, ""):
        return default
    where = f"Connection {conn_id!r}: extra {name!r}" if conn_id is not None else f"Connection extra {name!r}"
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ConnectionConfigError(f"{where} must be a number of seconds, got {value!r:.100}") from None
    if not math.isfinite(number) or number <= 0:
        raise ConnectionConfigError(f"{where} must be a positive, finite number of seconds, got {value!r}")
    return number


class _WaitRetryAfterOrExponential(tenacity.wait.wait_base):
    """Wait what the vendor asked for (``Retry-After``, capped), else back off exponentially."""

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        # The floor must not exceed the cap: tenacity lets ``min`` win over ``max``.
        self.exponential = tenacity.wait_exponential(multiplier=0.5, min=min(0.5, max_wait), max=max_wait)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, VendorAPIError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        return self.exponential(retry_state)


class _AsyncSessionPool:
    """
    One ``aiohttp.ClientSession`` per (event loop, connection id), shared by every user on that loop.

    Sessions are reference counted: a trigger holds one for all its polls, concurrent triggers on
    the same connection share it, and it is closed when its last user is done (so no session
    outlives its event loop).
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[Any]]] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def session(self, key: str) -> AsyncIterator[aiohttp.ClientSession]:
        loop = asyncio.get_running_loop()
        entry = self.acquire(key, loop)
        try:
            yield entry[0]
        finally:
            await self.release(key, loop, entry)

    def acquire(self, key: str, loop: asyncio.AbstractEventLoop) -> list[Any]:
        """Take a reference to ``key``'s session on ``loop`` (made if needed); ``[session, users]``."""
        sessions = self._by_loop.setdefault(loop, {})
        entry = sessions.get(key)
        if entry is None or entry[0].closed:
            import aiohttp

            entry = sessions[key] = [aiohttp.ClientSession(), 0]
        entry[1] += 1
        return entry

    async def release(self, key: str, loop: asyncio.AbstractEventLoop, entry: list[Any]) -> None:
        """Drop a reference taken by :meth:`acquire`; the last one closes the session."""
        entry[1] -= 1
        sessions = self._by_loop.get(loop, {})
        if entry[1] == 0 and sessions.get(key) is entry:
            del sessions[key]
            await entry[0].close()

    def open_sessions(self) -> int:
        """How many sessions are open on the running loop (for tests and benchmarks)."""
        return len(self._by_loop.get(asyncio.get_running_loop(), {}))


ASYNC_SESSIONS = _AsyncSessionPool()


class _HeldSession:
    """
    ``hook.async_session()``: holds the connection's pooled session, and lets the hook's requests on
    this loop use it directly while held (no pool lookup per request). A small object rather than a
    generator: a triggerer keeps one per waiting trigger.
    """

    __slots__ = ("_entry", "_held", "_hook", "_loop")

    def __init__(self, hook: CampaignVendorHook) -> None:
        self._hook = hook

    async def __aenter__(self) -> aiohttp.ClientSession:
        hook = self._hook
        self._loop = loop = asyncio.get_running_loop()
        self._entry = entry = ASYNC_SESSIONS.acquire(hook.conn_id, loop)
        session = entry[0]
        held = hook._held_session
        if held is None:
            held = hook._held_session = [loop, session, 1]
        elif held[0] is loop and held[1] is session:
            held[2] += 1
        else:  # another loop (or a replaced session) holds the fast path: this holder goes through the pool
            held = None
        self._held = held
        return session

    async def __aexit__(self, *exc: object) -> None:
        hook, held = self._hook, self._held
        if held is not None:
            held[2] -= 1
            if held[2] == 0 and hook._held_session is held:
                hook._held_session = None
        await ASYNC_SESSIONS.release(hook.conn_id, self._loop, self._entry)


class CampaignVendorHook(BaseHook):
    """
    Base hook for a messaging vendor's REST API.

    Subclasses set the class attributes below and add thin vendor methods on top of
    :meth:`request` / :meth:`arequest`. The connection is looked up lazily, on first use, never in
    the constructor (the scheduler builds operators often and must not touch the network).

    Extras every vendor reads: ``timeout`` and ``connect_timeout`` (seconds), and ``ca_bundle``: the
    path of a CA file (PEM) or directory to verify the vendor's TLS certificate against instead of
    the system's (a corporate proxy's CA, the TLS sandbox's certificate). The sync path passes it to
    ``requests`` as ``verify=``, the async path to ``aiohttp`` as one ``ssl.SSLContext`` per settings;
    without it ``REQUESTS_CA_BUNDLE`` (sync) and ``SSL_CERT_FILE`` (async) apply as usual.

    :param conn_id: Airflow connection id; defaults to the vendor's ``default_conn_name``.
    :param timeout: Read timeout in seconds, or a ``(connect, read)`` tuple; overrides the connection.
    :param retry_limit: Attempts per request, the first included (1 = no retry).
    :param retry_max_wait: Longest single wait between attempts, ``Retry-After`` included, in seconds.
    """

    # Filled from the vendor registry by ``__init_subclass__`` (``class XHook(CampaignVendorHook, vendor="x")``):
    vendor: ClassVar[str]
    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    default_base_url: ClassVar[str]
    password_label: ClassVar[str] = "API key"
    #: A cheap, read-only GET used by :meth:`test_connection` (never a cancel).
    test_connection_path: ClassVar[str]
    test_connection_params: ClassVar[dict[str, Any]] = {}
    #: Error codes that retrying cannot fix even on 429/5xx (for example a used-up monthly quota).
    non_retryable_codes: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, vendor: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if vendor is None:
            return
        from airflow_provider_cancel.vendors import vendor as vendor_spec

        spec = vendor_spec(vendor)
        cls.vendor = spec.name
        cls.conn_type = spec.conn_type
        cls.conn_name_attr = f"{spec.conn_type}_conn_id"
        cls.default_conn_name = spec.default_conn_id
        cls.hook_name = spec.display_name
        cls.default_base_url = spec.default_base_url
        cls.password_label = spec.password_label
        if not getattr(cls, "test_connection_path", None):
            raise TypeError(f"{cls.__name__} must set test_connection_path (a cheap, read-only GET)")
        # Airflow 3.1 reads the form only from these methods, and only when the hook class itself
        # defines them (``in hook_class.__dict__``), so each vendor hook gets its own.
        cls.get_connection_form_widgets = classmethod(CampaignVendorHook.connection_form_widgets.__func__)  # type: ignore[attr-defined,method-assign,assignment]
        cls.get_ui_field_behaviour = classmethod(CampaignVendorHook.ui_field_behaviour.__func__)  # type: ignore[attr-defined,method-assign,assignment]

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT,
        **named_conn_id: str,
    ) -> None:
        super().__init__()
        # Airflow builds hooks as ``Hook(**{conn_name_attr: conn_id})`` (e.g. ``arsel_conn_id=...``).
        named = named_conn_id.pop(self.conn_name_attr, None)
        if named_conn_id:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(named_conn_id)}")
        if retry_limit < 1:
            raise ValueError("retry_limit must be at least 1")
        self.conn_id = conn_id or named or self.default_conn_name
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_max_wait = retry_max_wait
        self._async_settings: ConnectionSettings | None = None
        self._header_cache: dict[str, tuple[ConnectionSettings, dict[str, str]]] = {}
        #: ``[loop, session, holders]`` while :meth:`async_session` is held (see :class:`_HeldSession`).
        self._held_session: list[Any] | None = None

    @property
    def log(self) -> Any:
        """This hook class's logger (shared by its instances: a triggerer holds thousands of hooks)."""
        return shared_log(self, lambda: super(CampaignVendorHook, self).log)

    # ----------------------------------------------------------------- the connection form (Airflow 3.1)
    @classmethod
    def _connection_type(cls) -> dict[str, Any]:
        from airflow_provider_cancel.vendors import vendor as vendor_spec

        return vendor_spec(cls.vendor).connection_type()

    @classmethod
    def connection_form_widgets(cls) -> dict[str, Any]:
        """
        The vendor's extra fields for Airflow 3.1's connection form, from the vendor registry.

        Airflow 3.2+ builds the form from provider info (``conn-fields``) and never calls this; 3.1
        reads only these hook methods. Both come from the same registry entry, so both UIs show the
        same fields, labels and defaults (3.1's form has no number type: seconds are whole numbers there).
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, StringField
        from wtforms.validators import Optional, any_of

        widgets: dict[str, Any] = {}
        for name, field_spec in cls._connection_type()["conn-fields"].items():
            schema = field_spec["schema"]
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            validators: list[Any] = [Optional()]
            if "enum" in schema:
                validators.append(any_of(schema["enum"]))
            field_class = IntegerField if {"number", "integer"} & set(types) else StringField
            widgets[name] = field_class(
                lazy_gettext(field_spec["label"]),
                widget=BS3TextFieldWidget(),
                description=field_spec.get("description", ""),
                default=schema.get("default"),
                validators=validators,
            )
        return widgets

    @classmethod
    def ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholdered standard fields for Airflow 3.1's form (3.2+ reads provider info)."""
        behaviour = cls._connection_type()["ui-field-behaviour"]
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }

    # ----------------------------------------------------------------- connection and settings
    def _settings_from(self, conn: Any, extras: Mapping[str, Any]) -> ConnectionSettings:
        settings = ConnectionSettings.from_connection(
            conn,
            extras,
            conn_type=self.conn_type,
            default_base_url=self.default_base_url,
            password_label=self.password_label,
            timeout_override=self.timeout,
        )
        settings = self.resolve_settings(settings, host_given=isinstance(conn.host, str) and bool(conn.host.strip()))
        self.validate_settings(settings)
        return settings

    # What a vendor hook may override (each is called with the settings of one connection, and an
    # error is a ConnectionConfigError naming ``self.conn_id``, raised before anything is sent).
    def resolve_settings(self, settings: ConnectionSettings, *, host_given: bool) -> ConnectionSettings:
        """
        The settings with what the vendor derives from them, e.g. the base URL a ``region`` extra picks
        when the connection has no host (``host_given`` is ``False``).
        """
        return settings

    def validate_settings(self, settings: ConnectionSettings) -> None:
        """Check vendor-specific connection fields; raise :class:`ConnectionConfigError` with a clear message."""

    def authorization(self, settings: ConnectionSettings) -> str:
        """The ``Authorization`` header: ``Bearer <key>`` unless the vendor's scheme differs. Masked in logs."""
        return f"Bearer {settings.api_key}"

    def vendor_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        """Headers a vendor needs besides auth (for example Periskope's ``x-phone``)."""
        return {}

    def retry_after_from(self, status: int, headers: Mapping[str, str]) -> str | None:
        """
        How long an error answer asks us to wait, as ``Retry-After`` text (seconds or an HTTP date).
        Vendors that say it another way (SendGrid's ``X-RateLimit-Reset``) override this.
        """
        return headers.get("Retry-After")

    def _retry_after(self, status: int, headers: Mapping[str, str]) -> str | None:
        # Only an error answer's wait matters; a success skips the vendor's header reading.
        return self.retry_after_from(status, headers) if status >= 400 else None

    def _secrets_of(self, settings: ConnectionSettings) -> tuple[str, ...]:
        # The key, and the Authorization header whole and without its scheme (Basic auth's base64
        # does not contain the key as text).
        authorization = self.authorization(settings)
        return tuple(dict.fromkeys(filter(None, (settings.api_key, authorization, authorization.partition(" ")[2]))))

    @cached_property
    def settings(self) -> ConnectionSettings:
        conn = self.get_connection(self.conn_id)
        settings = self._settings_from(conn, conn.extra_dejson)
        for secret in self._secrets_of(settings):
            _mask(secret)
        return settings

    async def aget_settings(self) -> ConnectionSettings:
        if self._async_settings is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            conn = await get_async_connection(self.conn_id, hook=self)
            settings = self._settings_from(conn, await get_async_extra_dejson(conn))
            for secret in self._secrets_of(settings):
                await _amask(secret)
            self._async_settings = settings
        return self._async_settings

    def _headers(self, settings: ConnectionSettings, extra: Mapping[str, str] | None, client: str) -> dict[str, str]:
        # Built once per (settings, client) and copied per request: ``vendor_headers`` depends on the
        # settings alone, and a trigger polls with the same settings for its whole run.
        cached = self._header_cache.get(client)
        if cached is None or cached[0] is not settings:
            base = {
                "Authorization": self.authorization(settings),
                "Accept": "application/json",
                "User-Agent": f"airflow-provider-cancel/{__version__} ({client})",
                **self.vendor_headers(settings),
            }
            cached = self._header_cache[client] = (settings, base)
        return {**cached[1], **extra} if extra else dict(cached[1])

    @cached_property
    def session(self) -> requests.Session:
        """A pooled session reused by every request of this hook instance."""
        import requests

        return requests.Session()

    def get_conn(self) -> requests.Session:
        return self.session

    def pace_requests(self, wait: Callable[[], None]) -> None:
        """
        Call ``wait`` before every HTTP attempt of this hook's sync session, retries included.

        The kill switch's ``cancel`` task shares one hook per connection between its threads and paces it
        to the vendor's rate limit here, at the HTTP layer, because one cancel or status read may take
        more than one request (a read-back, a history, a retry).
        """
        from requests.adapters import HTTPAdapter

        class PacedAdapter(HTTPAdapter):
            def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                wait()
                return super().send(request, *args, **kwargs)

        adapter = PacedAdapter(pool_connections=1, pool_maxsize=32)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    # ----------------------------------------------------------------- errors and retries
    def parse_error(self, body: Any, text: str) -> tuple[str | None, str]:
        """Return ``(code, message)`` from a vendor error body; vendors with odd shapes override this."""
        if isinstance(body, dict):
            code = next(
                (str(body[k]) for k in ("name", "error_code", "error", "status", "code") if body.get(k)),
                None,
            )
            message = next((str(body[k]) for k in ("message", "detail", "error") if body.get(k)), None)
            if message:
                return code, message
        return None, summarise_body(text)

    def _http_error(self, method: str, path: str, status: int, text: str, retry_after: str | None) -> VendorAPIError:
        try:
            body: Any = jsonlib.loads(text) if text else None
        except ValueError:
            body = None
        code, message = self.parse_error(body, text)
        return VendorAPIError(
            self.vendor,
            status,
            message,
            code=code,
            retry_after=parse_retry_after(retry_after),
            method=method,
            path=path,
            body=body,
        )

    def is_retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """
        Decide whether another attempt is safe and useful.

        429 is always retried (the vendor refused the request before doing it). 5xx, read timeouts,
        dropped or reset connections and empty 2xx answers are retried only for idempotent requests,
        because the vendor may already have acted on a POST. Connection failures are retried always:
        nothing reached it.
        """
        if not isinstance(exc, VendorAPIError):
            return False
        if exc.code in self.non_retryable_codes:
            return False
        if exc.status_code is None:
            return idempotent or not exc.reached_server
        return exc.status_code == 429 or (exc.status_code >= 500 and idempotent)

    def _retrying_kwargs(self, method: str, path: str, idempotent: bool, attempts: int | None) -> dict[str, Any]:
        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0
            self.log.warning("%s; attempt %d, retrying in %.1fs", exc, state.attempt_number, wait)

        return {
            "stop": tenacity.stop_after_attempt(attempts or self.retry_limit),
            "wait": _WaitRetryAfterOrExponential(self.retry_max_wait),
            "retry": tenacity.retry_if_exception(lambda e: self.is_retryable(e, idempotent)),
            "before_sleep": log_retry,
            "reraise": True,
        }

    @staticmethod
    def _is_idempotent(method: str, headers: Mapping[str, str] | None, idempotent: bool | None) -> bool:
        if idempotent is not None:
            return idempotent
        has_key = any(k.lower() == "idempotency-key" for k in (headers or {}))
        return method in IDEMPOTENT_METHODS or has_key

    # ----------------------------------------------------------------- the sync choke point
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        attempts: int | None = None,
        record: list[Attempt] | None = None,
    ) -> Any:
        """
        Send one API request (with retries) and return the decoded JSON body (``None`` for a 204 or 205).

        :param idempotent: Whether repeating the request is harmless; defaults to ``True`` for
            GET/PUT/DELETE and for requests that carry an ``Idempotency-Key`` header.
        :param attempts: Override ``retry_limit`` for this call.
        :param record: A list that gets every failed attempt of this call, for a caller that must know
            whether an earlier attempt may have acted although the last one succeeded (a lost answer).
        :raises VendorAPIError: on an HTTP error status or when the vendor cannot be reached; its
            ``attempts`` lists every attempt of this call, so a caller can tell whether an earlier
            one may have acted although the last answered an error.
        """
        method = method.upper()
        safe = self._is_idempotent(method, headers, idempotent)
        seen: list[Attempt] = [] if record is None else record
        # The first attempt runs outside tenacity (the happy path pays nothing for retries); a failure
        # that may be retried is replayed as tenacity's first attempt, so waits, logs and the attempt
        # count are exactly those of a plain tenacity loop.
        try:
            return self._send_once(method, path, json=json, params=params, headers=headers)
        except VendorAPIError as exc:
            _record(seen, exc)
            if not self._retry_after_first(exc, safe, attempts):
                raise
            first: list[VendorAPIError] = [exc]
        for attempt in tenacity.Retrying(**self._retrying_kwargs(method, path, safe, attempts)):
            with attempt:
                if first:
                    raise first.pop()
                with _recorded(seen):
                    return self._send_once(method, path, json=json, params=params, headers=headers)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    def _retry_after_first(self, exc: VendorAPIError, idempotent: bool, attempts: int | None) -> bool:
        """Whether a failed first attempt goes on to the retry loop (what tenacity's ``retry``/``stop`` would say)."""
        return (attempts or self.retry_limit) > 1 and self.is_retryable(exc, idempotent)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> Any:
        import requests

        settings = self.settings
        url = f"{settings.base_url}/{path.lstrip('/')}"
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                params=params,
                headers=self._headers(settings, headers, f"requests/{requests.__version__}"),
                timeout=(settings.connect_timeout, settings.read_timeout),
                verify=settings.verify,
            )
        except requests.RequestException as exc:
            from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

            never_sent = isinstance(exc, requests.ConnectTimeout) or _caused_by(
                exc, (NewConnectionError, ConnectTimeoutError)
            )
            raise self._transport_error(exc, settings, method, path, never_sent) from None
        return self._decode(
            method,
            path,
            response.status_code,
            response.text,
            self._retry_after(response.status_code, response.headers),
            started,
        )

    def _transport_error(
        self, exc: BaseException, settings: ConnectionSettings, method: str, path: str, never_sent: bool
    ) -> VendorAPIError:
        return VendorAPIError(
            self.vendor,
            None,
            f"{type(exc).__name__}: could not complete the request to {settings.base_url}",
            method=method,
            path=path,
            reached_server=not never_sent,
        )

    def _decode(self, method: str, path: str, status: int, text: str, retry_after: str | None, started: float) -> Any:
        """Log the exchange (never headers or bodies), raise on an error status, else decode the JSON body."""
        log = self.log.debug if method == "GET" else self.log.info
        log("%s %s %s -> HTTP %s in %.0f ms", self.vendor, method, path, status, (time.monotonic() - started) * 1000)
        if status >= 400:
            raise self._http_error(method, path, status, text, retry_after)
        if not text.strip():
            if status in NO_CONTENT_STATUSES or method == "HEAD":
                return None
            # No vendor answers a cancel or a read with an empty 2xx: a proxy lost the answer. Read as
            # "done" or "nothing matched" it would confirm what nobody saw, so it counts as no answer:
            # repeated only when that is safe, and "may have acted" for the callers that judge repeats.
            raise VendorAPIError(
                self.vendor,
                None,
                f"the answer was HTTP {status} with an empty body where JSON was expected; treated as a lost answer",
                method=method,
                path=path,
                reached_server=True,
            )
        try:
            return jsonlib.loads(text)
        except ValueError:
            raise VendorAPIError(
                self.vendor, status, f"expected JSON, got {summarise_body(text)}", method=method, path=path
            ) from None

    # ----------------------------------------------------------------- the async choke point
    def async_session(self) -> AbstractAsyncContextManager[aiohttp.ClientSession]:
        """Hold this connection's shared ``aiohttp`` session open, e.g. for all polls of a trigger."""
        return _HeldSession(self)

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        attempts: int | None = None,
        record: list[Attempt] | None = None,
    ) -> Any:
        """Async twin of :meth:`request` on the shared ``aiohttp`` session; same retries and errors."""
        method = method.upper()
        safe = self._is_idempotent(method, headers, idempotent)
        seen: list[Attempt] = [] if record is None else record
        # As in request(): the first attempt skips tenacity's async machinery; a retryable failure
        # is replayed as tenacity's first attempt.
        try:
            return await self._asend_once(method, path, json=json, params=params, headers=headers)
        except VendorAPIError as exc:
            _record(seen, exc)
            if not self._retry_after_first(exc, safe, attempts):
                raise
            first: list[VendorAPIError] = [exc]
        async for attempt in tenacity.AsyncRetrying(**self._retrying_kwargs(method, path, safe, attempts)):
            with attempt:
                if first:
                    raise first.pop()
                with _recorded(seen):
                    return await self._asend_once(method, path, json=json, params=params, headers=headers)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _asend_once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> Any:
        import aiohttp

        settings = self._async_settings or await self.aget_settings()
        loop = asyncio.get_running_loop()
        held, entry = self._held_session, None
        if held is not None and held[0] is loop and not held[1].closed:
            session = held[1]  # a trigger holds the session for all its polls (the pool keeps it open)
        else:
            entry = ASYNC_SESSIONS.acquire(self.conn_id, loop)
            session = entry[0]
        url = f"{settings.base_url}/{path.lstrip('/')}"
        started = time.monotonic()
        try:
            async with session.request(
                method,
                url,
                json=json,
                params=dict(params) if params else None,
                headers=self._headers(settings, headers, f"aiohttp/{aiohttp.__version__}"),
                timeout=settings.client_timeout,
                ssl=settings.ssl_context,
            ) as response:
                text = await response.text()
                status, retry_after = response.status, self._retry_after(response.status, response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            never_sent = isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
            raise self._transport_error(exc, settings, method, path, never_sent) from None
        finally:
            if entry is not None:
                await ASYNC_SESSIONS.release(self.conn_id, loop, entry)
        return self._decode(method, path, status, text, retry_after, started)

    # ----------------------------------------------------------------- status (sensor and trigger)
    # Vendor hooks narrow these to their own target fields; the base accepts any (mypy allows that).
    def status_request(self, *args: Any, **target: Any) -> tuple[str, dict[str, Any] | None]:
        """Return ``(path, params)`` of the read-only GET that shows ``target``'s status."""
        raise NotImplementedError

    def parse_status(self, *args: Any, **target: Any) -> CampaignStatus:
        """
        Turn the status GET's JSON body into a :class:`CampaignStatus`.

        ``error`` is set (and ``body`` is ``None``) when the GET failed with a 4xx that the vendor
        may use as a status (for example a 404 for a deleted broadcast); re-raise it otherwise.
        """
        raise NotImplementedError

    @staticmethod
    def _is_status_answer(exc: VendorAPIError) -> bool:
        # A 4xx (not 429) on the status GET is an answer about the target (e.g. 404 after a delete);
        # transport errors, 429 and 5xx are not, and go to the caller's retry/backoff logic.
        return exc.status_code is not None and exc.status_code < 500 and exc.status_code != 429

    def get_status(self, *args: Any, **target: Any) -> CampaignStatus:
        """Read ``target``'s current status (sync)."""
        path, params = self.status_request(*args, **target)
        try:
            body = self.request("GET", path, params=params)
        except VendorAPIError as exc:
            if not self._is_status_answer(exc):
                raise
            return self.parse_status(None, exc, *args, **target)
        return self.parse_status(body, None, *args, **target)

    async def aget_status(self, *args: Any, **target: Any) -> CampaignStatus:
        """Read ``target``'s current status (async, for triggers)."""
        path, params = self.status_request(*args, **target)
        try:
            body = await self.arequest("GET", path, params=params)
        except VendorAPIError as exc:
            if not self._is_status_answer(exc):
                raise
            return self.parse_status(None, exc, *args, **target)
        return self.parse_status(body, None, *args, **target)

    # ----------------------------------------------------------------- the UI's Test button
    def test_connection(self) -> tuple[bool, str]:
        """Check the connection with one read-only GET; say whether a failure is the key, the host or the vendor."""
        try:
            base_url = self.settings.base_url
            self.request("GET", self.test_connection_path, params=self.test_connection_params or None, attempts=1)
        except VendorAPIError as exc:
            return False, self._explain_test_failure(exc)
        except Exception as exc:  # the Test button must answer, whatever went wrong
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Connected to {self.hook_name} at {base_url}; the {self.password_label} was accepted."

    def _explain_test_failure(self, exc: VendorAPIError) -> str:
        base_url = self.settings.base_url
        status = exc.status_code
        if status is None:
            return f"Could not reach {base_url} ({exc.message}). Check the Base URL and the network."
        if status in (401, 403):
            return f"{self.hook_name} rejected the {self.password_label} (HTTP {status}: {exc.message}). Check the {self.password_label}."
        if status == 404:
            return (
                f"{base_url} answered HTTP 404 for {exc.path}: the Base URL looks wrong "
                f"(the {self.hook_name} API lives at {self.default_base_url})."
            )
        if status == 429:
            return f"{self.hook_name} is rate limiting this key (HTTP 429); the key itself was accepted. Try again shortly."
        if status >= 500:
            return f"{self.hook_name} is failing (HTTP {status}: {exc.message}); this looks like a vendor outage, not a problem with the connection."
        return f"Unexpected answer from {base_url}: {exc}"


def _record(seen: list[Attempt], exc: VendorAPIError) -> None:
    """Record a failed attempt on the error it raised (with the attempts before it), keeping hooks stateless."""
    seen.append(Attempt(exc.status_code, exc.reached_server))
    exc.attempts = tuple(seen)


@contextmanager
def _recorded(seen: list[Attempt]) -> Iterator[None]:
    """:func:`_record` around a block that may raise."""
    try:
        yield
    except VendorAPIError as exc:
        _record(seen, exc)
        raise


def _caused_by(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """Whether ``types`` appears in the exception's cause chain or urllib3 ``reason``."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, types):
            return True
        reason = getattr(cur, "reason", None)  # urllib3's errors; ssl's ``reason`` is a string
        stack.extend([cur.__cause__, cur.__context__, reason if isinstance(reason, BaseException) else None])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return False
