#!/usr/bin/env bash
# The figures of issue 13 (sigma-dvr and the origin's catch-up), in one run:
#  1. bench/dvr-export.sh: one hour of a 1080p 6 Mbit/s archive exported to
#     MP4 by `sigma-dvr export` against ffmpeg -c copy -movflags +faststart
#     reading the catch-up playlist (CPU ratio <= 0.5, wall ratio <= 1.0).
#  2. bench/dvr-origin.sh: a 24 h catch-up playlist's p99 while live traffic
#     runs (< 50 ms), and playlist bytes per reload with a 2 h DVR window
#     against the default window (<= 2x).
#  sigma-dvr's memory with 21,600 segments per variant (< 30 MB) is asserted
#  by tests/bats/dvr.bats and printed there.
#
# Usage: bench/dvr.sh [EXPORT_RUNS [CATCHUP_REQUESTS]]   (defaults 3, 200)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== MP4 export (bench/dvr-export.sh ${1:-3})"
bench/dvr-export.sh "${1:-3}"
echo
echo "== catch-up playlists and DVR reloads (bench/dvr-origin.sh ${2:-200})"
bench/dvr-origin.sh "${2:-200}"
