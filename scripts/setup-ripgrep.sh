#!/usr/bin/env bash
# ripgrep (`rg`), which GET /files/search and /files/find use when it is installed (Debian's `ripgrep`);
# without it the server searches in Node. The files tests compare the server's answers with rg's.
# Idempotent: installs only when missing.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
if command -v rg >/dev/null 2>&1; then
  echo "ripgrep: already installed ($(rg --version | head -1))"
  exit 0
fi
apt_install --no-install-recommends ripgrep
echo "ripgrep: installed"
