#pragma once
// sigma-stats report: the figures of a period from the state, as a table,
// JSON or CSV (sigma-stats(1), REPORT). Counters have minute resolution
// (a minute counts when it starts inside [from, to)); CCU is exact, from
// the sessions' first and last requests.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::stats {

class Store;

struct ReportParams {
  std::string state, channel, from, to, step;
  bool json = false, csv = false;
};

struct ChannelReport {
  std::string channel;
  int64_t timeout_ms = 0;
  int64_t views = 0, sessions = 0, fallback_sessions = 0, watch_ms = 0, bytes = 0, requests = 0;
  std::map<std::string, int64_t> watch_ms_by_track, requests_by_status;
  int64_t peak_ccu = 0, peak_ccu_ms = 0;
  double average_ccu = 0;
  int64_t unique_viewers = 0;
  std::map<std::string, int64_t> unique_viewers_by_day;  // "2026-12-03"
  std::vector<std::pair<int64_t, int64_t>> ccu;          // (time, viewers) at each step
};

struct Report {
  int64_t from_ms = 0, to_ms = 0;
  std::vector<ChannelReport> channels;
  int64_t lines_ok = 0, lines_garbage = 0, lines_future = 0, lines_past = 0, log_resets = 0;
};

// from/to < 0: from the first data / to the last.
Result<Report> make_report(Store& s, const std::string& channel, int64_t from_ms, int64_t to_ms, int64_t step_ms);
std::string report_json(const Report& r);
std::string report_csv(const Report& r, bool steps);
std::string report_table(const Report& r, bool steps);

Status run_report(const ReportParams& p);

}  // namespace sigma::stats
