#pragma once
// One rung of the ladder on its own thread: scale (from the decoded frame
// or from the next larger rung's scaled frame), hand the scaled frame on to
// the rungs that scale from it, encode, and mux. Frames travel by reference
// (av_frame_ref), never copied; queues are bounded so memory is too.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "av/av.h"
#include "av/frame_pool.h"
#include "av/ts_muxer.h"
#include "transcode/ladder.h"
#include "transcode/rung_encoder.h"

namespace sigma::transcode {

struct RungFrame {
  av::FramePtr frame;
  bool keyframe = false;
  bool keep_at_half_rate = true;
  // The first frame of a new input size (always a keyframe): a rung given
  // a new size by resize() switches to it here.
  bool new_size = false;
};

class RungWorker {
 public:
  // enc: the rung's open encoder (opened by the caller, which needs it to
  // add the output stream); es: how to open it again when it comes back.
  RungWorker(Rung rung, av::CodecPtr enc, EncoderSettings es, av::TsMuxer& mux, int stream, int sws_flags);
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
  // Encode again, with a fresh encoder, from the next scheduled keyframe:
  // the stream resumes on a keyframe aligned with the other rungs.
  void restore() { shed_.store(false); }
  bool is_shed() const { return shed_.load(); }
  // The input changes size: from the next frame marked new_size on, this
  // rung is encoded at r's size by a new encoder (called before that
  // frame is pushed).
  void resize(const Rung& r);
  // Test only (--test-slow-rung): sleep this long per encoded frame, a
  // cheap and repeatable way to make this rung the one that cannot keep up.
  void set_test_delay_ms(int ms) { test_delay_ms_ = ms; }
  // The rung as configured at start (its size may change since, on the
  // worker's thread): names the rung in logs and events.
  const Rung& configured() const { return configured_; }
  int stream() const { return stream_; }

 private:
  void run();
  Status handle(RungFrame& item);
  Status follow_shed_state(bool keyframe);
  Status apply_resize();
  Status encode(const AVFrame* frame);
  Result<av::FramePtr> scale(const AVFrame* in);
  void fail(Status st);

  const Rung configured_;
  Rung rung_;
  av::CodecPtr enc_;
  av::TsMuxer& mux_;
  int stream_;
  int sws_flags_;
  av::SwsPtr sws_;
  av::FramePool pool_;
  int sws_w_ = 0, sws_h_ = 0, sws_fmt_ = -1;
  av::PacketPtr pkt_ = av::make_packet();
  int64_t last_pts_ = INT64_MIN;
  EncoderSettings es_;
  bool encoding_ = false;  // follows shed_ on this thread, at frame boundaries
  int test_delay_ms_ = 0;
  std::vector<RungWorker*> children_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RungFrame> queue_;
  std::optional<Rung> pending_size_;
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
