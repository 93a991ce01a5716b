"""``docs/failure-behaviour.md`` shows the fault matrix's own case table (``tests/e2e/fault_cases.py``).

The table between ``<!-- failure-table:start -->`` and ``<!-- failure-table:end -->`` is rendered by
``scripts/failure_table.py``; when a case changes, run ``.venv/bin/python scripts/failure_table.py``.
"""

from __future__ import annotations

import dataclasses

import failure_table  # scripts/ is on the path (tests/conftest.py)
import pytest

from tests.e2e.fault_cases import CASES


def test_the_page_shows_the_case_table():
    page = failure_table.PAGE.read_text()
    assert failure_table.current_table(page) == failure_table.render(), (
        "docs/failure-behaviour.md is out of date: run .venv/bin/python scripts/failure_table.py"
    )


def test_the_readme_shows_the_short_table():
    readme = failure_table.README.read_text()
    assert failure_table.current_table(readme) == failure_table.render_summary(), (
        "README.md's failure table is out of date: run .venv/bin/python scripts/failure_table.py"
    )
    assert len(failure_table.render_summary().splitlines()) == len(CASES) + 2


def test_every_case_is_a_row():
    rows = failure_table.render().splitlines()[2:]
    assert len(rows) == len(CASES) == len({case.id for case in CASES})
    for row, case in zip(rows, CASES, strict=True):
        assert row.startswith(f"| {failure_table._cell(case.title)} |") and row.count(" | ") == 3


def test_a_changed_case_makes_the_page_disagree():
    changed = [dataclasses.replace(CASES[0], title="something else"), *CASES[1:]]
    assert failure_table.render(changed) != failure_table.current_table(failure_table.PAGE.read_text())


def test_rewriting_keeps_the_rest_of_the_page():
    page = f"# Intro\n\n{failure_table.START}\nold\n{failure_table.END}\n\nAfter.\n"
    assert failure_table.with_table(page, "| new |") == (
        f"# Intro\n\n{failure_table.START}\n| new |\n{failure_table.END}\n\nAfter.\n"
    )


@pytest.mark.parametrize(
    "page",
    ["no markers", f"{failure_table.END}\n{failure_table.START}", f"{failure_table.START}{failure_table.START}"],
)
def test_missing_or_misplaced_markers_are_an_error(page):
    with pytest.raises(ValueError, match="failure-table"):
        failure_table.current_table(page)


def test_check_mode_reports_without_writing(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "failure-behaviour.md"
    stale.write_text(f"{failure_table.START}\nold\n{failure_table.END}\n")
    monkeypatch.setattr(failure_table, "PAGE", stale)
    monkeypatch.setattr(failure_table, "REPO", tmp_path)
    assert failure_table.main(["--check"]) == 1
    assert "old" in stale.read_text()
    assert failure_table.main([]) == 0 and failure_table.main(["--check"]) == 0
    assert failure_table.current_table(stale.read_text()) == failure_table.render()
