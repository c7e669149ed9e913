#!/usr/bin/env bash
# Builds the RTMP fuzzer with clang (libFuzzer + ASan + UBSan) into DIR:
#   tests/fuzz/build.sh DIR   ->  DIR/rtmp_fuzzer
# Rebuilds only when a source is newer than the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build.sh DIR}
mkdir -p "$out"
srcs=("$root"/tests/fuzz/rtmp_fuzzer.cpp "$root"/common/rtmp/*.cpp "$root"/common/ingest/ts_probe.cpp "$root"/common/base/status.cpp "$root"/common/base/log.cpp)
bin="$out/rtmp_fuzzer"
if [[ -x $bin ]]; then
  stale=0
  for f in "${srcs[@]}" "$root"/common/rtmp/*.h "$root"/common/ingest/ts_probe.h; do [[ $f -nt $bin ]] && stale=1; done
  ((stale)) || exit 0
fi
CXX=${CXX:-clang++}
# Through ccache where the machine has it: a fresh clone's sources are all
# newer than the binary, but their objects are in the cache already.
cc=("$CXX")
command -v ccache >/dev/null && cc=(ccache "$CXX")
mkdir -p "$out/generated/sigma"
printf '#pragma once\n#define SIGMA_VERSION "fuzz"\n' >"$out/generated/sigma/version.h"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -I"$root/common" -I"$out/generated")
# shellcheck disable=SC2207
flags+=($(pkg-config --cflags spdlog))
# One object per source, compiled in parallel: this runs inside the bats
# suite's time budget on a loaded machine.
objs=()
jobs=0
for f in "${srcs[@]}"; do
  o="$out/$(basename "${f%.cpp}").o"
  objs+=("$o")
  "${cc[@]}" "${flags[@]}" -c "$f" -o "$o" &
  if ((++jobs >= $(nproc))); then wait -n; jobs=$((jobs - 1)); fi
done
wait
# shellcheck disable=SC2046
"$CXX" "${flags[@]}" "${objs[@]}" -o "$bin.tmp" $(pkg-config --libs spdlog)
mv "$bin.tmp" "$bin"
