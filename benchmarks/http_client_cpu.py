"""Client CPU per request: the HTTP paths the provider uses against the cheaper/dearer alternatives.

Run on demand (not part of the test suite)::

    .venv/bin/python benchmarks/http_client_cpu.py [--requests 400] [--concurrency 8]

The sandbox runs in a separate process on 127.0.0.1, so only the client's CPU is measured
(``time.process_time`` of this process). Each row's ratio is against the baseline measured in the
same run: for the async rows, a new ``aiohttp.ClientSession`` per request (what Airflow's HTTP sensor
trigger does); for the sync rows, a bare ``requests.get`` per call. Plain HTTP on loopback: TLS
handshakes would widen the gap for the per-request-session rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import requests

KEY = "be_sandbox_key"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def start_sandbox() -> tuple[subprocess.Popen, str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cancel.sandbox", "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("sandbox did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def admin(url: str, method: str, path: str, body: dict | None = None) -> dict:
    return requests.request(method, f"{url}/_admin{path}", json=body, timeout=10).json()


def measure(fn: Callable[[], None]) -> float:
    cpu = time.process_time()
    fn()
    return time.process_time() - cpu


async def fan_out(n: int, concurrency: int, one: Callable[[], Awaitable[None]]) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def guarded() -> None:
        async with sem:
            await one()

    await asyncio.gather(*(guarded() for _ in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    n, conc = args.requests, args.concurrency

    proc, base = start_sandbox()
    try:
        admin(base, "POST", "/config", {"arsel": {"rate_limit_per_second": 0}})
        campaign = admin(
            base, "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "b", "status": "sending"}]}
        )
        cid = campaign["campaigns"][0]["id"]
        url = f"{base}/arsel/v1/email/campaigns/{cid}"

        os.environ["AIRFLOW_CONN_ARSEL_BENCH"] = json.dumps(
            {"conn_type": "arsel", "host": f"{base}/arsel/v1", "password": KEY}
        )
        from airflow_provider_cancel.hooks.arsel import ArselHook

        async def new_session_each() -> None:
            async def one() -> None:
                async with aiohttp.ClientSession() as s, s.get(url, headers=HEADERS) as r:
                    await r.read()

            await fan_out(n, conc, one)

        async def shared_aiohttp() -> None:
            async with aiohttp.ClientSession() as s:

                async def one() -> None:
                    async with s.get(url, headers=HEADERS) as r:
                        await r.read()

                await fan_out(n, conc, one)

        async def shared_httpx() -> None:
            import httpx

            async with httpx.AsyncClient() as c:

                async def one() -> None:
                    (await c.get(url, headers=HEADERS)).raise_for_status()

                await fan_out(n, conc, one)

        async def provider_trigger_path() -> None:
            hook = ArselHook("arsel_bench")
            async with hook.async_session():

                async def one() -> None:
                    await hook.aget_status(campaign_id=cid, channel="email")

                await fan_out(n, conc, one)

        def bare_requests_get() -> None:
            for _ in range(n):
                requests.get(url, headers=HEADERS, timeout=10).raise_for_status()

        def pooled_session() -> None:
            with requests.Session() as s:
                for _ in range(n):
                    s.get(url, headers=HEADERS, timeout=10).raise_for_status()

        def provider_sync_path() -> None:
            hook = ArselHook("arsel_bench")
            for _ in range(n):
                hook.get_status(campaign_id=cid, channel="email")

        # Warm up imports and the sandbox once so the first row is not charged for them.
        asyncio.run(shared_aiohttp())
        rows_async = [
            ("aiohttp, new session per request (baseline)", lambda: asyncio.run(new_session_each())),
            ("httpx, shared AsyncClient", lambda: asyncio.run(shared_httpx())),
            ("aiohttp, shared session", lambda: asyncio.run(shared_aiohttp())),
            ("provider trigger path (hook.aget_status)", lambda: asyncio.run(provider_trigger_path())),
        ]
        rows_sync = [
            ("requests.get per call (baseline)", bare_requests_get),
            ("requests.Session, pooled", pooled_session),
            ("provider sync path (hook.get_status)", provider_sync_path),
        ]
        print(f"{n} GET requests per row, async concurrency {conc}, sandbox in a separate process\n")
        for title, rows in (("async (triggers)", rows_async), ("sync (operators)", rows_sync)):
            results = [(name, measure(fn)) for name, fn in rows]
            baseline = results[0][1]
            print(f"{title:<45} {'client CPU ms/req':>18} {'vs baseline':>12}")
            for name, cpu in results:
                print(f"  {name:<43} {cpu / n * 1000:>18.3f} {cpu / baseline:>11.2f}x")
            print()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
