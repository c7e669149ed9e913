#pragma once
// The --status-file document: one JSON object, rewritten atomically every
// second, with per-channel input rate, fps, last packet age and drops.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/channel.h"

namespace sigma::ingest {

struct ServerCounters {
  uint64_t connections = 0;  // open now
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t timeouts = 0;
  uint64_t protocol_errors = 0;
  int64_t loop_max_us = 0;  // longest pass of the event loop between two waits
};

// Updates each channel's rates for a period of period_ms, then describes.
nlohmann::json status_json(std::map<std::string, std::unique_ptr<Channel>>& channels, const ServerCounters& c,
                           int64_t now_mono_ms, int64_t period_ms);
nlohmann::json channel_json(const Channel& ch, int64_t now_mono_ms);

}  // namespace sigma::ingest
