#pragma once
// av::TsMuxer as a MediaSink writing into a fixed byte sink, one muxer per
// publishing session: a new session starts with a fresh PAT/PMT and
// continuity counters, flagged as a discontinuity, on the same channel
// output.
#include <vector>

#include "av/ts_muxer.h"
#include "ingest/media_sink.h"

namespace sigma::ingest {

class TsSink : public MediaSink {
 public:
  explicit TsSink(av::TsMuxer::Sink sink) : sink_(std::move(sink)) {}
  Status open(const std::vector<const AVCodecParameters*>& streams) override {
    Status st = start(streams);
    if (!st.is_ok()) (void)mux_.finish();  // a sink that failed to open is not open
    return st;
  }
  Status write(int index, AVPacket* pkt, AVRational tb) override { return mux_.write(index, pkt, tb); }
  Status finish() override { return mux_.finish(); }
  bool is_open() const override { return mux_.is_open(); }
  uint64_t dropped_packets() const override { return mux_.dropped_packets(); }

 private:
  Status start(const std::vector<const AVCodecParameters*>& streams) {
    SIGMA_RETURN_IF_ERROR(mux_.open(sink_));
    for (const AVCodecParameters* par : streams) SIGMA_RETURN_IF_ERROR(mux_.add_stream(par).status());
    av::TsMuxOptions opts;
    opts.initial_discontinuity = true;
    // A publisher's clock glitch is nudged over; a jump back of more than
    // a second is not a glitch, and its packets are dropped.
    opts.drop_regression_over = 90000;
    return mux_.start(opts);
  }

  av::TsMuxer::Sink sink_;
  av::TsMuxer mux_;
};

}  // namespace sigma::ingest
