"""Task policy: which domain errors fail a task at once, without retries.

Hooks and target models raise domain errors (``exceptions.py``) and know nothing of tasks. This is
the one place that decides what those errors mean for an Airflow task: an answer that repeating the
task cannot change fails it now (``AirflowFailException``); everything else stays retryable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)

#: Errors no retry can fix: bad input, a finished campaign, a write that a person must check first.
PERMANENT_ERRORS = (InvalidTarget, CampaignFinishedError, AmbiguousWriteError, ConnectionConfigError)


def is_permanent(exc: BaseException, non_retryable_codes: frozenset[str] = frozenset()) -> bool:
    """Whether repeating the task cannot change ``exc`` (400, 401, 403, 404, 409, 422..., vendor codes)."""
    if isinstance(exc, PERMANENT_ERRORS):
        return True
    if isinstance(exc, VendorAPIError):
        return exc.code in non_retryable_codes or exc.is_permanent_client_error
    return False


class PermanentFailure(AirflowFailException):
    """
    Fails the task without retries because of ``error``, a domain error no retry can fix.

    Raised ``from None`` so the task log shows the message once; the domain error stays on ``error``.

    :param error: The domain error (``InvalidTarget``, ``CampaignFinishedError``, a 4xx ``VendorAPIError``...).
    """

    def __init__(self, error: BaseException) -> None:
        self.error = error
        suffix = (
            ""
            if isinstance(error, PERMANENT_ERRORS)
            else " (not retried: repeating the request cannot change this answer)"
        )
        super().__init__(f"{type(error).__name__}: {error}{suffix}")


def fail_now(exc: BaseException) -> PermanentFailure:
    """The ``AirflowFailException`` that ends the task for ``exc``, naming the error type for on-call."""
    return PermanentFailure(exc)


@contextmanager
def task_failure_policy(non_retryable_codes: frozenset[str] = frozenset()) -> Iterator[None]:
    """
    Turn the domain errors a task retry cannot fix into ``AirflowFailException``.

    429s, 5xx, network errors and anything unexpected stay retryable (Airflow's ``retries``).
    """
    try:
        yield
    except AirflowFailException:
        raise
    except Exception as exc:
        if is_permanent(exc, non_retryable_codes):
            raise fail_now(exc) from None
        raise
