#pragma once
// The supervisor's stage figures in the Prometheus text exposition format
// (version 0.0.4), served at /metrics on the health address: made from the
// same JSON as /status, so the two never disagree. Viewer figures are
// sigma-stats's own /metrics, not repeated here.
#include <nlohmann/json.hpp>

#include <string>

#include "http/prometheus.h"

namespace sigma::supervisor {

using http::kPrometheusContentType;

std::string render_prometheus(const nlohmann::json& status);

}  // namespace sigma::supervisor
