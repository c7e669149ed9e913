#!/usr/bin/env bash
# Builds a fuzzer with clang (libFuzzer + ASan + UBSan) into DIR:
#   tests/fuzz/build.sh DIR [rtmp|api]   ->  DIR/rtmp_fuzzer or DIR/api_fuzzer
# rtmp: the chunk stream, AMF0 and FLV parsing; api: the control API's
# routing, request checks, body -> channel file and token file parsing.
# Rebuilds only when a source is newer than the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build.sh DIR [rtmp|api]}
target=${2:-rtmp}
mkdir -p "$out"
libs=()
case $target in
  rtmp)
    srcs=("$root"/tests/fuzz/rtmp_fuzzer.cpp "$root"/common/rtmp/*.cpp "$root"/common/ingest/ts_probe.cpp "$root"/common/base/status.cpp "$root"/common/base/log.cpp)
    hdrs=("$root"/common/rtmp/*.h "$root"/common/ingest/ts_probe.h) ;;
  api)
    srcs=("$root"/tests/fuzz/api_fuzzer.cpp "$root"/common/api/{router,channel_body,tokens,rate_limit}.cpp
      "$root"/common/base/{status,log,fs,time}.cpp "$root"/common/crypto/crypto.cpp "$root"/common/http/url.cpp)
    hdrs=("$root"/common/api/*.h "$root"/common/base/*.h "$root"/common/crypto/*.h "$root"/common/http/url.h)
    libs=(-lcrypto) ;;
  *) echo "build.sh: unknown fuzzer $target (rtmp, api)" >&2; exit 100 ;;
esac
bin="$out/${target}_fuzzer"
if [[ -x $bin ]]; then
  stale=0
  for f in "${srcs[@]}" "${hdrs[@]}"; do [[ $f -nt $bin ]] && stale=1; done
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
"$CXX" "${flags[@]}" "${objs[@]}" -o "$bin.tmp" $(pkg-config --libs spdlog) "${libs[@]}"
mv "$bin.tmp" "$bin"
