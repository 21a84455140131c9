#!/usr/bin/env bash
# `sagactl conform` against a live points worker over the test broker ($SAGAFLOW_TEST_AMQP_URL):
# the C++ sagaflow-participant, examples/python_worker (on clients/python), a worker on clients/node (each must pass
# every rule), and a deliberately broken one (it must fail, naming the rules it breaks).
# Usage: conform.sh BUILD_DIR SOURCE_DIR cpp|python|node|broken
set -euo pipefail
build=$1 source=$2 kind=$3
url=${SAGAFLOW_TEST_AMQP_URL:?the test broker is not running: set SAGAFLOW_TEST_AMQP_URL (tools/test-broker)}
prefix=conform_${kind}_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/sagaflow-conform.XXXXXX")
worker=
cleanup() {
  if [[ -n $worker ]]; then kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "conform.sh: FAILED: $*" >&2; exit 1; }

case $kind in
  cpp)
    "$build/apps/sagaflow-participant" points --amqp "$url" --amqp-prefix "$prefix" --demo-data \
      >"$work/worker.log" 2>&1 &
    worker=$!
    ;;
  python | broken)
    # The package as its README installs it (tests/clients/python.sh does the same).
    # A virtual environment per test (conform_python and conform_broken may run at once), made
    # afresh so that it holds the package as it is now.
    venv=$build/conform/python-venv-$kind
    rm -rf "$venv" "$build/conform/python-src-$kind"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    cp -r "$source/clients/python" "$build/conform/python-src-$kind"
    "$venv/bin/pip" install --quiet --no-build-isolation --no-deps --no-index \
      "$build/conform/python-src-$kind"
    if [[ $kind == python ]]; then
      # The example on the package (examples/python_worker); ready once its state says so.
      "$venv/bin/python" "$source/examples/python_worker/points_worker.py" --amqp "$url" \
        --prefix "$prefix" --accounts alice=1000 --db "$work/points.db" \
        --state-file "$work/state.json" >"$work/worker.log" 2>&1 &
    else
      "$venv/bin/python" "$source/tests/integration/conform/broken_worker.py" "$url" "$prefix" \
        "$work/ready" >"$work/worker.log" 2>&1 &
    fi
    worker=$!
    ;;
  node)
    # The package as tests/clients/node.sh installs it. The project is kept between runs so that
    # better-sqlite3 is built once; the sagaflow package is copied again each time.
    app=$build/conform/node-app
    if [[ ! -f $app/package.json ]]; then
      mkdir -p "$app" && (cd "$app" && npm init -y >/dev/null)
    fi
    (cd "$app" && npm install --no-audit --no-fund --loglevel=error --install-links \
      "$source/clients/node" better-sqlite3@12)
    cp "$source/tests/integration/conform/points_worker.js" "$app/points_worker.js"
    node "$app/points_worker.js" "$url" "$prefix" "$work/points.db" "$work/ready" \
      >"$work/worker.log" 2>&1 &
    worker=$!
    ;;
  *) die "unknown worker '$kind'" ;;
esac

# Ready: the package workers write a file once consuming. The C++ participant says nothing:
# until it has declared its queue, conform's first command is returned (exit 4), so that is
# retried; commands queued before it consumes wait for it.
for _ in $(seq 100); do
  grep -qs '"ready": true' "$work/state.json" && touch "$work/ready"
  [[ -f $work/ready || $kind == cpp ]] && break
  kill -0 "$worker" 2>/dev/null || { cat "$work/worker.log" >&2; die "the $kind worker exited"; }
  sleep 0.1
done
[[ -f $work/ready || $kind == cpp ]] || die "the $kind worker is not ready after 10 s"

conform() {
  "$build/apps/sagactl" conform --amqp "$url" --prefix "$prefix" --service points \
  --command points.reserve --payload '{"user_id":"alice","amount":1,"order_id":"{{unique}}"}' \
  --compensation points.release --compensation-payload '{"order_id":"{{unique}}"}' \
  --timeout 5000 >"$work/out" 2>&1
}
for _ in $(seq 50); do
  status=0
  conform || status=$?
  [[ $status == 4 ]] || break
  sleep 0.2
done
cat "$work/out"
if [[ $kind != broken ]]; then
  [[ $status == 0 ]] || { cat "$work/worker.log" >&2; die "the $kind worker does not conform (exit $status)"; }
  [[ $(grep -c '^ok   §' "$work/out") == 14 ]] || die "expected 14 rules to hold"
  exit 0
fi
[[ $status == 1 ]] || die "sagactl conform exited $status against the broken worker, not 1"
grep -q '^FAIL §6 duplicate delivery answered with the same reply: first answer' "$work/out" ||
  die "the duplicate applied twice was not named"
grep -q "^FAIL §5 the reply's headers.*header causation-id is absent" "$work/out" ||
  die "the missing causation-id was not named"
grep -q '^FAIL §9 a body that is not JSON is dead-lettered' "$work/out" ||
  die "the answered malformed body was not named"
grep -q "^FAIL §10 a message over the size limit.*x-sagaflow-reason-code is 'too_big', not 'oversized'" \
  "$work/out" || die "the wrong reason code was not named"
echo "conform.sh: the broken worker failed as expected"
