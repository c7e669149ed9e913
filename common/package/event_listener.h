#pragma once
// Forwards segmenter reports to the playlist writer first, then emits the
// matching NDJSON event, so a consumer that reacts to segment.written finds
// the segment already listed. Playlists never know about events.
#include "base/events.h"
#include "package/segment_listener.h"

#include <string>
#include <vector>

namespace sigma::package {

class EventListener : public SegmentListener {
 public:
  EventListener(SegmentListener& next, EventWriter& events, std::string channel, std::string out_dir,
                std::vector<std::string> track_names)
      : next_(next), events_(events), channel_(std::move(channel)), out_dir_(std::move(out_dir)),
        names_(std::move(track_names)) {}

  Status on_init(const InitReport& r) override { return next_.on_init(r); }
  Status on_part(const PartReport& r) override { return next_.on_part(r); }
  Status on_segment(const SegmentReport& r) override {
    SIGMA_RETURN_IF_ERROR(next_.on_segment(r));
    ++segments_;
    events_.emit("segment.written", channel_,
                 {{"track", names_.at(r.track)},
                  {"path", out_dir_ + "/" + names_.at(r.track) + "/" + r.uri},
                  {"uri", names_.at(r.track) + "/" + r.uri},
                  {"msn", r.msn},
                  {"pdt_ms", r.program_date_time_ms},
                  {"init", r.map_uri.empty() ? "" : names_.at(r.track) + "/" + r.map_uri},
                  {"independent", r.independent},
                  {"duration", r.duration},
                  {"bytes", r.bytes},
                  {"frames", r.frames},
                  {"parts", r.parts},
                  {"discontinuity", r.discontinuity},
                  {"gap", r.gap}});
    return {};
  }
  Status on_target_duration(int seconds) override { return next_.on_target_duration(seconds); }
  Status on_input_end(bool final) override { return next_.on_input_end(final); }
  int64_t segments() const { return segments_; }

 private:
  SegmentListener& next_;
  EventWriter& events_;
  std::string channel_, out_dir_;
  std::vector<std::string> names_;
  int64_t segments_ = 0;
};

}  // namespace sigma::package
