#!/usr/bin/env bash
# Installs clients/python the way its README says (pip into a virtual environment that sees
# Debian's pika and psycopg2), then runs its tests with that installation against the test
# broker and PostgreSQL. Usage: python.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
venv=$build/clients/python-venv
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# From a copy: a build leaves build/ and *.egg-info beside the sources.
rm -rf "$build/clients/python-src"
cp -r "$source/clients/python" "$build/clients/python-src"
"$venv/bin/pip" install --quiet --no-build-isolation --no-deps --no-index "$build/clients/python-src"
cd "$build"  # not the source folder: the tests must import the installed package
exec "$venv/bin/python" -m unittest discover -s "$source/clients/python/tests" -v
