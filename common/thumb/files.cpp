#include "thumb/files.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace sigma::thumb {

std::string sheet_jpg_name(int64_t sheet) { return "sprite-" + std::to_string(sheet) + ".jpg"; }
std::string sheet_json_name(int64_t sheet) { return "sprite-" + std::to_string(sheet) + ".json"; }

Result<SheetMeta> read_sheet_meta(const std::string& json_path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, read_file(json_path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return data_error(json_path + ": not a JSON object");
  try {
    SheetMeta m;
    m.sheet = j.at("sheet").get<int64_t>();
    m.interval_ms = j.at("interval_ms").get<int64_t>();
    m.cols = j.at("cols").get<int>();
    m.rows = j.at("rows").get<int>();
    m.tile_w = j.at("tile_w").get<int>();
    m.tile_h = j.at("tile_h").get<int>();
    if (m.interval_ms <= 0 || m.cols <= 0 || m.rows <= 0 || m.tile_w <= 0 || m.tile_h <= 0)
      return data_error(json_path + ": non-positive interval or geometry");
    for (const auto& t : j.at("tiles")) {
      Tile tile;
      tile.slot = t.at("slot").get<int64_t>();
      tile.pdt_ms = t.at("pdt_ms").get<int64_t>();
      tile.x = t.at("x").get<int>();
      tile.y = t.at("y").get<int>();
      m.tiles.push_back(tile);
    }
    std::sort(m.tiles.begin(), m.tiles.end(), [](const Tile& a, const Tile& b) { return a.slot < b.slot; });
    return m;
  } catch (const nlohmann::json::exception& e) {
    return data_error(json_path + ": " + e.what());
  }
}

Status write_sheet_meta(const std::string& json_path, const SheetMeta& meta) {
  nlohmann::json tiles = nlohmann::json::array();
  for (const auto& t : meta.tiles)
    tiles.push_back({{"slot", t.slot}, {"pdt_ms", t.pdt_ms}, {"x", t.x}, {"y", t.y}});
  nlohmann::json j = {{"sheet", meta.sheet},   {"interval_ms", meta.interval_ms},
                      {"cols", meta.cols},     {"rows", meta.rows},
                      {"tile_w", meta.tile_w}, {"tile_h", meta.tile_h},
                      {"tiles", tiles}};
  return write_file_atomic(json_path, j.dump() + "\n");
}

namespace {

std::vector<int64_t> list_sheets_in(const std::string& dir) {
  std::vector<int64_t> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    const char* n = e->d_name;
    if (std::strncmp(n, "sprite-", 7) != 0) continue;
    char* end = nullptr;
    errno = 0;
    long long k = std::strtoll(n + 7, &end, 10);
    if (errno || end == n + 7 || std::strcmp(end, ".json") != 0) continue;
    out.push_back(k);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string vtt_time(int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02" PRId64 ":%02d:%02d.%03d", ms / 3600000, int(ms / 60000 % 60),
                int(ms / 1000 % 60), int(ms % 1000));
  return buf;
}

}  // namespace

std::vector<int64_t> list_sheets(const std::string& channel_dir) {
  return list_sheets_in(channel_dir + "/" + kDir);
}

Result<std::vector<TileRef>> tiles_in_range(const std::string& channel_dir, int64_t from_ms, int64_t to_ms) {
  std::vector<TileRef> out;
  if (to_ms <= from_ms) return out;
  const std::string dir = channel_dir + "/" + kDir;
  std::vector<int64_t> sheets = list_sheets_in(dir);
  if (sheets.empty()) return out;
  // The newest sheet's geometry tells which sheets can hold the range, so
  // that a short range of a long archive parses a few sidecars, not all.
  // A sheet of another geometry (the options changed) means a full scan.
  int64_t span_ms = 0;
  if (auto newest = read_sheet_meta(dir + "/" + sheet_json_name(sheets.back())); newest.is_ok())
    span_ms = int64_t(newest->cols) * newest->rows * newest->interval_ms;
  auto scan = [&](bool narrow) -> bool {
    out.clear();
    for (int64_t k : sheets) {
      if (narrow && ((k + 1) * span_ms <= from_ms || k * span_ms >= to_ms)) continue;
      auto meta = read_sheet_meta(dir + "/" + sheet_json_name(k));
      // A sidecar being replaced or left broken by a crash is skipped, not
      // fatal: the origin serves the rest of the range.
      if (!meta.is_ok()) continue;
      const int64_t per = int64_t(meta->cols) * meta->rows;
      if (narrow && per * meta->interval_ms != span_ms) return false;
      if ((k + 1) * per * meta->interval_ms <= from_ms || k * per * meta->interval_ms >= to_ms) continue;
      for (const auto& t : meta->tiles) {
        const int64_t s0 = t.slot * meta->interval_ms, s1 = s0 + meta->interval_ms;
        if (s1 <= from_ms || s0 >= to_ms) continue;
        out.push_back(TileRef{k, t, meta->tile_w, meta->tile_h, meta->interval_ms});
      }
    }
    return true;
  };
  if (span_ms <= 0 || !scan(true)) scan(false);
  std::sort(out.begin(), out.end(), [](const TileRef& a, const TileRef& b) {
    return a.tile.slot * a.interval_ms < b.tile.slot * b.interval_ms;
  });
  // Two sheets claiming the same slot start (sheets of another interval
  // left from an earlier run): keep the first, so cues never overlap.
  std::vector<TileRef> uniq;
  for (auto& r : out) {
    if (!uniq.empty() && r.tile.slot * r.interval_ms == uniq.back().tile.slot * uniq.back().interval_ms) continue;
    uniq.push_back(r);
  }
  return uniq;
}

std::string make_vtt(const std::vector<TileRef>& tiles, int64_t from_ms, int64_t to_ms,
                     const std::string& uri_prefix) {
  std::string out = "WEBVTT\n\n";
  for (size_t i = 0; i < tiles.size(); ++i) {
    const auto& r = tiles[i];
    int64_t start = i == 0 ? from_ms : std::max(from_ms, r.tile.slot * r.interval_ms);
    int64_t end = i + 1 < tiles.size() ? tiles[i + 1].tile.slot * tiles[i + 1].interval_ms : to_ms;
    end = std::min(end, to_ms);
    if (end <= start) continue;
    out += vtt_time(start - from_ms) + " --> " + vtt_time(end - from_ms) + "\n";
    out += uri_prefix + sheet_jpg_name(r.sheet) + "#xywh=" + std::to_string(r.tile.x) + "," +
           std::to_string(r.tile.y) + "," + std::to_string(r.w) + "," + std::to_string(r.h) + "\n\n";
  }
  return out;
}

}  // namespace sigma::thumb
