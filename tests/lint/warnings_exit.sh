#!/bin/sh
# `sagactl lint` on flows with warnings, as a user runs it: exit 0 and every warning printed
# with its position, code and fix; with --strict, exit 1. Usage: warnings_exit.sh SAGACTL FILE...
set -u
sagactl=$1
shift
out=$("$sagactl" lint "$@" 2>&1)
status=$?
if [ "$status" -ne 0 ]; then
  echo "sagactl lint exited $status, expected 0 (warnings only):"; echo "$out"; exit 1
fi
for code in irreversible_before_failure compensation_reads_null unread_output when_never_holds \
            duplicate_compensation service_near_miss; do
  if ! echo "$out" | grep -Eq "\.yaml:[0-9]+:[0-9]+: warning: .* \[$code\]$"; then
    echo "no '$code' warning printed:"; echo "$out"; exit 1
  fi
done
if ! echo "$out" | grep -q '^  fix: '; then echo "no fix line printed:"; echo "$out"; exit 1; fi
if ! echo "$out" | tail -n 1 | grep -Eq '^[0-9]+ files checked: no errors, [0-9]+ warnings$'; then
  echo "unexpected summary:"; echo "$out" | tail -n 1; exit 1
fi
"$sagactl" lint --strict "$@" >/dev/null 2>&1
status=$?
if [ "$status" -ne 1 ]; then echo "sagactl lint --strict exited $status, expected 1"; exit 1; fi
echo "ok: exit 0 with warnings, 1 with --strict"
