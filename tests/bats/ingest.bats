#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# sigma-ingest over real sockets on 127.0.0.1: ffmpeg (RTMP, SRT) and
# GStreamer (rtmp2sink) publish; the MPEG-TS that comes out must decode
# with the frame count that was sent.
load helpers

setup() {
  SIGMA_PIDS=()
  T=$(mktemp -d)
  SRC=$(make_ts ingest-src 4)              # 120 frames, 640x360
  SRC_SMALL=$(make_ts ingest-small 3 -vf scale=320:240)  # 90 frames, 320x240
  printf '# test keys\ndemo s3cret-demo-key\nother s3cret-other-key\n' >"$T/keys"
  chmod 600 "$T/keys"
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

frames() { count_frames "$1" | head -1; }
width() { ffprobe -v error -select_streams v:0 -show_entries stream=width -of csv=p=0 "$1" | head -1; }

# start_ingest ARGS...: runs sigma-ingest with an RTMP port in $RTMP_PORT,
# stdout to $T/stdout.ts, stderr to $T/ingest.log, events to $T/events.
start_ingest() {
  RTMP_PORT=$(free_port)
  spawn "$T/ingest.log" bash -c 'exec sigma-ingest "$@" >"'"$T"'/stdout.ts"' _ \
    --rtmp "127.0.0.1:$RTMP_PORT" --events "$T/events" --status-file "$T/status.json" "$@"
  INGEST_PID=$SPAWNED_PID
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$RTMP_PORT"
}

@test "--help, --version, and usage errors exit 100" {
  run sigma-ingest --help
  [ "$status" -eq 0 ]
  [[ $output == *"--keys"* && $output == *"--output"* ]]
  run sigma-ingest --version
  [ "$status" -eq 0 ]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)"
  [ "$status" -eq 100 ]
  [[ $output == *"--keys FILE"* ]]
  printf 'demo short\n' >"$T/badkeys"
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --keys "$T/badkeys"
  [ "$status" -eq 100 ]
  [[ $output == *"badkeys:1"* ]]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --keys "$T/missing"
  [ "$status" -eq 100 ]
}

@test "ffmpeg publishes over RTMP: stdout decodes with every frame, events and status report it" {
  start_ingest --keys "$T/keys" --channel demo
  publish s3cret-demo-key
  wait_for grep -q stream.ended "$T/events"
  grep -q '"live": false' "$T/status.json" || sleep 1.2
  stop_ingest
  [ "$(frames "$T/stdout.ts")" -eq 120 ]
  ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/stdout.ts" | grep -qx h264
  ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/stdout.ts" | grep -qx aac
  grep '"type":"stream.started"' "$T/events" | jq -e '.channel == "demo" and .video == "h264" and .audio == "aac" and .width == 640 and .height == 360'
  grep '"type":"stream.ended"' "$T/events" | jq -e '.reason == "unpublished" and .bytes > 100000'
  jq -e '.channels[0].channel == "demo" and .channels[0].video_frames == 120 and .accepted >= 1 and .channels[0].live == false' "$T/status.json"
  ! grep -q s3cret "$T/ingest.log" "$T/events" "$T/status.json"
}

@test "a wrong key is refused with BadName, counted, and the secret is not logged" {
  start_ingest --keys "$T/keys"
  run publish wrong-key-XYZZY
  [ "$status" -ne 0 ]
  wait_for grep -q publish.rejected "$T/events"
  grep '"type":"publish.rejected"' "$T/events" | jq -e '.reason == "unknown stream key" and .protocol == "rtmp"'
  WAIT_SECS=3 wait_for jq -e '.rejected == 1' "$T/status.json"
  ! grep -q XYZZY "$T/ingest.log" "$T/events" "$T/status.json"
  kill -0 "$INGEST_PID"
}

@test "GStreamer rtmp2sink publishes as an independent client" {
  start_ingest --keys "$T/keys" --output "$T/out/{channel}.ts"
  timeout 60 gst-launch-1.0 -q videotestsrc num-buffers=90 ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x264enc tune=zerolatency key-int-max=30 ! h264parse ! flvmux streamable=true name=m \
    ! rtmp2sink location="rtmp://127.0.0.1:$RTMP_PORT/live/s3cret-other-key" \
    audiotestsrc num-buffers=100 ! voaacenc ! aacparse ! m.
  wait_for grep -q stream.ended "$T/events"
  stop_ingest
  [ "$(frames "$T/out/other.ts")" -eq 90 ]
  [ "$(width "$T/out/other.ts")" -eq 320 ]
  grep '"type":"stream.started"' "$T/events" | jq -e '.encoder | startswith("GStreamer")'
}

@test "ffmpeg publishes over SRT with streamid as the key; a wrong streamid is rejected" {
  SRT_PORT=$(free_udp_port)
  start_ingest --keys "$T/keys" --srt "127.0.0.1:$SRT_PORT" --output "$T/out/{channel}.ts"
  timeout 60 ffmpeg -nostdin -loglevel error -re -i "$SRC_SMALL" -c copy -f mpegts \
    "srt://127.0.0.1:$SRT_PORT?streamid=s3cret-demo-key&pkt_size=1316&linger=3"
  run timeout 20 ffmpeg -nostdin -loglevel error -i "$SRC_SMALL" -t 1 -c copy -f mpegts \
    "srt://127.0.0.1:$SRT_PORT?streamid=bad-key-PLUGH&pkt_size=1316"
  [ "$status" -ne 0 ]
  wait_for grep -q publish.rejected "$T/events"
  wait_for grep -q stream.ended "$T/events"
  stop_ingest
  [ "$(frames "$T/out/demo.ts")" -eq 90 ]
  grep '"type":"stream.started"' "$T/events" | jq -e '.protocol == "srt" and .channel == "demo" and .video == "h264" and .audio == "aac"'
  ! grep -q PLUGH "$T/ingest.log" "$T/events"
}

@test "SRT passphrase: a wrong one is refused, the right one with an access-control streamid gets in" {
  SRT_PORT=$(free_udp_port)
  echo "correct-horse-battery" >"$T/srt-pass"
  start_ingest --keys "$T/keys" --srt "127.0.0.1:$SRT_PORT" --srt-passphrase-file "$T/srt-pass" --output "$T/out/{channel}.ts"
  run timeout 20 ffmpeg -nostdin -loglevel error -i "$SRC_SMALL" -t 1 -c copy -f mpegts \
    "srt://127.0.0.1:$SRT_PORT?streamid=s3cret-demo-key&pkt_size=1316&passphrase=not-the-passphrase"
  [ "$status" -ne 0 ]
  timeout 60 ffmpeg -nostdin -loglevel error -i "$SRC_SMALL" -c copy -f mpegts \
    "srt://127.0.0.1:$SRT_PORT?streamid=%23!::r=s3cret-demo-key,m=publish&pkt_size=1316&linger=3&passphrase=correct-horse-battery"
  wait_for grep -q stream.ended "$T/events"
  stop_ingest
  [ "$(frames "$T/out/demo.ts")" -eq 90 ]
  ! grep -q correct-horse "$T/ingest.log" "$T/events"
}

@test "publish, drop, republish: one continuous output, two sessions, no EOF between" {
  start_ingest --keys "$T/keys" --output "$T/out/{channel}.ts" --record "$T/rec"
  publish s3cret-demo-key
  wait_for grep -q stream.ended "$T/events"
  publish s3cret-demo-key "$SRC_SMALL"
  wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -eq 2 ]"
  kill -0 "$INGEST_PID"
  stop_ingest
  [ "$(grep -c '"type":"stream.started"' "$T/events")" -eq 2 ]
  grep '"type":"stream.started"' "$T/events" | tail -1 | jq -e '.session == 2 and .width == 320'
  # One file, both sessions, every frame of each, decodable end to end.
  [ "$(frames "$T/out/demo.ts")" -eq 210 ]
  run ffmpeg -v error -i "$T/out/demo.ts" -f null -
  [ "$status" -eq 0 ]
  # The recording keeps each session apart.
  [ "$(ls "$T/rec" | wc -l)" -eq 2 ]
  for f in "$T"/rec/demo-*.ts; do n=$(frames "$f"); [ "$n" -eq 120 ] || [ "$n" -eq 90 ]; done
}

@test "republish through a FIFO into sigma-package: same playlist, a discontinuity, no EOF" {
  command -v sigma-package || skip "sigma-package not built"
  mkdir -p "$T/run/demo"
  mkfifo "$T/run/demo/source.ts"
  spawn "$T/package.log" sigma-package -i "$T/run/demo/source.ts" -o "$T/hls" --mode low --channel demo
  PKG=$SPAWNED_PID
  start_ingest --keys "$T/keys" --output "$T/run/{channel}/source.ts"
  publish s3cret-demo-key "$SRC" -re
  publish s3cret-demo-key "$SRC_SMALL" -re
  wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -eq 2 ]"
  kill -0 "$PKG"  # the packager never saw EOF
  WAIT_SECS=15 wait_for bash -c "grep -l EXT-X-DISCONTINUITY '$T'/hls/*.m3u8 '$T'/hls/*/*.m3u8"
  stop_ingest
}

@test "a second publisher on a live key is refused; --replace takes over" {
  start_ingest --keys "$T/keys" --output "$T/out/{channel}.ts"
  publish s3cret-demo-key "$SRC" -re &
  FIRST=$!
  wait_for grep -q stream.started "$T/events"
  run publish s3cret-demo-key
  [ "$status" -ne 0 ]
  grep '"type":"publish.rejected"' "$T/events" | jq -e '.reason | contains("already has a publisher")'
  wait "$FIRST"
  stop_ingest
  [ "$(frames "$T/out/demo.ts")" -eq 120 ]

  rm -f "$T/events"
  start_ingest --keys "$T/keys" --output "$T/out2/{channel}.ts" --replace
  publish s3cret-demo-key "$SRC" -re &
  FIRST=$!
  wait_for grep -q stream.started "$T/events"
  publish s3cret-demo-key "$SRC_SMALL"
  wait "$FIRST" || true
  grep '"type":"stream.ended"' "$T/events" | head -1 | jq -e '.reason == "replaced"'
  stop_ingest
}

@test "two channels at once stay separate; a channel with no reader does not stall the others" {
  mkfifo "$T/stuck.fifo"
  start_ingest --open --output "$T/out/{channel}.ts" --buffer 256
  ln -s "$T/stuck.fifo" "$T/out/stuck.ts" 2>/dev/null || { mkdir -p "$T/out"; ln -s "$T/stuck.fifo" "$T/out/stuck.ts"; }
  publish alpha "$SRC" -re &
  A=$!
  publish beta "$SRC_SMALL" -re &
  B=$!
  publish stuck "$SRC" -re &
  C=$!
  wait "$A"; wait "$B"; wait "$C"
  wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -eq 3 ]"
  sleep 1.2
  jq -e '.channels[] | select(.channel == "stuck") | .output.connected == false' "$T/status.json"
  jq -e '.channels[] | select(.channel == "stuck") | .output.dropped_bytes > 0' "$T/status.json"
  stop_ingest
  [ "$(frames "$T/out/alpha.ts")" -eq 120 ]
  [ "$(frames "$T/out/beta.ts")" -eq 90 ]
  [ "$(width "$T/out/alpha.ts")" -eq 640 ]
  [ "$(width "$T/out/beta.ts")" -eq 320 ]
}

@test "pull input: -i FILE --channel remuxes to stdout and exits 0 at the end" {
  run bash -c "sigma-ingest -i '$SRC' --channel relay >'$T/pull.ts'"
  [ "$status" -eq 0 ]
  [ "$(frames "$T/pull.ts")" -eq 120 ]
  run sigma-ingest -i "$T/nope.ts" --channel relay
  [ "$status" -eq 111 ] || [ "$status" -eq 65 ]
}

@test "malformed input: bad handshakes, garbage, huge chunks and silent clients are cut off, server lives" {
  start_ingest --keys "$T/keys" --timeout 2 --output "$T/out/{channel}.ts"
  python3 - "$RTMP_PORT" <<'PY'
import os, socket, struct, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5); return s
def handshake(s):
    s.sendall(b"\x03" + os.urandom(1536)); got = b""
    while len(got) < 1 + 2 * 1536:
        d = s.recv(65536)
        if not d: raise SystemExit("closed during handshake")
        got += d
    s.sendall(got[1:1537])
# 1: wrong version byte
s = conn(); s.sendall(b"\x06" + os.urandom(1536)); assert s.recv(10) == b""
# 2: garbage chunks after a valid handshake (fmt 1 on an unknown csid)
s = conn(); handshake(s); s.sendall(b"\x43" + os.urandom(4000))
try: assert s.recv(10) == b""
except ConnectionResetError: pass
# 3: a message header announcing 16 MB
s = conn(); handshake(s); s.sendall(b"\x03" + b"\x00\x00\x00" + b"\xff\xff\xff" + b"\x14" + b"\x00" * 4)
try: assert s.recv(10) == b""
except ConnectionResetError: pass
# 4: AMF garbage in a command
s = conn(); handshake(s); body = b"\x02\x00\x07connect" + b"\x0a\xff\xff\xff\xff"
s.sendall(b"\x03" + b"\x00\x00\x00" + struct.pack(">I", len(body))[1:] + b"\x14" + b"\x00" * 4 + body)
try: assert s.recv(65536) == b"" or s.recv(65536) == b""
except ConnectionResetError: pass
# 5: a silent client is timed out
s = conn(); t = time.time(); s.settimeout(15); assert s.recv(10) == b""; assert time.time() - t < 12
PY
  kill -0 "$INGEST_PID"
  publish s3cret-demo-key "$SRC_SMALL"
  wait_for grep -q stream.ended "$T/events"
  stop_ingest
  [ "$(frames "$T/out/demo.ts")" -eq 90 ]
  grep -q "handshake timeout\|timeout" "$T/ingest.log"
}

@test "libFuzzer over chunk stream, AMF0 and FLV parsing runs 20 s without a crash" {
  FUZZ_DIR="$SIGMA_TEST_CACHE/rtmp-fuzzer"
  "$BATS_TEST_DIRNAME/../fuzz/build.sh" "$FUZZ_DIR"
  mkdir -p "$T/corpus"
  cp "$BATS_TEST_DIRNAME"/../fuzz/corpus/* "$T/corpus/"
  run "$FUZZ_DIR/rtmp_fuzzer" -max_total_time=20 -rss_limit_mb=1024 -print_final_stats=1 "$T/corpus"
  echo "$output" | tail -20
  [ "$status" -eq 0 ]
  [[ $output == *"Done "*" runs in "* ]]
  ! [[ $output == *"ERROR: AddressSanitizer"* || $output == *"runtime error"* ]]
}

@test "SIGHUP re-reads --keys and --channels (record= per channel); a broken keys file keeps the old keys" {
  echo "demo,record=$T/rec" >"$T/channels"
  start_ingest --keys "$T/keys" --channels "$T/channels" --output "$T/out/{channel}.ts"
  run publish s3cret-third-key
  [ "$status" -ne 0 ]
  printf 'demo s3cret-demo-key\nthird s3cret-third-key\n' >"$T/keys"
  kill -HUP "$INGEST_PID"
  wait_for events_at_least config.reloaded 1
  publish s3cret-third-key
  publish s3cret-demo-key
  wait_for events_at_least stream.ended 2
  [ "$(frames "$T/out/third.ts")" -eq 120 ]
  [ "$(frames "$(ls "$T"/rec/demo-*.ts)")" -eq 120 ]
  [ -z "$(ls "$T"/rec/third-* 2>/dev/null)" ]
  # the old secret of 'other' no longer opens anything
  run publish s3cret-other-key
  [ "$status" -ne 0 ]
  printf 'demo short\n' >"$T/keys"
  kill -HUP "$INGEST_PID"
  wait_for events_at_least config.rejected 1
  grep -q 'reload refused.*keys:1' "$T/ingest.log"
  publish s3cret-third-key
  wait_for events_at_least stream.ended 3
  [ "$(grep -c s3cret "$T/ingest.log")" -eq 0 ]
}
