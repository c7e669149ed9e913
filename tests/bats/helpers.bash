# Shared by every bats suite: load with `load helpers`.
# Binaries come from PATH (scripts/test puts build/bin first).

# A TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# A UDP port that is free on 127.0.0.1 right now (SRT).
free_udp_port() {
  python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Test media is made once per machine and cached (ffmpeg is slow on 2 cores).
SIGMA_TEST_CACHE=${SIGMA_TEST_CACHE:-${TMPDIR:-/tmp}/sigma-test-media}

# make_ts NAME SECONDS [extra ffmpeg output args...]: an H.264/AAC MPEG-TS,
# 640x360 at 30 fps, 1 s GOP, from ffmpeg's test sources; prints its path.
make_ts() {
  local name=$1 secs=$2; shift 2
  local out="$SIGMA_TEST_CACHE/$name.ts" part
  mkdir -p "$SIGMA_TEST_CACHE"
  if [[ ! -s $out ]]; then
    # A part file of this process's own: suites run in parallel may make
    # the same media at once; the last rename wins, both are whole.
    part=$out.$BASHPID.part
    ffmpeg -nostdin -loglevel error -y \
      -f lavfi -i "testsrc2=size=640x360:rate=30:duration=$secs" \
      -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=$secs" \
      -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
      -c:a aac -b:a 64k "$@" -f mpegts "$part" && mv "$part" "$out"
  fi
  echo "$out"
}

# wait_for CMD... : retries CMD every 0.1 s for up to $WAIT_SECS (10) s.
wait_for() {
  local deadline=$((SECONDS + ${WAIT_SECS:-10}))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# count_events TYPE [JQ_FILTER]: how many events of that type (and matching
# the filter, e.g. '.channel == "beta"') the tool under test wrote into
# $EVENTS_FILE (default $T/events).
count_events() {
  local f=${EVENTS_FILE:-$T/events}
  [[ -f $f ]] || { echo 0; return; }
  jq -c --arg t "$1" "select(.type == \$t)${2:+ | select($2)}" "$f" | wc -l
}
# events_at_least TYPE N [JQ_FILTER]
events_at_least() { (( $(count_events "$1" "${3:-}") >= $2 )); }

# Start a background process and remember its PID so teardown can end it.
# usage: spawn LOGFILE cmd args...   (sets $SPAWNED_PID)
spawn() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  SPAWNED_PID=$!
  SIGMA_PIDS+=("$SPAWNED_PID")
}

# End what spawn started, by PID only.
stop_spawned() {
  local p
  for p in "${SIGMA_PIDS[@]:-}"; do
    [[ -n $p ]] && kill "$p" 2>/dev/null || true
  done
  for p in "${SIGMA_PIDS[@]:-}"; do
    [[ -n $p ]] && { timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null; } || true
  done
  SIGMA_PIDS=()
}

# Number of video frames in a media file, by decoding it.
count_frames() {
  ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1"
}

# start_origin [extra sigma-origin options...]: serves $ROOT on a free port,
# access log in $T/access.log; sets PORT, BASE and ORIGIN_PID and waits until
# it answers, then empties the access log of that readiness probe.
start_origin() {
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  spawn "$T/origin.log" sigma-origin --listen "127.0.0.1:$PORT" --root "$ROOT" --access-log "$T/access.log" "$@"
  ORIGIN_PID=$SPAWNED_PID
  wait_for curl -sf -o /dev/null "$BASE/_channels" || { cat "$T/origin.log"; return 1; }
  sleep 0.1
  : >"$T/access.log"  # O_APPEND on the origin's side keeps this safe
}

# The ingest suites: publish KEY [SRC] [extra ffmpeg input args] copies SRC
# (default $SRC) over RTMP to the sigma-ingest listening on $RTMP_PORT;
# stop_ingest ends the one started as $INGEST_PID and waits for it.
publish() {
  local key=$1 src=${2:-$SRC}
  timeout 60 ffmpeg -nostdin -loglevel error ${3:-} -i "$src" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key"
}

stop_ingest() {
  kill "$INGEST_PID"
  timeout 10 tail --pid="$INGEST_PID" -f /dev/null
}

# index_channel DIR EVENTS: sigma-dvr run over the events until every
# segment.written of a finished channel is in DIR's index, then stops it
# (the suites that need an archive made before their tests).
index_channel() {
  local dir=$1 ev=$2 want n=0 pid i
  want=$(jq -c 'select(.type == "segment.written")' "$ev" | wc -l)
  sigma-dvr --log-level warn run --dir "$dir" --events-in "$ev" 2>"${T:-$BATS_FILE_TMPDIR}/dvr-run.log" &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    n=$(sqlite3 "file:$dir/.dvr/index.sqlite?mode=ro" 'SELECT count(*) FROM segments' 2>/dev/null || echo 0)
    ((n >= want)) && break
    sleep 0.1
  done
  kill -TERM "$pid"
  wait "$pid" || true
  ((n >= want)) || { echo "indexed $n of $want segments" >&2; return 1; }
}

# Debian's nginx with contrib/nginx's config, unmodified, in front of the
# origin on 127.0.0.1:$PORT: on a free port, in the foreground, with its own
# prefix under $T/ngx. Sets NGX (its base URL) and NGX_LOG (its sigma_json
# access log, emptied once it answers).
start_nginx() {
  local np sp ngx=$T/ngx contrib
  contrib=$(cd "$BATS_TEST_DIRNAME/../../contrib/nginx" && pwd)
  np=$(free_port)
  sp=$(free_port)
  NGX=http://127.0.0.1:$np
  NGX_LOG=$ngx/logs/access.ndjson
  mkdir -p "$ngx/logs" "$ngx/tmp"
  cat >"$ngx/nginx.conf" <<CONF
worker_processes 1;
user $(id -un) $(id -gn);
pid logs/nginx.pid;
error_log logs/error.log warn;
worker_rlimit_nofile 4096;
events { worker_connections 2048; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include $contrib/sigma-http.conf;
    access_log logs/access.ndjson sigma_json;
    upstream sigma_origin { server 127.0.0.1:$PORT; keepalive 8; }
    upstream sigma_shield { server 127.0.0.1:$sp; keepalive 4; }
    server {
        listen 127.0.0.1:$np;
        include $contrib/sigma-server.conf;
    }
    server {
        listen 127.0.0.1:$sp;
        include $contrib/sigma-shield.conf;
    }
}
CONF
  spawn "$T/nginx.out" nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" -g 'daemon off;'
  wait_for curl -s -o /dev/null "$NGX/_channels" || { cat "$T/nginx.out" "$ngx/logs/error.log"; return 1; }
  # nginx logs a request after its answer has gone: wait for the probe's
  # line, or it may land after the truncation and count as a viewer's.
  wait_for grep -q _channels "$NGX_LOG"
  : >"$NGX_LOG"
}
