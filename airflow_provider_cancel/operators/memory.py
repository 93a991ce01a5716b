"""Memory across task tries, shared by every cancel operator.

A cancel must never be done twice, differently: a retried task has to know what an earlier try of
the same task instance already sent. Hooks are stateless, so this memory lives here, in the operator.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from airflow_provider_cancel.status import CancelResult

#: XCom key of the cancel result while the operator is deferred (or waits after a recorded cancel);
#: deleted once the task succeeds, when ``return_value`` holds the result.
CANCEL_RESULT_XCOM_KEY = "cancel_result"
#: XCom key of a short message saying why the task failed (read by the kill switch's report).
CANCEL_ERROR_XCOM_KEY = "cancel_error"


def is_automatic_retry(context: Any, retries: int) -> bool:
    """
    Whether this try is an automatic retry, as opposed to the first try of a run or of a clear.

    Clearing a task sets ``max_tries = try_number + retries``, so the first try after a clear is
    ``max_tries - retries + 1``, the same formula Airflow uses to find a sensor's first try.
    """
    ti = context["ti"]
    try_number = int(getattr(ti, "try_number", 1) or 1)
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        return try_number > 1
    return try_number > max(1, max_tries - (retries or 0) + 1)


def clear_generation(context: Any, retries: int) -> int:
    """Which manual clear this try belongs to (0 = the run's first tries); automatic retries share it."""
    max_tries = getattr(context["ti"], "max_tries", None)
    if not isinstance(max_tries, int):
        return 0
    return max(0, max_tries - (retries or 0))


class TryMemoryMixin:
    """
    What an operator remembers across the tries of one task instance.

    Uses Airflow 3.3's ``task_state_store`` (shared by every try; XComs are cleared when a new try
    starts) when the running Airflow has it, and says so in the log when it does not. Reading or
    writing the memory never fails a cancel: it helps a retry decide, nothing more.
    """

    # Provided by BaseOperator.
    retries: Any
    task_id: Any
    log: Any

    def is_automatic_retry(self, context: Any) -> bool:
        return is_automatic_retry(context, self.retries)

    def clear_generation(self, context: Any) -> int:
        return clear_generation(context, self.retries)

    def stable_request_key(self, context: Any, *parts: Any) -> str:
        """
        An idempotency key that is the same for every automatic retry of one task instance and target.

        A retried task therefore repeats the *same* request (the vendor replays its first answer)
        instead of making a second, different cancel. ``try_number`` is left out on purpose; the
        clear generation is in, so a task an engineer clears by hand sends a fresh request rather
        than getting an old refusal replayed.
        """
        ti = context["ti"]
        material = "\x1f".join(
            str(p)
            for p in (
                ti.dag_id,
                ti.task_id,
                ti.run_id,
                getattr(ti, "map_index", -1),
                self.clear_generation(context),
                *parts,
            )
        )
        return "airflow-" + hashlib.sha256(material.encode()).hexdigest()[:48]

    @staticmethod
    def has_try_memory(context: Any) -> bool:
        return context.get("task_state_store") is not None

    def recall_across_tries(self, context: Any, key: str) -> Any:
        """What an earlier try of this task instance stored under ``key``, or ``None``."""
        store = context.get("task_state_store")
        if store is None:
            return None
        try:
            return store.get(key)
        except Exception as exc:
            self.log.warning("Could not read %r from the task state store (%s); carrying on without it", key, exc)
            return None

    def remember_across_tries(self, context: Any, key: str, value: Any) -> bool:
        """Store ``value`` for later tries of this task instance; ``False`` if there is no store or it failed."""
        store = context.get("task_state_store")
        if store is None:
            return False
        try:
            store.set(key, value)
        except Exception as exc:
            self.log.warning("Could not write %r to the task state store (%s): a retry will not see it", key, exc)
            return False
        return True

    def push_result(self, context: Any, result: CancelResult | dict[str, Any]) -> None:
        """Keep the cancel result in XCom while deferred (``airflow dags test`` drops defer kwargs)."""
        push = getattr(context.get("ti"), "xcom_push", None)
        if push is not None:
            push(key=CANCEL_RESULT_XCOM_KEY, value=result.to_dict() if isinstance(result, CancelResult) else result)
            self._pushed_result = True

    def forget_result(self, context: Any, *, resumed: bool) -> None:
        """
        Delete the ``cancel_result`` XCom once the task has succeeded: ``return_value`` holds the result.

        Only on success: while the task is deferred, or after a try failed, the XCom is what the next
        step reads (the resumed task, or where XComs survive, a retry). No automatic retry follows a
        success, and a clear starts afresh. ``resumed``: called from ``execute_complete``, where the
        XCom was pushed before deferring; otherwise only if this try pushed one. Never fails the task.
        """
        ti = context.get("ti")
        if not (resumed or getattr(self, "_pushed_result", False)) or getattr(ti, "xcom_push", None) is None:
            return
        try:
            from airflow.providers.common.compat.sdk import XCom

            XCom.delete(
                key=CANCEL_RESULT_XCOM_KEY,
                dag_id=ti.dag_id,
                task_id=ti.task_id,
                run_id=ti.run_id,
                map_index=getattr(ti, "map_index", -1),
            )
        except Exception as exc:
            self.log.warning("Could not delete the %r XCom (%s); it repeats the result", CANCEL_RESULT_XCOM_KEY, exc)
        else:
            self._pushed_result = False

    @staticmethod
    def push_error(context: Any, exc: BaseException) -> None:
        """Leave why this try failed in XCom; never fails the task over it. Messages never hold keys."""
        push = getattr(context.get("ti"), "xcom_push", None)
        if push is None:
            return
        error = getattr(exc, "error", exc)  # a PermanentFailure carries the domain error
        with contextlib.suppress(Exception):
            push(key=CANCEL_ERROR_XCOM_KEY, value=f"{type(error).__name__}: {error}"[:500])

    def pull_result(self, context: Any) -> Any:
        """The cancel result this try (or, where XComs survive, an earlier one) pushed, or ``None``."""
        ti = context.get("ti")
        if getattr(ti, "xcom_pull", None) is None:
            return None
        return ti.xcom_pull(task_ids=self.task_id, key=CANCEL_RESULT_XCOM_KEY, map_indexes=ti.map_index)
