#!/usr/bin/env bash
# Run every benchmark in benchmarks/ and print one table (about 8 minutes on 2 cores; --quick: seconds).
#   bash benchmarks/run.sh [--quick] [NAME ...] [--json PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m benchmarks "$@"
