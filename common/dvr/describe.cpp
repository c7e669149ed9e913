#include "dvr/describe.h"

#include <filesystem>

#include "base/time.h"

namespace sigma::dvr {
namespace {

nlohmann::json range_json(const Range& r) {
  return {{"from", iso8601_utc(r.from_ms)},
          {"to", iso8601_utc(r.to_ms)},
          {"from_ms", r.from_ms},
          {"to_ms", r.to_ms},
          {"duration_s", static_cast<double>(r.to_ms - r.from_ms) / 1000.0},
          {"bytes", r.bytes},
          {"segments", r.segments}};
}

}  // namespace

Result<nlohmann::json> describe(const Index& index, const std::string& channel) {
  std::string name = channel;
  if (name.empty()) {
    auto m = index.meta("channel");
    if (m && !m->empty()) name = *m;
  }
  if (name.empty()) name = std::filesystem::path(index.channel_dir()).lexically_normal().filename().string();
  if (name.empty() || name == ".")
    name = std::filesystem::path(index.channel_dir()).lexically_normal().parent_path().filename().string();

  nlohmann::json out;
  out["channel"] = name;
  auto ranges = index.ranges("");
  if (!ranges) return ranges.status().wrap("archive ranges");
  int64_t bytes = 0, segments = 0;
  nlohmann::json rj = nlohmann::json::array(), gaps = nlohmann::json::array();
  for (size_t i = 0; i < ranges->size(); ++i) {
    const Range& r = (*ranges)[i];
    bytes += r.bytes;
    segments += r.segments;
    rj.push_back(range_json(r));
    if (i > 0) {
      const Range& p = (*ranges)[i - 1];
      gaps.push_back({{"from", iso8601_utc(p.to_ms)},
                      {"to", iso8601_utc(r.from_ms)},
                      {"from_ms", p.to_ms},
                      {"to_ms", r.from_ms},
                      {"duration_s", static_cast<double>(r.from_ms - p.to_ms) / 1000.0}});
    }
  }
  if (ranges->empty()) {
    out["from"] = nullptr;
    out["to"] = nullptr;
    out["from_ms"] = nullptr;
    out["to_ms"] = nullptr;
    out["duration_s"] = 0;
  } else {
    int64_t from = ranges->front().from_ms, to = ranges->back().to_ms;
    out["from"] = iso8601_utc(from);
    out["to"] = iso8601_utc(to);
    out["from_ms"] = from;
    out["to_ms"] = to;
    out["duration_s"] = static_cast<double>(to - from) / 1000.0;
  }
  out["bytes"] = bytes;
  out["segments"] = segments;
  out["ranges"] = std::move(rj);
  out["gaps"] = std::move(gaps);

  auto tracks = index.tracks();
  if (!tracks) return tracks.status().wrap("archive tracks");
  nlohmann::json tj = nlohmann::json::array();
  for (const auto& t : *tracks) {
    auto tr = index.ranges(t);
    if (!tr) return tr.status().wrap("archive ranges of " + t);
    int64_t tb = 0, ts = 0;
    nlohmann::json trj = nlohmann::json::array();
    for (const auto& r : *tr) {
      tb += r.bytes;
      ts += r.segments;
      trj.push_back(range_json(r));
    }
    tj.push_back({{"name", t}, {"bytes", tb}, {"segments", ts}, {"ranges", std::move(trj)}});
  }
  out["tracks"] = std::move(tj);

  auto keeps = index.keeps();
  if (!keeps) return keeps.status().wrap("archive keeps");
  nlohmann::json kj = nlohmann::json::array();
  for (const auto& k : *keeps)
    kj.push_back({{"name", k.name},
                  {"from", iso8601_utc(k.from_ms)},
                  {"to", iso8601_utc(k.to_ms)},
                  {"from_ms", k.from_ms},
                  {"to_ms", k.to_ms},
                  {"created", iso8601_utc(k.created_ms)}});
  out["keeps"] = std::move(kj);
  return out;
}

}  // namespace sigma::dvr
