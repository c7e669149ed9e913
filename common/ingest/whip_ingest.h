#pragma once
// sigma-ingest's WHIP endpoint (RFC 9725): browsers and OBS publish over
// WebRTC. HTTP (POST offer -> 201 answer + Location, DELETE, PATCH trickle,
// OPTIONS for CORS) runs on its own thread; each session's media (H.264
// access units, Opus re-encoded as AAC, from common/webrtc) enters its
// channel on the event loop through the same FlvToMedia and sinks as an
// RTMP publish, so every latency mode and the in-process packager apply.
// Keyframes are asked for (RTCP PLI) on the channel's keyframe interval.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "ingest/flv_to_media.h"
#include "ingest/inbox.h"
#include "ingest/rtmp_connection.h"
#include "ingest/srt_listener.h"
#include "ingest/ts_sink.h"
#include "webrtc/whip_session.h"

namespace sigma::http { class Exchange; }

namespace sigma::ingest {

struct WhipParams {
  std::string listen;       // HTTP HOST:PORT
  std::string udp_address;  // ICE candidates' address; empty: every interface
  int port_min = 0, port_max = 0;
  double keyframe_interval_s = 0;  // 0: the channel's segment duration (2 s for MPEG-TS channels)
  int timeout_s = 10;              // no media for this long ends the session
  bool open_mode = false;          // a path's channel name is its own key
};

// "MIN-MAX" or "ADDR:MIN-MAX" (usage error naming --whip-udp).
Status parse_whip_udp(const std::string& spec, WhipParams& p);

class WhipIngest {
 public:
  // authorize: thread-safe key check (the same as SRT's); keyframe_interval:
  // the channel's interval in seconds (loop thread).
  WhipIngest(WhipParams params, ChannelHub& hub, Inbox& inbox, SrtAuthorize authorize,
             std::function<uint64_t()> next_id, std::function<double(const std::string&)> keyframe_interval);
  ~WhipIngest();
  Status start();
  int fd() const { return efd_; }
  // Loop thread: commands from HTTP, media from sessions, failures.
  void on_wake(int64_t now_ms);
  // Loop thread: timeouts and keyframe requests.
  void tick(int64_t now_ms);
  bool owns(uint64_t source) const { return pubs_.count(source) > 0; }
  // Loop thread: ends a publisher (replaced, routing changed, ...).
  void kick(uint64_t source, const std::string& reason);
  // Loop thread: ends every session and stops the HTTP server.
  void stop();
  size_t sessions() const { return pubs_.size(); }

 private:
  struct Publisher;
  struct Command {
    enum class Kind { kOpen, kClose } kind = Kind::kOpen;
    uint64_t id = 0;
    std::string key, remote, reason;
    std::shared_ptr<webrtc::WhipSession> session;
    webrtc::OfferCheck offer;
    std::promise<std::string> done;  // kOpen: "" = accepted, else the refusal
  };
  struct Resource {  // what DELETE and PATCH find by their URL
    uint64_t id;
    std::string channel, ufrag;
    std::shared_ptr<webrtc::WhipSession> session;
  };
  void handle(const std::shared_ptr<http::Exchange>& ex);  // HTTP thread
  void handle_post(const std::shared_ptr<http::Exchange>& ex, const std::string& path_channel);
  std::future<std::string> post(std::unique_ptr<Command> c);
  void wake();
  void open(Command& c, int64_t now);
  void feed(Publisher& pub, webrtc::WhipUnit& u, int64_t now);
  void keyframes(Publisher& pub, const webrtc::WhipUnit& u, int64_t now);
  void end(uint64_t id, const std::string& reason);
  void reap(std::shared_ptr<webrtc::WhipSession> s);

  WhipParams p_;
  ChannelHub& hub_;
  Inbox& inbox_;
  SrtAuthorize authorize_;
  std::function<uint64_t()> next_id_;
  std::function<double(const std::string&)> keyframe_interval_;
  webrtc::WhipOptions wopts_;
  int efd_ = -1;
  std::mutex mu_;  // guards commands_ and resources_
  std::deque<std::unique_ptr<Command>> commands_;
  std::map<std::string, Resource> resources_;  // by URL token
  std::map<uint64_t, std::unique_ptr<Publisher>> pubs_;  // loop thread
  struct Http;
  std::unique_ptr<Http> http_;
  // Pipelines stop on this thread: that can take a while and must not
  // stall the event loop.
  std::mutex reap_mu_;
  std::condition_variable reap_cv_;
  std::deque<std::shared_ptr<webrtc::WhipSession>> reap_;
  bool reap_stop_ = false;
  std::thread reaper_;
};

}  // namespace sigma::ingest
