// The index against the directory, at start: what the packager wrote while
// sigma-dvr was down is indexed late, never lost, and rows whose file went
// away are dropped.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "base/fs.h"
#include "base/log.h"
#include "dvr/archiver.h"
#include "dvr/mp4_read.h"
#include "dvr/playlist_scan.h"

namespace sigma::dvr {
namespace {

struct Probe {
  int64_t dts_ms = 0;       // tfdt of the file's main track, in ms
  int64_t duration_ms = 0;  // its samples' durations added up
  bool sync = true;         // starts with a keyframe
};

// Parsed init segments by path, for the probes of one reconcile.
class InitCache {
 public:
  const mp4::Init* get(const std::string& path) {
    auto it = cache_.find(path);
    if (it != cache_.end()) return it->second ? &*it->second : nullptr;
    std::optional<mp4::Init> v;
    auto bytes = read_file(path);
    if (bytes.is_ok()) {
      auto init = mp4::parse_init(*bytes);
      if (init.is_ok()) v = std::move(*init);
    }
    auto& slot = cache_[path] = std::move(v);
    return slot ? &*slot : nullptr;
  }

 private:
  std::map<std::string, std::optional<mp4::Init>> cache_;
};

Result<Probe> probe(const std::string& path, const std::string& init_path, InitCache& inits) {
  const mp4::Init* init = inits.get(init_path);
  if (!init) return data_error("init segment " + init_path + " unreadable");
  SIGMA_ASSIGN_OR_RETURN(auto frags, mp4::read_fragments(path, *init));
  const mp4::Fragments* main = nullptr;
  for (const auto& f : frags) {
    const mp4::InitTrack* t = init->by_id(f.track_id);
    if (!t || t->timescale == 0) continue;
    if (!main || t->handler == "vide") main = &f;
    if (t->handler == "vide") break;
  }
  if (!main) return data_error(path + ": no fragment of a track of " + init_path);
  uint32_t ts = init->by_id(main->track_id)->timescale;
  Probe p;
  p.dts_ms = (main->base_dts * 1000 + ts / 2) / ts;
  p.duration_ms = (main->duration() * 1000 + ts / 2) / ts;
  p.sync = main->samples.empty() || main->samples.front().sync;
  return p;
}

// The init a segment file uses when no playlist says: sigma-package names
// a new init after the first msn that uses it (init-<msn>.mp4), the first
// one init.mp4.
class InitFiles {
 public:
  explicit InitFiles(const std::string& track_dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(track_dir.c_str()), closedir);
    if (!d) return;
    while (dirent* e = readdir(d.get())) {
      std::string n = e->d_name;
      if (n == "init.mp4") {
        by_first_[-1] = n;
      } else if (n.rfind("init-", 0) == 0 && n.size() > 9 && n.compare(n.size() - 4, 4, ".mp4") == 0) {
        std::string num = n.substr(5, n.size() - 9);
        if (!num.empty() && std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
          by_first_[std::stoll(num)] = n;
      }
    }
  }
  // "" when the directory has none.
  std::string for_msn(int64_t msn) const {
    auto it = by_first_.upper_bound(msn);
    if (it == by_first_.begin()) return "";
    return std::prev(it)->second;
  }

 private:
  std::map<int64_t, std::string> by_first_;
};

int64_t mtime_ms(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

struct Known {
  int64_t start_ms, duration_ms;
  std::string uri;   // channel-relative; "" when no file (a gap)
  std::string init;  // channel-relative
};

}  // namespace

Result<ReconcileResult> reconcile(Index& index, const std::string& dir) {
  ReconcileResult res;
  std::vector<TrackRef> refs = master_tracks(dir);
  SIGMA_ASSIGN_OR_RETURN(auto indexed_tracks, index.tracks());
  for (const auto& t : indexed_tracks) {
    bool seen = std::any_of(refs.begin(), refs.end(), [&](const TrackRef& r) { return r.track == t; });
    if (!seen) refs.push_back({t, t + "/index.m3u8"});
  }
  InitCache inits;
  for (const TrackRef& ref : refs) {
    const std::string track_dir = dir + "/" + ref.track;
    MediaListing listing;
    if (auto l = read_media_playlist(dir, ref.playlist); l.is_ok()) listing = std::move(*l);
    std::map<int64_t, const ListedSegment*> listed;
    for (const auto& s : listing.segments) listed[s.msn] = &s;

    SIGMA_ASSIGN_OR_RETURN(std::vector<SegmentRow> rows, index.all(ref.track));
    std::vector<SegmentFile> files = segment_files(track_dir);
    std::set<std::string> on_disk;
    for (const auto& f : files) on_disk.insert(ref.track + "/" + f.name);

    // Rows whose file is gone.
    std::vector<std::pair<std::string, int64_t>> drop;
    std::map<int64_t, Known> known;
    for (const auto& r : rows) {
      if (!r.gap && !r.uri.empty() && !on_disk.count(r.uri)) {
        struct stat st {};
        if (::stat((dir + "/" + r.uri).c_str(), &st) != 0 && errno == ENOENT) {
          drop.emplace_back(r.track, r.msn);
          continue;
        }
      }
      known[r.msn] = {r.start_ms, r.duration_ms, r.gap ? "" : r.uri, r.init};
    }
    if (!drop.empty()) {
      spdlog::warn("index: {} row(s) of {} name files that are gone (first msn {}): dropped", drop.size(), ref.track,
                   drop.front().second);
      SIGMA_RETURN_IF_ERROR(index.remove_batch(drop));
      res.dropped += static_cast<int64_t>(drop.size());
    }
    std::set<int64_t> indexed;
    for (const auto& r : rows) indexed.insert(r.msn);
    for (const auto& d : drop) indexed.erase(d.second);
    rows.clear();
    rows.shrink_to_fit();

    std::vector<SegmentRow> add;
    // Gaps the playlist lists: no file, but the time is accounted for.
    for (const auto& s : listing.segments) {
      if (!s.gap || indexed.count(s.msn) || !s.pdt_ms) continue;
      SegmentRow r;
      r.track = ref.track;
      r.msn = s.msn;
      r.start_ms = *s.pdt_ms;
      r.duration_ms = s.duration_ms;
      r.init = s.init;
      r.gap = true;
      r.discontinuity = s.discontinuity;
      add.push_back(r);
      known[s.msn] = {r.start_ms, r.duration_ms, "", r.init};
    }

    std::sort(files.begin(), files.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.msn < b.msn; });
    InitFiles init_files(track_dir);
    std::vector<const SegmentFile*> unlisted;
    for (const auto& f : files) {
      if (indexed.count(f.msn)) continue;
      auto it = listed.find(f.msn);
      if (it == listed.end() || !it->second->pdt_ms || it->second->uri != ref.track + "/" + f.name) {
        unlisted.push_back(&f);
        continue;
      }
      const ListedSegment& s = *it->second;
      struct stat st {};
      if (::stat((track_dir + "/" + f.name).c_str(), &st) != 0) continue;
      SegmentRow r;
      r.track = ref.track;
      r.msn = f.msn;
      r.start_ms = *s.pdt_ms;
      r.duration_ms = s.duration_ms;
      r.uri = s.uri;
      r.init = s.init;
      r.bytes = st.st_size;
      r.discontinuity = s.discontinuity;
      if (auto p = probe(track_dir + "/" + f.name, dir + "/" + s.init, inits); p.is_ok()) r.independent = p->sync;
      add.push_back(r);
      known[f.msn] = {r.start_ms, r.duration_ms, r.uri, r.init};
    }

    // Files no playlist lists any more: placed by their own timestamps
    // against the nearest neighbour whose time is known.
    std::map<int64_t, int64_t> dts_of;  // msn -> dts_ms, probed
    for (const SegmentFile* f : unlisted) {
      const std::string path = track_dir + "/" + f->name;
      std::string init_name = init_files.for_msn(f->msn);
      struct stat st {};
      if (init_name.empty() || ::stat(path.c_str(), &st) != 0) {
        spdlog::warn("reconcile: {} has no init segment beside it: not indexed", path);
        ++res.unreadable;
        continue;
      }
      const std::string init_rel = ref.track + "/" + init_name;
      auto p = probe(path, dir + "/" + init_rel, inits);
      if (!p.is_ok()) {
        spdlog::warn("reconcile: {}: {}: not indexed", path, p.status().message());
        ++res.unreadable;
        continue;
      }
      dts_of[f->msn] = p->dts_ms;
      std::optional<int64_t> start;
      // The nearest known neighbour with a file: below first, then above.
      auto try_neighbour = [&](std::map<int64_t, Known>::const_iterator it) -> bool {
        if (it->second.uri.empty()) return false;
        auto d = dts_of.find(it->first);
        int64_t nd;
        if (d != dts_of.end()) {
          nd = d->second;
        } else {
          auto np = probe(dir + "/" + it->second.uri, dir + "/" + it->second.init, inits);
          if (!np.is_ok()) return false;
          nd = dts_of[it->first] = np->dts_ms;
        }
        start = it->second.start_ms + (p->dts_ms - nd);
        return true;
      };
      auto above = known.upper_bound(f->msn);
      for (auto it = above; it != known.begin() && !start;) {
        --it;
        if (try_neighbour(it)) break;
        if (f->msn - it->first > 16) break;
      }
      for (auto it = above; it != known.end() && !start && it->first - f->msn <= 16; ++it)
        if (try_neighbour(it)) break;
      if (!start) {
        // Nothing to place it against: its file's time says when it ended.
        start = mtime_ms(st) - p->duration_ms;
        spdlog::info("reconcile: {} placed by its file time (no indexed neighbour)", path);
      }
      SegmentRow r;
      r.track = ref.track;
      r.msn = f->msn;
      r.start_ms = *start;
      r.duration_ms = p->duration_ms;
      r.uri = ref.track + "/" + f->name;
      r.init = init_rel;
      r.bytes = st.st_size;
      r.independent = p->sync;
      add.push_back(r);
      known[f->msn] = {r.start_ms, r.duration_ms, r.uri, r.init};
    }
    if (!add.empty()) {
      spdlog::info("reconcile: {} segment(s) of {} indexed late", add.size(), ref.track);
      SIGMA_RETURN_IF_ERROR(index.add_batch(add));
      res.added += static_cast<int64_t>(add.size());
    }
  }
  return res;
}

Result<int64_t> sweep_orphans(Index& index, const std::string& dir, int64_t retain_ms, int64_t now_ms) {
  if (retain_ms <= 0) return int64_t{0};
  int64_t cutoff = now_ms - retain_ms;
  int64_t removed = 0;
  std::vector<TrackRef> refs = master_tracks(dir);
  SIGMA_ASSIGN_OR_RETURN(auto indexed_tracks, index.tracks());
  for (const auto& t : indexed_tracks)
    if (std::none_of(refs.begin(), refs.end(), [&](const TrackRef& r) { return r.track == t; }))
      refs.push_back({t, t + "/index.m3u8"});
  for (const TrackRef& ref : refs) {
    const std::string track_dir = dir + "/" + ref.track;
    std::set<std::string> named;  // channel-relative
    std::set<std::string> used_inits;
    MediaListing listing;
    if (auto l = read_media_playlist(dir, ref.playlist); l.is_ok()) listing = std::move(*l);
    for (const auto& s : listing.segments) {
      named.insert(s.uri);
      used_inits.insert(s.init);
    }
    SIGMA_ASSIGN_OR_RETURN(auto rows, index.all(ref.track));
    for (const auto& r : rows) {
      named.insert(r.uri);
      used_inits.insert(r.init);
    }
    std::string newest_init = rows.empty() ? listing.last_init : rows.back().init;
    if (!listing.last_init.empty()) used_inits.insert(listing.last_init);
    if (!newest_init.empty()) used_inits.insert(newest_init);
    rows.clear();
    rows.shrink_to_fit();
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(track_dir.c_str()), closedir);
    if (!d) continue;
    std::vector<std::string> doomed;
    std::string newest_init_file;  // with no row and no playlist, the newest init file stays
    int64_t newest_init_mtime = -1;
    while (dirent* e = readdir(d.get())) {
      std::string name = e->d_name;
      std::string rel = ref.track + "/" + name;
      bool is_segment = segment_msn(name).has_value();
      bool is_init = name.rfind("init", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".mp4") == 0;
      if (!is_segment && !is_init) continue;
      struct stat st {};
      if (::stat((track_dir + "/" + name).c_str(), &st) != 0) continue;
      if (is_init && mtime_ms(st) > newest_init_mtime) newest_init_mtime = mtime_ms(st), newest_init_file = name;
      if (is_segment && named.count(rel)) continue;
      if (is_init && used_inits.count(rel)) continue;
      if (mtime_ms(st) >= cutoff) continue;
      doomed.push_back(name);
    }
    for (const auto& name : doomed) {
      if (name == newest_init_file) continue;
      std::string path = track_dir + "/" + name;
      if (::unlink(path.c_str()) == 0) {
        spdlog::info("orphan {} (indexed nowhere, older than the retention): deleted", path);
        ++removed;
      } else if (errno != ENOENT) {
        spdlog::warn("orphan {}: cannot delete: {}", path, std::strerror(errno));
      }
    }
  }
  return removed;
}

}  // namespace sigma::dvr
