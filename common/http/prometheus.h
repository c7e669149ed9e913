#pragma once
// The shared pieces of the Prometheus text exposition format (0.0.4) that
// sigma-stats and sigma-supervisor write at their /metrics.
#include <string>

namespace sigma::http {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value escaped as the exposition format quotes it (\\, \", \n).
std::string prometheus_escape(const std::string& v);

// A metric family's "# HELP" and "# TYPE" lines (its samples follow them).
std::string prometheus_head(const std::string& name, const std::string& type, const std::string& help);

}  // namespace sigma::http
