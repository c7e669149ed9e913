#pragma once
// Catch-up URLs: the forms IPTV middleware already writes (Flussonic's
// archive-FROM-DURATION, archive-FROM-now, timeshift_rel-SECONDS; the
// ?start=&end= query of AWS MediaPackage) turned into a time range of the
// archive, and the playlists that answer them, built from the rows of the
// channel's dvr::Index. No I/O here: catchup_service.h runs it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dvr/index.h"

namespace sigma::origin {

// The longest range a catch-up URL may ask for: a day (86,400 one-second
// segments per track is a 5 MB playlist already). Longer: 400.
inline constexpr int64_t kMaxCatchupMs = 24 * 3600 * 1000LL;

struct CatchupRequest {
  enum class Kind {
    kMaster,  // /CH/archive-FROM-DURATION.m3u8, /CH/master.m3u8?start=..
    kMedia,   // /CH/TRACK/archive-FROM-DURATION.m3u8, /CH/TRACK/x.m3u8?start=..
    kMp4,     // /CH/archive-FROM-DURATION.mp4
    kJson,    // /CH/archive.json
    // Seek previews (WebVTT over thumbs/sprite-K.jpg):
    // /CH/thumbnails.vtt?start=..&end=.. (cues from start, URIs "thumbs/..."),
    // /CH/archive-FROM-DURATION/thumbnails.vtt, /CH/archive-FROM-now/...,
    // /CH/timeshift_rel-SECONDS/... (URIs "../thumbs/..."), and
    // /CH/thumbnails.vtt alone: the live playlist's window (live_window).
    kThumbnails,
  };
  Kind kind = Kind::kMaster;
  std::string channel;  // the channel's directory under the root
  std::string track;    // kMedia: the track's directory ("720p", "audio"); kThumbnails:
                        // RANGE of /CH/RANGE/thumbnails.vtt ("" for /CH/thumbnails.vtt)
  int64_t from_ms = 0, to_ms = 0;  // [from, to), to never past now
  bool query_form = false;  // the master's URIs keep their names and get ?start=&end=
  bool live_window = false;  // kThumbnails: the range is the live playlist's, found by the service
  // kMp4
  std::string variant;   // ?variant=NAME; "": the export's default
  bool attachment = false;  // ?download=1 or ?filename=
  std::string filename;     // for Content-Disposition
};

// nullopt: rel is not a catch-up URL (serve it as a file). An error: the
// URL is one but its range is malformed (unparsable, reversed, empty,
// longer than kMaxCatchupMs, starting in the future): 400.
std::optional<Result<CatchupRequest>> parse_catchup(const std::string& rel,
                                                    const std::map<std::string, std::string>& query,
                                                    int64_t now_ms);

// Of the rows overlapping [from, to), those whose middle lies inside: the
// tracks of a channel are cut at the same instants (audio within a frame
// of the video), so every track of one range lists the same sequence
// numbers, whatever the range's edges. A range inside one segment gets
// that segment.
std::vector<dvr::SegmentRow> select_segments(const std::vector<dvr::SegmentRow>& rows, int64_t from_ms,
                                             int64_t to_ms);

// The rows of one track for a range, aligned on a reference track (the
// same channel's first video track): the reference's segments are chosen
// by select_segments and the track's rows with the same sequence numbers
// kept, so that a range edge falling between a video cut and the audio's
// nearest frame cannot give the two a different first segment. Without
// reference rows in the range, the track's own select_segments.
std::vector<dvr::SegmentRow> select_aligned(const std::vector<dvr::SegmentRow>& reference,
                                            const std::vector<dvr::SegmentRow>& rows, int64_t from_ms,
                                            int64_t to_ms);

// A VOD media playlist of one track's rows (msn order, not empty):
// PLAYLIST-TYPE VOD, ENDLIST, TARGETDURATION the longest segment rounded
// up, PROGRAM-DATE-TIME on the first segment and after each
// discontinuity, EXT-X-MAP where the init changes, DISCONTINUITY where
// the source broke (a row's flag, a hole in time or in the sequence),
// GAP segments kept. URIs are relative to the track's directory.
std::string vod_playlist(const std::vector<dvr::SegmentRow>& rows, const std::string& track);

// The channel's live master with every variant and EXT-X-MEDIA URI
// turned into the same range's catch-up playlist of that track:
// "720p/index.m3u8" -> "720p/archive-FROM-DURATION.m3u8" (FROM and
// DURATION whole seconds covering the range), or with query_form
// "720p/index.m3u8?start=FROM&end=TO". A relative range ("now",
// timeshift_rel) is written as absolute, so that every variant a player
// loads later lists the same segments.
std::string catchup_master(std::string_view live_master, int64_t from_ms, int64_t to_ms, bool query_form);

// A URI relative to the channel directory, as seen from one of its
// directories: ("720p/seg-1.m4s", "720p") -> "seg-1.m4s",
// ("720p/seg-1.m4s", "audio") -> "../720p/seg-1.m4s".
std::string relative_to(const std::string& uri, const std::string& dir);

}  // namespace sigma::origin
