#!/usr/bin/env bash
# The shells the persistent-shell tests run for real beyond bash and sh: zsh and fish (Debian packages).
# Idempotent: installs only what is missing. PowerShell is not in Debian's archive; its tests skip without it.
set -euo pipefail
missing=()
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "shells: zsh and fish already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "shells: installed ${missing[*]}"
