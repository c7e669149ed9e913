#!/bin/bash
# A live HLS player made of curl, for the viewer-count tests: it asks for
# the master playlist, follows its first variant URI (whatever the origin
# put there: "s/SID/720p/index.m3u8" carries its session), and then plays in
# real time: it reloads the media playlist every half target duration and
# fetches each new segment once (init segment first), starting three
# segments from the live edge, as hls.js does. It stops after SECONDS.
#
#   curl_player.sh MASTER_URL SECONDS USER_AGENT REPORT_FILE
#
# REPORT_FILE gets one JSON line when it stops: the Unix ms of its first
# request (join_ms) and of the moment it stopped (leave_ms), of its first
# and last media requests, how many segments it fetched, and the waits of
# over 3 s between two segments (media_gaps_ms: stalls).
# Exit status: 0 played (fetched at least one segment), 1 did not.
set -u
master=$1 seconds=$2 ua=$3 report=$4
now_ms() { date +%s%3N; }
get() { curl -s -f --max-time 10 -A "$ua" "$1"; }
fetch() { curl -s -f --max-time 10 -A "$ua" -o /dev/null "$1"; }
# resolve BASE_URL REF: a URI of a playlist against the playlist's own URL.
resolve() {
  local base=$1 ref=$2
  case $ref in
    http://* | https://*) echo "$ref" ;;
    /*) echo "${base%%://*}://$(cut -d/ -f3 <<<"$base")$ref" ;;
    *) echo "${base%/*}/$ref" ;;
  esac
}

join_ms=$(now_ms)
end_ms=$((join_ms + seconds * 1000))
first_media=null last_media=null fetched=0 gaps=
text=$(get "$master") || text=
variant=$(grep -v '^#' <<<"$text" | grep -m1 . | tr -d '\r')
if [[ -z $variant ]]; then
  echo "curl_player: no variant in $master" >&2
else
  media=$(resolve "$master" "$variant")
  declare -A seen=()
  map_done=0 started=0
  while (($(now_ms) < end_ms)); do
    pl=$(get "$media") || { sleep 0.5; continue; }
    target=$(sed -n 's/^#EXT-X-TARGETDURATION:\([0-9]*\).*/\1/p' <<<"$pl" | tr -d '\r')
    target=${target:-2}
    if ((!map_done)); then
      map=$(sed -n 's/^#EXT-X-MAP:.*URI="\([^"]*\)".*/\1/p' <<<"$pl" | head -1)
      [[ -n $map ]] && fetch "$(resolve "$media" "$map")"
      map_done=1
    fi
    mapfile -t segs < <(grep -v '^#' <<<"$pl" | grep . | tr -d '\r')
    if ((!started)); then
      # Join three segments from the live edge; older ones are never fetched.
      for ((i = 0; i + 3 < ${#segs[@]}; i++)); do seen[${segs[$i]}]=1; done
      started=1
    fi
    for s in "${segs[@]}"; do
      [[ -n ${seen[$s]:-} ]] && continue
      (($(now_ms) < end_ms)) || break
      seen[$s]=1
      if fetch "$(resolve "$media" "$s")"; then
        t=$(now_ms)
        [[ $first_media == null ]] && first_media=$t
        # A wait of over 3 s between two segments is a stall, not play.
        [[ $last_media != null ]] && ((t - last_media > 3000)) && gaps+="${gaps:+,}$((t - last_media))"
        last_media=$t
        fetched=$((fetched + 1))
      fi
    done
    # Half a target duration between reloads, cut at the end.
    left=$((end_ms - $(now_ms)))
    ((left > 0)) || break
    nap=$((target * 500 < left ? target * 500 : left))
    sleep "$(printf '%d.%03d' $((nap / 1000)) $((nap % 1000)))"
  done
fi
leave_ms=$(now_ms)
printf '{"player":"curl","master":"%s","join_ms":%s,"leave_ms":%s,"first_media_ms":%s,"last_media_ms":%s,"segments":%s,"media_gaps_ms":[%s]}\n' \
  "$master" "$join_ms" "$leave_ms" "$first_media" "$last_media" "$fetched" "$gaps" >>"$report"
((fetched > 0))
