#!/usr/bin/env bash
# Installs what the tests need beyond npm packages: runs every scripts/setup-*.sh (system packages such as
# Debian's chromium, the real VS Code for extension tests). Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for step in scripts/setup-*.sh; do
  echo "== $step"
  bash "$step"
done
