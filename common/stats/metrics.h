#pragma once
// The Prometheus text exposition (format 0.0.4) of sigma-stats, served at
// /metrics on a 127.0.0.1 address by http::PollHttpServer
// (http/poll_server.h): single-threaded, polled beside the log follower, so
// the figures are read without a lock. Counters come from the persisted
// totals, so they never go down across a restart. No session id is ever a
// label.
#include <cstdint>
#include <map>
#include <string>

#include "stats/engine.h"
#include "stats/store.h"

namespace sigma::stats {

std::string metrics_text(const Engine& e, const std::map<std::string, int64_t>& viewers, int64_t active_fallback,
                         const LineCounts& lines);

}  // namespace sigma::stats
