#pragma once
// The archive index of one channel: every segment of every track
// (variant or audio rendition) that the packager wrote and sigma-dvr
// recorded, in SQLite (WAL, through common/db, Sigma's one owner of
// sqlite3): sigma-dvr opens it read-write, sigma-origin read-only.
//
// Where: <channel dir>/.dvr/index.sqlite (kIndexPath below; the origin
// never serves dot paths). One database per channel.
//
// Schema (version 1, in meta 'schema'):
//   meta(key TEXT PRIMARY KEY, value TEXT)          -- 'schema', 'channel'
//   segments(
//     track TEXT NOT NULL,        -- the track's directory: "720p", "audio"
//     msn INTEGER NOT NULL,       -- media sequence number
//     start_ms INTEGER NOT NULL,  -- EXT-X-PROGRAM-DATE-TIME, Unix ms
//     duration_ms INTEGER NOT NULL,
//     uri TEXT NOT NULL,          -- relative to the channel dir ("720p/seg-12.m4s"); "" for a gap
//     init TEXT NOT NULL,         -- its EXT-X-MAP, relative to the channel dir ("720p/init.mp4")
//     bytes INTEGER NOT NULL,
//     discontinuity INTEGER NOT NULL,  -- starts after a break of the source
//     gap INTEGER NOT NULL,            -- EXT-X-GAP: no file
//     independent INTEGER NOT NULL,    -- starts with a keyframe
//     PRIMARY KEY(track, msn))
//   INDEX segments_by_time ON segments(track, start_ms)
//   INDEX segments_by_age ON segments(start_ms)
//   INDEX segments_by_init ON segments(init)
//   INDEX segments_by_duration ON segments(track, duration_ms)   -- the longest, for segments()
//   keeps(name TEXT PRIMARY KEY, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
//         created_ms INTEGER NOT NULL)
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sigma::dvr {

inline constexpr const char* kIndexPath = ".dvr/index.sqlite";

struct SegmentRow {
  std::string track;
  int64_t msn = 0;
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  std::string uri;
  std::string init;
  int64_t bytes = 0;
  bool discontinuity = false;
  bool gap = false;
  bool independent = true;
  int64_t end_ms() const { return start_ms + duration_ms; }
};

struct Keep {
  std::string name;
  int64_t from_ms = 0, to_ms = 0, created_ms = 0;
};

// A stretch of the archive without a hole (per track, or for the whole
// channel in ranges()); a hole is a gap segment or missing time longer
// than kHoleMs between one segment's end and the next one's start.
struct Range {
  int64_t from_ms = 0, to_ms = 0;
  int64_t bytes = 0;
  int64_t segments = 0;
};
inline constexpr int64_t kHoleMs = 1500;

class Index {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  // channel_dir: the channel's output directory. kReadWrite creates the
  // database (and .dvr/) if missing; kReadOnly fails with a clear Status
  // (system error) if it is missing, data error if corrupt.
  static Result<std::unique_ptr<Index>> open(const std::string& channel_dir, Mode mode);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const std::string& channel_dir() const;

  // Writer side (sigma-dvr). Insert or replace by (track, msn).
  Status add(const SegmentRow& row);
  Status add_batch(const std::vector<SegmentRow>& rows);  // one transaction
  Status remove(const std::string& track, int64_t msn);
  Status put_keep(const Keep& k);
  Status drop_keep(const std::string& name);

  // Reader side.
  Result<std::vector<std::string>> tracks() const;
  // Segments of one track overlapping [from_ms, to_ms), in msn order.
  Result<std::vector<SegmentRow>> segments(const std::string& track, int64_t from_ms,
                                           int64_t to_ms) const;
  Result<std::vector<Keep>> keeps() const;
  Result<int64_t> total_bytes() const;
  Result<std::optional<std::pair<int64_t, int64_t>>> span() const;  // earliest start, latest end
  // track "": the whole channel (every track's segments together).
  Result<std::vector<Range>> ranges(const std::string& track) const;

  // Added for sigma-dvr's archiver (reconcile and retention); compatible
  // with the above.
  Status remove_batch(const std::vector<std::pair<std::string, int64_t>>& keys);  // one transaction
  // Every track's segments starting before before_ms, oldest first
  // (start_ms, then track and msn), at most limit of them; after: only
  // those past this row in that order (paging).
  Result<std::vector<SegmentRow>> oldest(int64_t before_ms, int64_t limit, const SegmentRow* after = nullptr) const;
  // All rows of one track in msn order (reconcile).
  Result<std::vector<SegmentRow>> all(const std::string& track) const;
  Result<int64_t> count() const;
  // Whether any row names this init (retention keeps it then).
  Result<bool> init_used(const std::string& init) const;
  Result<std::string> meta(const std::string& key) const;  // "" when absent
  Status set_meta(const std::string& key, const std::string& value);

 private:
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sigma::dvr
