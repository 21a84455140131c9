#!/usr/bin/env bash
# Installs clients/node into a fresh project the way its README says (npm, with better-sqlite3
# and pg beside it), then runs its tests with that installation against the test broker and
# PostgreSQL. Usage: node.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
app=$build/clients/node-app
rm -rf "$app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error --install-links "$source/clients/node" \
  better-sqlite3@12 pg
cp -r "$source/clients/node/tests" "$app/tests"
exec node --test --test-concurrency=1 tests/worker.test.js
