"""Run ``airflow api-server`` for the UI tests, with one upstream Airflow fix back-ported if missing.

Usage: ``python tests/ui/airflow_api_server.py api-server -H 127.0.0.1 -p PORT ...`` (the same
arguments as the ``airflow`` command).

Why the back-port: in apache-airflow-core 3.3.2 the connection list's *Test* button fails with
"400 Bad Request" for **every** connection that has no port (ours, ``http``, ``aws``, ...). The UI
posts ``port: Number(null)``, which is ``0``; the API compares it with the stored ``NULL``, decides
the caller points the stored secret at another endpoint, and refuses because the UI sends the
masked ``***`` password. apache/airflow#73298 fixed it after 3.3.2 by treating port ``0`` like a
blank one. We apply exactly that comparison here, and only when the installed Airflow still has the
bug, so the browser test exercises our provider's form and ``test_connection`` rather than the
upstream bug. Nothing in the provider patches Airflow: docs/connections.md tells 3.3.2 users the
workarounds.
"""

from __future__ import annotations

import sys


def _backport_portless_test_fix() -> bool:
    """Apply apache/airflow#73298 if needed; return whether it was applied."""
    from airflow.api_fastapi.core_api.routes.public import connections as routes

    same_endpoint = getattr(routes, "_same_endpoint", None)
    if same_endpoint is None or same_endpoint(0, None):
        return False  # fixed upstream (or the code moved on): run Airflow as it is

    def _same_endpoint(requested: str | int | None, stored: str | int | None) -> bool:
        def _norm(value: str | int | None) -> str | int | None:
            return None if value is None or value == "" or value == 0 else value

        return _norm(requested) == _norm(stored)

    routes._same_endpoint = _same_endpoint
    return True


def main() -> None:
    if _backport_portless_test_fix():
        print(
            "tests/ui: back-ported apache/airflow#73298 (Test button on connections without a port)",
            file=sys.stderr,
            flush=True,
        )
    from airflow.__main__ import main as airflow_main

    sys.argv[0] = "airflow"
    airflow_main()


if __name__ == "__main__":
    main()
