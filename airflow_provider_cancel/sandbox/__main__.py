"""``python -m airflow_provider_cancel.sandbox [--host H] [--port P] [--port-file PATH] [--tls [--ca-file PATH]] [--verbose]``.

Runs in the foreground until SIGINT/SIGTERM. With ``--port 0`` a free port is
picked; ``--port-file`` receives it (written atomically) so scripts can wait for it.
With ``--tls`` it serves HTTPS with a self-signed certificate made at start; its path is printed,
and ``--ca-file`` receives a copy (written before the port file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading

from airflow_provider_cancel.sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_cancel.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--port-file", help="write the bound port here once listening; removed on exit")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate made at start")
    parser.add_argument(
        "--ca-file", help="with --tls: copy the certificate (the CA file to trust) here; removed on exit"
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    if args.ca_file and not args.tls:
        parser.error("--ca-file needs --tls")

    try:
        server = SandboxServer(args.host, args.port, quiet=not args.verbose, tls=args.tls)
    except ValueError as e:
        parser.error(str(e))
    if args.port_file and os.path.exists(args.port_file):
        os.remove(args.port_file)  # never let a waiting script read a stale port
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server.start()
    except OSError as e:  # e.g. port already in use
        parser.exit(1, f"sandbox: cannot listen on {args.host}:{args.port}: {e}\n")
    try:
        print(f"sandbox listening on {server.url}", flush=True)
        for name in server.app.vendors:
            print(f"  {name}: {server.vendor_url(name)}", flush=True)
        print(f"  admin: {server.url}/_admin", flush=True)
        if server.ca_file:
            print(f"  CA file (self-signed certificate to trust): {server.ca_file}", flush=True)
        if args.ca_file and server.ca_file:
            tmp = f"{args.ca_file}.tmp{os.getpid()}"
            shutil.copyfile(server.ca_file, tmp)
            os.replace(tmp, args.ca_file)
        if args.port_file:
            tmp = f"{args.port_file}.tmp{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(f"{server.port}\n")
            os.replace(tmp, args.port_file)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for path in (args.port_file, args.ca_file):
            if path and os.path.exists(path):
                os.remove(path)
        print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
