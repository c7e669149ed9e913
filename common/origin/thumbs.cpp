#include "origin/thumbs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "base/time_spec.h"
#include "origin/responses.h"
#include "thumb/files.h"

namespace sigma::origin {
namespace {

constexpr int64_t kClosedAfterMs = 5 * 60 * 1000;

// The next line of text from pos ('\r' dropped).
std::string_view next_line(std::string_view text, size_t& pos) {
  size_t nl = text.find('\n', pos);
  std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
  pos = nl == std::string_view::npos ? text.size() : nl + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string> read_text(FileStore& store, const std::string& rel) {
  auto got = store.get(rel);
  if (!std::holds_alternative<FileData>(got)) return std::nullopt;
  const FileData& f = std::get<FileData>(got);
  if (f.bytes) return *f.bytes;
  std::string text(f.size, '\0');
  ssize_t n = ::pread(f.file->fd(), text.data(), text.size(), 0);
  if (n < 0) return std::nullopt;
  text.resize(static_cast<size_t>(n));
  return text;
}

std::optional<std::string> thumbs_cache_control(FileStore& store, const std::string& rel, int64_t now_ms) {
  const std::string dir = std::string("/") + thumb::kDir + "/";
  size_t at = rel.find(dir);
  if (at == std::string::npos || at == 0 || rel.find('/') != at) return std::nullopt;  // CH/thumbs/NAME only
  std::string name = rel.substr(at + dir.size());
  if (name.find('/') != std::string::npos) return std::nullopt;
  if (name.rfind("latest", 0) == 0) return std::string("public, max-age=1");
  bool jpg = ends_with(name, ".jpg");
  if (name.rfind("sprite-", 0) == 0 && (jpg || ends_with(name, ".json"))) {
    std::string json = rel.substr(0, rel.size() - (jpg ? 4 : 5)) + ".json";
    auto text = read_text(store, json);
    auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (j.is_object()) {
      int64_t sheet = j.value("sheet", int64_t{-1}), interval = j.value("interval_ms", int64_t{0});
      int64_t per = int64_t{j.value("cols", 0)} * j.value("rows", 0);
      if (sheet >= 0 && interval > 0 && per > 0 && (sheet + 1) * per * interval + kClosedAfterMs < now_ms)
        return std::string("public, max-age=3600");
    }
    return std::string("public, max-age=2");
  }
  return std::string(kShort);
}

namespace {

// The master's first variant URI, when it lies inside the channel.
std::string first_variant(const std::string& master) {
  std::string variant;
  for (size_t pos = 0; pos < master.size() && variant.empty();) {
    std::string_view line = next_line(master, pos);
    if (!line.empty() && line[0] != '#') variant = std::string(line.substr(0, line.find('?')));
  }
  if (variant.empty() || variant.find("://") != std::string::npos || variant[0] == '/' ||
      variant.find("..") != std::string::npos)
    return {};
  return variant;
}

}  // namespace

std::string first_variant_dir(FileStore& store, const std::string& channel) {
  auto master = read_text(store, channel + "/master.m3u8");
  std::string v = master ? first_variant(*master) : std::string();
  auto slash = v.find('/');
  return slash == std::string::npos ? std::string() : v.substr(0, slash);
}

Result<int64_t> live_window_start(FileStore& store, const std::string& channel) {
  auto master = read_text(store, channel + "/master.m3u8");
  if (!master) return data_error("the channel has no master.m3u8");
  std::string variant = first_variant(*master);
  if (variant.empty()) return data_error("the master lists no variant of this channel");
  auto media = read_text(store, channel + "/" + variant);
  if (!media) return data_error("the live playlist " + variant + " is missing");
  constexpr std::string_view kPdt = "#EXT-X-PROGRAM-DATE-TIME:";
  for (size_t pos = 0; pos < media->size();) {
    std::string_view line = next_line(*media, pos);
    if (line.substr(0, kPdt.size()) == kPdt) {
      auto t = parse_time(std::string(line.substr(kPdt.size())), 0);
      if (!t) return data_error("the live playlist's date-time: " + t.status().message());
      return *t;
    }
  }
  return data_error("the live playlist " + variant + " has no EXT-X-PROGRAM-DATE-TIME");
}

namespace {

// "hh:mm:ss.mmm"
std::string vtt_clock(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%03lld", static_cast<long long>(ms / 3600000),
                static_cast<long long>(ms / 60000 % 60), static_cast<long long>(ms / 1000 % 60),
                static_cast<long long>(ms % 1000));
  return buf;
}

int64_t vod_time(const std::vector<VodPiece>& pieces, int64_t media_ms) {
  for (const auto& p : pieces) {
    if (media_ms < p.start_ms) return p.vod_ms;  // in a hole (or before): closed up
    if (media_ms < p.end_ms) return p.vod_ms + (media_ms - p.start_ms);
  }
  const auto& last = pieces.back();
  return last.vod_ms + (last.end_ms - last.start_ms);
}

}  // namespace

std::string vod_vtt(const std::vector<thumb::TileRef>& tiles, const std::vector<VodPiece>& pieces,
                    const std::string& uri_prefix) {
  std::string out = "WEBVTT\n\n";
  if (pieces.empty()) return out;
  const int64_t from = pieces.front().start_ms, to = pieces.back().end_ms;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const auto& r = tiles[i];
    int64_t a = i == 0 ? from : std::max(from, r.tile.slot * r.interval_ms);
    int64_t b = i + 1 < tiles.size() ? tiles[i + 1].tile.slot * tiles[i + 1].interval_ms : to;
    int64_t va = vod_time(pieces, a), vb = vod_time(pieces, std::min(b, to));
    if (vb <= va) continue;
    out += vtt_clock(va) + " --> " + vtt_clock(vb) + "\n" + uri_prefix + thumb::sheet_jpg_name(r.sheet) + "#xywh=" +
           std::to_string(r.tile.x) + "," + std::to_string(r.tile.y) + "," + std::to_string(r.w) + "," +
           std::to_string(r.h) + "\n\n";
  }
  return out;
}

Result<std::vector<thumb::TileRef>> SheetCache::tiles(const std::string& channel_dir, int64_t from_ms,
                                                       int64_t to_ms) {
  std::vector<thumb::TileRef> out;
  if (to_ms <= from_ms) return out;
  const std::string dir = channel_dir + "/" + thumb::kDir;
  std::shared_ptr<Channel> ch;
  {
    std::lock_guard lock(mu_);
    auto& slot = channels_[dir];
    if (!slot) slot = std::make_shared<Channel>();
    ch = slot;
    ch->used = ++clock_;
    // Over the bound: forget the channels asked for longest ago (a
    // channel being read keeps its sheets through its shared_ptr).
    size_t total = 0;
    for (auto& [d, c] : channels_) total += c->tiles;
    while (total > max_tiles_ && channels_.size() > 1) {
      auto oldest = channels_.end();
      for (auto it = channels_.begin(); it != channels_.end(); ++it)
        if (it->second != ch && (oldest == channels_.end() || it->second->used < oldest->second->used)) oldest = it;
      if (oldest == channels_.end()) break;
      total -= oldest->second->tiles;
      channels_.erase(oldest);
    }
  }
  std::vector<int64_t> names = thumb::list_sheets(channel_dir);
  std::set<int64_t> listed(names.begin(), names.end());
  std::lock_guard lock(ch->mu);
  for (auto it = ch->sheets.begin(); it != ch->sheets.end();)
    it = listed.count(it->first) ? std::next(it) : ch->sheets.erase(it);
  for (int64_t k : listed) {
    std::string path = dir + "/" + thumb::sheet_json_name(k);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      ch->sheets.erase(k);
      continue;
    }
    int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    auto it = ch->sheets.find(k);
    if (it == ch->sheets.end() || it->second.dev != st.st_dev || it->second.ino != st.st_ino ||
        it->second.size != st.st_size || it->second.mtime_ns != mtime_ns) {
      auto meta = thumb::read_sheet_meta(path);
      // Being replaced, or broken by a crash: skipped, as tiles_in_range does.
      if (!meta) {
        ch->sheets.erase(k);
        continue;
      }
      ch->sheets[k] = Sheet{st.st_dev, st.st_ino, st.st_size, mtime_ns, std::move(*meta)};
    }
    const thumb::SheetMeta& m = ch->sheets[k].meta;
    const int64_t per = int64_t{m.cols} * m.rows;
    if ((k + 1) * per * m.interval_ms <= from_ms || k * per * m.interval_ms >= to_ms) continue;
    for (const auto& t : m.tiles) {
      const int64_t s0 = t.slot * m.interval_ms;
      if (s0 + m.interval_ms <= from_ms || s0 >= to_ms) continue;
      out.push_back(thumb::TileRef{k, t, m.tile_w, m.tile_h, m.interval_ms});
    }
  }
  size_t held = 0;
  for (auto& [k, sh] : ch->sheets) held += sh.meta.tiles.size();
  {
    std::lock_guard cache_lock(mu_);
    ch->tiles = held;
  }
  auto start = [](const thumb::TileRef& r) { return r.tile.slot * r.interval_ms; };
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return start(a) < start(b); });
  // Two sheets claiming one slot start (sheets of another interval left by
  // an earlier run): the first kept, so cues never overlap.
  out.erase(std::unique(out.begin(), out.end(), [&](const auto& a, const auto& b) { return start(a) == start(b); }),
            out.end());
  return out;
}

size_t SheetCache::cached_tiles() const {
  std::lock_guard lock(mu_);
  size_t total = 0;
  for (auto& [d, c] : channels_) total += c->tiles;
  return total;
}

}  // namespace sigma::origin
