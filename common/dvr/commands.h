#pragma once
// sigma-dvr's subcommands other than `run` (archiver.h): what
// tools/sigma-dvr/main.cpp calls once it has parsed the command line.
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma::dvr {

// A time range as the options give it: --from, and --to or --duration
// (exactly one of them).
struct RangeSpec {
  std::string from, to, duration;
};
// -> [from_ms, to_ms). Usage errors name the option: "--from: cannot read
// '2026-13-45' as a time (...)", "--to ... is not after --from ...".
// max_ms: longest range accepted.
Result<std::pair<int64_t, int64_t>> resolve_range(const RangeSpec& r, int64_t now_ms, int64_t max_ms);

struct ListParams {
  std::string dir;
  bool json = false;
};
Status run_list(const ListParams& p);

struct KeepParams {
  std::string dir;
  RangeSpec range;
  std::string name;    // add (or replace) this keep
  std::string remove;  // or remove this one
  bool list = false;   // or list them
  bool json = false;
};
Status run_keep(const KeepParams& p);

struct ExportParams {
  std::string dir;
  RangeSpec range;
  std::string variant;
  std::string out;
  std::string progress = "auto";  // auto (a bar on a terminal, JSON lines otherwise), bar, json, none
};
Status run_export_command(const ExportParams& p);

// A channel directory given on the command line: a usage error when it is
// not one (a typo; retrying will not help).
Status check_channel_dir(const std::string& dir);

}  // namespace sigma::dvr
