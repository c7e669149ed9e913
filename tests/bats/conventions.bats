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
