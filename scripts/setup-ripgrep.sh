#!/usr/bin/env bash
# ripgrep (`rg`), which GET /files/search and /files/find use when it is installed (Debian's `ripgrep`);
# without it the server searches in Node. The files tests compare the server's answers with rg's.
# Idempotent: installs only when missing.
set -euo pipefail
if command -v rg >/dev/null 2>&1; then
  echo "ripgrep: already installed ($(rg --version | head -1))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends ripgrep
echo "ripgrep: installed"
