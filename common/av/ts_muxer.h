#pragma once
// libavformat's MPEG-TS muxer for every stage that writes MPEG-TS: into a
// URL (sigma-transcode's output: stdout, a path, a FIFO) or into a byte
// callback (sigma-ingest, one muxer per publishing session). Both write
// one PES per audio frame with no mux delay and flush every packet, since
// a packager downstream cuts LL-HLS parts as the packets arrive. Each
// stream's dts is kept rising so that one stray packet cannot abort the
// muxer. write() may be called from any thread, the rest from one.
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "av/av.h"

namespace sigma::av {

struct TsMuxOptions {
  // > 0: libavformat interleaves the streams by dts, holding a packet up to
  // this long (a packager cuts audio by that order); 0: packets go out in
  // the order they are written (the caller's input is interleaved already).
  int64_t max_interleave_us = 0;
  // Mark the first packets of every stream discontinuous: a new session on
  // an output that may have carried an earlier one.
  bool initial_discontinuity = false;
  // A dts further behind its stream's last than this (90 kHz ticks) is
  // dropped, a smaller regression nudged forward; 0: always nudged. A
  // publisher's clock glitch must not kill its session.
  int64_t drop_regression_over = 0;
  // A packet the muxer refuses (INVALIDDATA, EINVAL: say audio that is
  // not ADTS) is dropped and counted instead of failing the write, so the
  // channel stays on air; only I/O errors end the output.
  bool drop_refused = false;
};

class TsMuxer {
 public:
  // Receives whole TS packets (a multiple of 188 bytes per call).
  using Sink = std::function<void(const uint8_t*, size_t)>;

  TsMuxer() = default;
  TsMuxer(const TsMuxer&) = delete;
  TsMuxer& operator=(const TsMuxer&) = delete;

  // Where the bytes go: url is "-" for stdout, a path, or any URL
  // libavformat writes to...
  Status open(const std::string& url);
  // ...or a callback (url() is then empty). Either starts a new output
  // (after finish(), too).
  Status open(Sink sink);
  // Streams are added between open() and start(); each returns its index.
  // Parameters are copied (extradata included: AVCC/hvcC become Annex B
  // through the muxer's automatic bitstream filter).
  Result<int> add_stream(const AVCodecParameters* par);
  // From an open encoder.
  Result<int> add_stream(const AVCodecContext* enc);
  // Writes the header.
  Status start(const TsMuxOptions& opts);
  // pkt timestamps are in tb; pkt is consumed (unreferenced). Packets for
  // an unknown stream or before start() are dropped silently.
  Status write(int stream, AVPacket* pkt, AVRational tb);
  // Flushes what interleaving holds, writes the trailer and closes the
  // output; the muxer may be opened again.
  Status finish();

  bool is_open() const { return ctx_ != nullptr; }
  uint64_t dropped_packets() const;
  const std::string& url() const { return url_; }

 private:
  Status alloc_context();
  Result<AVStream*> new_stream();
  static int write_cb(void* opaque, uint8_t* buf, int size);

  mutable std::mutex mu_;
  IOContextPtr io_;  // a callback output's; declared first: freed after the context using it
  OutputPtr ctx_;
  Sink sink_;
  std::string url_;
  TsMuxOptions opts_;
  std::vector<int64_t> last_dts_;
  uint64_t dropped_ = 0;
  bool started_ = false, failed_ = false;
};

}  // namespace sigma::av
