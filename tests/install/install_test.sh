#!/usr/bin/env bash
# Installs a Sagaflow build into a scratch prefix and builds examples/embedding against it, as a
# service outside this tree would (find_package(sagaflow)). Proves that the installed headers
# are complete, the exported targets carry their dependencies (Boost.JSON, cereal, Threads,
# rabbitmq-c) and that nothing of the source tree is needed.
#
#   tests/install/install_test.sh <build dir> [<source dir>]
set -euo pipefail

build=${1:?usage: install_test.sh <build dir> [<source dir>]}
source=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(cd "$build" && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sagaflow-install-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix
consumer=$scratch/embedding

step() { echo "install_test: $*" >&2; }
die() {
  echo "install_test: FAILED: $*" >&2
  exit 1
}

# Only what is installed, so that a test run does not depend on everything else being built.
step "building the installed libraries in $build"
cmake --build "$build" --target sagaflow_worker sagaflow_rabbitmq || die "building the libraries"

step "installing into $prefix"
cmake --install "$build" --prefix "$prefix" --component sagaflow_development ||
  die "cmake --install"
[[ -f $prefix/lib/cmake/sagaflow/sagaflowConfig.cmake ]] || die "no sagaflowConfig.cmake installed"

# The consumer sees the installed prefix and system packages, never the source tree's include
# folders: a header missing from the install fails the build here.
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
step "configuring examples/embedding against $prefix"
cmake -S "$source/examples/embedding" -B "$consumer" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror -Wno-missing-field-initializers" ||
  die "configuring examples/embedding"
step "building examples/embedding"
cmake --build "$consumer" -j2 || die "building examples/embedding"

if grep -rq -- "$source/engine/include\|$source/worker/include\|$source/adapters" \
  "$consumer/compile_commands.json" "$consumer"/build.ninja 2>/dev/null; then
  die "examples/embedding was compiled against the source tree"
fi

step "running hello_worker --help"
"$consumer/hello_worker" --help || die "hello_worker --help exited with $?"
step "passed"
