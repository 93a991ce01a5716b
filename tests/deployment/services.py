"""Debian's PostgreSQL and Redis servers on 127.0.0.1 for the deployment tests, started and stopped here.

Each lives in its own temporary directory and port, so nothing on the machine is touched. PostgreSQL
refuses to run as root, so as root the server runs as Debian's ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.api_server import free_port

INSTALL_HINT = "apt-get install -y postgresql redis-server"


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found; install the server: {INSTALL_HINT}")
    return found


@contextmanager
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster (trust auth, loopback only); yields its SQLAlchemy URL."""
    root = Path(tempfile.mkdtemp(prefix="apc-postgres-"))
    root.chmod(0o755)
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([*as_postgres, _postgres_bin("initdb"), "-D", str(data), "-U", "airflow", "--auth=trust"], **run)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    pg_ctl = _postgres_bin("pg_ctl")
    subprocess.run(
        [*as_postgres, pg_ctl, "-D", str(data), "-l", str(root / "postgres.log"), "-o", options, "-w", "start"], **run
    )
    try:
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis() -> Iterator[str]:
    """A Redis server with no persistence; yields its URL (the Celery broker)."""
    server = shutil.which("redis-server")
    if not server:
        raise RuntimeError(f"redis-server not found: {INSTALL_HINT}")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(
            [server.replace("server", "cli"), "-p", str(port), "ping"], capture_output=True
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
