#pragma once
// The supervisor's stage figures in the Prometheus text exposition format
// (version 0.0.4), served at /metrics on the health address: made from the
// same JSON as /status, so the two never disagree. Viewer figures are
// sigma-stats's own /metrics, not repeated here.
#include <nlohmann/json.hpp>

#include <string>

namespace sigma::supervisor {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const nlohmann::json& status);

}  // namespace sigma::supervisor
