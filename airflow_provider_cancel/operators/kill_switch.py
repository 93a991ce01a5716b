"""The kill switch: stop many campaigns across every vendor in one Airflow run.

``kill_switch_task_group(targets=...)`` builds, inside any DAG::

    plan  ->  gate  ->  approval  ->  cancel  ->  report

or, with ``one_task_per_target=True``::

    plan  ->  gate  ->  approval  ->  cancel_<kind> (mapped, one task instance per target)  ->  report
          ->  targets_<kind> (hands each cancel task its targets)

* ``plan`` validates every target at once (one error naming every problem; nothing is sent), and in a
  dry run, or when a person must approve, reads each target's current status where the vendor has a
  status call. It hands each cancel task its list of targets (empty in a dry run).
* ``gate`` decides whether the run needs a person: more than ``approval_threshold`` targets, or any
  broad filter. Then ``approval`` (the standard provider's ``ApprovalOperator``) shows the dry-run
  table; Approve cancels exactly that set, Reject (or no answer before ``approval_timeout``) cancels
  nothing. ``skip_approval`` is for runs started by a script after a person checked the dry run.
* ``cancel`` (:class:`~airflow_provider_cancel.operators.batch.BatchCancelOperator`) cancels every target
  in one task: each vendor's targets concurrently with its own cancel operator, paced to its rate limit,
  then confirms them. One task costs one process start however many targets there are, so the time to
  stop is close to the slowest vendor's floor (its targets / its rate).
* ``cancel_<kind>`` (``one_task_per_target=True``) is the vendor's own cancel operator, mapped over its
  targets: each target has its own task instance, log and retries, confirms the cancel (deferred), and a
  pool per vendor can cap it; every task instance costs a process start.
* ``report`` always runs and returns ``{"rows": [...], "counts": {...}}``; it fails the run when any
  target failed, after every other target was cancelled and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.kill_switch import (
    DEFAULT_APPROVAL_THRESHOLD,
    FAILED,
    WOULD_CANCEL,
    Plan,
    counts,
    markdown_table,
    read_targets,
    result_row,
    row,
    summarise,
    text_table,
)
from airflow_provider_cancel.operators.memory import CANCEL_ERROR_XCOM_KEY
from airflow_provider_cancel.targets import require_count, require_flag, require_seconds
from airflow_provider_cancel.utils.templating import parse_flag
from airflow_provider_cancel.vendors import import_path, target_kinds, vendor_of_kind

#: HTTP attempts per status read in a dry run (a preview must not wait long on a slow vendor).
DRY_RUN_RETRY_LIMIT = 2


def approval_operator_class() -> type | None:
    """The standard provider's ``ApprovalOperator``, or ``None`` where this Airflow lacks it."""
    try:
        from airflow.providers.standard.operators.hitl import ApprovalOperator
    except Exception:
        return None
    return ApprovalOperator


def operator_for_kind(kind: str) -> Any:
    """The cancel operator whose target model is ``kind``'s (from the vendor registry)."""
    model = import_path(target_kinds()[kind])
    for path in vendor_of_kind(kind).operators:
        operator = import_path(path)
        if getattr(operator, "target_model", None) is model:
            return operator
    raise LookupError(f"no cancel operator of vendor {vendor_of_kind(kind).name!r} takes {kind!r} targets")


def _flag(name: str, value: Any) -> bool:
    try:
        return parse_flag(value)
    except ValueError as exc:
        raise AirflowFailException(f"{name} {exc}; nothing was sent.") from None


def make_plan(
    targets: Any, dry_run: Any, skip_approval: Any, approval_threshold: int, allow_empty: bool = False
) -> Plan:
    try:
        parsed = read_targets(targets, allow_empty=allow_empty)
    except InvalidTarget as exc:
        raise AirflowFailException(f"Invalid kill-switch targets; nothing was sent. {exc}") from None
    return Plan(
        parsed,
        dry_run=_flag("dry_run", dry_run),
        skip_approval=_flag("skip_approval", skip_approval),
        approval_threshold=int(approval_threshold),
    )


def preview_rows(plan: Plan, log: Any) -> list[dict[str, Any]]:
    """Each target's current status where the vendor has a status call (read-only); ``would_cancel`` rows."""
    rows = []
    for target in plan.targets:
        status_target = target.status_target()
        if status_target is None:
            rows.append(row(target.to_dict(), WOULD_CANCEL, error=None))
            continue
        hook_class = import_path(vendor_of_kind(target.kind).hook)
        hook = hook_class(target.conn_id or hook_class.default_conn_name, retry_limit=DRY_RUN_RETRY_LIMIT)
        try:
            status = hook.get_status(**status_target)
        except Exception as exc:
            rows.append(
                row(target.to_dict(), WOULD_CANCEL, error=f"status not read: {type(exc).__name__}: {exc}"[:300])
            )
            continue
        log.info("%s: now %s", target.describe(), status.describe())
        rows.append(
            row(target.to_dict(), WOULD_CANCEL, vendor_status=status.raw_status, final_state=status.state.value)
        )
    return rows


def _targets_of_kind(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return targets


_JINJA_MARKERS = ("{{", "{%", "{#")
_PLAIN = (str, bytes, int, float, bool, list, tuple, dict, type(None))


def _is_literal(value: Any) -> bool:
    """A value known when the DAG is parsed: plain data, not a template or an upstream task's output."""
    if isinstance(value, str):
        return not any(marker in value for marker in _JINJA_MARKERS)
    return isinstance(value, _PLAIN)


def check_arguments(
    *,
    targets: Any,
    dry_run: Any,
    skip_approval: Any,
    approval_threshold: Any,
    approval_timeout: Any,
    pools: Any,
    poll_interval: Any,
    wait_timeout: Any,
    retries: Any,
    retry_delay: Any,
    allow_empty: Any,
) -> dict[str, str]:
    """
    Refuse bad kill-switch arguments when the DAG is parsed, each error naming its argument; return the pools.

    Templated values (``targets``, ``dry_run``, ``skip_approval`` given as a template or an upstream
    task's output) can only be read once rendered: the ``plan`` task checks them before anything is
    sent. Literal ones are checked here too, so a typo in a DAG file fails its import, not a run.
    """
    require_count("approval_threshold", approval_threshold, minimum=0)
    require_seconds("poll_interval", poll_interval)
    require_seconds("wait_timeout", wait_timeout)
    require_count("retries", retries, minimum=0)
    require_flag("allow_empty", allow_empty)
    _duration("approval_timeout", approval_timeout, allow_zero=False)
    _duration("retry_delay", retry_delay, allow_zero=True)
    kinds = list(target_kinds())
    if pools is None:
        pools = {}
    if not isinstance(pools, Mapping):
        raise InvalidTarget(
            f"pools must map target kinds to pool names, e.g. {{'arsel': 'arsel_api'}} (got {pools!r:.100})",
            field="pools",
        )
    unknown = sorted(set(pools) - set(kinds), key=str)
    if unknown:
        raise InvalidTarget(f"pools names unknown target kinds {unknown}; known: {', '.join(kinds)}", field="pools")
    for kind, pool in pools.items():
        if not isinstance(pool, str) or not pool.strip():
            raise InvalidTarget(
                f"pools[{kind!r}] must be the name of an Airflow pool (got {pool!r:.100})", field="pools"
            )
    for name, flag in (("dry_run", dry_run), ("skip_approval", skip_approval)):
        if _is_literal(flag):
            try:
                parse_flag(flag)
            except ValueError as exc:
                raise InvalidTarget(f"{name} {exc}", field=name) from None
    if _is_literal(targets):
        read_targets(targets, allow_empty=allow_empty)  # InvalidTarget (a ValueError) naming every problem
    return dict(pools)


def _duration(name: str, value: Any, *, allow_zero: bool) -> None:
    """A ``timedelta`` (or a number of seconds) that is not negative, and not zero unless ``allow_zero``."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    try:
        require_seconds(name, seconds, allow_zero=allow_zero)
    except InvalidTarget:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidTarget(
            f"{name} must be a timedelta (or seconds) {bound} (got {value!r:.100})", field=name
        ) from None


def kill_switch_task_group(
    group_id: str = "kill_switch",
    *,
    targets: Any,
    dry_run: Any = True,
    skip_approval: Any = False,
    approval_threshold: int = DEFAULT_APPROVAL_THRESHOLD,
    approval_timeout: timedelta = timedelta(hours=1),
    pools: dict[str, str] | None = None,
    poll_interval: float = 10.0,
    wait_timeout: float = 3600.0,
    retries: int = 2,
    retry_delay: timedelta = timedelta(seconds=10),
    allow_empty: bool = False,
    one_task_per_target: bool = False,
    rate_limits: Mapping[str, float] | None = None,
    max_concurrency: int = 8,
) -> Any:
    """
    Build the kill switch inside the current DAG and return its ``TaskGroup``.

    :param group_id: The task group's id (task ids become ``<group_id>.plan``, ``...report``).
    :param targets: The targets: a list of target objects, their JSON text, or a template rendering one,
        e.g. ``"{{ params.targets }}"``, ``"{{ var.value.kill_switch_targets }}"``, or an upstream task's output.
    :param dry_run: Validate and read statuses only (templated; default ``True``).
    :param skip_approval: Cancel without waiting for a person (templated; default ``False``). For runs
        started by a script after a person checked the dry run.
    :param approval_threshold: More targets than this need approval (broad filters always do).
    :param approval_timeout: How long the approval waits; no answer means Reject (nothing is cancelled).
    :param pools: Target kind -> Airflow pool for its cancel task (``{"arsel": "arsel_api"}``); kinds
        left out use the default pool. Create the pools first (see docs/kill-switch.md).
    :param poll_interval: Seconds between status polls while a cancel is confirmed.
    :param wait_timeout: Seconds a cancel may take to be confirmed before its task fails.
    :param retries: Task retries of each target's cancel (a retry never sends a second, different cancel).
    :param retry_delay: Delay between those retries.
    :param allow_empty: An empty target list is a run that does nothing (for a standing kill list),
        instead of an error.
    :param one_task_per_target: One mapped task instance per target (own log, retries and deferral; a pool
        per kind) instead of one ``cancel`` task for all targets. Slower to stop many targets: every task
        instance costs a process start (see benchmarks/RESULTS.md).
    :param rate_limits: Target kind -> requests per second for the ``cancel`` task; kinds left out use their
        vendor's documented limit (Arsel: 2/s), or none.
    :param max_concurrency: Requests in flight at once per target kind in the ``cancel`` task.
    :raises InvalidTarget: (a ``ValueError``) when the DAG is parsed, naming the bad argument: a bad
        number, pool, flag or duration, or literal ``targets`` that do not validate. Templated values are
        checked by the ``plan`` task, before anything is sent.
    """
    from airflow.sdk import TaskGroup, task

    kinds = list(target_kinds())
    pools = check_arguments(
        targets=targets,
        dry_run=dry_run,
        skip_approval=skip_approval,
        approval_threshold=approval_threshold,
        approval_timeout=approval_timeout,
        pools=pools,
        poll_interval=poll_interval,
        wait_timeout=wait_timeout,
        retries=retries,
        retry_delay=retry_delay,
        allow_empty=allow_empty,
    )
    one_task_per_target = require_flag("one_task_per_target", one_task_per_target)
    if pools and not one_task_per_target:
        raise InvalidTarget(
            "pools apply to one_task_per_target=True (a task per target); the single cancel task paces each "
            "vendor with rate_limits instead",
            field="pools",
        )
    if rate_limits is not None and not isinstance(rate_limits, Mapping):
        raise InvalidTarget(
            f"rate_limits must map target kinds to requests per second (got {rate_limits!r:.100})", field="rate_limits"
        )
    unknown = sorted(set(rate_limits or {}) - set(kinds), key=str)
    if unknown:
        raise InvalidTarget(
            f"rate_limits names unknown target kinds {unknown}; known: {', '.join(kinds)}", field="rate_limits"
        )

    with TaskGroup(group_id=group_id) as group:
        prefix = f"{group.group_id}." if group.group_id else ""

        @task(task_id="plan", multiple_outputs=True)
        def plan_task(targets: Any, dry_run: Any, skip_approval: Any, **context: Any) -> dict[str, Any]:
            import logging

            log = logging.getLogger("airflow.task")
            plan = make_plan(targets, dry_run, skip_approval, approval_threshold, allow_empty)
            if plan.dry_run or plan.needs_approval:
                rows = preview_rows(plan, log)
            else:
                rows = [row(t.to_dict(), WOULD_CANCEL) for t in plan.targets]
            reasons = plan.approval_reasons
            subject = f"Kill switch: cancel {len(plan.targets)} target(s)?" + (
                f" ({'; '.join(reasons)})" if reasons else ""
            )
            log.info("%s%s:\n%s", "DRY RUN, nothing will be sent. " if plan.dry_run else "", subject, text_table(rows))
            out: dict[str, Any] = {
                "targets": [t.to_dict() for t in plan.targets],
                "dry_run": plan.dry_run,
                "needs_approval": plan.needs_approval,
                "approval_reasons": reasons,
                "rows": rows,
                "subject": subject[:250],
                "table": markdown_table(rows),
            }
            for kind in kinds:
                out[f"cancel_{kind}"] = plan.cancel_kwargs(kind)
            out["cancel_by_kind"] = {kind: plan.cancel_kwargs(kind) for kind in kinds if plan.cancel_kwargs(kind)}
            return out

        plan: Any = plan_task(targets, dry_run, skip_approval)  # an XComArg: one key per output

        @task.branch(task_id="gate")
        def gate(needs_approval: bool, dry_run: bool) -> list[str]:
            if dry_run or not needs_approval:
                return []  # no person needed: the approval step is skipped and the cancels go ahead
            if approval_operator_class() is None:
                raise AirflowFailException(
                    "This run needs a person's approval (too many targets or a broad filter), but this Airflow "
                    "has no approval operator (apache-airflow-providers-standard>=1.5 on Airflow 3.1+). Nothing was "
                    "cancelled. Check the dry run, then run again with skip_approval=true."
                )
            return [f"{prefix}approval"]

        gated = gate(plan["needs_approval"], plan["dry_run"])
        approval_class = approval_operator_class()
        if approval_class is not None:
            approval = approval_class(
                task_id="approval",
                subject=f"{{{{ ti.xcom_pull(task_ids='{prefix}plan', key='subject') }}}}",
                body=(
                    "Approve cancels exactly these targets; Reject (or no answer) cancels nothing.\n\n"
                    f"{{{{ ti.xcom_pull(task_ids='{prefix}plan', key='table') }}}}"
                ),
                defaults="Reject",
                response_timeout=approval_timeout,
            )
        else:  # keeps the graph the same; the gate fails before it would ever run

            @task(task_id="approval")
            def approval_unavailable() -> None:
                raise AirflowFailException("No approval operator in this Airflow.")

            approval = approval_unavailable()
        gated >> approval

        cancels = []
        if one_task_per_target:
            for kind in kinds:
                operator = operator_for_kind(kind)
                partial_kwargs: dict[str, Any] = {
                    "task_id": f"cancel_{kind}",
                    "wait_for_completion": True,
                    "deferrable": True,
                    "poll_interval": poll_interval,
                    "wait_timeout": wait_timeout,
                    "retries": retries,
                    "retry_delay": retry_delay,
                    "trigger_rule": "none_failed",  # runs when the approval was not needed (skipped)
                }
                if kind in pools:
                    partial_kwargs["pool"] = pools[kind]
                # Airflow maps only over a task's return value: this task hands the kind's targets on.
                to_cancel = task(task_id=f"targets_{kind}")(_targets_of_kind)(plan[f"cancel_{kind}"])
                cancel = operator.partial(**partial_kwargs).expand_kwargs(to_cancel)
                approval >> cancel
                cancels.append(cancel)
        else:
            from airflow_provider_cancel.operators.batch import BatchCancelOperator

            cancel = BatchCancelOperator(
                task_id="cancel",
                targets=plan["cancel_by_kind"],
                rate_limits=rate_limits,
                max_concurrency=max_concurrency,
                poll_interval=poll_interval,
                wait_timeout=wait_timeout,
                retries=retries,
                retry_delay=retry_delay,
                trigger_rule="none_failed",  # runs when the approval was not needed (skipped)
            )
            approval >> cancel
            cancels.append(cancel)

        @task(task_id="report", trigger_rule="all_done")
        def report(**context: Any) -> dict[str, Any]:
            import logging

            log = logging.getLogger("airflow.task")
            ti = context["ti"]
            planned = ti.xcom_pull(task_ids=f"{prefix}plan", key="rows")
            dry = ti.xcom_pull(task_ids=f"{prefix}plan", key="dry_run")
            if planned is None:
                raise AirflowFailException("The kill switch's plan failed (see its log); nothing was sent.")
            needed = ti.xcom_pull(task_ids=f"{prefix}plan", key="needs_approval")
            decision = ti.xcom_pull(task_ids=f"{prefix}approval") if needed else None
            approval_failed = bool(needed) and not (isinstance(decision, dict) and decision.get("chosen_options"))
            rows = []
            if dry:
                rows = list(planned)
            else:
                batch = {} if one_task_per_target else (ti.xcom_pull(task_ids=f"{prefix}cancel") or {})
                by_kind: dict[str, int] = {}
                for planned_row in planned:
                    kind = planned_row["vendor"]
                    index = by_kind.get(kind, 0)
                    by_kind[kind] = index + 1
                    if one_task_per_target:
                        task_id = f"{prefix}cancel_{kind}"
                        result = ti.xcom_pull(task_ids=task_id, map_indexes=index)
                        error = ti.xcom_pull(task_ids=task_id, key=CANCEL_ERROR_XCOM_KEY, map_indexes=index)
                    else:
                        entries = (batch.get("results") or {}).get(kind) or []
                        entry = entries[index] if index < len(entries) else {}
                        result, error = entry.get("result"), entry.get("error")
                    rows.append(result_row(planned_row["target"], result, error))
            summary = summarise(rows)
            log.info("Kill switch report (%s):\n%s", summary, text_table(rows))
            outcome = {"rows": rows, "counts": dict(sorted(counts(rows).items()))}
            ti.xcom_push(key="return_value", value=outcome)
            if approval_failed:
                raise AirflowFailException(
                    f"The approval step did not finish (it failed; see its log), so nothing was cancelled; {summary}. "
                    "Check the dry run and trigger the kill switch again."
                )
            failed = [r for r in rows if r["outcome"] == FAILED]
            if failed:
                raise AirflowFailException(f"{len(failed)} target(s) failed; {summary}. See the report above.")
            return outcome

        done = report()
        for cancel in cancels:
            cancel >> done
        plan >> done

    return group
