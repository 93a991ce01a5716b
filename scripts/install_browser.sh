#!/usr/bin/env bash
# Install the headless browser the UI tests (tests/ui) drive: Debian's chromium package.
# Playwright (the `test` extra) drives it through executable_path; we never run
# `playwright install`, which would download a browser build from outside the package registries.
# Safe to run again: it does nothing when /usr/bin/chromium is already there.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: $CHROMIUM is missing and this is not a Debian/Ubuntu machine;" \
    "install Chromium yourself and set CHROMIUM=/path/to/chromium." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install_browser.sh: need root (or sudo) to apt-get install chromium." >&2
    exit 1
  fi
  SUDO="sudo"
fi
echo "Installing Debian's chromium for the UI tests (takes a minute)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$CHROMIUM" --version
