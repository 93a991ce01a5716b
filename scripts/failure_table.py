"""Render the fault matrix's case table (``tests/e2e/fault_cases.py``) into ``docs/failure-behaviour.md``
and, in short, into the README's "Failure behaviour" section.

The end-to-end fault matrix runs every case against every vendor; this writes the same cases, in
words, between the markers of each page, so the pages say what the tests check.
``tests/unit/test_failure_table.py`` fails when the page and the table disagree.

    .venv/bin/python scripts/failure_table.py          # rewrite the table in the page
    .venv/bin/python scripts/failure_table.py --check  # exit 1 if the page is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "failure-behaviour.md"
README = REPO / "README.md"
START = "<!-- failure-table:start -->"
END = "<!-- failure-table:end -->"

sys.path.insert(0, str(REPO))  # also runs from a bare checkout

from airflow_provider_cancel.vendors import vendors  # noqa: E402
from tests.e2e.fault_cases import CASES, SUCCESS, Expect, FaultCase  # noqa: E402


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _error(expect: Expect, event: bool) -> str:
    status = f"HTTP {expect.status_code}" if expect.status_code is not None else "no status"
    if event:
        return f"**error event** ({status}, {'retryable' if expect.transient else 'not retryable'})"
    return f"**{expect.outcome}** ({status}, {'transient' if expect.transient else 'not transient'})"


def sync_cell(case: FaultCase) -> str:
    def summary(expect: Expect) -> str:
        return f"**`{expect.result}`**" if expect.outcome == SUCCESS else _error(expect, event=False)

    parts = [f"{summary(case.sync)}: {case.sync.words}"]
    parts += [
        f"{vendors()[name].display_name}: {summary(expect)}: {expect.words}"
        for name, expect in sorted(case.sync_by_vendor.items())
    ]
    return "<br>".join(_cell(part) for part in parts)


def poll_cell(case: FaultCase) -> str:
    def summary(expect: Expect) -> str:
        return "**success**" if expect.outcome == SUCCESS else _error(expect, event=True)

    parts = [f"{summary(case.poll)}: {case.poll.words}"]
    parts += [
        f"{vendors()[name].display_name}: {summary(expect)}: {expect.words}"
        for name, expect in sorted(case.poll_by_vendor.items())
    ]
    return "<br>".join(_cell(part) for part in parts)


def requests_cell(case: FaultCase) -> str:
    text = f"cancel {case.sync.requests}, poll {case.poll.requests}"
    other = [
        f"{vendors()[name].display_name} {path} {expect.requests}"
        for path, common, by_vendor in (
            ("cancel", case.sync, case.sync_by_vendor),
            ("poll", case.poll, case.poll_by_vendor),
        )
        for name, expect in sorted(by_vendor.items())
        if expect.requests != common.requests
    ]
    return _cell(f"{text} ({'; '.join(other)})" if other else text)


def render(cases: Iterable[FaultCase] = CASES) -> str:
    """The Markdown table, one row per case."""
    rows = [
        "| Case | Sync cancel | Status poll while deferred | Requests seen |",
        "|---|---|---|---|",
    ]
    for case in cases:
        for name in {*case.sync_by_vendor, *case.poll_by_vendor}:
            vendors()[name]  # a reading for an unknown vendor fails here, not on the page
        rows.append(f"| {_cell(case.title)} | {sync_cell(case)} | {poll_cell(case)} | {requests_cell(case)} |")
    return "\n".join(rows)


def render_summary(cases: Iterable[FaultCase] = CASES) -> str:
    """The README's short table: what happens, without the words; vendor exceptions on the docs page."""

    def outcome(expect: Expect, event: bool) -> str:
        if expect.outcome == SUCCESS:
            return "success" if event else f"`{expect.result}`"
        status = f"HTTP {expect.status_code}" if expect.status_code is not None else "no answer"
        if event:
            return f"error event ({status}; {'task retries' if expect.transient else 'fails, no retry'})"
        return f"{expect.outcome} ({status}; {'task retries' if expect.transient else 'fails, no retry'})"

    def cell(common: Expect, by_vendor: dict[str, Expect], event: bool) -> str:
        extra = " (some vendors differ)" if by_vendor else ""
        return _cell(f"{outcome(common, event)}{extra}")

    rows = ["| Case | Cancel | Status poll while deferred | Requests |", "|---|---|---|---|"]
    for case in cases:
        rows.append(
            f"| {_cell(case.title)} | {cell(case.sync, case.sync_by_vendor, False)} | "
            f"{cell(case.poll, case.poll_by_vendor, True)} | {case.sync.requests} / {case.poll.requests} |"
        )
    return "\n".join(rows)


def current_table(page: str) -> str:
    """The text between the markers (stripped); ``ValueError`` unless each marker is there once, in order."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise ValueError(f"the page must hold {START} and then {END}, once each")
    return page.split(START, 1)[1].split(END, 1)[0].strip()


def with_table(page: str, table: str) -> str:
    current_table(page)  # checks the markers
    before, rest = page.split(START, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page's table is out of date")
    args = parser.parse_args(argv)
    stale = 0
    for path, table in ((PAGE, render()), (README, render_summary())):
        page = path.read_text()
        if current_table(page) == table:
            continue
        if args.check:
            print(f"{path.relative_to(REPO)} is out of date: run scripts/failure_table.py", file=sys.stderr)
            stale = 1
            continue
        path.write_text(with_table(page, table))
        print(f"updated {path.relative_to(REPO)}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
