"""Cancel many targets of one kind in one task: concurrently, within the vendor's rate limit, then confirm.

Why one task and not one mapped task instance per target: every task instance costs a process start
(seconds of CPU on a small worker), so 200 targets take minutes before the last cancel goes out. Here
the cost is one task per target kind, and the cancels go out as fast as the vendor's rate limit allows:
the time to stop is close to the vendor's floor (its targets / its rate).

Each target is still cancelled by the vendor's own cancel operator (its validation, idempotency key,
"already cancelled" reading and memory across tries), with its own slice of the task state store, and
each target's result or error is kept for the kill switch's report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.operators.memory import CANCEL_RESULT_XCOM_KEY
from airflow_provider_cancel.operators.policy import is_permanent
from airflow_provider_cancel.status import Reach, reach, unreachable_message
from airflow_provider_cancel.targets import require_count, require_seconds
from airflow_provider_cancel.vendors import vendor_of_kind

#: Pace this much under a vendor's limit: requests reach it with some jitter, and a sliding one-second
#: window counts arrivals, so requests spaced exactly 1/rate apart still see the odd 429.
RATE_MARGIN = 0.9


class RateLimiter:
    """At most ``per_second`` request starts per second (less :data:`RATE_MARGIN`), shared by every thread.

    :param per_second: The vendor's rate; ``None`` or ``0`` means no limit (its 429s still slow us down).
    """

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / (per_second * RATE_MARGIN) if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class _TargetStateStore:
    """One target's slice of the task state store: the operators' fixed keys must not collide."""

    def __init__(self, store: Any, prefix: str) -> None:
        self._store, self._prefix = store, prefix

    def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        return self._store.get(self._prefix + key, *args, **kwargs)

    def set(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        return self._store.set(self._prefix + key, value, *args, **kwargs)

    def delete(self, key: str, *args: Any, **kwargs: Any) -> Any:
        return self._store.delete(self._prefix + key, *args, **kwargs)


class _BatchTaskInstance:
    """The batch's task instance as one target's cancel sees it: its result goes into the batch's return
    value, not into a ``cancel_result`` XCom that every target would overwrite."""

    def __init__(self, ti: Any) -> None:
        self._ti = ti

    def xcom_push(self, key: str, value: Any, *args: Any, **kwargs: Any) -> None:
        if key != CANCEL_RESULT_XCOM_KEY:
            self._ti.xcom_push(key, value, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ti, name)


class BatchCancelOperator(BaseOperator):
    """
    Cancel many targets, at every vendor at once, in one task: per target kind, the vendor's own cancel
    operator, ``max_concurrency`` requests at a time and at most the kind's rate limit; then poll each
    target until it is confirmed.

    Returns ``{"results": {kind: [{"result": dict | None, "error": str | None}, ...]}}`` in the order of
    each kind's targets. A target the vendor refused for good (a wrong id, a campaign already sent) gets
    its error and does not fail the task: the kill switch's report fails the run after every other target
    was handled. A target that failed in a way a retry can fix (no answer, 429 or 5xx after the hook's own
    retries) fails the task once every target was tried, so Airflow's retries run the batch again; every
    cancel is safe to repeat (the product's rule), so targets already cancelled come back
    ``already_cancelled`` or are replayed by the vendor.

    :param targets: ``{kind: [operator arguments, ...]}`` (``Plan.cancel_kwargs(kind)`` per kind). Templated.
    :param rate_limits: Requests per second per target kind (cancels and status reads); kinds left out use
        their vendor's documented limit (``VendorSpec.rate_limit_per_second``), or none.
    :param max_concurrency: Requests in flight at once per target kind.
    :param poll_interval: Seconds between status rounds while confirming.
    :param wait_timeout: Seconds the confirmation may take before the unconfirmed targets fail.
    :param retry_limit: HTTP attempts per request (the hook's retries, honouring ``Retry-After``).
    """

    template_fields: Sequence[str] = ("targets",)
    ui_color = "#f9d6d5"

    def __init__(
        self,
        *,
        targets: Any,
        rate_limits: Mapping[str, float] | None = None,
        max_concurrency: int = 8,
        poll_interval: float = 10.0,
        wait_timeout: float = 3600.0,
        retry_limit: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = targets
        self.rate_limits = {
            kind: require_seconds(f"rate_limits[{kind!r}]", rate) for kind, rate in (rate_limits or {}).items()
        }
        self.max_concurrency = require_count("max_concurrency", max_concurrency, minimum=1)
        self.poll_interval = require_seconds("poll_interval", poll_interval)
        self.wait_timeout = require_seconds("wait_timeout", wait_timeout)
        self.retry_limit = require_count("retry_limit", retry_limit, minimum=1)

    def rate_limit(self, kind: str) -> float | None:
        if kind in self.rate_limits:
            return self.rate_limits[kind]
        return vendor_of_kind(kind).rate_limit_per_second

    def _operators(self, kind: str, targets: Sequence[Mapping[str, Any]]) -> list[BaseCancelOperator]:
        from airflow_provider_cancel.operators.kill_switch import operator_for_kind

        operator_class = operator_for_kind(kind)
        return [
            operator_class(
                task_id=f"{self.task_id}_{kind}_{index}", retry_limit=self.retry_limit, retries=self.retries, **kwargs
            )
            for index, kwargs in enumerate(targets)
        ]

    def _share_paced_hooks(self, kind: str, operators: Sequence[BaseCancelOperator]) -> None:
        """One hook (one pooled session) per connection, shared by the threads, paced to the kind's rate."""
        limiter = RateLimiter(self.rate_limit(kind))
        hooks: dict[str, Any] = {}
        for operator in operators:
            conn_id = operator.resolved_conn_id
            if conn_id not in hooks:
                hooks[conn_id] = operator.hook
                if limiter.interval:
                    hooks[conn_id].pace_requests(limiter.wait)
            operator.__dict__["hook"] = hooks[conn_id]

    def _target_context(self, context: Mapping[str, Any], kind: str, index: int) -> dict[str, Any]:
        target_context = dict(context)
        target_context["ti"] = _BatchTaskInstance(context["ti"])
        store = context.get("task_state_store")
        if store is not None:
            target_context["task_state_store"] = _TargetStateStore(store, f"{kind}[{index}]:")
        return target_context

    def execute(self, context: Any) -> dict[str, Any]:
        by_kind = {kind: list(targets) for kind, targets in (self.targets or {}).items() if targets}
        operators = {kind: self._operators(kind, targets) for kind, targets in by_kind.items()}
        for kind, kind_operators in operators.items():
            for operator in kind_operators:
                operator.validate()  # every target of every kind, before anything is sent
            self._share_paced_hooks(kind, kind_operators)
        results: dict[str, list[dict[str, Any]]] = {}
        retryable: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, len(by_kind)), thread_name_prefix="kind") as kinds:
            runs = {kind: kinds.submit(self._run_kind, context, kind, operators[kind]) for kind in by_kind}
            for kind, run in runs.items():
                results[kind], failed = run.result()
                retryable += [f"{kind}[{index}]" for index in sorted(failed)]
        outcome = {"results": results}
        if retryable:
            # Keep what this try did for the report, then let Airflow's retries run the batch again.
            context["ti"].xcom_push(key="return_value", value=outcome)
            raise AirflowException(
                f"{len(retryable)} target(s) failed in a way a retry can fix ({', '.join(retryable[:10])}); "
                "every other target was handled (see the log)."
            )
        return outcome

    def _run_kind(
        self, context: Any, kind: str, operators: Sequence[BaseCancelOperator]
    ) -> tuple[list[dict[str, Any]], set[int]]:
        results: list[dict[str, Any]] = [{"result": None, "error": None} for _ in operators]
        retryable: set[int] = set()
        waits: dict[int, dict[str, Any]] = {}
        started = time.monotonic()

        def cancel(index: int) -> None:
            operator = operators[index]
            try:
                result = operator.cancel(self._target_context(context, kind, index))
            except Exception as exc:
                self._failed(results, retryable, operator, index, exc)
                return
            results[index]["result"] = result.to_dict()
            status_target = operator.status_target(result)
            if status_target is not None:
                waits[index] = status_target
            self.log.info("%s: %s", operator.target().describe(), result.outcome.value)

        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix=kind) as pool:
            list(pool.map(cancel, range(len(operators))))
            self.log.info(
                "%s: %d cancel(s) sent in %.1fs; confirming %d",
                kind,
                len(operators),
                time.monotonic() - started,
                len(waits),
            )
            self._confirm(pool, operators, waits, results, retryable)
        return results, retryable

    def _confirm(
        self,
        pool: ThreadPoolExecutor,
        operators: Sequence[BaseCancelOperator],
        waits: dict[int, dict[str, Any]],
        results: list[dict[str, Any]],
        retryable: set[int],
    ) -> None:
        deadline = time.monotonic() + self.wait_timeout

        def poll(index: int) -> None:
            operator = operators[index]
            try:
                status = operator.hook.get_status(**waits[index])
            except Exception as exc:
                if isinstance(exc, VendorAPIError) and exc.is_transient and time.monotonic() < deadline:
                    self.log.warning("%s: status not read (%s); trying again", operator.target().describe(), exc)
                    return
                self._failed(results, retryable, operator, index, exc)
                del waits[index]
                return
            where = reach(status, operator.target_state)
            if where is Reach.REACHED:
                results[index]["result"] = {**(results[index]["result"] or {}), "final_status": status.to_dict()}
                del waits[index]
            elif where is Reach.UNREACHABLE:
                results[index]["error"] = unreachable_message(status)
                results[index]["result"] = None
                del waits[index]

        while waits:
            list(pool.map(poll, list(waits)))
            if not waits:
                break
            if time.monotonic() >= deadline:
                for index in list(waits):
                    results[index]["result"] = None
                    results[index]["error"] = f"not confirmed within {self.wait_timeout:.0f}s"
                    retryable.add(index)
                waits.clear()
                break
            self.log.info("%d target(s) not confirmed yet; next round in %.0fs", len(waits), self.poll_interval)
            time.sleep(self.poll_interval)

    def _failed(
        self,
        results: list[dict[str, Any]],
        retryable: set[int],
        operator: BaseCancelOperator,
        index: int,
        exc: BaseException,
    ) -> None:
        error = getattr(exc, "error", exc)  # a PermanentFailure carries the domain error
        results[index]["result"] = None
        results[index]["error"] = f"{type(error).__name__}: {error}"[:500]
        # The operators' one failure policy decides; a refusal they raise as AirflowFailException is final too.
        if not isinstance(error, AirflowFailException) and not is_permanent(
            error, operator.hook_class.non_retryable_codes
        ):
            retryable.add(index)
        self.log.warning("%s failed: %s", operator.target().describe(), results[index]["error"])
