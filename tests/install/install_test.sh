#!/usr/bin/env bash
# Follows examples/README.md word for word: the commands between its `install-recipe` markers are
# run from the source root, on a fresh build tree in a scratch folder (only the paths are moved
# there: `build`, `build-hello` and the prefix `/opt/sagaflow`). Proves that the recipe works on a
# fresh clone, that the installed headers are complete, that the exported targets carry their
# dependencies (Boost.JSON, cereal, Threads, rabbitmq-c), that the files land where the README
# says, and that nothing of the source tree is needed by the consumer.
#
#   tests/install/install_test.sh <build dir> [<source dir>]
# (the build dir is not used: the recipe makes its own.)
set -euo pipefail

source=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
source=$(cd "$source" && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sagaflow-install-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix

step() { echo "install_test: $*" >&2; }
die() {
  echo "install_test: FAILED: $*" >&2
  exit 1
}

recipe=$(sed -n '/^<!-- install-recipe -->$/,/^<!-- \/install-recipe -->$/p' \
  "$source/examples/README.md" | sed '1d;$d;s/^    //')
[[ $(grep -c . <<<"$recipe") == 6 ]] || die "examples/README.md has no six-line install recipe"

# Reuse the compiler cache when there is one: the commands stay the README's.
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi

cd "$source"
while IFS= read -r command; do
  moved=$(sed -e "s#build-hello#$scratch/build-hello#g" \
    -e "s#-B build #-B $scratch/build #; s#--build build\$#--build $scratch/build#" \
    -e "s#--build build #--build $scratch/build #; s#--install build #--install $scratch/build #" \
    -e "s#/opt/sagaflow#$prefix#g" <<<"$command")
  # The last command serves a broker until stopped: here it only shows that it runs.
  if [[ $command == build-hello/hello_worker* ]]; then moved="${moved%% --amqp*} --help"; fi
  step "$command"
  eval "$moved" || die "'$command' failed"
done <<<"$recipe"

step "checking where the files landed"
for file in lib/libsagaflow_worker.a lib/libsagaflow_rabbitmq.a \
  lib/cmake/sagaflow/sagaflowConfig.cmake lib/cmake/sagaflow/sagaflowConfigVersion.cmake \
  include/sagaflow/worker/dispatcher.hpp include/sagaflow/rabbitmq/worker.hpp \
  include/sagaflow/engine/message.hpp; do
  [[ -f $prefix/$file ]] || die "$file is not installed"
done
[[ ! -e $prefix/bin ]] || die "the development component installed programs"
[[ -x $scratch/build-hello/hello_worker ]] || die "no build-hello/hello_worker"
[[ ! -e $source/build-hello && ! -e $prefix/include/amqp.h ]] || die "files outside the scratch folder"

if grep -rq -- "$source/engine/include\|$source/worker/include\|$source/adapters" \
  "$scratch/build-hello/compile_commands.json" "$scratch/build-hello"/build.ninja 2>/dev/null; then
  die "examples/embedding was compiled against the source tree"
fi
step "passed"
