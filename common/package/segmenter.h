#pragma once
// Cuts each track of the input into CMAF segments (on keyframes) and, in
// ultra-low mode, parts; writes init/part/segment files atomically and
// reports each to a SegmentListener. It keeps one output timeline across
// timestamp jumps and input breaks (an offset), marks what follows them as
// a discontinuity, and never knows about playlists.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/status.h"
#include "base/write_health.h"
#include "package/segment_listener.h"

namespace sigma::package {

// A part may run over part_duration by the rounding of millisecond
// timestamps (RTMP/FLV): ten 30 fps frames span 333 or 334 ms. Cut a frame
// short instead, parts would drift off the 1 s keyframes and a player
// joining would have to start up to a segment back. PART-TARGET declares
// part_duration + kPartSlack, the real maximum.
constexpr double kPartSlack = 0.001;

struct SegmenterParams {
  std::string out_dir;
  std::string label;  // names the channel in warnings
  double segment_duration = 6;   // target, seconds; cuts on the next keyframe
  double part_duration = 0;      // > 0: parts published as files (LL-HLS)
  double fragment_duration = 1;  // moof cadence when there are no parts
  std::string segment_prefix = "seg";
  double max_gap = 5;  // a forward timestamp jump larger than this is a discontinuity
  // A restart over an earlier run's directory continues its numbering:
  // the first segment is then a discontinuity and the init is init-<msn>.mp4
  // (a player may still hold the old playlist and its files).
  int64_t first_msn = 0;
  // > 0: the target duration, not measured (a restart continuing an
  // earlier run's playlists keeps theirs).
  int fixed_target = 0;
  // Set: a file that cannot be written (a full disk: a system error) does
  // not stop the segmenter. The segment is listed as an EXT-X-GAP (no
  // file, its parts unlisted), health hears of it, and the next segment
  // tries again. Unset: the error is returned, as any other.
  WriteHealth* health = nullptr;
};

class Segmenter {
 public:
  Segmenter(SegmenterParams p, SegmentListener& listener);
  ~Segmenter();
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  // Tracks are fixed by the first input: name is also the directory.
  size_t add_track(const std::string& name, const AVCodecParameters* par);
  // An audio track with no files of its own: every video track's files
  // carry it as a second track (ultra-low's muxed variants: a player has
  // one playlist and one part to fetch per step, not two). Added after the
  // video tracks; its name only appears in messages.
  size_t add_muxed_audio(const std::string& name, const AVCodecParameters* par);
  size_t track_count() const;

  // A new input begins. pars[i]: track i's parameters in that input, or
  // nullptr when it has no such stream. The first call opens the timeline;
  // later calls start a discontinuity.
  // start_us: the input's earliest timestamp (AVFormatContext::start_time,
  // AV_NOPTS_VALUE if unknown), so that no track of the new input lands
  // before the end of the previous one.
  void start_input(const std::vector<const AVCodecParameters*>& pars, int64_t start_us = AV_NOPTS_VALUE);
  // pkt's timestamps are in tb. pkt is consumed (unreferenced).
  Status write(size_t track, AVPacket* pkt, AVRational tb);
  // Closes every open segment and reports on_input_end(final).
  Status end_input(bool final);
  // Drops unfinished temporary files (after a fatal error).
  void abort();

  int64_t dropped_packets() const { return dropped_; }

  struct Track;

 private:
  // Ends every track's segment and starts the next ones as a discontinuity
  // (variants must keep their discontinuity sequences in step).
  // timeline_jump: packets of the old timeline may still arrive on other
  // tracks and are dropped; otherwise they simply continue.
  Status discontinuity_all(const std::string& why, bool timeline_jump);
  Status close_segment(Track& t, int64_t end);
  // A write of t's open segment (or its part, or init) failed with st:
  // true when it is survivable (health set, a system error): the segment
  // is then lost (its files dropped) and goes on to its end as a gap.
  bool lose_segment(Track& t, const std::string& what, const Status& st);
  // Writes t's init file when an earlier attempt failed.
  Status retry_init(Track& t);
  Status list_gap(Track& t, int64_t from, int64_t to);
  Status close_part(Track& t, int64_t end, bool last);
  Status open_segment(Track& t, int64_t dts, bool key);
  Status open_part(Track& t, int64_t dts, bool key);
  Status ensure_muxer(Track& t, AVPacket* pkt);
  Status strip_adts(Track& t, AVPacket* pkt);
  Status write_muxed_audio(Track& a, AVPacket* pkt);
  void advance(Track& t, const AVPacket* pkt);
  bool same_audio_tick(const Track& t, int64_t dts) const;
  int64_t pdt_ms(int64_t dts) const;
  // The target duration, from the reference track's first keyframe
  // interval (gop) or, when a second keyframe never came, from the
  // longest segment there is.
  Status settle_target(int64_t gop, int64_t frame);
  Status settle_target_from_open_segments();
  Status fix_target(int target);
  // Longest a segment may grow: its EXTINF rounded must not exceed the target.
  int64_t max_segment_ticks() const;
  // Every video track has stopped (or none started) by dts: the other
  // tracks cut on their own.
  bool video_stopped(int64_t dts) const;

  SegmenterParams p_;
  SegmentListener& listener_;
  std::vector<std::unique_ptr<Track>> tracks_;
  // A video track, or with no video the first track: cuts on its own
  // keyframes; the other non-video tracks cut where any such track does.
  size_t ref_ = 0;
  static constexpr size_t kNoTrack = static_cast<size_t>(-1);
  size_t muxed_audio_ = kNoTrack;
  int64_t seg_ticks_, chunk_ticks_, gap_ticks_;
  int64_t part_limit_;  // longest part: chunk_ticks_ + kPartSlack
  bool offset_set_ = false;
  int64_t offset_ = 0;
  int64_t input_start_ = AV_NOPTS_VALUE;  // 90 kHz
  bool timeline_started_ = false;
  int64_t timeline_end_ = 0;
  int64_t wall_base_ms_ = 0, dts_base_ = 0;
  int64_t dropped_ = 0;
  int base_target_ = 0;  // the mode's segment duration, rounded up
  int target_ = 0;  // EXT-X-TARGETDURATION, fixed once known (0 before): the mode's, or more for a longer first GOP
  int64_t first_key_dts_ = AV_NOPTS_VALUE;  // reference track, before the target is known
  bool warned_forced_cut_ = false;
};

}  // namespace sigma::package
