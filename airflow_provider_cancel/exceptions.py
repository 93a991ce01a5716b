"""Domain errors raised by hooks, target models and vendor logic.

Airflow-free on purpose: hooks say *what happened* at the vendor; operators decide what it means
for the task (``operators/policy.py`` turns the errors a retry cannot fix into a failure without
retries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Vendor error bodies can echo user data; keep only a short excerpt in errors and logs.
MAX_BODY_EXCERPT = 500


def excerpt(text: str | None, limit: int = MAX_BODY_EXCERPT) -> str:
    """Return ``text`` cut to ``limit`` characters, marking the cut."""
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


class CancelProviderError(Exception):
    """Base of every error this provider raises on purpose."""


@dataclass(frozen=True)
class Attempt:
    """
    One HTTP attempt of a request that ended in an error.

    :param status_code: HTTP status, or ``None`` when no response arrived.
    :param reached_server: ``False`` when the request surely never reached the vendor.
    """

    status_code: int | None
    reached_server: bool

    @property
    def may_have_acted(self) -> bool:
        """No answer seen although the request went out (read timeout, dropped connection)."""
        return self.status_code is None and self.reached_server


class VendorAPIError(CancelProviderError):
    """
    A vendor answered with an HTTP error, or could not be reached.

    Keeps what on-call people and retry logic need, and never the request headers (they hold the key).

    :param vendor: Short vendor name, for example ``arsel``.
    :param status_code: HTTP status, or ``None`` when no response arrived (connection error, timeout).
    :param message: The vendor's human-readable message (truncated).
    :param code: The vendor's machine-readable error code or name, for example ``bad_request``.
    :param retry_after: Seconds the vendor asked us to wait (``Retry-After``), if any.
    :param method: HTTP method of the failed request.
    :param path: Path of the failed request, relative to the connection's base URL.
    :param body: The parsed JSON error body, if any.
    :param reached_server: ``False`` when the request surely never reached the vendor (the
        connection could not be opened), so even a non-idempotent request is safe to repeat.
    :param attempts: Every attempt of the request that raised this error, this one last
        (set by the hook's ``request``; a lone error has itself only).
    """

    def __init__(
        self,
        vendor: str,
        status_code: int | None,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
        body: object = None,
        reached_server: bool = True,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        self.vendor = vendor
        self.status_code = status_code
        self.message = excerpt(message)
        self.code = code
        self.retry_after = retry_after
        self.method = method
        self.path = path
        self.body = body
        self.reached_server = reached_server
        self.attempts: tuple[Attempt, ...] = tuple(attempts) or (Attempt(status_code, reached_server),)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else "request"
        status = f"HTTP {self.status_code}" if self.status_code is not None else "no response"
        code = f" [{self.code}]" if self.code else ""
        return f"{self.vendor} {where} failed: {status}{code}: {self.message}"

    @property
    def is_permanent_client_error(self) -> bool:
        """A 4xx other than 408 and 429: repeating the same request cannot change the answer."""
        return self.status_code is not None and 400 <= self.status_code < 500 and self.status_code not in (408, 429)

    @property
    def is_transient(self) -> bool:
        """No answer, 429 or 5xx: asking again later may succeed."""
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable (Airflow and multiprocessing may pickle exceptions), attempts included.
        return (_rebuild_vendor_api_error, (self.vendor, self.status_code, self.message, self._fields()))

    def _fields(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "retry_after": self.retry_after,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "reached_server": self.reached_server,
            "attempts": self.attempts,
        }


def _rebuild_vendor_api_error(
    vendor: str, status_code: int | None, message: str, fields: dict[str, Any]
) -> VendorAPIError:
    return VendorAPIError(vendor, status_code, message, **fields)


class CampaignFinishedError(CancelProviderError):
    """The campaign reached a terminal state other than cancelled (for example it was already sent)."""


class AmbiguousWriteError(CancelProviderError):
    """
    A destructive request may or may not have taken effect, and repeating it could do more harm
    (for example a purge-all that got no answer). Never repeated by itself: a person must look.
    """


class UnexpectedAnswerError(CancelProviderError):
    """The vendor answered successfully but with something we cannot read as done."""


class ConnectionConfigError(CancelProviderError, ValueError):
    """The Airflow connection is missing something or holds a value the vendor cannot take."""


class InvalidTarget(CancelProviderError, ValueError):
    """
    A cancel or status target is missing what it needs or holds a bad value; nothing was sent.

    :param problems: One message, or ``(field, message)`` pairs naming every bad field.
    :param field: The field of a single message.
    """

    def __init__(self, problems: str | Sequence[tuple[str, str]], *, field: str = "") -> None:
        self.problems: list[tuple[str, str]] = [(field, problems)] if isinstance(problems, str) else list(problems)
        super().__init__(str(self))

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.problems]

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0][1]
        listed = "; ".join(f"{name}: {message}" if name else message for name, message in self.problems)
        return f"{len(self.problems)} problems, nothing was sent: {listed}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (InvalidTarget, (self.problems,))
