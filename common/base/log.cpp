#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace sigma {

void init_logging(std::string_view tool, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(tool));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %n %^%l%$: %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  auto scheme_end = out.find("://");
  if (scheme_end == std::string::npos) return out;  // a plain path
  std::string scheme = out.substr(0, scheme_end);
  size_t auth_start = scheme_end + 3;
  size_t path_start = out.find('/', auth_start);
  size_t query_start = out.find('?', auth_start);
  size_t auth_end = std::min(path_start, query_start);
  if (auth_end == std::string::npos) auth_end = out.size();
  auto at = out.rfind('@', auth_end);
  if (at != std::string::npos && at >= auth_start) {
    out.replace(auth_start, at - auth_start, "***");
    size_t delta = (at - auth_start) - 3;
    if (path_start != std::string::npos) path_start -= delta;
    if (query_start != std::string::npos) query_start -= delta;
  }
  // Query values.
  if (query_start != std::string::npos) {
    std::string q = out.substr(query_start + 1), nq;
    size_t pos = 0;
    while (pos <= q.size()) {
      size_t amp = q.find('&', pos);
      if (amp == std::string::npos) amp = q.size();
      std::string kv = q.substr(pos, amp - pos);
      auto eq = kv.find('=');
      if (!nq.empty()) nq += '&';
      nq += (eq == std::string::npos) ? kv : kv.substr(0, eq) + "=***";
      pos = amp + 1;
    }
    out = out.substr(0, query_start + 1) + nq;
  }
  if ((scheme == "rtmp" || scheme == "rtmps" || scheme == "srt") && path_start != std::string::npos) {
    size_t end = out.find('?', path_start);
    if (end == std::string::npos) end = out.size();
    size_t last = out.rfind('/', end - 1);
    if (last != std::string::npos && last > path_start && last + 1 < end)
      out.replace(last + 1, end - last - 1, "***");
  }
  return out;
}

}  // namespace sigma
