#include "stats/metrics.h"

#include <fmt/format.h>

#include "http/prometheus.h"

namespace sigma::stats {
namespace {

std::string esc(const std::string& v) { return http::prometheus_escape(v); }

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += http::prometheus_head(name, type, help);
}

}  // namespace

std::string metrics_text(const Engine& e, const std::map<std::string, int64_t>& viewers, int64_t active_fallback,
                         const LineCounts& lines) {
  std::string out;
  head(out, "sigma_viewers", "gauge", "Viewer sessions active now (a request within the session timeout).");
  for (const auto& [ch, n] : viewers) out += fmt::format("sigma_viewers{{channel=\"{}\"}} {}\n", esc(ch), n);
  head(out, "sigma_viewer_sessions_fallback", "gauge",
       "Active sessions identified by client address and User-Agent (no session id in their requests).");
  out += fmt::format("sigma_viewer_sessions_fallback {}\n", active_fallback);

  auto sel = [&](Metric m) {
    std::vector<std::pair<const Engine::TotalKey*, int64_t>> v;
    for (const auto& [k, val] : e.totals())
      if (k.metric == m) v.emplace_back(&k, val);
    return v;
  };
  head(out, "sigma_views_total", "counter", "Views: sessions that fetched media (a segment or a part).");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kViews))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_views_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_watch_seconds_total", "counter",
       "Watch time: first to last media request of each session, gaps over the timeout cut, by rendition.");
  for (auto& [k, v] : sel(Metric::kWatchMs))
    out += fmt::format("sigma_watch_seconds_total{{channel=\"{}\",track=\"{}\"}} {:.3f}\n", esc(k->channel),
                       esc(k->label), static_cast<double>(v) / 1000.0);
  head(out, "sigma_http_requests_total", "counter", "Requests in the access log, by channel and status code.");
  for (auto& [k, v] : sel(Metric::kRequests))
    out += fmt::format("sigma_http_requests_total{{channel=\"{}\",code=\"{}\"}} {}\n", esc(k->channel), esc(k->label), v);
  head(out, "sigma_http_sent_bytes_total", "counter", "Response body bytes sent, by channel.");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kBytes))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_http_sent_bytes_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_sessions_total", "counter", "Viewer sessions started, by channel.");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kSessions))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_sessions_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_sessions_fallback_total", "counter",
       "Sessions started that were identified by client address and User-Agent (no session id).");
  int64_t fb = 0;
  for (auto& [k, v] : sel(Metric::kFallbackSessions)) fb += v;
  out += fmt::format("sigma_sessions_fallback_total {}\n", fb);
  head(out, "sigma_stats_log_lines_total", "counter",
       "Access-log lines read, by result: ok, garbage, future, past (the last three skipped).");
  out += fmt::format("sigma_stats_log_lines_total{{result=\"ok\"}} {}\n", lines.ok);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"garbage\"}} {}\n", lines.garbage);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"future\"}} {}\n", lines.future);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"past\"}} {}\n", lines.past);
  head(out, "sigma_stats_log_resets_total", "counter", "Times the access log was rotated or truncated under sigma-stats.");
  out += fmt::format("sigma_stats_log_resets_total {}\n", lines.resets);
  return out;
}

}  // namespace sigma::stats
