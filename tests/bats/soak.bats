#!/usr/bin/env bats
# sigma-test: first (two minutes of media time)
# The soak's short form (bench/soak.sh, issue 21): four channels under
# sigma-supervisor (two transmux, a ladder, one over SRT) with archive,
# thumbnails, stats and hooks, each publisher dropped and back within the
# run, forty synthetic viewers, for 105 s with a sample every 10 s. It fails
# on growth (after a 35 s warm-up: the median of a process's last three
# samples over the median of its first three by more than 5 % and 2 MB of
# RSS or 4 fds), on a segment missing from the archive beyond the drops'
# holes, on a stage that died, an undelivered webhook or viewer figures that
# differ from the viewers. The hour-long run is bench/soak.sh itself.
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/soak.XXXXXX")
}

teardown() {
  rm -rf "$T"
}

@test "bench/soak.sh for 105 s: no growth, no segment missing but the drops', every webhook, the viewers counted, a plot" {
  run "$BATS_TEST_DIRNAME/../../bench/soak.sh" --minutes 1.75 --viewers 40 --sample-every 10 --warmup 35 \
    --reconnect-every 40 --gap 2 --out "$T/soak"
  echo "$output"
  [[ $status -eq 0 ]]
  for c in viewers growth stages archive hooks; do
    grep -q "^PASS  $c " <<<"$output"
  done
  # Every process sampled: the supervisor, the shared ingest, the origin,
  # the ladder's transcoder, a dvr and a thumb stage per channel, stats, hook.
  local p
  for p in supervisor ingest origin transcode:lad stats hook dvr:tm1 dvr:tm2 dvr:lad dvr:srt1 thumb:tm1 thumb:srt1; do
    cut -f2 "$T/soak/samples.tsv" | grep -qx "$p" || { echo "no samples of $p"; return 1; }
  done
  # Each channel was dropped at least once, and the archive still complete.
  for p in tm1 tm2 lad srt1; do
    grep -q "^$p " "$T/soak/work/drops.txt"
  done
  [[ $(head -c 4 "$T/soak/soak.png" | tail -c 3) == PNG ]]
}
