#!/usr/bin/env bats
# What every tool promises alike: a man page carrying the one exit-status
# table, --help pointing to it, --version, and exit 100 on bad usage.
load helpers

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.."
}

tools() {
  local t
  for t in "$BATS_TEST_DIRNAME"/../../tools/*/; do basename "$t"; done
}

@test "every tool has a man page with the common sections" {
  local t page
  for t in $(tools); do
    page="$BATS_TEST_DIRNAME/../../man/$t.1"
    [[ -f $page ]] || { echo "no man page for $t"; return 1; }
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
      grep -q "^\.SH \"\?$s" "$page" || { echo "$t.1 lacks section $s"; return 1; }
    done
    # The page renders without groff warnings.
    run bash -c "groff -man -Tutf8 -ww '$page' 2>&1 >/dev/null"
    [[ -z $output ]] || { echo "$t.1: $output"; return 1; }
  done
}

@test "every man page carries the one exit-status table" {
  local t table page
  table=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH/p' "$BATS_TEST_DIRNAME/../../man/exit-status.roff" | grep -v '^\.SH')
  for t in $(tools); do
    page="$BATS_TEST_DIRNAME/../../man/$t.1"
    diff <(sed -n '/^\.SH EXIT STATUS/,/^\.SH/p' "$page" | grep -v '^\.SH') <(echo "$table") ||
      { echo "$t.1: EXIT STATUS differs from man/exit-status.roff"; return 1; }
  done
}

@test "every tool answers --help and --version, and bad usage exits 100" {
  local t
  for t in $(tools); do
    command -v "$t" >/dev/null || { echo "$t not built"; return 1; }
    run "$t" --help
    [[ $status -eq 0 ]] || { echo "$t --help exited $status"; return 1; }
    [[ $output == *"$t"* ]] || { echo "$t --help does not name the tool"; return 1; }
    run "$t" --version
    [[ $status -eq 0 && $output =~ [0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "$t --version: $output"; return 1; }
    run "$t" --no-such-option-at-all
    [[ $status -eq 100 ]] || { echo "$t with a bad option exited $status, not 100"; return 1; }
    [[ $output == *"--help"* ]] || { echo "$t bad usage message does not point to --help"; return 1; }
  done
}

# Names of scripts/requirements of one kind.
required() { awk -v k="$1" '$1 !~ /^#/ && $2 == k { print $3 }' scripts/requirements; }

@test "every GStreamer element a suite or a bench runs is listed in scripts/requirements" {
  local listed used e bad=0
  listed=$(required gst)
  # Each gst-launch-1.0 pipeline, continuation lines joined; its bare words
  # (no =, /, quotes, dots or leading dash) are element names.
  used=$(ls tests/bats/*.bats bench/*.sh | grep -v conventions.bats | xargs cat |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -o 'gst-launch-1.0.*' |
    sed -e 's/^gst-launch-1.0//' -e 's/"[^"]*"//g' -e "s/'[^']*'//g" -e 's/[|;&>)].*//' | tr ' !' '\n\n' |
    grep -E '^[a-z][a-z0-9_]*$' | sort -u)
  [[ -n $used ]] || { echo "no pipeline found: the scan itself is broken"; return 1; }
  for e in $used; do
    grep -qx "$e" <<<"$listed" || { echo "GStreamer element $e is used but not in scripts/requirements"; bad=1; }
  done
  ((bad == 0))
}

@test "every outside program a suite or a bench calls is listed in scripts/requirements" {
  local listed p bad=0
  listed=$(required program)
  for p in ffmpeg ffprobe gst-launch-1.0 gst-inspect-1.0 jq curl node npm chromium clang++ python3 groff \
    nginx wrk hyperfine srt-live-transmit inotifywait xxd openssl sqlite3 sox valgrind tshark \
    mediainfo gnuplot Xvfb bats; do
    ls tests/bats/*.bats tests/bats/*.bash bench/*.sh scripts/test scripts/demo | grep -v conventions.bats |
      xargs grep -qw -- "$p" || continue
    grep -qx -- "$p" <<<"$listed" || { echo "$p is used but not in scripts/requirements"; bad=1; }
  done
  ((bad == 0))
}

@test "scripts/check-requirements names the package of what is missing" {
  local fake=$BATS_TEST_TMPDIR/req
  mkdir -p "$fake/scripts"
  cp scripts/check-requirements "$fake/scripts/"
  printf 'test program no-such-program-xyzzy xyzzy-tools\ntest gst nosuchelementxyzzy gstreamer1.0-xyzzy\n' \
    >"$fake/scripts/requirements"
  run "$fake/scripts/check-requirements" test
  [[ $status -eq 1 ]]
  [[ $output == *"program no-such-program-xyzzy, from the Debian package xyzzy-tools"* ]]
  [[ $output == *"GStreamer element nosuchelementxyzzy, from the Debian package gstreamer1.0-xyzzy"* ]]
  # And this machine has all the real list asks for.
  run scripts/check-requirements build test
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
}
