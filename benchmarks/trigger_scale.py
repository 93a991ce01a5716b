"""Many deferred waits in one triggerer event loop: our trigger against the HTTP provider's and the floor.

N triggers run in one asyncio loop (a fresh client process per configuration) against the sandbox
in its own process over HTTPS (self-signed certificate, trusted through ``SSL_CERT_FILE`` and our
connection's ``ca_bundle`` extra). Each polls every ``interval`` seconds for ``duration`` seconds,
first polls spread evenly over one interval. Configurations:

- ``floor``: one shared ``aiohttp.ClientSession``, a bare GET and ``json()`` per poll, then sleep;
  the least any Python poller on aiohttp can spend (the baseline).
- ``ours``: :class:`~airflow_provider_cancel.triggers.campaign_status.CampaignStatusTrigger` on the
  Arsel hook (connection from ``AIRFLOW_CONN_*``), waiting for ``cancelled`` on a ``sending`` campaign.
- ``http_sensor``: ``apache-airflow-providers-http``'s ``HttpSensorTrigger`` (a new session, so a new
  TLS connection, per poll) on a URL that answers 404, so it keeps polling.

Every configuration runs in a process with Airflow loaded (``airflow.sdk``, ``airflow.triggers.base``),
as in a triggerer: garbage collection pauses, and so event-loop lag, depend on it.

Per configuration: client CPU per poll (``time.process_time`` of the client over the window / polls
done), memory per trigger (RSS growth from before the triggers were made to the end of the window,
/ N), the worst event-loop lag (a 50 ms ticker's worst overshoot) and polls done / polls due (due:
what a zero-latency poller would have started in the window). The sandbox's CPU share is shown to
tell a slow client from a saturated server.

    .venv/bin/python -m benchmarks.trigger_scale [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Row, SandboxProcess, child_env, cli, python, sandbox_process, seed_arsel

KEY = "be_sandbox_key"
CONN_ID = "arsel_bench"
HTTP_CONN_ID = "http_bench"
TICK_S = 0.05

# Goals (issue "Time to stop"): against the floor measured in the same run.
GOAL_CPU_RATIO = 1.15
GOAL_LAG_RATIO = 2.0
GOAL_EXTRA_KIB = 5.0
GOAL_ON_TIME = 0.95


# --------------------------------------------------------------------------- the client process
def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _Counter:
    polls = 0


_FLOOR_SESSIONS: dict[str, Any] = {}


def _sandbox_cpu_s() -> float:
    stat = Path(f"/proc/{os.environ['BENCH_SANDBOX_PID']}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _counting_arsel_hook() -> str:
    """Our Arsel hook, counting answered status reads (the trigger builds it from a dotted path)."""
    from airflow_provider_cancel.hooks.arsel import ArselHook

    class CountingArselHook(ArselHook):
        # Counted where the answer is read (a plain call: no extra coroutine per poll to charge to ours).
        def parse_status(self, *args: Any, **target: Any) -> Any:
            _Counter.polls += 1
            return super().parse_status(*args, **target)

    CountingArselHook.__module__ = __name__
    CountingArselHook.__qualname__ = "CountingArselHook"
    globals()["CountingArselHook"] = CountingArselHook
    return f"{__name__}.CountingArselHook"


def _make_pollers(config: str, base_url: str, ca_file: str, ids: list[str], interval: float) -> list[Any]:
    """One zero-argument coroutine function per trigger: runs its poll loop until cancelled."""
    if config == "floor":
        import ssl

        import aiohttp

        context = ssl.create_default_context(cafile=ca_file)
        shared = _FLOOR_SESSIONS
        headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}

        def floor(cid: str) -> Any:
            url = f"{base_url}/arsel/v1/email/campaigns/{cid}"

            async def loop() -> None:
                if "s" not in shared:
                    shared["s"] = aiohttp.ClientSession()
                session = shared["s"]
                while True:
                    async with session.get(url, headers=headers, ssl=context) as response:
                        await response.json()
                    _Counter.polls += 1
                    await asyncio.sleep(interval)

            return loop

        return [floor(cid) for cid in ids]
    if config == "ours":
        from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

        hook_class = _counting_arsel_hook()

        def ours(cid: str) -> Any:
            trigger = CampaignStatusTrigger(
                hook_class=hook_class,
                conn_id=CONN_ID,
                target={"campaign_id": cid, "channel": "email"},
                target_state="cancelled",
                poll_interval=interval,
                first_poll_delay=0,
            )

            async def loop() -> None:
                async for event in trigger.run():
                    raise RuntimeError(f"the trigger fired: {event}")

            return loop

        return [ours(cid) for cid in ids]
    if config == "http_sensor":
        from airflow.providers.http.hooks.http import HttpAsyncHook
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        class CountingHttpAsyncHook(HttpAsyncHook):
            async def run(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await super().run(*args, **kwargs)
                finally:
                    _Counter.polls += 1

        class CountingHttpSensorTrigger(HttpSensorTrigger):
            def _get_async_hook(self) -> HttpAsyncHook:
                return CountingHttpAsyncHook(method=self.method, http_conn_id=self.http_conn_id)

        def sensor(cid: str) -> Any:
            trigger = CountingHttpSensorTrigger(
                endpoint=f"arsel/v1/email/campaigns/missing-{cid}",  # 404: the sensor keeps poking
                http_conn_id=HTTP_CONN_ID,
                headers={"Authorization": f"Bearer {KEY}"},
                poke_interval=interval,
            )

            async def loop() -> None:
                async for event in trigger.run():
                    raise RuntimeError(f"the trigger fired: {event}")

            return loop

        return [sensor(cid) for cid in ids]
    raise ValueError(f"unknown configuration {config!r}")


async def _workload(config: str, n: int, interval: float, duration: float, base_url: str, ca_file: str) -> dict:
    ids = json.loads(Path(os.environ["BENCH_IDS_FILE"]).read_text())[:n]
    loop = asyncio.get_running_loop()
    # Warm up: imports and one poller's code paths, outside the window and before the RSS baseline.
    for warm in _make_pollers(config, base_url, ca_file, ids[:1], interval):
        task = asyncio.ensure_future(warm())
        await asyncio.sleep(min(1.0, interval / 2))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    _Counter.polls = 0
    rss_before = _rss_kib()
    pollers = _make_pollers(config, base_url, ca_file, ids, interval)
    worst_lag = 0.0

    async def ticker() -> None:
        nonlocal worst_lag
        while True:
            started = loop.time()
            await asyncio.sleep(TICK_S)
            worst_lag = max(worst_lag, loop.time() - started - TICK_S)

    async def staggered(i: int, poll: Any) -> None:
        await asyncio.sleep(i * interval / n)  # first polls spread evenly over one interval
        await poll()

    gc_pauses = {0: 0.0, 1: 0.0, 2: 0.0}
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:  # the worst pause of each generation, in the window
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gen = info["generation"]
            gc_pauses[gen] = max(gc_pauses[gen], time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)
    full_collections = gc.get_stats()[2]["collections"]
    cpu0, sandbox0, wall0 = time.process_time(), _sandbox_cpu_s(), time.monotonic()
    tasks = [asyncio.ensure_future(staggered(i, p)) for i, p in enumerate(pollers)]
    tasks.append(asyncio.ensure_future(ticker()))
    # Steady state: from the end of the first interval (every trigger has started and polled once).
    await asyncio.sleep(min(interval, duration / 2))
    cpu_mid, polls_mid = time.process_time(), _Counter.polls
    await asyncio.sleep(duration - min(interval, duration / 2))
    cpu = time.process_time() - cpu0
    cpu_steady, polls_steady = time.process_time() - cpu_mid, _Counter.polls - polls_mid
    sandbox_share = (_sandbox_cpu_s() - sandbox0) / (time.monotonic() - wall0)
    gc.callbacks.remove(on_gc)
    full_collections = gc.get_stats()[2]["collections"] - full_collections
    polls = _Counter.polls
    rss_after = _rss_kib()
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for session in _FLOOR_SESSIONS.values():
        await session.close()
    due = sum(
        len([k for k in range(int(duration / interval) + 1) if i * interval / n + k * interval < duration])
        for i in range(n)
    )
    return {
        "config": config,
        "n": n,
        "cpu_s": cpu,
        "polls": polls,
        "cpu_steady_s": cpu_steady,
        "polls_steady": polls_steady,
        "due": due,
        "rss_kib_per_trigger": (rss_after - rss_before) / n,
        "worst_lag_s": worst_lag,
        "sandbox_cpu_share": sandbox_share,
        "worst_gc_pause_s": max(gc_pauses.values()),
        "full_collections": full_collections,
        "failed": len(failed),
        "first_error": repr(failed[0].exception())[:300] if failed else "",
    }


def _child(argv: list[str]) -> None:
    config, n, interval, duration, base_url, ca_file, out = argv
    # Every configuration runs where a triggerer runs triggers: in a process with Airflow loaded. This
    # matters for the floor too: a full garbage collection walks Airflow's ~0.5M import-time objects.
    import airflow.sdk
    import airflow.triggers.base  # noqa: F401

    result = asyncio.run(_workload(config, int(n), float(interval), float(duration), base_url, ca_file))
    Path(out).write_text(json.dumps(result))


# --------------------------------------------------------------------------- the parent
def _run_config(sandbox: SandboxProcess, ids: list[str], config: str, n: int, interval: float, duration: float) -> dict:
    assert sandbox.ca_file is not None
    workdir = Path(tempfile.mkdtemp(prefix="bench-trigger-"))
    out, ids_file = workdir / "result.json", workdir / "ids.json"
    ids_file.write_text(json.dumps(ids[:n]))  # too long for an environment variable at n=5000
    port = sandbox.url.rsplit(":", 1)[1]
    env = child_env(
        SSL_CERT_FILE=sandbox.ca_file,
        BENCH_IDS_FILE=str(ids_file),
        BENCH_SANDBOX_PID=str(sandbox.proc.pid),
        AIRFLOW_CONN_ARSEL_BENCH=json.dumps(
            {
                "conn_type": "arsel",
                "host": f"{sandbox.url}/arsel/v1",
                "password": KEY,
                "extra": {"ca_bundle": sandbox.ca_file},
            }
        ),
        AIRFLOW_CONN_HTTP_BENCH=json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "schema": "https", "port": int(port)}
        ),
    )
    subprocess.run(
        [
            python(),
            "-m",
            "benchmarks.trigger_scale",
            "--child",
            config,
            str(n),
            str(interval),
            str(duration),
            sandbox.url,
            sandbox.ca_file,
            str(out),
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,  # the triggers' INFO logs (a triggerer writes them somewhere too)
        timeout=duration * 3 + 120,
    )
    result = json.loads(out.read_text())
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def _have_http_provider() -> bool:
    try:
        import airflow.providers.http.triggers.http  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool) -> list[Row]:
    n, interval, duration, big_n = (20, 0.5, 1.5, 50) if quick else (1000, 5.0, 60.0, 5000)
    configs = ["floor", "ours"] + (["http_sensor"] if _have_http_provider() else [])
    with sandbox_process(tls=True) as sandbox:
        ids = seed_arsel(sandbox, max(n, big_n))
        results = {c: _run_config(sandbox, ids, c, n, interval, duration) for c in configs}
        big = {c: _run_config(sandbox, ids, c, big_n, interval, duration) for c in ("floor", "ours")}
    return _rows(results, big, n, big_n, interval, duration) + (
        []
        if "http_sensor" in results
        else [Row("trigger_scale", "http_sensor", "skipped", 0, "", note="pip install '.[benchmarks]'")]
    )


def _rows(results: dict, big: dict, n: int, big_n: int, interval: float, duration: float) -> list[Row]:
    names = {
        "floor": "floor: shared aiohttp session",
        "ours": "ours: CampaignStatusTrigger",
        "http_sensor": "HttpSensorTrigger (http provider)",
    }

    def cpu_us(r: dict) -> float:
        return r["cpu_s"] / max(r["polls"], 1) * 1e6

    def steady_us(r: dict) -> float:
        return r["cpu_steady_s"] / max(r["polls_steady"], 1) * 1e6

    def diagnostics(r: dict) -> str:
        failed = f"; {r['failed']} failed: {r['first_error']}" if r["failed"] else ""
        return (
            f"sandbox CPU {r['sandbox_cpu_share']:.0%} of a core; worst GC pause {r['worst_gc_pause_s'] * 1000:.0f} ms "
            f"({r['full_collections']} full collections){failed}"
        )

    floor = results["floor"]
    rows: list[Row] = []
    size = f"n={n}, every {interval:g}s for {duration:g}s, TLS"
    for config, r in results.items():

        def row(
            metric: str,
            value: float,
            unit: str,
            base: float | None,
            goal: str,
            met: bool | None,
            note: str = "",
            *,
            config: str = config,
        ) -> Row:
            ours = config == "ours"
            return Row(
                "trigger_scale",
                names[config],
                metric,
                value,
                unit,
                None if config == "floor" else base,
                "floor",
                goal if ours else "",
                met if ours else None,
                note,
            )

        rows += [
            row(
                "client CPU per poll, whole window",
                cpu_us(r),
                "us",
                cpu_us(floor),
                f"<= {GOAL_CPU_RATIO}x floor",
                cpu_us(r) <= GOAL_CPU_RATIO * cpu_us(floor),
                f"{size}; each trigger's start (connection lookup, first log line) included; {diagnostics(r)}",
            ),
            row(
                "client CPU per poll, steady state",
                steady_us(r),
                "us",
                steady_us(floor),
                f"<= {GOAL_CPU_RATIO}x floor",
                steady_us(r) <= GOAL_CPU_RATIO * steady_us(floor),
                f"after the first {interval:g}s (every trigger started)",
            ),
            row(
                "memory per trigger (RSS)",
                r["rss_kib_per_trigger"],
                "KiB",
                floor["rss_kib_per_trigger"],
                f"<= floor + {GOAL_EXTRA_KIB:g} KiB",
                r["rss_kib_per_trigger"] <= floor["rss_kib_per_trigger"] + GOAL_EXTRA_KIB,
            ),
            row(
                "worst event-loop lag",
                r["worst_lag_s"] * 1000,
                "ms",
                floor["worst_lag_s"] * 1000,
                f"<= {GOAL_LAG_RATIO:g}x floor",
                r["worst_lag_s"] <= GOAL_LAG_RATIO * floor["worst_lag_s"],
            ),
            row("polls done / due", 100 * r["polls"] / r["due"], "%", None, "", None, f"{r['polls']}/{r['due']}"),
        ]
    for config, r in big.items():
        ours = config == "ours"
        floor_big = big["floor"]
        rows.append(
            Row(
                "trigger_scale",
                f"{names[config]}, n={big_n}",
                "polls done / due",
                100 * r["polls"] / r["due"],
                "%",
                100 * floor_big["polls"] / floor_big["due"] if ours else None,
                "floor",
                f">= {GOAL_ON_TIME:.0%}" if ours else "",
                (r["polls"] / r["due"] >= GOAL_ON_TIME) if ours else None,
                f"{r['polls']}/{r['due']}; lag {r['worst_lag_s'] * 1000:.0f} ms; CPU {cpu_us(r):.0f} us/poll "
                f"({steady_us(r):.0f} steady); {diagnostics(r)}",
            )
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        cli(run, __doc__.splitlines()[0])
