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
