#pragma once
// What the origin adds to sigma-thumb's files (thumb/files.h): their
// Cache-Control, and the live window a /CH/thumbnails.vtt covers.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "origin/file_store.h"
#include "thumb/files.h"

namespace sigma::origin {

// The Cache-Control of a file under CH/thumbs/ (nullopt: rel is not one).
// latest*.jpg and latest.json are replaced every couple of seconds: a
// second's caching lets a CDN answer every viewer of a channel list with
// one request a second, and keeps the picture at most a second older than
// the origin's. A sprite sheet (and its .json) is rewritten as each tile
// of it is added, so while its slots reach into the last few minutes it
// gets 2 s; once they all lie 5 minutes or more in the past nothing adds a
// tile to it and it gets an hour (not forever: a sigma-thumb restarted
// with a longer sprite interval numbers its sheets anew and may reuse an
// old sheet's name; retention deleting it is harmless to a cache).
std::optional<std::string> thumbs_cache_control(FileStore& store, const std::string& rel, int64_t now_ms);

// A text file beneath the store's root (nullopt: absent or unreadable).
std::optional<std::string> read_text(FileStore& store, const std::string& rel);

// The directory of the master's first variant ("v0" for v0/index.m3u8),
// "" when there is none.
std::string first_variant_dir(FileStore& store, const std::string& channel);

// The media time (Unix ms) where the channel's live window starts: the
// first EXT-X-PROGRAM-DATE-TIME of the master's first variant. Errors:
// no master, no variant, no date-time (a data error, answered 404).
Result<int64_t> live_window_start(FileStore& store, const std::string& channel);

// The catch-up VOD's timeline, for a VTT that players read beside it
// (cue times are the player's, from the VOD's first segment): each
// segment's media time and where it starts in the VOD (its EXTINFs added
// up, so a hole in the archive is closed up as the player closes it).
struct VodPiece {
  int64_t start_ms = 0, end_ms = 0;  // media clock
  int64_t vod_ms = 0;                // VOD time at start_ms
};
// The cues of tiles (ascending, from tiles_in_range over the pieces'
// span) on that timeline: each tile from its slot start (the first from
// the VOD's start) to the next tile's, mapped to VOD time (a moment in a
// hole maps to the next segment's start); cues left empty are dropped.
std::string vod_vtt(const std::vector<thumb::TileRef>& tiles, const std::vector<VodPiece>& pieces,
                    const std::string& uri_prefix);

// thumb::tiles_in_range's answer from sheets parsed once: that function
// reads and parses every sheet's JSON on each call, 130-150 ms for a week
// of 10 s tiles (605 sheets, bench/thumb-origin.sh), where a catch-up
// answer should take a few ms. Each sheet is kept with its file's
// identity (inode, size, mtime: sigma-thumb renames every new version
// into place), so a call costs a directory listing, a stat per sheet and
// the tiles of the range; a sheet that changed is read again, one that is
// gone is dropped. Thread-safe.
// Memory: about 40 bytes a tile, bounded by max_tiles over all channels
// (a week of 10 s tiles is 60,480): past it, the channels not asked for
// longest are forgotten (parsed again when next asked).
class SheetCache {
 public:
  explicit SheetCache(size_t max_tiles = 1000000) : max_tiles_(max_tiles) {}
  Result<std::vector<thumb::TileRef>> tiles(const std::string& channel_dir, int64_t from_ms, int64_t to_ms);
  size_t cached_tiles() const;

 private:
  struct Sheet {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    thumb::SheetMeta meta;
  };
  struct Channel {
    std::mutex mu;
    std::map<int64_t, Sheet> sheets;  // by K
    size_t tiles = 0;                 // in sheets; read under the cache's mu_ too
    uint64_t used = 0;                // the cache's clock at its last request
  };
  size_t max_tiles_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels_;
  uint64_t clock_ = 0;
};

}  // namespace sigma::origin
