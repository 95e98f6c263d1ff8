#!/usr/bin/env bash
# Install Debian's chromium for the HTML report's browser test (tests/test_report_html.py),
# where it is missing and this runs as root with apt-get. Never fails the caller: without
# chromium that one test skips with a one-line reason. Output goes to .venv/setup.log.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=.venv/setup.log
say() { echo "askdocs setup: $*" >&2; }
mkdir -p .venv

if command -v chromium >/dev/null 2>&1; then
  say "chromium (already there)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "chromium missing (needs root and apt-get to install): the browser test will skip"
  exit 0
fi
t0=$EPOCHREALTIME
echo "=== scripts/chromium.sh $(date -Is)" >>"$LOG"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >>"$LOG" 2>&1 &&
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >>"$LOG" 2>&1; then
  say "chromium installed … $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }") s"
else
  say "chromium could not be installed (see $LOG): the browser test will skip"
  tail -n 5 "$LOG" >&2
fi
exit 0
