#pragma once
// One rung of the ladder on its own thread: scale (from the decoded frame
// or from the next larger rung's scaled frame), hand the scaled frame on to
// the rungs that scale from it, encode, and mux. Frames travel by reference
// (av_frame_ref), never copied; queues are bounded so memory is too.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "av/av.h"
#include "transcode/ladder.h"
#include "transcode/ts_muxer.h"

namespace sigma::transcode {

struct RungFrame {
  av::FramePtr frame;
  bool keyframe = false;
  bool keep_at_half_rate = true;
};

class RungWorker {
 public:
  // enc may be null for a rung that only scales for its children (never
  // the case at start; a shed rung becomes one).
  RungWorker(Rung rung, av::CodecPtr enc, TsMuxer& mux, int stream, int sws_flags);
  ~RungWorker();
  RungWorker(const RungWorker&) = delete;
  RungWorker& operator=(const RungWorker&) = delete;

  void add_child(RungWorker* child) { children_.push_back(child); }
  // Before start(): the scaler used when this rung scales from a parent.
  void set_sws_flags(int flags) { sws_flags_ = flags; }
  void start();
  // Blocks while the queue is full. The frame is dropped if the worker
  // has failed (the caller checks status()).
  void push(RungFrame f);
  // End of stream: the worker flushes its encoder, closes its children
  // and exits. join() waits for that.
  void close();
  void join();
  Status status();
  bool failed() const { return failed_.load(); }

  // Stop encoding (flushing what the encoder holds) but keep scaling for
  // the children: the way out when the machine cannot keep up.
  void shed() { shed_.store(true); }
  bool is_shed() const { return shed_.load(); }
  const Rung& rung() const { return rung_; }
  int stream() const { return stream_; }

 private:
  void run();
  Status handle(RungFrame& item);
  Status encode(const AVFrame* frame);
  Result<av::FramePtr> scale(const AVFrame* in);
  void fail(Status st);

  Rung rung_;
  av::CodecPtr enc_;
  TsMuxer& mux_;
  int stream_;
  int sws_flags_;
  av::SwsPtr sws_;
  int sws_w_ = 0, sws_h_ = 0, sws_fmt_ = -1;
  av::PacketPtr pkt_ = av::make_packet();
  int64_t last_pts_ = INT64_MIN;
  bool encoder_flushed_ = false;
  std::vector<RungWorker*> children_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RungFrame> queue_;
  bool closed_ = false;
  static constexpr size_t kQueueLimit = 6;
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> shed_{false};
  Status status_;
};

// Parses "bicubic", "bilinear", "fast_bilinear", "area", "lanczos",
// "spline" into swscale flags (plus accurate rounding where it pays).
Result<int> parse_scaler(const std::string& name);

}  // namespace sigma::transcode
