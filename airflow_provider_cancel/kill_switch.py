"""The kill switch's decisions, Airflow-free and HTTP-free: what a run cancels, whether a person must
approve it first, and the report of every target's outcome.

The Airflow wiring (tasks, mapping, approval) is in :mod:`airflow_provider_cancel.operators.kill_switch`.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.targets import Target
from airflow_provider_cancel.utils.templating import parse_list
from airflow_provider_cancel.vendors import parse_targets, vendor

#: Above this many targets a run needs a person's approval (the kill switch's default).
DEFAULT_APPROVAL_THRESHOLD = 10

# Outcomes in the report, besides the cancel operators' own (cancelled, already_cancelled, ...).
WOULD_CANCEL = "would_cancel"
FAILED = "failed"
NOT_RUN = "not_run"


def read_targets(raw: Any, *, allow_empty: bool = False) -> list[Target]:
    """
    The targets as given: a list, or the JSON (or Python) text a template renders one as.

    Raises one :class:`InvalidTarget` naming every problem by position and field; nothing is sent.
    An empty list is refused (a kill switch run with nothing to stop is a mistake) unless ``allow_empty``.
    """
    try:
        items = _read_text(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise InvalidTarget(f"targets {exc}", field="targets") from None
    if isinstance(items, Mapping):
        items = [items]  # one target object on its own
    if items is None or (isinstance(items, (list, tuple)) and not items):
        if allow_empty:
            return []
        raise InvalidTarget(
            "targets is empty: give a JSON list of target objects (or allow_empty=True for a standing list)",
            field="targets",
        )
    return parse_targets(items)


def _read_text(text: str) -> Any:
    """Rendered targets: a JSON or Python list (:func:`parse_list`), or one object on its own."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return parse_list(text)
    try:
        return json.loads(stripped)
    except ValueError:
        try:
            return ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(f"looks like an object but cannot be read: {stripped[:100]!r}") from None


def operator_kwargs(target: Target) -> dict[str, Any]:
    """The cancel operator's arguments for ``target``: its fields, and its connection under the vendor's name."""
    spec = vendor(target.vendor)
    kwargs = {f.name: getattr(target, f.name) for f in fields(target) if f.name != "conn_id"}
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    kwargs[f"{spec.conn_type}_conn_id"] = target.conn_id or spec.default_conn_id
    return kwargs


@dataclass(frozen=True)
class Plan:
    """
    What one kill-switch run is asked to do.

    :param targets: The validated targets, in the order given.
    :param dry_run: Only validate and read statuses; cancel nothing.
    :param skip_approval: A person already decided (for runs started by a script after a dry run).
    :param approval_threshold: More targets than this need a person's approval.
    """

    targets: Sequence[Target]
    dry_run: bool = True
    skip_approval: bool = False
    approval_threshold: int = DEFAULT_APPROVAL_THRESHOLD

    @property
    def approval_reasons(self) -> list[str]:
        """Why this run is a wide blast; empty when it is not."""
        reasons = []
        if len(self.targets) > self.approval_threshold:
            reasons.append(
                f"{len(self.targets)} targets, more than the approval threshold of {self.approval_threshold}"
            )
        broad = [t.describe() for t in self.targets if t.is_broad]
        if broad:
            reasons.append(f"{len(broad)} broad filter(s) that may match many runs: {'; '.join(broad)}")
        return reasons

    @property
    def needs_approval(self) -> bool:
        return not self.dry_run and not self.skip_approval and bool(self.approval_reasons)

    def cancel_kwargs(self, kind: str) -> list[dict[str, Any]]:
        """The mapped cancel task's arguments for ``kind``: empty in a dry run, so nothing is cancelled."""
        if self.dry_run:
            return []
        return [operator_kwargs(t) for t in self.targets if t.kind == kind]

    def targets_of(self, kind: str) -> list[Target]:
        return [t for t in self.targets if t.kind == kind]


def row(
    target: Mapping[str, Any],
    outcome: str,
    *,
    vendor_status: Any = None,
    final_state: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One line of the report (JSON-safe)."""
    return {
        "vendor": target.get("vendor"),
        "target": dict(target),
        "outcome": outcome,
        "vendor_status": vendor_status,
        "final_state": final_state,
        "error": error,
    }


def result_row(target: Mapping[str, Any], result: Mapping[str, Any] | None, error: str | None) -> dict[str, Any]:
    """A target's line from what its cancel task returned, or the error it left, or neither (it never ran)."""
    if result:
        final = result.get("final_status") or (result.get("detail") or {}).get("current_status") or {}
        return row(
            target,
            str(result.get("outcome")),
            vendor_status=result.get("vendor_status"),
            final_state=final.get("state"),
        )
    if error:
        return row(target, FAILED, error=error)
    return row(target, NOT_RUN)


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    return dict(Counter(str(r["outcome"]) for r in rows))


def summarise(rows: Sequence[Mapping[str, Any]]) -> str:
    """``3 targets: 2 cancelled, 1 failed``."""
    listed = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts(rows).items()))
    return f"{len(rows)} target(s): {listed or 'none'}"


def describe_target(target: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in target.items() if k not in ("vendor", "conn_id") and v not in (None, False, [], "")}
    conn = f" @{target['conn_id']}" if target.get("conn_id") else ""
    return ", ".join(f"{k}={v}" for k, v in shown.items()) + conn


def _cell(value: Any) -> str:
    # Markdown table cells: no pipes or line breaks from vendor strings.
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")[:200]


COLUMNS = ("#", "vendor", "target", "outcome", "vendor status", "state", "error")


def _cells(index: int, r: Mapping[str, Any]) -> list[str]:
    return [
        str(index),
        _cell(r["vendor"]),
        _cell(describe_target(r["target"])),
        _cell(r["outcome"]),
        _cell(r["vendor_status"]),
        _cell(r["final_state"]),
        _cell(r["error"]),
    ]


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The report as a GitHub-flavoured Markdown table (what the approval form shows)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(i, r)) + " |" for i, r in enumerate(rows)]
    return "\n".join(lines)


def text_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The report as a plain-text table for the task log."""
    table = [list(COLUMNS), *(_cells(i, r) for i, r in enumerate(rows))]
    widths = [max(len(line[c]) for line in table) for c in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table)
