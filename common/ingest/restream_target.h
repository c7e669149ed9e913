#pragma once
// One restream target of a channel: its own thread pushes the channel's
// packets to a remote server through av::PushOutput (FLV over RTMP/RTMPS,
// MPEG-TS over SRT). The event loop hands packets over with push(), which
// never blocks: they wait in a bounded queue, and what does not fit is
// dropped (counted) up to the next video keyframe. While the target is not
// connected the queue keeps only the newest GOP, so a (re)connect starts on
// a keyframe with at most a GOP of delay. A target that refuses, drops or
// stalls (every libav call is bounded by a timeout) is retried with an
// exponential backoff, capped, and reset after a stable run. Nothing it
// does can slow the channel, its recording or another target.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "av/av.h"

namespace sigma::ingest {

struct RestreamSpec {
  std::string name;  // as in the config: restream.NAME
  std::string url;   // secret (the stream key); only redact_url(url) is shown
  bool operator==(const RestreamSpec& o) const { return name == o.name && url == o.url; }
};

struct RestreamTiming {
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 30000;
  int64_t stable_after_ms = 10000;  // connected this long: the backoff starts over
  int64_t connect_timeout_ms = 5000;
  int64_t write_timeout_ms = 5000;
  size_t queue_bytes = 8 << 20;  // about 10 s of a 6 Mbit/s channel
};

// The streams of one publishing session, shared by the targets.
struct RestreamStreams {
  struct ParDeleter {
    void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
  };
  using ParPtr = std::unique_ptr<AVCodecParameters, ParDeleter>;
  std::vector<ParPtr> pars;
  std::vector<bool> video;
  bool has_video = false;
  std::vector<const AVCodecParameters*> raw() const;
};

class RestreamTarget {
 public:
  RestreamTarget(std::string channel, RestreamSpec spec, RestreamTiming timing);
  ~RestreamTarget();  // aborts whatever is in flight, joins
  RestreamTarget(const RestreamTarget&) = delete;
  RestreamTarget& operator=(const RestreamTarget&) = delete;

  // The event loop's side; none of these block on I/O.
  void open_session(std::shared_ptr<const RestreamStreams> streams);
  void push(int index, AVPacket* pkt, AVRational tb);  // takes a new reference
  void end_session();

  // Events the thread produced since the last call ({"type":..., fields}),
  // emitted by the event loop with the channel's name.
  std::vector<nlohmann::json> take_notices();
  // State, bitrate over the period since the last call, reconnects, last
  // error, drops. URL redacted.
  nlohmann::json status(int64_t period_ms);
  const RestreamSpec& spec() const { return spec_; }

 private:
  struct Item {
    enum class Kind { kOpen, kPacket, kEnd } kind;
    std::shared_ptr<const RestreamStreams> streams;  // kOpen
    av::PacketPtr pkt;                               // kPacket
    int index = -1;
    AVRational tb{1, 1000};
    bool video = false;
    bool key = false;
  };
  void run();
  void notice(const std::string& type, nlohmann::json fields);
  void set_state(const char* s);
  // Locked: drops queued packets (not markers).
  void trim_packets_locked();
  void fail(const std::string& error, int64_t now);

  const std::string channel_;
  const RestreamSpec spec_;
  const std::string shown_;  // redacted URL
  const RestreamTiming timing_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> q_;
  size_t q_bytes_ = 0;
  bool stop_ = false;
  bool connected_ = false;  // as the pushing side sees it
  bool resync_ = false;     // after a drop: nothing until a video keyframe
  std::shared_ptr<const RestreamStreams> push_streams_;  // the loop's view of the session
  std::vector<nlohmann::json> notices_;
  std::string state_ = "idle";
  std::string last_error_;
  uint64_t reconnects_ = 0, connects_ = 0, dropped_packets_ = 0;
  int64_t next_attempt_ms_ = 0;
  int64_t backoff_ms_ = 0;

  std::atomic<uint64_t> bytes_sent_{0};
  uint64_t rate_last_bytes_ = 0;
  double kbps_ = 0;
  std::atomic<bool> abort_{false};
  std::thread thread_;
};

}  // namespace sigma::ingest
