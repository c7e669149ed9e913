#pragma once
// `sigma-dvr run`: follows a channel's segment.written events, records
// every segment in the index, reconciles the index with the directory at
// start, and applies retention. sigma-dvr, not the packager, deletes
// archived files: a row is removed (committed) before its file is
// unlinked, so the origin never lists a file that is gone.
#include <cstdint>
#include <map>
#include <string>

#include "base/events.h"
#include "base/status.h"
#include "dvr/index.h"

namespace sigma::dvr {

struct ArchiverParams {
  std::string dir;               // the channel directory
  std::string channel;           // events of this channel; "": those naming files of dir
  std::string events_in = "-";   // "-", FILE (followed like tail -F) or fd:N
  int64_t retain_ms = 0;         // 0: no age limit
  int64_t max_bytes = 0;         // 0: no size limit
  // The free-space floor of the channel directory's filesystem: below it
  // the oldest archived segments go (those the live playlists list
  // never), so that the live edge keeps room. Bytes, or else percent of
  // the filesystem; both 0: off.
  int64_t min_free_bytes = 0;
  double min_free_percent = 2.0;
  int64_t sweep_every_ms = 10'000;
  int64_t summary_every_ms = 60'000;  // dvr.indexed
  std::string events;            // NDJSON out
  int ready_fd = -1;
};

Status run_archiver(ArchiverParams p);

// The pieces, for the archiver's loop and for tests.

struct ReconcileResult {
  int64_t added = 0;    // segment files (and playlist gaps) indexed late
  int64_t dropped = 0;  // rows whose file was gone
  int64_t unreadable = 0;  // files neither listed nor readable: left to the orphan sweep
};
// Every track directory of the channel (master.m3u8's and the index's):
// segment files missing from the index are added, from their playlist's
// entry or, once no playlist lists them, from the fMP4 itself (tfdt and
// sample durations, placed against an indexed neighbour); rows whose file
// is gone are dropped.
Result<ReconcileResult> reconcile(Index& index, const std::string& dir);

struct RetentionPolicy {
  int64_t retain_ms = 0;  // rows ending before now - retain_ms go
  int64_t max_bytes = 0;  // then the oldest, while the total is above
  int64_t free_deficit = 0;  // then the oldest, until this many bytes more are free
};
struct RetentionResult {
  int64_t age_count = 0, age_bytes = 0;
  int64_t size_count = 0, size_bytes = 0;
  int64_t space_count = 0, space_bytes = 0;  // for the free-space floor
  int64_t inits = 0;         // init files unlinked
  int64_t total_bytes = 0;   // what the index holds afterwards
  bool blocked = false;      // over a limit, but all that is left is kept or live
};
// Oldest first, never a segment overlapping a keep nor one its track's
// live playlist still lists; rows deleted in one transaction, then the
// files unlinked; an init file goes when no row names it and it is not
// its track's newest.
Result<RetentionResult> apply_retention(Index& index, const std::string& dir, const RetentionPolicy& policy,
                                        int64_t now_ms);

// At start, after reconcile: segment files no row and no playlist names
// (and init files nothing uses, not the newest of their track) whose
// mtime is older than retain_ms are unlinked. Returns how many.
Result<int64_t> sweep_orphans(Index& index, const std::string& dir, int64_t retain_ms, int64_t now_ms);

}  // namespace sigma::dvr
