#pragma once
// Failover: the input side of a channel that names a backup and a slate.
// The channel's outputs (its MPEG-TS muxer and/or in-process HLS sink)
// are fed by one InputSwitch instead of the primary publisher directly.
// Three sources reach it: the primary (the channel's stream key), the
// backup (a second stream key, or a pull URL), and the slate (a picture,
// clip or built-in card, encoded ahead of need to the channel's codec,
// resolution, frame rate and keyframe interval: av/slate.h).
//
// When the active source's media stops for failover_after (its publisher
// gone, or connected but silent) the switch goes on from the backup if it
// is live, else from the slate; when the primary is back and has kept
// sending for failback_after, it switches back on one of its keyframes.
// Each switch finishes the outputs and opens them again (one
// EXT-X-DISCONTINUITY, a new PAT/PMT), and every source's timestamps are
// moved onto one output timeline that only goes forward. The backup's
// newest GOP is kept while it waits, so a switch to it starts at once.
// Owned by the event loop thread, like the channel.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "av/slate.h"
#include "base/events.h"
#include "ingest/media_sink.h"

namespace sigma::ingest {

struct FailoverSettings {
  std::string backup_key;  // a second stream key; its publisher is the backup
  std::string backup_url;  // or a URL (or path) pulled as the backup
  std::string slate = "auto";  // auto, off, or a picture/clip file
  int64_t failover_after_ms = 1500;
  int64_t failback_after_ms = 5000;
  // The fields as one comparable string (no key in it: it is a secret).
  std::string describe() const;
};

// A pulled backup: libavformat reads block, so a thread of its own reads
// the URL (again and again while it fails) and queues packets the event
// loop takes on each tick.
class BackupPull {
 public:
  BackupPull(std::string url, std::string channel);
  ~BackupPull();
  void start();
  // Runs on the event loop: hands the queued streams and packets over.
  void drain(MediaSink& port);

 private:
  void run();
  Status pump();
  struct Item {
    enum Kind { kOpen, kPacket, kEnd } kind;
    std::vector<av::CodecParPtr> pars;
    int index = -1;
    av::PacketPtr pkt;
    AVRational tb{1, 1000};
  };
  std::string url_, channel_;
  std::mutex mu_;
  std::deque<Item> items_;
  size_t queued_bytes_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class InputSwitch {
 public:
  enum class Source { kNone = -1, kPrimary = 0, kBackup = 1, kSlate = 2 };
  static const char* name(Source s);

  // outputs: the channel's sinks (outlive the switch).
  InputSwitch(std::string channel, FailoverSettings s, std::vector<MediaSink*> outputs, EventWriter& events);
  ~InputSwitch();
  InputSwitch(const InputSwitch&) = delete;
  InputSwitch& operator=(const InputSwitch&) = delete;

  // What a publisher's FLV converter writes into.
  MediaSink& primary_port();
  MediaSink& backup_port();
  // The backup publisher's connection id (0: none) while it publishes.
  uint64_t backup_source = 0;
  std::string backup_remote;

  // Loss detection, failback, the slate's frames. Call often (every loop
  // pass); now is monotonic milliseconds.
  void tick(int64_t now_ms);
  // No more input (shutdown, reconfiguration): finish the outputs.
  void close();

  Source active() const { return active_; }
  const FailoverSettings& settings() const { return s_; }
  nlohmann::json status(int64_t now_ms) const;

  struct Port;

 private:
  struct Held {
    int index;
    av::PacketPtr pkt;
    AVRational tb;
  };
  struct Input {
    bool open = false;
    std::vector<av::CodecParPtr> pars;
    int video = -1;  // index of its video stream, -1: none
    int64_t last_media_ms = -1;  // monotonic, of its newest packet
    int64_t live_since_ms = -1;  // media without a break of failover_after since
    bool seen_key = false;       // a video keyframe since it opened
    // Timestamp offset onto the output timeline, set at its first packet
    // after it became active.
    bool mapped = false;
    int64_t offset_ms = 0;
    // Keyframe spacing and frame rate, measured.
    int64_t last_key_dts = AV_NOPTS_VALUE;
    int frames_since_key = 0;
    int gop_frames = 0;
    int64_t gop_ms = 0;
    std::deque<Held> gop;  // backup: its packets since its newest keyframe
    size_t gop_bytes = 0;
  };
  friend struct Port;

  // From the ports.
  Status on_open(Source src, const std::vector<const AVCodecParameters*>& streams);
  Status on_write(Source src, int index, AVPacket* pkt, AVRational tb);
  Status on_finish(Source src);

  bool live(const Input& in, int64_t now) const;
  bool has_slate() const { return s_.slate != "off"; }
  Status activate(Source src, const std::string& reason, int64_t now);
  Status open_outputs(const std::vector<const AVCodecParameters*>& pars);
  Status finish_outputs();
  Status forward(Input& in, int index, AVPacket* pkt, AVRational tb);
  Status emit_slate(int64_t now);
  void learn_profile(const Input& in);
  void prepare_slate();
  void collect_slate();
  void note(const Status& st);

  std::string channel_;
  FailoverSettings s_;
  std::vector<MediaSink*> outputs_;
  EventWriter& events_;
  std::unique_ptr<Port> primary_port_, backup_port_;
  std::unique_ptr<BackupPull> pull_;
  Input in_[2];  // primary, backup

  Source active_ = Source::kNone;
  bool out_open_ = false;
  bool started_ = false;             // some input went out once: the slate may follow
  int64_t out_end_ms_ = INT64_MIN;   // end of the newest packet out, output timeline
  int64_t floor_ms_ = INT64_MIN;     // packets of the active source land at or after this
  int64_t active_since_ms_ = 0;
  int64_t switched_unix_ms_ = 0;
  int64_t last_out_ms_ = -1;         // monotonic: the newest packet out
  uint64_t switches_ = 0;
  std::string last_reason_;
  bool failback_pending_ = false;

  // The slate: the profile it is made for, the encoding under way, the one ready.
  av::SlateSpec profile_;
  bool have_profile_ = false;
  std::string slate_for_;  // the profile the ready (or pending) slate was made for
  std::shared_ptr<av::Slate> slate_;
  struct Job;
  std::shared_ptr<Job> job_;
  int64_t slate_start_ms_ = 0;
  int64_t slate_frames_ = 0, slate_audio_ = 0;
  int64_t slate_base_ms_ = 0;  // slate timestamps start here
  bool warned_no_slate_ = false;
  av::PacketPtr scratch_ = av::make_packet();
};

}  // namespace sigma::ingest
