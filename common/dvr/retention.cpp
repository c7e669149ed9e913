// Retention: by age, then by size, oldest first. The rows go first (one
// committed transaction per page), the files after, so that a reader of
// the index never finds a row whose file is gone; a crash in between
// leaves files no row names, which the next start indexes again (reconcile)
// and deletes again.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "base/log.h"
#include "dvr/archiver.h"
#include "dvr/playlist_scan.h"

namespace sigma::dvr {
namespace {

constexpr int64_t kPage = 500;

struct Live {
  std::map<std::string, int64_t> first_msn;  // per track: what its playlist still lists
  std::map<std::string, int64_t> listed;     // per track: how many segments it lists
  std::set<std::string> newest_inits;        // channel-relative
};

// The newest init file of a track directory by sigma-package's names
// (init.mp4, then init-<msn>.mp4 with the highest msn).
std::string newest_init_file(const std::string& dir, const std::string& track) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir((dir + "/" + track).c_str()), closedir);
  if (!d) return "";
  std::string best;
  int64_t best_first = LLONG_MIN;
  while (dirent* e = readdir(d.get())) {
    std::string n = e->d_name;
    int64_t first;
    if (n == "init.mp4") {
      first = -1;
    } else if (n.rfind("init-", 0) == 0 && n.size() > 9 && n.compare(n.size() - 4, 4, ".mp4") == 0) {
      first = std::strtoll(n.c_str() + 5, nullptr, 10);
    } else {
      continue;
    }
    if (first > best_first) best_first = first, best = n;
  }
  return best.empty() ? "" : track + "/" + best;
}

Result<Live> live_state(const Index& index, const std::string& dir) {
  Live live;
  std::vector<TrackRef> refs = master_tracks(dir);
  SIGMA_ASSIGN_OR_RETURN(auto tracks, index.tracks());
  for (const auto& t : tracks)
    if (std::none_of(refs.begin(), refs.end(), [&](const TrackRef& r) { return r.track == t; }))
      refs.push_back({t, t + "/index.m3u8"});
  for (const auto& ref : refs) {
    auto l = read_media_playlist(dir, ref.playlist);
    if (l.is_ok()) {
      if (!l->segments.empty()) {
        live.first_msn[ref.track] = l->segments.front().msn;
        live.listed[ref.track] = static_cast<int64_t>(l->segments.size());
      }
      if (!l->last_init.empty()) live.newest_inits.insert(l->last_init);
    }
    std::string newest = newest_init_file(dir, ref.track);
    if (!newest.empty()) live.newest_inits.insert(newest);
  }
  return live;
}

bool overlaps_keep(const SegmentRow& r, const std::vector<Keep>& keeps) {
  for (const auto& k : keeps)
    if (r.start_ms < k.to_ms && r.end_ms() > k.from_ms) return true;
  return false;
}

}  // namespace

Result<RetentionResult> apply_retention(Index& index, const std::string& dir, const RetentionPolicy& policy,
                                        int64_t now_ms) {
  RetentionResult res;
  SIGMA_ASSIGN_OR_RETURN(res.total_bytes, index.total_bytes());
  const int64_t cutoff = policy.retain_ms > 0 ? now_ms - policy.retain_ms : LLONG_MIN;
  int64_t excess = policy.max_bytes > 0 ? res.total_bytes - policy.max_bytes : 0;
  int64_t deficit = policy.free_deficit;
  if (policy.retain_ms <= 0 && excess <= 0 && deficit <= 0) return res;
  // Cheap when nothing is due: the oldest row decides.
  SIGMA_ASSIGN_OR_RETURN(auto first, index.oldest(LLONG_MAX, 1));
  if (first.empty() || (excess <= 0 && deficit <= 0 && first.front().start_ms >= cutoff)) return res;

  SIGMA_ASSIGN_OR_RETURN(std::vector<Keep> keeps, index.keeps());
  SIGMA_ASSIGN_OR_RETURN(Live live, live_state(index, dir));
  std::set<std::string> inits_touched;
  std::optional<SegmentRow> cursor;
  bool done = false;
  while (!done) {
    SIGMA_ASSIGN_OR_RETURN(auto page, index.oldest(LLONG_MAX, kPage, cursor ? &*cursor : nullptr));
    if (page.empty()) break;
    cursor = page.back();
    std::vector<std::pair<std::string, int64_t>> keys;
    std::vector<const SegmentRow*> doomed;
    for (const auto& r : page) {
      if (r.start_ms >= cutoff && excess <= 0 && deficit <= 0) {
        done = true;
        break;
      }
      bool by_age = r.end_ms() < cutoff;
      bool by_size = !by_age && excess > 0;
      bool by_space = !by_age && !by_size && deficit > 0;
      if (!by_age && !by_size && !by_space) continue;
      auto lf = live.first_msn.find(r.track);
      // Space goes early, before the age or size limits say: not what
      // left the live playlist less than a playlist ago either (a player
      // may hold the previous version; the packager keeps those files as
      // long).
      int64_t spared = by_space && lf != live.first_msn.end() ? live.listed[r.track] : 0;
      if ((lf != live.first_msn.end() && r.msn >= lf->second - spared) || overlaps_keep(r, keeps)) {
        res.blocked = true;
        continue;
      }
      keys.emplace_back(r.track, r.msn);
      doomed.push_back(&r);
      excess -= r.bytes;
      deficit -= r.bytes;
      res.total_bytes -= r.bytes;
      if (by_age) ++res.age_count, res.age_bytes += r.bytes;
      else if (by_size) ++res.size_count, res.size_bytes += r.bytes;
      else ++res.space_count, res.space_bytes += r.bytes;
    }
    if (keys.empty()) continue;
    SIGMA_RETURN_IF_ERROR_CTX(index.remove_batch(keys), "retention");
    for (const SegmentRow* r : doomed) {
      if (!r->init.empty()) inits_touched.insert(r->init);
      if (r->uri.empty()) continue;
      std::string path = dir + "/" + r->uri;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("retention: {} left its index but cannot be deleted: {}", path, std::strerror(errno));
    }
  }
  for (const auto& init : inits_touched) {
    if (live.newest_inits.count(init)) continue;
    SIGMA_ASSIGN_OR_RETURN(bool used, index.init_used(init));
    if (used) continue;
    std::string path = dir + "/" + init;
    if (::unlink(path.c_str()) == 0) {
      ++res.inits;
      spdlog::info("retention: {} (no archived segment uses it any more) deleted", path);
    } else if (errno != ENOENT) {
      spdlog::warn("retention: cannot delete {}: {}", path, std::strerror(errno));
    }
  }
  if (res.age_count || res.size_count || res.space_count)
    spdlog::debug("retention: {} segment(s) past the age limit, {} over the size limit, {} under the free-space "
                  "floor deleted",
                  res.age_count, res.size_count, res.space_count);
  return res;
}

}  // namespace sigma::dvr
