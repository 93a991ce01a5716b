"""Task policy: which domain errors fail a task at once, without retries, and when a retry runs.

Hooks and target models raise domain errors (``exceptions.py``) and know nothing of tasks. This is
the one place that decides what those errors mean for an Airflow task: an answer that repeating the
task cannot change fails it now (``AirflowFailException``); everything else stays retryable. On
Airflow 3.3+, :class:`CancelRetryPolicy` (every operator's and sensor's default ``retry_policy``)
adds when: a retry after a 429 or 5xx waits for the vendor's ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

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


# ----------------------------------------------------------------------------- task retry policy
try:  # Airflow 3.3+ (AIP-105): task-level retry policies; BaseOperator takes `retry_policy`
    from airflow.sdk import RetryDecision, RetryPolicy
except ImportError:  # Airflow 3.1/3.2: BaseOperator refuses `retry_policy` (TypeError)
    HAS_RETRY_POLICY = False
else:
    HAS_RETRY_POLICY = True


class _DefaultRetryPolicy:
    """The default of an operator's ``retry_policy`` argument: "use :class:`CancelRetryPolicy` where Airflow can"."""

    def __repr__(self) -> str:
        return "<the provider's default retry policy>"

    def __copy__(self) -> _DefaultRetryPolicy:
        return self

    def __deepcopy__(self, memo: Any) -> _DefaultRetryPolicy:
        return self


#: ``retry_policy``'s default in every operator and sensor. ``None`` means no retry policy at all.
DEFAULT_RETRY_POLICY: Any = _DefaultRetryPolicy()


def retry_policy_kwargs(retry_policy: Any) -> dict[str, Any]:
    """
    The ``retry_policy`` keyword to hand ``BaseOperator``: the user's (``None`` included) if given,
    else a :class:`CancelRetryPolicy` where the running Airflow has retry policies (3.3+), else nothing.

    ``DEFAULT_RETRY_POLICY`` is the operators' signature default, so a ``retry_policy`` in
    ``default_args`` or in ``partial()`` still reaches them and wins; mapped tasks get the default when
    they are unmapped. On Airflow < 3.3 a real policy is passed on, and Airflow refuses it.
    """
    if isinstance(retry_policy, _DefaultRetryPolicy):
        return {"retry_policy": CancelRetryPolicy()} if HAS_RETRY_POLICY else {}
    if retry_policy is None and not HAS_RETRY_POLICY:
        return {}
    return {"retry_policy": retry_policy}


def _non_retryable_codes(context: Any) -> frozenset[str]:
    """The vendor error codes no retry can fix, from the failing task's hook class (none when unknown)."""
    task = context.get("task") if context else None
    try:
        hook_class = getattr(task, "vendor_hook_class", None) or getattr(task, "hook_class", None)
        codes: Any = getattr(hook_class, "non_retryable_codes", frozenset())
    except Exception:  # e.g. a generic sensor naming an unknown vendor
        return frozenset()
    return codes if isinstance(codes, frozenset) else frozenset()


if HAS_RETRY_POLICY:

    class CancelRetryPolicy(RetryPolicy):
        """
        The default ``retry_policy`` of this provider's operators and sensors (Airflow 3.3+).

        * **Fail now**: what :func:`is_permanent` calls permanent (bad input, a finished campaign, an
          ambiguous write, a connection error, 4xx other than 408 and 429, vendor codes such as
          Arsel's ``monthly_quota_exceeded``). The operators already fail these with
          ``AirflowFailException``, which Airflow never hands to a retry policy; this covers the same
          errors raised anywhere else, for example in a ``@task`` that calls a hook.
        * **Retry after ``Retry-After``**: a ``VendorAPIError`` for a 429 or 5xx that carries the
          vendor's ``Retry-After`` (the last answer's, after the hook's own attempts) is retried after
          that long, capped by the task's ``max_retry_delay`` when set; without one, or when no
          response arrived, after the task's own ``retry_delay``.
        * Everything else: Airflow's standard retry logic.

        Retries never exceed the task's ``retries``. Stateless, so one instance can serve any task;
        the vendor codes are read from the failing task's hook class.
        """

        def evaluate(
            self,
            exception: BaseException,
            try_number: int,
            max_tries: int,
            context: Any = None,
        ) -> RetryDecision:
            error = exception.error if isinstance(exception, PermanentFailure) else exception
            if is_permanent(error, _non_retryable_codes(context)):
                return RetryDecision.fail(reason=f"{_describe(error)}: not retried, repeating cannot change it")
            if isinstance(error, VendorAPIError) and error.is_transient:
                if error.retry_after is None:
                    return RetryDecision.retry(reason=f"{_describe(error)}: retrying after the task's retry_delay")
                delay = _capped(timedelta(seconds=max(0.0, error.retry_after)), context)
                return RetryDecision.retry(
                    delay=delay,
                    reason=f"{_describe(error)}: retrying after {delay.total_seconds():g}s (the vendor's Retry-After)",
                )
            return RetryDecision.default()

        def __repr__(self) -> str:
            return "CancelRetryPolicy()"


def _describe(error: BaseException) -> str:
    """A short name for a decision's reason (stored on the task instance): no message, so no vendor text."""
    if isinstance(error, VendorAPIError):
        status = f"HTTP {error.status_code}" if error.status_code is not None else "no response"
        return f"{error.vendor} {status}" + (f" [{error.code}]" if error.code else "")
    return type(error).__name__


def _capped(delay: timedelta, context: Any) -> timedelta:
    """``delay``, at most the task's ``max_retry_delay`` when one is set."""
    task = context.get("task") if context else None
    ceiling = getattr(task, "max_retry_delay", None)
    return min(delay, ceiling) if isinstance(ceiling, timedelta) else delay
