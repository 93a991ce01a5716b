"""Typed errors raised by the vendor hooks."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException

# Vendor error bodies can echo user data; keep only a short excerpt in errors and logs.
MAX_BODY_EXCERPT = 500


def excerpt(text: str | None, limit: int = MAX_BODY_EXCERPT) -> str:
    """Return ``text`` cut to ``limit`` characters, marking the cut."""
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


class VendorAPIError(AirflowException):
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
    ) -> None:
        self.vendor = vendor
        # Shadows AirflowException.status_code (an HTTP status for Airflow's own API errors) on purpose:
        # here it is the vendor's HTTP status, or None when no response arrived.
        self.status_code = status_code  # type: ignore[assignment]
        self.message = excerpt(message)
        self.code = code
        self.retry_after = retry_after
        self.method = method
        self.path = path
        self.body = body
        self.reached_server = reached_server
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else "request"
        status = f"HTTP {self.status_code}" if self.status_code is not None else "no response"
        code = f" [{self.code}]" if self.code else ""
        return f"{self.vendor} {where} failed: {status}{code}: {self.message}"

    def __reduce__(self):
        # Keep the error picklable (Airflow and multiprocessing may pickle exceptions).
        return (
            _rebuild_vendor_api_error,
            (self.vendor, self.status_code, self.message, self.code, self.retry_after, self.method, self.path),
        )


def _rebuild_vendor_api_error(vendor, status_code, message, code, retry_after, method, path) -> VendorAPIError:
    return VendorAPIError(
        vendor, status_code, message, code=code, retry_after=retry_after, method=method, path=path
    )


class CampaignFinishedError(AirflowFailException):
    """
    The campaign reached a terminal state other than cancelled (for example it was already sent).

    Raised as a fail-now error: retrying the task cannot change a campaign that has finished.
    """
