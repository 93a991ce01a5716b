"""Client CPU per call of the operator path: our sync hook against bare ``requests`` and ``HttpHook``.

1,000 status GETs of one Arsel campaign over HTTPS (the sandbox in its own process, self-signed
certificate) through each client; client CPU is ``time.process_time`` of this process, so the
server's work is not counted. Rows, against a pooled ``requests.Session`` (the baseline, measured in
the same run):

- ``ours``: ``ArselHook.get_status`` (connection from ``AIRFLOW_CONN_*`` with the ``ca_bundle``
  extra; settings, headers, retries, JSON parse and status mapping included);
- ``HttpHook.run`` of ``apache-airflow-providers-http`` (its session handling, per call);
- ``requests.get`` per call (a new connection and TLS handshake every time).

Paths alternate over several rounds and the median round counts, so a noisy neighbour hits all.

    .venv/bin/python -m benchmarks.hook_call_cost [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Row, cli, median, sandbox_process, seed_arsel

KEY = "be_sandbox_key"
GOAL_RATIO = 1.1


def run(quick: bool) -> list[Row]:
    import requests

    n, rounds = (30, 1) if quick else (1000, 3)
    with sandbox_process(tls=True) as sandbox:
        assert sandbox.ca_file is not None
        (cid,) = seed_arsel(sandbox, 1)
        port = sandbox.url.rsplit(":", 1)[1]
        url = f"{sandbox.url}/arsel/v1/email/campaigns/{cid}"
        headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
        os.environ["AIRFLOW_CONN_ARSEL_BENCH"] = json.dumps(
            {
                "conn_type": "arsel",
                "host": f"{sandbox.url}/arsel/v1",
                "password": KEY,
                "extra": {"ca_bundle": sandbox.ca_file},
            }
        )
        os.environ["AIRFLOW_CONN_HTTP_BENCH"] = json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "schema": "https",
                "port": int(port),
                "extra": {"verify": sandbox.ca_file},
            }
        )
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_file  # HttpHook's sessions trust the environment
        from airflow_provider_cancel.hooks.arsel import ArselHook

        session = requests.Session()
        hook = ArselHook("arsel_bench")

        def pooled() -> None:
            session.get(url, headers=headers, timeout=10, verify=sandbox.ca_file).json()

        def ours() -> None:
            hook.get_status(campaign_id=cid, channel="email")

        def bare_get() -> None:
            requests.get(url, headers=headers, timeout=10, verify=sandbox.ca_file).json()

        paths: dict[str, Callable[[], None]] = {
            "pooled requests.Session (baseline)": pooled,
            "ours: ArselHook.get_status": ours,
            "requests.get per call": bare_get,
        }
        try:
            from airflow.providers.http.hooks.http import HttpHook
        except ImportError:
            pass
        else:
            http_hook = HttpHook(method="GET", http_conn_id="http_bench")

            def http_hook_run() -> None:
                http_hook.run(f"arsel/v1/email/campaigns/{cid}", headers=headers).json()

            paths["HttpHook.run (http provider)"] = http_hook_run
        for fn in paths.values():  # warm up: imports, connection lookups, the first TLS handshakes
            for _ in range(5):
                fn()
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(rounds):
            for name, fn in paths.items():
                cpu = time.process_time()
                for _ in range(n):
                    fn()
                samples[name].append((time.process_time() - cpu) / n * 1e6)
        session.close()
    cost = {name: median(values) for name, values in samples.items()}
    baseline = cost["pooled requests.Session (baseline)"]
    rows = []
    for name, value in cost.items():
        is_ours = name.startswith("ours")
        rows.append(
            Row(
                "hook_call_cost",
                name,
                "client CPU per call",
                value,
                "us",
                None if name.startswith("pooled") else baseline,
                "pooled session",
                f"<= {GOAL_RATIO}x pooled session" if is_ours else "",
                (value <= GOAL_RATIO * baseline) if is_ours else None,
                f"{n} GETs over TLS, median of {rounds} rounds",
            )
        )
    return rows


if __name__ == "__main__":
    cli(run, __doc__.splitlines()[0])
