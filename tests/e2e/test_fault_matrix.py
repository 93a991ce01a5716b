"""The fault matrix: every case of ``fault_cases.CASES`` against every registered vendor, over real HTTP.

For each vendor of the registry and each fault the sandbox injects, two paths run against it:

* the sync cancel: the vendor hook's cancel method (the real hook, ``requests``), as the operator calls it;
* the async status poll: ``CampaignStatusTrigger.run()`` (``aiohttp``), what a deferred task waits on.

Each asserts the outcome (success and its result, or the domain error with ``status_code`` and
``is_transient``), how many requests the sandbox saw (no retry storm), that a cancel took effect at
most once (never a second cancel where the first may have landed) and the time spent (bounded;
a ``Retry-After`` honoured). ``scripts/failure_table.py`` renders the same cases into
``docs/failure-behaviour.md``.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_cancel.exceptions import CancelProviderError, VendorAPIError
from airflow_provider_cancel.sandbox import SandboxServer
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.vendors import VendorSpec, vendors
from tests.e2e.fault_cases import (
    CANCEL_RETRY_LIMIT,
    CANCEL_RETRY_MAX_WAIT,
    CASES,
    POLL_INTERVAL,
    POLL_MAX_FAILURES,
    POLL_RETRY_LIMIT,
    RETRY_AFTER_DATE,
    RETRY_AFTER_DATE_AHEAD_S,
    SUCCESS,
    Expect,
    FaultCase,
    poll_expectation,
    sync_expectation,
)
from tests.e2e.fault_vendors import DRIVERS, driver, hook_for

pytestmark = pytest.mark.e2e

SPECS = list(vendors().values())
WRITES = ("POST", "PUT", "PATCH", "DELETE")
MATRIX = [pytest.param(spec, case, id=f"{spec.name}-{case.id}") for spec in SPECS for case in CASES]


def sandbox_name(spec: VendorSpec) -> str:
    """The vendor's name inside the sandbox (its first path segment, e.g. ``loop`` for loop_comms)."""
    return spec.sandbox_prefix.strip("/").split("/")[0]


@pytest.fixture
def matrix_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox without rate limits (they would add 429s of their own), for every vendor it serves."""
    config = sandbox.admin("GET", "/config")
    sandbox.admin("POST", "/config", {name: {"rate_limit_per_second": 0} for name in config})
    yield sandbox


def connect(set_conn: Any, sandbox: SandboxServer, spec: VendorSpec, case: FaultCase) -> None:
    extra = dict(spec.sandbox_extras)
    if case.timeout is not None:
        extra["timeout"] = case.timeout
    set_conn(spec.default_conn_id, spec.conn_type, f"{sandbox.url}{spec.sandbox_prefix}", spec.sandbox_key, **extra)


def inject(sandbox: SandboxServer, spec: VendorSpec, case: FaultCase, *, clear_log: bool = True) -> None:
    if clear_log:
        sandbox.admin("DELETE", "/requests")
    for fault in case.faults:
        if fault.get("retry_after") == RETRY_AFTER_DATE:
            ahead = time.time() + RETRY_AFTER_DATE_AHEAD_S
            fault = {**fault, "retry_after": email.utils.formatdate(ahead, usegmt=True)}
        sandbox.admin("POST", f"/{sandbox_name(spec)}/faults", dict(fault))


def let_abandoned_requests_finish(case: FaultCase) -> None:
    # A request the client gave up on is logged once the sandbox's added latency has passed.
    if case.latency_s:
        time.sleep(case.latency_s + 0.05)


def requests_seen(sandbox: SandboxServer, spec: VendorSpec) -> list[dict[str, Any]]:
    return sandbox.admin("GET", f"/requests?vendor={sandbox_name(spec)}")["requests"]


def describe(log: list[dict[str, Any]]) -> list[str]:
    return [f"{r['method']} {r['path']} -> {r['outcome']} {r['status']}" for r in log]


def check_time(elapsed: float, expect: Expect) -> None:
    assert expect.min_seconds <= elapsed <= expect.max_seconds, (
        f"took {elapsed:.2f}s, expected {expect.min_seconds}..{expect.max_seconds}s"
    )


def test_every_registered_vendor_has_a_driver():
    assert sorted(DRIVERS) == sorted(vendors()), "add a driver to tests/e2e/fault_vendors.py for each new vendor"


def test_vendor_readings_name_registered_vendors():
    for case in CASES:
        assert set(case.sync_by_vendor) | set(case.poll_by_vendor) <= set(vendors()), f"{case.id}: unknown vendor"


@pytest.mark.parametrize(("spec", "case"), MATRIX)
def test_sync_cancel(spec: VendorSpec, case: FaultCase, matrix_sandbox: SandboxServer, set_conn: Any) -> None:
    vendor = driver(spec.name)
    expect = sync_expectation(case, spec.name)
    connect(set_conn, matrix_sandbox, spec, case)
    target = vendor.seed_active(matrix_sandbox)
    inject(matrix_sandbox, spec, case)
    hook = hook_for(
        spec, retry_limit=CANCEL_RETRY_LIMIT, **{"retry_max_wait": CANCEL_RETRY_MAX_WAIT, **case.cancel_hook}
    )
    started = time.monotonic()
    result: Any = None
    error: BaseException | None = None
    try:
        result = vendor.cancel(hook, target)
    except CancelProviderError as exc:
        error = exc
    elapsed = time.monotonic() - started
    let_abandoned_requests_finish(case)
    log = requests_seen(matrix_sandbox, spec)
    cancels = vendor.effective_cancels(matrix_sandbox.admin("GET", f"/{sandbox_name(spec)}/state"))

    if expect.outcome == SUCCESS:
        assert error is None, f"expected success, got {error!r}; requests: {describe(log)}"
        assert result.outcome.value == expect.result, result
    else:
        assert type(error).__name__ == expect.outcome, f"expected {expect.outcome}, got {error!r} / {result!r}"
        if isinstance(error, VendorAPIError):
            assert (error.status_code, error.is_transient) == (expect.status_code, expect.transient), error
        if expect.message is not None:
            assert expect.message in str(error) and "<" not in str(error), error
    assert len(log) == expect.requests, describe(log)
    assert cancels == expect.cancels, f"{cancels} cancels took effect; requests: {describe(log)}"
    check_time(elapsed, expect)


def make_trigger(spec: VendorSpec, target: dict[str, Any]) -> CampaignStatusTrigger:
    kwargs: dict[str, Any] = {
        "hook_class": spec.hook,
        "conn_id": spec.default_conn_id,
        "target": target,
        "poll_interval": POLL_INTERVAL,
        "max_consecutive_failures": POLL_MAX_FAILURES,
        "retry_limit": POLL_RETRY_LIMIT,
    }
    if "first_poll_delay" in inspect.signature(CampaignStatusTrigger).parameters:
        kwargs["first_poll_delay"] = 0  # poll at once: the faults wait for the first request
    return CampaignStatusTrigger(**kwargs)


async def poll(spec: VendorSpec, target: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    events = [event.payload async for event in make_trigger(spec, target).run()]
    return events, time.monotonic() - started


def poll_problems(
    spec: VendorSpec, expect: Expect, events: list[dict[str, Any]], elapsed: float, log: list[dict[str, Any]]
) -> list[str]:
    """What the vendor's trigger did differently from ``expect`` (empty when it behaved)."""
    if len(events) != 1:
        return [f"fired {len(events)} events: {events}"]
    event, problems = events[0], []
    if expect.outcome == SUCCESS:
        if event["status"] != "success":
            problems.append(f"expected success, got {event}")
    elif event["status"] != "error" or event.get("vendor") != spec.name:
        problems.append(f"expected an error event from {spec.name}, got {event}")
    elif (event["status_code"], event["retryable"]) != (expect.status_code, expect.transient):
        problems.append(f"expected status_code={expect.status_code} retryable={expect.transient}, got {event}")
    elif expect.message is not None and (expect.message not in event["message"] or "<" in event["message"]):
        problems.append(f"expected {expect.message!r} (and no markup) in {event['message']!r}")
    if len(log) != expect.requests:
        problems.append(f"expected {expect.requests} requests, saw {describe(log)}")
    if any(r["method"] in WRITES for r in log):
        problems.append(f"the status poll wrote: {describe(log)}")
    if not expect.min_seconds <= elapsed <= expect.max_seconds:
        problems.append(f"took {elapsed:.2f}s, expected {expect.min_seconds}..{expect.max_seconds}s")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_status_poll(case: FaultCase, matrix_sandbox: SandboxServer, set_conn: Any) -> None:
    # Every vendor polls at once (the sandbox keeps faults and request logs per vendor): the trigger's
    # hook backs off 0.5 s between attempts; one vendor after the other would take that many times as long.
    driven = [spec for spec in SPECS if spec.name in DRIVERS]
    problems: dict[str, list[str]] = {
        spec.name: ["no driver in tests/e2e/fault_vendors.py"] for spec in SPECS if spec.name not in DRIVERS
    }
    targets = {}
    for spec in driven:
        connect(set_conn, matrix_sandbox, spec, case)
        targets[spec.name] = driver(spec.name).seed_settled(matrix_sandbox)
    matrix_sandbox.admin("DELETE", "/requests")
    for spec in driven:
        inject(matrix_sandbox, spec, case, clear_log=False)
    runs = await asyncio.gather(*(poll(spec, targets[spec.name]) for spec in driven))
    let_abandoned_requests_finish(case)
    for spec, (events, elapsed) in zip(driven, runs, strict=True):
        expect = poll_expectation(case, spec.name)
        problems[spec.name] = poll_problems(spec, expect, events, elapsed, requests_seen(matrix_sandbox, spec))
    assert not {name: found for name, found in problems.items() if found}


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_a_post_without_idempotency_is_never_repeated_after_a_reset(
    spec: VendorSpec, matrix_sandbox: SandboxServer, set_conn: Any
) -> None:
    # The base path every vendor's non-idempotent write takes (e.g. an Arsel cancel without a key, a
    # broad SuprSend cancel, a Periskope purge-all): the vendor may have acted, so it is sent once.
    case = next(c for c in CASES if c.id == "reset-after-headers")
    connect(set_conn, matrix_sandbox, spec, case)
    inject(matrix_sandbox, spec, case)
    hook = hook_for(spec, retry_limit=CANCEL_RETRY_LIMIT, retry_max_wait=CANCEL_RETRY_MAX_WAIT)
    with pytest.raises(VendorAPIError) as err:
        hook.request("POST", "/fault-matrix/write", json={})
    assert err.value.status_code is None and err.value.is_transient
    assert [a.may_have_acted for a in err.value.attempts] == [True]
    assert len(requests_seen(matrix_sandbox, spec)) == 1
