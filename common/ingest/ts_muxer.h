#pragma once
// libavformat's MPEG-TS muxer writing into a callback instead of a file,
// one instance per publishing session: a new session starts with a fresh
// PAT/PMT and continuity counters, flagged as a discontinuity, on the same
// channel output.
#include <cstdint>
#include <functional>
#include <vector>

#include "av/av.h"
#include "ingest/media_sink.h"

namespace sigma::ingest {

class TsMuxer {
 public:
  // Receives whole TS packets (a multiple of 188 bytes per call).
  using Sink = std::function<void(const uint8_t*, size_t)>;

  TsMuxer() = default;
  TsMuxer(const TsMuxer&) = delete;
  TsMuxer& operator=(const TsMuxer&) = delete;

  // Copies each stream's codec parameters (extradata included: AVCC/hvcC
  // are turned into Annex B by the muxer's automatic bitstream filter).
  Status open(const std::vector<const AVCodecParameters*>& streams, Sink sink);
  // Writes pkt for stream index, timestamps in tb. Small DTS regressions
  // are nudged forward, large ones dropped: a publisher's clock glitch must
  // not kill the session. pkt is unreferenced.
  Status write(int index, AVPacket* pkt, AVRational tb);
  Status finish();
  bool is_open() const { return ctx_ != nullptr; }
  uint64_t dropped_packets() const { return dropped_; }

 private:
  static int write_cb(void* opaque, uint8_t* buf, int size);

  av::IOContextPtr io_;  // declared first: freed after the context using it
  av::OutputPtr ctx_;
  Sink sink_;
  std::vector<int64_t> last_dts_;
  uint64_t dropped_ = 0;
  bool header_written_ = false;
};

// A TsMuxer as a MediaSink, writing into a fixed byte sink.
class TsSink : public MediaSink {
 public:
  explicit TsSink(TsMuxer::Sink sink) : sink_(std::move(sink)) {}
  Status open(const std::vector<const AVCodecParameters*>& streams) override { return mux_.open(streams, sink_); }
  Status write(int index, AVPacket* pkt, AVRational tb) override { return mux_.write(index, pkt, tb); }
  Status finish() override { return mux_.finish(); }
  bool is_open() const override { return mux_.is_open(); }
  uint64_t dropped_packets() const override { return mux_.dropped_packets(); }

 private:
  TsMuxer::Sink sink_;
  TsMuxer mux_;
};

}  // namespace sigma::ingest
