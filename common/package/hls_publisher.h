#pragma once
// The SegmentListener that owns the playlists: one media playlist per
// track, the master playlist, the sliding window and the deletion of what
// fell out of it. Every playlist is written whole, atomically. In ultra-low
// mode it adds the LL-HLS tags: parts, preload hint, server control and a
// rendition report for every other track.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "base/write_health.h"
#include "hls/master_playlist.h"
#include "hls/media_playlist.h"
#include "package/segment_listener.h"

namespace sigma::package {

struct PublisherParams {
  std::string out_dir;
  // Seconds; 0: the segmenter's reports decide it (see Segmenter), and no
  // playlist is written before one does. It never changes afterwards.
  int target_duration = 6;
  double part_target = 0;    // > 0: LL-HLS
  int window = 6;            // segments listed; 0: all (EVENT playlist)
  bool keep = false;         // keep segment files that left the window
  std::string segment_prefix = "seg";
  int64_t first_msn = 0;               // continuing an earlier run
  int64_t discontinuity_sequence = 0;  // idem
  // Set: a playlist that cannot be written (a full disk) is not an error:
  // the one on disk stays (whole, and every file it names is kept), health
  // hears of it, and the next change writes the playlist again.
  WriteHealth* health = nullptr;
};

struct TrackInfo {
  std::string name;  // v0, a0: also the directory
  bool video = false;
};

class HlsPublisher : public SegmentListener {
 public:
  HlsPublisher(PublisherParams p, std::vector<TrackInfo> tracks);

  Status on_init(const InitReport& r) override;
  Status on_part(const PartReport& r) override;
  Status on_segment(const SegmentReport& r) override;
  // Once: then every playlist held back so far is written, and the master.
  Status on_target_duration(int seconds) override;
  Status on_input_end(bool final) override;

  // For tests: the text that was (or would be) written.
  std::string media_playlist_text(size_t track) const;
  std::string master_playlist_text() const;

 private:
  struct Stats {
    int64_t bytes = 0;
    double seconds = 0;
    int64_t frames = 0;
    // RFC 8216bis 4.4.6.2's peak segment bit rate: the highest rate of
    // any run of consecutive segments lasting 0.5 to 1.5 target durations.
    int64_t peak_bps = 0;
    std::deque<std::pair<double, double>> recent;  // (bits, seconds) of the last runs' segments
    // Parts of the segment in progress (LL-HLS): the estimate before any
    // segment is complete.
    int64_t part_bytes = 0;
    double part_seconds = 0;
  };
  struct State {
    TrackInfo info;
    hls::MediaPlaylist playlist;
    std::string codecs;
    int width = 0, height = 0, channels = 0;
    Stats stats;
    int64_t pending_msn = -1;  // msn of the parts in low_latency->pending_parts
    std::deque<std::pair<int64_t, std::vector<std::string>>> retired;  // left the window
    // EXT-X-MEDIA-SEQUENCE of the playlist on disk (-1: none written by
    // this run): files it may still list are not deleted.
    int64_t written_sequence = -1;
    bool behind = false;  // the last write failed: the playlist on disk is older
  };
  // A write failed: false when that is survivable (health set, a system
  // error), the error otherwise.
  Status survive(const std::string& what, const Status& st) const;

  Status write_media(size_t track);
  Status maybe_write_master(bool force);
  void fill_reports(size_t track);
  void add_rate(Stats& st, size_t bytes, double seconds) const;
  // measured: each variant's measured peak (BANDWIDTH before headroom).
  hls::MasterPlaylist build_master(std::vector<int64_t>* measured = nullptr) const;
  void retire(State& s);
  void remove_file(const State& s, const std::string& uri) const;

  PublisherParams p_;
  std::vector<State> tracks_;
  bool target_known_ = false;
  bool dependent_segments_ = false;  // a segment was cut between keyframes
  std::string master_written_;
  hls::MasterPlaylist last_master_;
};

}  // namespace sigma::package
