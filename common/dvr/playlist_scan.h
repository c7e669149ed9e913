#pragma once
// What sigma-dvr reads of a channel directory besides the events: the
// tracks master.m3u8 names, the segments a track's media playlist lists
// (its live window), and the segment files on disk. Names follow
// sigma-package(1), FILES: <track>/index.m3u8, <track>/<prefix>-<msn>.m4s;
// parts (<prefix>-<msn>.<i>.m4s) are never archived.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::dvr {

struct TrackRef {
  std::string track;     // its directory, relative to the channel dir: "v0"
  std::string playlist;  // relative to the channel dir: "v0/index.m3u8"
};

// master.m3u8 as sigma-dvr needs it: each variant's track, BANDWIDTH and
// audio group, each rendition's. Tracks are the playlists' directories.
struct MasterListing {
  struct Variant {
    TrackRef ref;
    int64_t bandwidth = 0;
    std::string audio_group;  // AUDIO="..."; "" when none
  };
  struct Rendition {
    TrackRef ref;
    std::string type, group;  // TYPE, GROUP-ID
    bool is_default = false;
  };
  std::vector<Variant> variants;
  std::vector<Rendition> renditions;  // those with a URI
};
MasterListing parse_master_playlist(const std::string& text);
// A missing master (not written yet) is a system error.
Result<MasterListing> read_master_playlist(const std::string& channel_dir);

// The media playlists of master.m3u8 (variants and renditions), in order,
// each track once. No master (yet): an empty list.
std::vector<TrackRef> master_tracks(const std::string& channel_dir);

// The value of NAME="..." (or NAME=token) in a tag's attribute list; ""
// when absent.
std::string playlist_attribute(const std::string& line, const std::string& name);

struct ListedSegment {
  int64_t msn = 0;
  std::optional<int64_t> pdt_ms;  // EXT-X-PROGRAM-DATE-TIME, carried forward by EXTINF
  int64_t duration_ms = 0;
  std::string uri;   // relative to the channel dir
  std::string init;  // EXT-X-MAP in force, relative to the channel dir; "" when none
  bool discontinuity = false;
  bool gap = false;
};

struct MediaListing {
  std::vector<ListedSegment> segments;
  std::string last_init;  // the EXT-X-MAP in force at the end (the newest init)
};

// The playlist at channel_dir/playlist_rel. A missing file is a system
// error; a line it cannot read is skipped.
Result<MediaListing> read_media_playlist(const std::string& channel_dir, const std::string& playlist_rel);
// The same from text; base: the playlist's directory relative to the
// channel dir ("v0"), prefixed to relative URIs.
MediaListing parse_media_playlist(const std::string& text, const std::string& base);

struct SegmentFile {
  int64_t msn = 0;
  std::string name;  // "seg-12.m4s"
};
// "<prefix>-<msn>.m4s" -> msn; parts, temporaries and others -> nullopt.
std::optional<int64_t> segment_msn(const std::string& name);
// The segment files of one track directory (unsorted); a missing
// directory is an empty list.
std::vector<SegmentFile> segment_files(const std::string& track_dir);

}  // namespace sigma::dvr
