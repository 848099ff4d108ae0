#!/usr/bin/env bash
# Installs the headless browser the web-terminal test drives (Debian's chromium, run by playwright-core).
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
apt_install --no-install-recommends chromium
/usr/bin/chromium --version
