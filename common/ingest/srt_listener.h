#pragma once
// The SRT listener: publishers connect with streamid = stream key (plain,
// or the access-control form "#!::r=KEY,m=publish"), optionally with a
// passphrase. One thread serves every SRT socket through libsrt's own
// epoll and hands MPEG-TS bytes to the event loop through the Inbox;
// refusals happen in the handshake, so callers see a proper rejection.
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/inbox.h"

namespace sigma::ingest {

struct SrtParams {
  std::string listen;      // host:port
  std::string passphrase;  // empty: no encryption
  int latency_ms = 120;
};

struct SrtVerdict {
  bool ok = false;
  std::string channel;  // when ok
  std::string reason;   // when refused: logged and reported (never the key)
  bool busy = false;
};
// Called on libsrt's threads: must be thread-safe.
using SrtAuthorize = std::function<SrtVerdict(const std::string& key)>;

// Parses a streamid into the key; false for a non-publishing request.
bool parse_srt_streamid(const std::string& streamid, std::string& key, std::string& error);

class SrtListener {
 public:
  SrtListener(SrtParams params, SrtAuthorize authorize, Inbox& inbox, std::function<uint64_t()> next_id);
  ~SrtListener();
  // Binds and listens (errors here are the caller's exit status), then
  // starts the thread.
  Status start();
  void stop();
  // Thread-safe: disconnect a source (refused after accept, replaced, ...).
  void close_source(uint64_t source);

 private:
  static int listen_hook(void* opaque, int sock, int hs_version, const struct sockaddr* peer, const char* streamid);
  void run();
  void accept_one();

  SrtParams params_;
  SrtAuthorize authorize_;
  Inbox& inbox_;
  std::function<uint64_t()> next_id_;
  bool started_ = false;
  int listener_ = -1;
  int eid_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<uint64_t> to_close_;
  struct Peer { uint64_t source; std::string channel; };
  std::map<int, Peer> peers_;  // thread only
};

}  // namespace sigma::ingest
