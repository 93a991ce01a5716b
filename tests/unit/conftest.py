"""Helpers shared by the unit tests: a task context and Airflow 3.3's task state store, without Airflow's DB."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

# The shared helpers under tests/unit/support assert too: have pytest explain their failures as in a test module.
pytest.register_assert_rewrite("tests.unit.support")


class FakeTaskStateStore:
    """Airflow 3.3's ``context["task_state_store"]``: one task instance's keys, shared by all its tries."""

    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, *, retention=None):
        assert value is not None
        self.data[key] = json.loads(json.dumps(value))  # JSON only, as the real store


class FakeTI(SimpleNamespace):
    """A task instance with an in-memory XCom, as much of it as the operators read."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = json.loads(json.dumps(value))

    def xcom_pull(self, task_ids=None, key="return_value", map_indexes=None):
        return self.xcoms.get(key)


def make_context(
    *,
    task_id: str = "t",
    run_id: str = "manual__1",
    try_number: int = 1,
    max_tries: int | None = None,
    store: FakeTaskStateStore | None = None,
    run_start: Any = None,
    xcom: bool = False,
) -> dict:
    """
    A task context: ``ti`` (dag ``d``), ``dag_run`` and, when given, ``task_state_store``.

    ``max_tries=None`` leaves it unset (as some callers of ``is_automatic_retry`` see it);
    ``xcom=True`` gives the task instance an in-memory XCom.
    """
    ti_cls = FakeTI if xcom else SimpleNamespace
    ti = ti_cls(dag_id="d", task_id=task_id, run_id=run_id, map_index=-1, try_number=try_number)
    if xcom:
        ti.xcoms = {}
    if max_tries is not None:
        ti.max_tries = max_tries
    ctx: dict = {"ti": ti, "dag_run": SimpleNamespace(start_date=run_start)}
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


@pytest.fixture
def task_state_store() -> FakeTaskStateStore:
    return FakeTaskStateStore()
