#pragma once
// The terminal view of GET /status: one row per stage, the shared stages
// first, then each channel's stages upstream first.
#include <nlohmann/json.hpp>

#include <string>

namespace sigma::supervisor {

std::string render_status_table(const nlohmann::json& status);
// 75 -> "1m15s", 4000 -> "1h06m"; negative -> "-".
std::string format_age(double seconds);

}  // namespace sigma::supervisor
