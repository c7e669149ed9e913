#include "package/segment_event.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/log.h"

namespace sigma::package {

bool safe_relative(const std::string& p) {
  return !p.empty() && p[0] != '/' && p.find("..") == std::string::npos;
}

EventLine parse_segment_written(const std::string& line, SegmentWritten& out) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return EventLine::kNotJson;
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) -> std::optional<double> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  auto flag = [&](const char* k, bool dflt) {
    auto it = j.find(k);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
  };
  if (str("type") != "segment.written") return EventLine::kOther;
  SegmentWritten s;
  s.channel = str("channel");
  s.track = str("track");
  s.path = str("path");
  s.uri = str("uri");
  s.init = str("init");
  s.gap = flag("gap", false);
  s.independent = flag("independent", true);
  s.discontinuity = flag("discontinuity", false);
  auto msn = num("msn"), pdt = num("pdt_ms"), dur = num("duration");
  if (s.track.empty() || !msn || !pdt || (!s.gap && !safe_relative(s.uri)) ||
      (!s.init.empty() && !safe_relative(s.init)))
    return EventLine::kMalformed;
  s.msn = static_cast<int64_t>(*msn);
  s.pdt_ms = static_cast<int64_t>(*pdt);
  if (dur) s.duration_ms = static_cast<int64_t>(std::llround(*dur * 1000));
  out = std::move(s);
  return EventLine::kSegment;
}

std::optional<SegmentWritten> SegmentEventReader::read(const std::string& line) {
  SegmentWritten ev;
  switch (parse_segment_written(line, ev)) {
    case EventLine::kSegment:
      if (!channel_.empty() && ev.channel != channel_) return std::nullopt;
      return ev;
    case EventLine::kOther:
      return std::nullopt;
    case EventLine::kNotJson:
      if (++ignored_ <= 3) spdlog::warn("events input: a line that is not JSON, ignored: {:.80}", line);
      return std::nullopt;
    case EventLine::kMalformed:
      if (++ignored_ <= 3)
        spdlog::warn("events input: a segment.written without track, msn or pdt_ms, or with a bad uri, ignored: {:.120}",
                     line);
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace sigma::package
