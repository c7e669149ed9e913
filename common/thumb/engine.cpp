// `sigma-thumb run`: follows segment.written, keeps thumbs/ as files.h says.
#include "thumb/engine.h"

#include <spdlog/spdlog.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/cli.h"
#include "base/event_follower.h"
#include "base/events.h"
#include "base/fs.h"
#include "base/signals.h"
#include "base/time.h"
#include "base/write_health.h"
#include "dvr/index.h"
#include "dvr/playlist_scan.h"
#include "package/segment_event.h"
#include "thumb/files.h"
#include "thumb/picture.h"

namespace sigma::thumb {

namespace {

struct Seg {
  std::string track, uri, init;
  int64_t msn = 0, pdt_ms = 0, duration_ms = 0;
  bool independent = true, gap = false, discontinuity = false;
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// A field of /proc/self/status in kB ("VmHWM", "RssAnon", "RssFile").
int64_t status_kb(const char* field) {
  auto s = read_file("/proc/self/status");
  if (!s.is_ok()) return 0;
  std::string key = std::string(field) + ":";
  size_t at = s->find(key);
  return at == std::string::npos ? 0 : std::atoll(s->c_str() + at + key.size());
}

class Engine {
 public:
  explicit Engine(const RunParams& p) : p_(p), thumbs_(p.dir + "/" + kDir) {}
  Status run();

 private:
  std::optional<Seg> parse(const std::string& line);
  void on_event(const Seg& s);
  Status process(const Seg& s, bool sprites, bool live);
  Status take(const Seg& s, bool sprites, bool live);
  Status write_latest(const AVFrame* f, const Seg& s, int64_t pdt_ms);
  Status write_json();
  void mark_stale(const std::string& reason);
  void mark_fresh();
  Status add_tile(int64_t slot, int64_t pdt_ms, const AVFrame* f);
  Status load_sheet(int64_t k);
  bool slot_filled(int64_t slot);
  Status backfill();
  void retention();
  void check_quiet(int64_t now);
  void choose(const std::string& why);
  void load_latest();
  dvr::Index* index();

  RunParams p_;
  std::string thumbs_;
  EventWriter events_;
  // Writes that fail for a reason that passes (a full disk): the pictures
  // of those segments are lost, sigma-thumb goes on (output.failed and
  // output.recovered, writer "thumb").
  WriteHealth health_{&events_, p_.channel, "thumb"};
  uint64_t writes_ = 0;  // pictures written (a success after failures ends them)
  std::vector<Variant> variants_;
  std::string preferred_, chosen_;
  std::vector<Seg> pending_;                 // segments seen before master.m3u8
  std::map<std::string, int64_t> last_seen_;  // track -> monotonic ms of its last segment
  int64_t seg_ms_ = 2000;                    // the newest segment duration seen
  int64_t per_sheet_ = 100;

  // latest.json
  bool have_picture_ = false, stale_ = false;
  std::string stale_reason_, pic_track_, pic_segment_;
  int64_t pic_pdt_ = 0, last_live_pdt_ = std::numeric_limits<int64_t>::min();
  int pic_w_ = 0, pic_h_ = 0;
  int64_t stale_since_ = 0;

  // The sheet being filled.
  int64_t sheet_ = std::numeric_limits<int64_t>::min();
  SheetMeta meta_;
  std::unique_ptr<SheetCanvas> canvas_;

  std::unique_ptr<dvr::Index> index_;
  int64_t next_retention_ = 0;
  package::SegmentEventReader events_in_{p_.channel};
};

dvr::Index* Engine::index() {
  if (!index_ && file_exists(p_.dir + "/" + dvr::kIndexPath)) {
    auto ix = dvr::Index::open(p_.dir, dvr::Index::Mode::kReadOnly);
    if (ix.is_ok()) index_ = std::move(*ix);
  }
  return index_.get();
}

// The picture a previous run left: kept (and marked stale) until a newer one.
void Engine::load_latest() {
  auto text = read_file(thumbs_ + "/latest.json");
  if (!text.is_ok() || !file_exists(thumbs_ + "/latest.jpg")) return;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pdt_ms") || !j["pdt_ms"].is_number()) return;
  have_picture_ = true;
  pic_pdt_ = last_live_pdt_ = j["pdt_ms"].get<int64_t>();
  pic_track_ = j.value("track", "");
  pic_segment_ = j.value("segment", "");
  pic_w_ = j.value("width", 0);
  pic_h_ = j.value("height", 0);
  stale_ = j.value("stale", false);
  stale_reason_ = j.value("stale_reason", "");
  if (stale_) stale_since_ = unix_ms_now();
}

void Engine::choose(const std::string& why) {
  variants_ = read_variants(p_.dir);
  int want = *std::max_element(p_.widths.begin(), p_.widths.end());
  preferred_ = choose_variant(variants_, want);
  if (chosen_.empty() && !preferred_.empty()) {
    chosen_ = preferred_;
    last_seen_[chosen_] = monotonic_ms();
    spdlog::info("pictures from track {} ({})", chosen_, why);
  }
}

std::optional<Seg> Engine::parse(const std::string& line) {
  auto got = events_in_.read(line);
  if (!got) return std::nullopt;
  const package::SegmentWritten& ev = *got;
  Seg s;
  s.track = ev.track;
  s.uri = ev.uri;
  s.init = ev.init;
  s.gap = ev.gap;
  s.independent = ev.independent;
  s.discontinuity = ev.discontinuity;
  s.msn = ev.msn;
  s.pdt_ms = ev.pdt_ms;
  s.duration_ms = std::max<int64_t>(ev.duration_ms, 0);
  if (!s.gap && !file_exists(p_.dir + "/" + s.uri)) {
    spdlog::debug("segment {} is not in {}: ignored", s.uri, p_.dir);
    return std::nullopt;
  }
  return s;
}

void Engine::mark_stale(const std::string& reason) {
  if (!stale_) {
    stale_since_ = unix_ms_now();
    spdlog::warn("picture stale: {}", reason);
    events_.emit("thumb.stale", p_.channel, {{"reason", reason}, {"track", chosen_}, {"pdt_ms", pic_pdt_}});
  }
  stale_ = true;
  stale_reason_ = reason;
  if (have_picture_) {
    Status st = write_json();
    if (!st.is_ok()) spdlog::warn("{}", st.message());
  }
}

void Engine::mark_fresh() {
  if (stale_) {
    spdlog::info("picture fresh again from {}", chosen_);
    events_.emit("thumb.resumed", p_.channel,
                 {{"track", chosen_}, {"stale_ms", unix_ms_now() - stale_since_}, {"was", stale_reason_}});
  }
  stale_ = false;
  stale_reason_.clear();
}

Status Engine::write_json() {
  nlohmann::json j = {{"pdt_ms", pic_pdt_},   {"written_ms", unix_ms_now()}, {"track", pic_track_},
                      {"segment", pic_segment_}, {"widths", p_.widths},      {"width", pic_w_},
                      {"height", pic_h_},       {"stale", stale_},          {"stale_reason", stale_reason_}};
  return write_file_atomic(thumbs_ + "/latest.json", j.dump() + "\n");
}

Status Engine::write_latest(const AVFrame* f, const Seg& s, int64_t pdt_ms) {
  std::string first;
  int fw = 0, fh = 0;
  for (int w : p_.widths) {
    int h = scaled_height(f, w);
    SIGMA_ASSIGN_OR_RETURN(std::string jpg, encode_jpeg(f, w, h));
    SIGMA_RETURN_IF_ERROR(write_file_atomic(thumbs_ + "/latest-" + std::to_string(w) + ".jpg", jpg));
    if (first.empty()) first = std::move(jpg), fw = w, fh = h;
  }
  SIGMA_RETURN_IF_ERROR(write_file_atomic(thumbs_ + "/latest.jpg", first));
  ++writes_;
  have_picture_ = true;
  pic_pdt_ = pdt_ms;
  pic_track_ = s.track;
  pic_segment_ = s.uri;
  pic_w_ = fw;
  pic_h_ = fh;
  mark_fresh();
  return write_json();
}

Status Engine::load_sheet(int64_t k) {
  if (sheet_ == k && canvas_) return {};
  sheet_ = k;
  meta_ = SheetMeta{};
  meta_.sheet = k;
  meta_.interval_ms = p_.sprite_every_ms;
  meta_.cols = p_.cols;
  meta_.rows = p_.rows;
  meta_.tile_w = p_.tile_w;
  meta_.tile_h = p_.tile_h;
  SIGMA_ASSIGN_OR_RETURN(canvas_, SheetCanvas::make(p_.cols * p_.tile_w, p_.rows * p_.tile_h));
  const std::string json = thumbs_ + "/" + sheet_json_name(k), jpg = thumbs_ + "/" + sheet_jpg_name(k);
  if (!file_exists(json)) return {};
  auto old = read_sheet_meta(json);
  if (!old.is_ok()) {
    spdlog::warn("{}: unreadable, sheet {} starts again", old.status().message(), k);
    return {};
  }
  if (old->interval_ms != meta_.interval_ms || old->cols != meta_.cols || old->rows != meta_.rows ||
      old->tile_w != meta_.tile_w || old->tile_h != meta_.tile_h) {
    spdlog::warn("sheet {} was made with another interval or geometry: it starts again", k);
    return {};
  }
  Status st = canvas_->load_jpeg(jpg);
  if (!st.is_ok()) {
    spdlog::warn("{}: sheet {} starts again", st.message(), k);
    SIGMA_ASSIGN_OR_RETURN(canvas_, SheetCanvas::make(p_.cols * p_.tile_w, p_.rows * p_.tile_h));
    return {};
  }
  meta_.tiles = old->tiles;
  return {};
}

bool Engine::slot_filled(int64_t slot) {
  int64_t k = floor_div(slot, per_sheet_);
  if (!load_sheet(k).is_ok()) return true;  // cannot hold it: do not try
  return std::any_of(meta_.tiles.begin(), meta_.tiles.end(), [&](const Tile& t) { return t.slot == slot; });
}

Status Engine::add_tile(int64_t slot, int64_t pdt_ms, const AVFrame* f) {
  int64_t k = floor_div(slot, per_sheet_);
  bool new_sheet = k != sheet_;
  SIGMA_RETURN_IF_ERROR(load_sheet(k));
  int pos = static_cast<int>(slot - k * per_sheet_);
  Tile t{slot, pdt_ms, (pos % p_.cols) * p_.tile_w, (pos / p_.cols) * p_.tile_h};
  SIGMA_RETURN_IF_ERROR(canvas_->put(f, t.x, t.y, p_.tile_w, p_.tile_h));
  SIGMA_ASSIGN_OR_RETURN(std::string jpg, canvas_->encode());
  auto at = std::lower_bound(meta_.tiles.begin(), meta_.tiles.end(), slot,
                             [](const Tile& a, int64_t s) { return a.slot < s; });
  meta_.tiles.insert(at, t);
  // The JPEG first, then the JSON: the JSON never names a tile the JPEG lacks.
  SIGMA_RETURN_IF_ERROR(write_file_atomic(thumbs_ + "/" + sheet_jpg_name(k), jpg));
  SIGMA_RETURN_IF_ERROR(write_sheet_meta(thumbs_ + "/" + sheet_json_name(k), meta_));
  ++writes_;
  if (new_sheet) retention();
  return {};
}

Status Engine::process(const Seg& s, bool sprites, bool live) {
  if (s.gap) {
    if (live) mark_stale("gap in " + s.track + " at msn " + std::to_string(s.msn));
    return {};
  }
  auto rd = SegmentReader::open(s.init.empty() ? "" : p_.dir + "/" + s.init, p_.dir + "/" + s.uri);
  if (!rd.is_ok()) {
    spdlog::warn("segment {}: {}", s.uri, rd.status().message());
    if (live) mark_stale("cannot read " + s.uri);
    return rd.status().code() == ExitCode::kData || !file_exists(p_.dir + "/" + s.uri) ? Status() : rd.status();
  }
  SegmentReader& r = **rd;
  const auto& keys = r.keyframes();
  if (keys.empty()) {
    if (live) mark_stale("no keyframe in " + s.uri);
    return {};
  }
  int decoded = -1;
  const AVFrame* frame = nullptr;
  auto get = [&](int i) -> Result<const AVFrame*> {
    if (decoded == i) return frame;
    SIGMA_ASSIGN_OR_RETURN(frame, r.decode(i));
    decoded = i;
    return frame;
  };
  if (sprites) {
    int64_t last_slot = std::numeric_limits<int64_t>::min();
    for (const auto& k : keys) {
      int64_t pdt = s.pdt_ms + k.offset_ms;
      int64_t slot = floor_div(pdt, p_.sprite_every_ms);
      if (slot == last_slot || slot_filled(slot)) {
        spdlog::trace("{}: slot {} has its tile", s.uri, slot);
        continue;
      }
      last_slot = slot;
      auto f = get(k.index);
      if (!f.is_ok()) {
        spdlog::warn("{}", f.status().message());
        continue;
      }
      Status st = add_tile(slot, pdt, *f);
      if (!st.is_ok()) {
        if (st.code() == ExitCode::kSystem) return st.wrap("sprite sheet");
        spdlog::warn("{}", st.message());
      }
    }
  }
  if (live) {
    const auto& k = keys.back();
    int64_t pdt = s.pdt_ms + k.offset_ms;
    // Never back in time (events replayed after a backfill), at most once per --every.
    if (have_picture_ && pdt <= last_live_pdt_) return {};
    if (!stale_ && have_picture_ && pdt - last_live_pdt_ < p_.every_ms) return {};
    auto f = get(k.index);
    if (!f.is_ok()) {
      spdlog::warn("{}", f.status().message());
      mark_stale("cannot decode " + s.uri);
      return {};
    }
    SIGMA_RETURN_IF_ERROR_CTX(write_latest(*f, s, pdt), "latest picture");
    last_live_pdt_ = pdt;
  }
  return {};
}

void Engine::on_event(const Seg& s) {
  int64_t now = monotonic_ms();
  if (variants_.empty() || std::none_of(variants_.begin(), variants_.end(), [&](const Variant& v) { return v.track == s.track; }))
    choose("master.m3u8 read");
  if (variants_.empty()) {
    // The packager writes master.m3u8 once every track has begun: keep the
    // first segments until then.
    if (pending_.size() < 256) pending_.push_back(s);
    return;
  }
  if (!pending_.empty()) {
    std::vector<Seg> before;
    before.swap(pending_);
    for (const auto& b : before) on_event(b);
  }
  if (std::none_of(variants_.begin(), variants_.end(), [&](const Variant& v) { return v.track == s.track; })) return;  // audio
  last_seen_[s.track] = now;
  if (s.duration_ms > 0 && s.track == chosen_) seg_ms_ = s.duration_ms;
  if (s.track != chosen_) {
    if (s.track == preferred_) {
      // The cheapest track is back.
      events_.emit("thumb.switched", p_.channel, {{"from", chosen_}, {"to", s.track}, {"reason", "back"}});
      spdlog::info("pictures from track {} again", s.track);
      chosen_ = s.track;
    } else {
      check_quiet(now);
      if (s.track != chosen_) return;
    }
  }
  Status st = take(s, true, true);
  if (!st.is_ok()) spdlog::warn("{}", st.message());
}

// process() for one segment, a system error (a full disk) told once by
// health_ and not stopping the run; others are returned.
Status Engine::take(const Seg& s, bool sprites, bool live) {
  uint64_t mark = health_.failures(), wrote = writes_;
  Status st = process(s, sprites, live);
  if (st.is_ok()) {
    if (writes_ != wrote) health_.recovered_since(mark);
    return {};
  }
  if (st.code() != ExitCode::kSystem) return st;
  health_.failed("thumbnails of " + s.uri, st);
  return {};
}

// The chosen track quiet for a while: a rung shed (take the cheapest of
// those still arriving) or the whole channel stopped (the picture is stale).
void Engine::check_quiet(int64_t now) {
  auto it = last_seen_.find(chosen_);
  if (chosen_.empty() || it == last_seen_.end()) return;
  const int64_t quiet = std::max<int64_t>(3 * seg_ms_, 4000);
  if (now - it->second <= quiet) return;
  std::vector<std::string> skip;
  for (const auto& v : variants_) {
    auto ls = last_seen_.find(v.track);
    if (ls == last_seen_.end() || now - ls->second > quiet) skip.push_back(v.track);
  }
  int want = *std::max_element(p_.widths.begin(), p_.widths.end());
  std::string next = choose_variant(variants_, want, skip);
  if (next.empty() || next == chosen_) {
    if (have_picture_ && !stale_)
      mark_stale("no segments of " + chosen_ + " for " + std::to_string((now - it->second) / 1000) + " s");
    return;
  }
  std::string from = chosen_;
  mark_stale("segments of " + from + " stopped arriving");
  events_.emit("thumb.switched", p_.channel, {{"from", from}, {"to", next}, {"reason", "stopped"}});
  spdlog::warn("segments of {} stopped arriving: pictures from {}", from, next);
  chosen_ = next;
  // The slots since the last tile, from the new track's segments on disk.
  Status st = backfill();
  if (!st.is_ok()) spdlog::warn("{}", st.message());
}

void Engine::retention() {
  int64_t oldest = std::numeric_limits<int64_t>::min();
  if (dvr::Index* ix = index()) {
    auto span = ix->span();
    if (!span.is_ok() || !*span) return;
    oldest = (*span)->first;
  } else {
    if (chosen_.empty()) return;
    auto pl = dvr::read_media_playlist(p_.dir, chosen_ + "/index.m3u8");
    if (!pl.is_ok() || pl->segments.empty() || !pl->segments.front().pdt_ms) return;
    oldest = *pl->segments.front().pdt_ms;
  }
  for (int64_t k : list_sheets(p_.dir)) {
    if (k == sheet_) continue;
    int64_t end_ms = (k + 1) * per_sheet_ * p_.sprite_every_ms;
    if (end_ms > oldest) continue;
    ::unlink((thumbs_ + "/" + sheet_json_name(k)).c_str());  // the JSON first: no tile named in a JPEG gone
    ::unlink((thumbs_ + "/" + sheet_jpg_name(k)).c_str());
    spdlog::info("sheet {} ends before the oldest segment: deleted", k);
    events_.emit("thumb.sheet_deleted", p_.channel, {{"sheet", k}});
  }
}

Status Engine::backfill() {
  if (chosen_.empty()) choose("at start");
  if (chosen_.empty()) return {};
  auto all = tiles_in_range(p_.dir, std::numeric_limits<int64_t>::min() / 4, std::numeric_limits<int64_t>::max() / 4);
  std::optional<int64_t> last_slot;
  if (all.is_ok() && !all->empty()) last_slot = all->back().tile.slot;
  std::vector<Seg> segs;
  if (last_slot && index()) {
    int64_t from = (*last_slot + 1) * p_.sprite_every_ms;
    auto rows = index()->segments(chosen_, from, std::numeric_limits<int64_t>::max() / 4);
    if (rows.is_ok())
      for (const auto& r : *rows)
        segs.push_back(Seg{r.track, r.uri, r.init, r.msn, r.start_ms, r.duration_ms, r.independent, r.gap, r.discontinuity});
  }
  // The live playlist: everything newer than the index knows (or all of
  // it when there is no archive).
  auto pl = dvr::read_media_playlist(p_.dir, chosen_ + "/index.m3u8");
  if (pl.is_ok()) {
    int64_t after = segs.empty() ? std::numeric_limits<int64_t>::min() : segs.back().msn;
    for (const auto& l : pl->segments) {
      if (!l.pdt_ms || l.msn <= after) continue;
      if (last_slot && *l.pdt_ms + l.duration_ms <= (*last_slot + 1) * p_.sprite_every_ms) continue;
      segs.push_back(Seg{chosen_, l.uri, l.init, l.msn, *l.pdt_ms, l.duration_ms, true, l.gap, l.discontinuity});
    }
  }
  int64_t n = 0;
  for (size_t i = 0; i < segs.size() && !stop_requested(); ++i) {
    if (!segs[i].gap && !file_exists(p_.dir + "/" + segs[i].uri)) continue;
    SIGMA_RETURN_IF_ERROR(take(segs[i], true, i + 1 == segs.size()));
    ++n;
  }
  if (n) spdlog::info("{} segment(s) of {} on disk looked at for missed sprites", n, chosen_);
  return {};
}

Status Engine::run() {
  per_sheet_ = int64_t(p_.cols) * p_.rows;
  struct stat st {};
  if (::stat(p_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return usage_error("no channel directory " + p_.dir);
  SIGMA_RETURN_IF_ERROR_CTX(make_dirs(thumbs_), "create " + thumbs_);
  if (::access(thumbs_.c_str(), W_OK) != 0) return errno_error("cannot write into " + thumbs_, errno);
  SIGMA_RETURN_IF_ERROR(events_.open(p_.events));
  // A file is followed from its end: what it held before is on disk and
  // the backfill reads it from there.
  uint64_t inode = 0, offset = 0;
  struct stat es {};
  if (p_.events_in != "-" && p_.events_in.rfind("fd:", 0) != 0 && ::stat(p_.events_in.c_str(), &es) == 0 &&
      S_ISREG(es.st_mode))
    inode = es.st_ino, offset = es.st_size;
  SIGMA_ASSIGN_OR_RETURN(auto in, EventFollower::open(p_.events_in, inode, offset));
  load_latest();
  SIGMA_RETURN_IF_ERROR(backfill());
  retention();
  spdlog::info("thumbnails of {} into {}, following events from {}", p_.dir, thumbs_, p_.events_in);
  notify_ready(p_.ready_fd);
  std::vector<std::string> lines;
  next_retention_ = monotonic_ms() + 60'000;
  while (!stop_requested() && !in->ended()) {
    lines.clear();
    SIGMA_RETURN_IF_ERROR(in->read(lines, 1000));
    for (const auto& l : lines) {
      if (stop_requested()) break;
      if (auto s = parse(l)) on_event(*s);
    }
    int64_t now = monotonic_ms();
    check_quiet(now);
    if (now >= next_retention_) {
      retention();
      next_retention_ = now + 60'000;
    }
  }
  if (in->ended()) spdlog::info("events input {} ended", p_.events_in);
  // RssFile is mostly libav's shared libraries, shared with every other
  // stage; RssAnon is this process's own.
  spdlog::info("stopped; peak RSS {} kB (now {} kB own, {} kB of mapped files)", status_kb("VmHWM"),
               status_kb("RssAnon"), status_kb("RssFile"));
  return {};
}

}  // namespace

Status run_thumb(const RunParams& p) {
  // Picture buffers (a 1080p frame is 3 MB) straight from mmap and back to
  // the system when freed: glibc's moving threshold would otherwise keep
  // them in the heap between segments, and the resident set would grow.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  Engine e(p);
  return e.run();
}

}  // namespace sigma::thumb
