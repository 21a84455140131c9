#!/usr/bin/env bash
# Installs clients/node with pg into BUILD_DIR/processes/node-app, the way clients/node's README
# says, and prints the node_modules folder to put in NODE_PATH. The project is kept between runs
# (npm copies the package again, the rest comes from its cache); pg is plain JavaScript, so nothing is compiled here.
# Usage: node_app.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
app=$build/processes/node-app
mkdir -p "$app"
cd "$app"
[[ -f package.json ]] || npm init -y >/dev/null
rm -rf node_modules/sagaflow # npm would keep a stale copy of an unchanged version
npm install --prefer-offline --no-audit --no-fund --loglevel=error --install-links \
  "$source/clients/node" pg >&2
echo "$app/node_modules"
