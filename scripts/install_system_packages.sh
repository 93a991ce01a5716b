#!/usr/bin/env bash
# Install the Debian packages the tests drive, when they are missing:
#   chromium (tests/ui, the kill switch in the browser): Playwright (the `test` extra) drives it through
#     executable_path; we never run `playwright install`, which downloads a browser from elsewhere;
#   postgresql and redis-server (tests/deployment with DEPLOYMENT_DB=postgres or
#     DEPLOYMENT_EXECUTOR=celery): the tests start their own throw-away servers on 127.0.0.1.
# Safe to run again: it does nothing when everything is there.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium fonts-dejavu-core)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_packages.sh: missing ${missing[*]} and this is not a Debian/Ubuntu machine;" \
    "install them yourself (Chromium: set CHROMIUM=/path/to/chromium)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install_system_packages.sh: need root (or sudo) to apt-get install ${missing[*]}." >&2
    exit 1
  fi
  SUDO="sudo"
fi
echo "Installing Debian's ${missing[*]} for the tests (takes a minute)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# No service is started: the tests start their own servers (Debian starts none in a container anyway).
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
