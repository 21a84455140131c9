#!/usr/bin/env bash
# ctest runs each doctest case by name (--test-case=NAME). A name with ';' is split by CMake into
# two names that match nothing, and such a "test" passes without running: every case name must
# be free of it. Usage: test_names.sh BUILD_DIR
set -euo pipefail
bad=0
for exe in "$1"/tests/sagaflow_*_tests; do
  [[ -x $exe ]] || continue
  while IFS= read -r name; do
    echo "$(basename "$exe"): a test case name ctest cannot run (has ';'): $name"
    bad=1
  done < <("$exe" --list-test-cases --no-version | grep -v '^\[doctest\]\|^=\+$' | grep ';' || true)
done
exit $bad
