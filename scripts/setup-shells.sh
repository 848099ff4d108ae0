#!/usr/bin/env bash
# The shells the persistent-shell tests run for real beyond bash and sh: zsh and fish (Debian packages).
# Idempotent: installs only what is missing. PowerShell is not in Debian's archive; its tests skip without it.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
missing=()
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "shells: zsh and fish already installed"
  exit 0
fi
apt_install --no-install-recommends "${missing[@]}"
echo "shells: installed ${missing[*]}"
