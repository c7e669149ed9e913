# Test media the benches share, made once into the test media cache
# (SIGMA_TEST_CACHE, as tests/bats/helpers.bash's make_ts): `. bench/media.bash`.

# bench_1080p_source: prints the path of 60 s of 1080p30 H.264 at 6 Mbit/s
# (2 s GOP) with AAC, in MPEG-TS, making it the first time.
bench_1080p_source() {
  local cache=${SIGMA_TEST_CACHE:-${TMPDIR:-/tmp}/sigma-test-media}
  local in=$cache/bench-1080p-6M-60s.ts
  mkdir -p "$cache"
  if [[ ! -s $in ]]; then
    echo "making $in (once)..." >&2
    ffmpeg -nostdin -loglevel error -y \
      -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=60" \
      -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=60" \
      -c:v libx264 -preset ultrafast -b:v 6M -maxrate 6M -bufsize 12M -g 60 -keyint_min 60 -sc_threshold 0 \
      -pix_fmt yuv420p -c:a aac -b:a 128k -f mpegts "$in.part" >&2
    mv "$in.part" "$in"
  fi
  echo "$in"
}

# bench_media FILE SECONDS SIZE ENCODE_ARGS...: prints the path of FILE in
# the test media cache, made the first time from testsrc2 at SIZE (30 fps)
# and a sine, encoded with ENCODE_ARGS (codecs, rates, GOP, format).
bench_media() {
  local cache=${SIGMA_TEST_CACHE:-${TMPDIR:-/tmp}/sigma-test-media}
  local out=$cache/$1 secs=$2 size=$3
  shift 3
  mkdir -p "$cache"
  if [[ ! -s $out ]]; then
    echo "making $out (once)..." >&2
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=30:duration=$secs" \
      -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=$secs" "$@" "$out.part.$$" >&2
    mv "$out.part.$$" "$out"
  fi
  echo "$out"
}

# bench_720p_flv MBITS: 20 s of 720p30 H.264 at MBITS Mbit/s (2 s GOP) with
# AAC, in FLV, for the benches that publish over RTMP.
bench_720p_flv() {
  bench_media "bench-${1}mbps-720p.flv" 20 1280x720 -c:v libx264 -preset veryfast -b:v "${1}M" -maxrate "${1}M" \
    -bufsize "${1}M" -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv
}

# bench_llhls_client: the path of bench/cache/llhls_client.cpp's program,
# compiled once per version of its source (bench/cache.sh, bench/soak.sh).
bench_llhls_client() {
  local src=${BASH_SOURCE[0]%/*}/cache/llhls_client.cpp bin
  bin=${TMPDIR:-/tmp}/sigma-llhls-client-$(md5sum "$src" | cut -c1-12)
  if [[ ! -x $bin ]]; then
    g++ -O2 -std=c++20 "$src" -o "$bin.tmp.$$"
    mv "$bin.tmp.$$" "$bin"
  fi
  echo "$bin"
}

# free_port: a TCP port free on 127.0.0.1 right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
